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


def _integer_id_tables() -> list[str]:
    return sorted(
        table.name
        for table in db.metadata.sorted_tables
        if [column.name for column in table.primary_key.columns] == ["id"]
    )


def test_every_id_table_uses_sqlite_autoincrement(app):
    """SQLite gives a deleted row's id to the next insert unless the table says AUTOINCREMENT."""
    with app.app_context(), db.engine.connect() as connection:
        if connection.dialect.name != "sqlite":
            return
        sql = dict(
            connection.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'table'").all()
        )
        tables = _integer_id_tables()
        assert len(tables) >= 14
        assert [name for name in tables if "AUTOINCREMENT" not in sql[name]] == []


def test_the_autoincrement_migration_keeps_rows_and_constraints(tmp_path):
    """Upgrading a populated 0007 store rebuilds its tables with every row, foreign key and check."""
    from flask_migrate import upgrade

    from marketplace import create_app
    from tests.conftest import BASE_CONFIG

    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    app = create_app({**BASE_CONFIG, "DATABASE_URL": url, "INSTANCE_PATH": str(tmp_path)})
    with app.app_context():
        upgrade(revision="0007")
        with db.engine.begin() as connection:
            before = dict(
                connection.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type='table'").all()
            )
            connection.exec_driver_sql(
                "INSERT INTO users (id, email, password_hash, role, name, is_active, created_at, updated_at) "
                "VALUES (7, 'a@example.cn', 'x', 'enterprise', 'a', 1, '2026-01-01', '2026-01-01')"
            )
            columns = (
                "id, owner_id, name, credit_code, province, city, industry_code, size, above_scale, tier, "
                "digital_level, needs, is_demo, created_at, updated_at"
            )
            values = (
                "3, 7, 'e', '91320500MA00000019', '江苏省', '苏州市', 'C29', 'small', 1, 'none', 1, '', 0"
            )
            connection.exec_driver_sql(
                f"INSERT INTO enterprises ({columns}) VALUES ({values}, '2026-01-01', '2026-01-01')"
            )
        upgrade()
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT id, owner_id FROM enterprises").all() == [(3, 7)]
            assert connection.exec_driver_sql("SELECT token_version FROM users").all() == [(0,)]
            assert connection.exec_driver_sql("PRAGMA foreign_key_check").all() == []
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            after = dict(
                connection.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type='table'").all()
            )
        db.engine.dispose()
    for name, sql in before.items():
        if name in after:
            assert sql.count("CHECK") == after[name].count("CHECK"), name
            assert sql.count("FOREIGN KEY") == after[name].count("FOREIGN KEY"), name
