"""Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from marketplace.extensions import db


def test_migrations_match_models(app):
    """Autogenerate finds nothing to change after ``db upgrade``."""
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []


def test_registered_models_declare_every_migrated_table(app):
    """``register_models()`` alone, in a fresh interpreter, without the blueprints, declares every table."""
    script = (
        "import json; from marketplace import register_models; from marketplace.extensions import db; "
        "register_models(); print(json.dumps(sorted(db.metadata.tables)))"
    )
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=root, capture_output=True, text=True, check=True, timeout=120
    )
    with app.app_context(), db.engine.connect() as connection:
        migrated = set(inspect(connection).get_table_names()) - {"alembic_version"}
    assert set(json.loads(result.stdout)) == migrated


def test_sqlite_runs_in_wal_mode(app):
    """The embedded store uses WAL so readers do not block the writer."""
    with app.app_context(), db.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert "alembic_version" in inspect(connection).get_table_names()
