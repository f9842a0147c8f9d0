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
    "EMBEDDINGS_BACKEND",
    "EMBEDDINGS_URL",
    "EMBEDDINGS_MODEL",
    "EMBEDDINGS_API_KEY",
    "EMBEDDINGS_DIMENSIONS",
    "EMBEDDINGS_TIMEOUT",
    "EMBEDDINGS_MIN_SIMILARITY",
    "INDEX_DRAIN_INTERVAL",
    "INDEX_WRITE_WAIT",
    "INDEX_LAG_BOUND_SECONDS",
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
    "MAX_CONTENT_LENGTH",
    "HSTS_SECONDS",
    "EMBEDDINGS_DIMENSIONS",
    "IDEMPOTENCY_KEY_TTL_SECONDS",
    "REQUEST_BODY_TIMEOUT_SECONDS",
    "TRUSTED_PROXY_COUNT",
}
FLOAT_KEYS = {
    "EMBEDDINGS_TIMEOUT",
    "EMBEDDINGS_MIN_SIMILARITY",
    "INDEX_DRAIN_INTERVAL",
    "INDEX_WRITE_WAIT",
    "INDEX_LAG_BOUND_SECONDS",
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
        "INDEX_DRAIN_INTERVAL": 2.0,
        "INDEX_WRITE_WAIT": 0.5,
        "INDEX_LAG_BOUND_SECONDS": 30.0,
        "INDEX_PROCESSES": os.cpu_count() or 1,
        "EMBEDDINGS_BACKEND": "bundled",
        "EMBEDDINGS_URL": None,
        "EMBEDDINGS_MODEL": None,
        "EMBEDDINGS_API_KEY": None,
        "EMBEDDINGS_DIMENSIONS": None,
        "EMBEDDINGS_TIMEOUT": 10.0,
        "EMBEDDINGS_MIN_SIMILARITY": None,
        "EMBEDDINGS_BACKGROUND": True,
        "EMBEDDINGS_INTERVAL": 5.0,
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
        "ENROLMENT_SHEET_MAX_ROWS": 2000,
        "ENROLMENT_SHEET_MAX_BYTES": 1024 * 1024,
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
            found[key] = int(value) if key in INT_KEYS else float(value) if key in FLOAT_KEYS else value
    return found


def check_config(config: dict) -> None:
    """Refuse settings that are unsafe or unusable.

    :raises RuntimeError: in production with the default or a short ``SECRET_KEY``; for an unknown
        ``EMBEDDINGS_BACKEND``, or ``http`` without ``EMBEDDINGS_URL`` and ``EMBEDDINGS_DIMENSIONS``.
    """
    from indexing.embeddings import embedder_names

    if config["EMBEDDINGS_BACKEND"] not in embedder_names():
        raise RuntimeError(
            f"Unknown EMBEDDINGS_BACKEND {config['EMBEDDINGS_BACKEND']!r}; "
            f"expected one of {', '.join(embedder_names())}."
        )
    if config["EMBEDDINGS_BACKEND"] == "http" and not (
        config["EMBEDDINGS_URL"] and config["EMBEDDINGS_DIMENSIONS"]
    ):
        raise RuntimeError("EMBEDDINGS_BACKEND=http needs EMBEDDINGS_URL and EMBEDDINGS_DIMENSIONS.")
    if config["APP_ENV"] == "production" and (
        config["SECRET_KEY"] == DEFAULT_SECRET_KEY or len(config["SECRET_KEY"]) < 32
    ):
        raise RuntimeError(
            "Refusing to start in production with the default or a short SECRET_KEY; "
            "set SECRET_KEY to at least 32 random characters."
        )
