"""The app factory."""

from __future__ import annotations

import pytest

from marketplace import create_app
from marketplace.config import DEFAULT_SECRET_KEY


def test_config_layers_defaults_environment_and_argument(monkeypatch, tmp_path):
    """Defaults give the embedded profile; the environment overrides them; the argument overrides both."""
    monkeypatch.setenv("SEARCH_BACKEND", "elasticsearch")
    monkeypatch.setenv("TOKEN_TTL_SECONDS", "60")
    app = create_app({"INSTANCE_PATH": str(tmp_path), "TOKEN_TTL_SECONDS": 120})
    assert app.config["SEARCH_BACKEND"] == "elasticsearch"
    assert app.config["TOKEN_TTL_SECONDS"] == 120
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'marketplace.sqlite3'}"
    assert app.config["MAX_CONTENT_LENGTH"] == 2 * 1024 * 1024


def test_postgresql_urls_use_psycopg3(tmp_path):
    """A plain postgresql:// URL is served by the psycopg 3 driver."""
    app = create_app({"INSTANCE_PATH": str(tmp_path), "DATABASE_URL": "postgresql://u@h/db"})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize("key", [DEFAULT_SECRET_KEY, "short"])
def test_production_refuses_default_or_short_secret(tmp_path, key):
    """The service will not start in production with a guessable key."""
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"INSTANCE_PATH": str(tmp_path), "APP_ENV": "production", "SECRET_KEY": key})


def test_production_starts_with_a_real_secret(tmp_path):
    """A long random key is accepted in production."""
    app = create_app({"INSTANCE_PATH": str(tmp_path), "APP_ENV": "production", "SECRET_KEY": "k" * 48})
    assert app.config["APP_ENV"] == "production"


@pytest.mark.parametrize(("hops", "seen"), [(0, "127.0.0.1"), (1, "203.0.113.7")])
def test_client_address_comes_from_the_trusted_proxy_only(tmp_path, hops, seen):
    """Behind TRUSTED_PROXY_COUNT proxies the client address is read from X-Forwarded-For, else not."""
    app = create_app(
        {"INSTANCE_PATH": str(tmp_path), "DATABASE_URL": "sqlite://", "TRUSTED_PROXY_COUNT": hops}
    )

    @app.get("/address")
    def address():
        from flask import request

        return {"address": request.remote_addr}

    response = app.test_client().get("/address", headers={"X-Forwarded-For": "203.0.113.7"})
    assert response.json == {"address": seen}
