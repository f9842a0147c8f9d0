"""Configuration defaults and their environment overrides."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_SECRET_KEY = "development-only-insecure-secret-key-change-me"

ENV_KEYS = (
    "APP_ENV",
    "DATABASE_URL",
    "SECRET_KEY",
    "INDEX_DIR",
    "SEARCH_BACKEND",
    "ELASTICSEARCH_URL",
    "ELASTICSEARCH_INDEX_PREFIX",
    "INDEX_PROCESSES",
    "RATELIMIT_STORAGE_URI",
    "RECOMMENDATION_RATE_LIMIT",
    "AUTH_RATE_LIMIT",
    "REGISTRATION_CONFLICT_RATE_LIMIT",
    "INQUIRY_RATE_LIMIT",
    "TOKEN_TTL_SECONDS",
    "IDEMPOTENCY_KEY_TTL_SECONDS",
    "MAX_CONTENT_LENGTH",
    "REQUEST_BODY_TIMEOUT_SECONDS",
    "LOG_LEVEL",
    "METRICS_TOKEN",
    "CORS_ORIGINS",
    "HSTS_SECONDS",
    "TRUSTED_PROXY_COUNT",
)
INT_KEYS = {
    "INDEX_PROCESSES",
    "TOKEN_TTL_SECONDS",
    "IDEMPOTENCY_KEY_TTL_SECONDS",
    "MAX_CONTENT_LENGTH",
    "REQUEST_BODY_TIMEOUT_SECONDS",
    "HSTS_SECONDS",
    "TRUSTED_PROXY_COUNT",
}


def default_config(instance_path: str) -> dict:
    """Return the defaults of the embedded profile, rooted at ``instance_path``."""
    instance = Path(instance_path)
    return {
        "APP_ENV": "development",
        "SECRET_KEY": DEFAULT_SECRET_KEY,
        "DATABASE_URL": f"sqlite:///{instance / 'marketplace.sqlite3'}",
        "INDEX_DIR": str(instance / "index"),
        "SEARCH_BACKEND": "embedded",
        "ELASTICSEARCH_URL": None,
        "ELASTICSEARCH_INDEX_PREFIX": "marketplace",
        "INDEX_DRAIN_TIMEOUT": 5.0,
        "INDEX_PROCESSES": os.cpu_count() or 1,
        "RATELIMIT_STORAGE_URI": f"sqlite:///{instance / 'ratelimits.sqlite3'}",
        "RATELIMIT_HEADERS_ENABLED": True,
        "RECOMMENDATION_RATE_LIMIT": "60/minute",
        "EVENT_RATE_LIMIT": "600/minute",
        "AUTH_RATE_LIMIT": "10/minute;100/hour",
        "REGISTRATION_CONFLICT_RATE_LIMIT": "5/hour;20/day",
        "INQUIRY_RATE_LIMIT": "20/minute;200/day",
        "LOG_LEVEL": "INFO",
        "METRICS_TOKEN": None,
        "CORS_ORIGINS": "",
        "HSTS_SECONDS": 0,
        "TRUSTED_PROXY_COUNT": 0,
        "TOKEN_TTL_SECONDS": 3600,
        "IDEMPOTENCY_KEY_TTL_SECONDS": 24 * 3600,
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
        "REQUEST_BODY_TIMEOUT_SECONDS": 20,
        "SEED_DATA_DIR": str(Path(__file__).resolve().parent.parent / "seed_data"),
        "JUDGMENTS_PATH": str(
            Path(__file__).resolve().parent.parent / "tests" / "relevance" / "judgments.json"
        ),
    }


def environment_config(environ: os._Environ | dict) -> dict:
    """Read the flat configuration keys that are set in ``environ``."""
    found = {}
    for key in ENV_KEYS:
        if environ.get(key):
            value = environ[key]
            found[key] = int(value) if key in INT_KEYS else value
    return found


def check_config(config: dict) -> None:
    """Refuse settings that are unsafe or unusable.

    :raises RuntimeError: in production with the default or a short ``SECRET_KEY``.
    """
    if config["APP_ENV"] == "production" and (
        config["SECRET_KEY"] == DEFAULT_SECRET_KEY or len(config["SECRET_KEY"]) < 32
    ):
        raise RuntimeError(
            "Refusing to start in production with the default or a short SECRET_KEY; "
            "set SECRET_KEY to at least 32 random characters."
        )
