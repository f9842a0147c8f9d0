"""The marketplace web service: the app factory is the table of contents."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask

from marketplace.config import check_config, default_config, environment_config

DOCS_ASSETS_PATH = "/api/docs/assets"


def create_app(config: dict | None = None) -> Flask:
    """Create the app: defaults, then the environment, then ``config``."""
    app = Flask(__name__, instance_path=(config or {}).get("INSTANCE_PATH"))
    app.config.from_mapping(default_config(app.instance_path))
    app.config.from_mapping(environment_config(os.environ))
    app.config.from_mapping(config or {})
    check_config(app.config)
    app.config.update(derived_config(app.config))
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.extensions["factory"] = create_app  # for commands that open a scratch app beside this one
    register_extensions(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_commands(app)
    return app


def derived_config(config) -> dict:
    """Translate the flat keys into what the extensions read."""
    from marketplace.apidocs import intro as api_intro

    return {
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(config["DATABASE_URL"]),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "API_TITLE": "中小企业数字化转型方案撮合平台 API",
        "API_VERSION": "v1",
        "API_SPEC_OPTIONS": {"info": {"description": api_intro()}},
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "/docs",
        "OPENAPI_SWAGGER_UI_URL": f"{DOCS_ASSETS_PATH}/",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": config["APP_ENV"] == "production",
    }


def normalise_database_url(url: str) -> str:
    """Use the psycopg 3 driver for plain ``postgresql://`` URLs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def register_models() -> None:
    """Import every module that declares tables, so that the metadata (Alembic, the export) holds them all."""
    from marketplace import models  # noqa: F401
    from marketplace.assessments import models as assessment_models  # noqa: F401
    from marketplace.pilots import models as pilot_models  # noqa: F401


def register_extensions(app: Flask) -> None:
    """Bind logging and metrics, request reading, the store and its models, migrations, the API,
    security, idempotent creates and search to the app."""
    from apispec.ext.marshmallow import MarshmallowPlugin
    from werkzeug.middleware.proxy_fix import ProxyFix

    from marketplace.apidocs import ApiDocsPlugin, init_apidocs
    from marketplace.auth.limits import limiter
    from marketplace.auth.security import init_security
    from marketplace.common.reading import init_request_loading
    from marketplace.console import init_console
    from marketplace.errors import DocumentedApi, ErrorResponsesPlugin
    from marketplace.extensions import db, migrate
    from marketplace.idempotency import IdempotencyHeaderPlugin, init_idempotency
    from marketplace.observability import init_observability
    from marketplace.search.maintenance import init_search

    if app.config["TRUSTED_PROXY_COUNT"]:
        hops = app.config["TRUSTED_PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    init_observability(app)
    init_request_loading(app)
    db.init_app(app)
    register_models()
    limiter.init_app(app)
    migrate.init_app(
        app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"), render_as_batch=True
    )
    plugin = MarshmallowPlugin(schema_name_resolver=openapi_schema_name)
    api = app.extensions["api"] = DocumentedApi(
        app,
        spec_kwargs={
            "marshmallow_plugin": plugin,
            "extra_plugins": [IdempotencyHeaderPlugin(), ErrorResponsesPlugin(), ApiDocsPlugin()],
        },
    )
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )
    init_apidocs(app, api, plugin)
    init_security(app)
    init_idempotency(app)
    init_search(app)
    init_console(app)


def openapi_schema_name(schema) -> str:
    """Name a schema in the OpenAPI document; partial (PATCH) variants get their own name."""
    cls = schema if isinstance(schema, type) else type(schema)
    name = cls.__name__.removesuffix("Schema")
    return f"{name}Patch" if getattr(schema, "partial", False) else name


def register_blueprints(app: Flask) -> None:
    """Register one blueprint per resource, the Swagger UI assets served offline, and the console."""
    from flask import Blueprint
    from swagger_ui_bundle import swagger_ui_path

    from marketplace.accounts.routes import blp as accounts
    from marketplace.assessments.routes import blp as assessments
    from marketplace.auth.routes import blp as auth
    from marketplace.cases.routes import blp as cases
    from marketplace.console import bp as console
    from marketplace.enterprises.routes import blp as enterprises
    from marketplace.health.routes import blp as health
    from marketplace.inquiries.routes import blp as inquiries
    from marketplace.pilots.routes import blp as pilots
    from marketplace.providers.routes import blp as providers
    from marketplace.recommendations.routes import blp as recommendations
    from marketplace.search.routes import blp as search
    from marketplace.solutions.routes import blp as solutions
    from marketplace.taxonomy.converters import CityConverter, city_parameter
    from marketplace.taxonomy.routes import blp as taxonomy

    app.url_map.converters["city"] = CityConverter
    app.extensions["api"].register_converter(CityConverter, city_parameter)
    for blueprint in (
        taxonomy,
        auth,
        accounts,
        providers,
        solutions,
        cases,
        enterprises,
        inquiries,
        search,
        assessments,
        pilots,
        recommendations,
        health,
    ):
        app.extensions["api"].register_blueprint(blueprint)
    app.register_blueprint(
        Blueprint("docs_assets", __name__, static_folder=swagger_ui_path, static_url_path=DOCS_ASSETS_PATH)
    )
    app.register_blueprint(console)


def register_error_handlers(app: Flask) -> None:
    """Answer every error in the one JSON shape."""
    from marketplace.errors import register_error_handlers as register

    register(app)


def register_commands(app: Flask) -> None:
    """Add the command groups and ``flask export`` / ``flask import``."""
    from marketplace.commands import (
        accounts_cli,
        embeddings_cli,
        export_command,
        import_command,
        index_cli,
        matching_cli,
        seed_cli,
    )

    for command in (
        accounts_cli,
        seed_cli,
        index_cli,
        embeddings_cli,
        matching_cli,
        export_command,
        import_command,
    ):
        app.cli.add_command(command)
