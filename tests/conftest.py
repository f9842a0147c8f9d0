"""Fixtures from the factory: a migrated store per test, on SQLite and, when configured, PostgreSQL."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, make_url, text

import tests.embedders  # noqa: F401 - registers EMBEDDINGS_BACKEND=test-hashing
from marketplace import create_app, normalise_database_url
from marketplace.extensions import db
from marketplace.search.maintenance import BackgroundTask

TEST_SECRET = "test-secret-key-that-is-long-enough-for-hs256"
BASE_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": TEST_SECRET,
    "FAST_PASSWORD_HASHING": True,
    "RATELIMIT_ENABLED": False,
    "EMBEDDINGS_BACKEND": "none",
    "INDEX_DRAIN_INTERVAL": 0,
}
"""Most tests search by keywords and never pay for a model; tests of dense retrieval ask for an embedder."""
POSTGRES_URL = os.environ.get("TEST_DATABASE_URL")

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param(
        "postgresql",
        id="postgresql",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(not POSTGRES_URL, reason="TEST_DATABASE_URL is not set"),
        ],
    ),
]


@pytest.fixture(autouse=True)
def _background_tasks_end_with_their_test(monkeypatch, request):
    """Stop every background thread a test's apps started, when the test ends.

    Left running, such a thread outlives its store and logs a traceback every interval; on
    CPython 3.11 formatting a traceback parses source with :mod:`ast`, whose recursion counter is
    shared by all threads (python/cpython#106905), so a parse in the test's own thread at the same
    moment (werkzeug compiling an app's routes, Hypothesis describing a strategy) fails with
    "SystemError: AST constructor recursion depth mismatch".
    """
    started: set[BackgroundTask] = set()
    ensure_running = BackgroundTask.ensure_running

    def recorded(task: BackgroundTask, app) -> None:
        ensure_running(task, app)
        if task not in started:
            started.add(task)
            # Finalizers run last-added first: this one before the teardown of the fixtures set
            # up earlier, so the thread stops while its store is still there.
            request.node.addfinalizer(lambda: task.stop(timeout=5))

    monkeypatch.setattr(BackgroundTask, "ensure_running", recorded)


def _migrate(url: str, instance: str) -> None:
    app = create_app({**BASE_CONFIG, "DATABASE_URL": url, "INSTANCE_PATH": instance})
    with app.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """A SQLite file migrated once with Alembic; each test gets a copy."""
    folder = tmp_path_factory.mktemp("template")
    path = folder / "template.sqlite3"
    _migrate(f"sqlite:///{path}", str(folder))
    return path


def _worker_database(url: str, worker_id: str) -> str:
    """With pytest-xdist, give each worker its own database next to the configured one."""
    if worker_id == "master":
        return url
    base = make_url(normalise_database_url(url))
    name = f"{base.database}_{worker_id}"
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        query = text("SELECT 1 FROM pg_database WHERE datname = :name")
        if not connection.execute(query, {"name": name}).scalar():
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_schema(tmp_path_factory, request):
    """Reset this worker's PostgreSQL test database and migrate it once with Alembic."""
    worker_id = getattr(request.config, "workerinput", {}).get("workerid", "master")
    url = _worker_database(POSTGRES_URL, worker_id)
    engine = create_engine(normalise_database_url(url))
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    _migrate(url, str(tmp_path_factory.mktemp("pg")))
    return url


def truncate_all() -> None:
    """Empty every table of the PostgreSQL store and restart its ids (tests share one database)."""
    names = ", ".join(table.name for table in db.metadata.sorted_tables)
    with db.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    """A migrated, empty store for one test."""
    if request.param == "sqlite":
        path = tmp_path / "store.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    return request.getfixturevalue("postgres_schema")


def create_index(app) -> None:
    """Create the app's empty index, as ``flask index ensure`` does for an empty store."""
    from marketplace.search.engine import search_state

    with app.app_context():
        search_state().backend.create()


def app_on_fresh_store(config: dict, database_url: str, tmp_path) -> Iterator:
    """An app of ``config`` on a fresh store with an empty index; the store is emptied after."""
    app = create_app({**config, "DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path)})
    create_index(app)
    yield app
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            truncate_all()
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def app(database_url, tmp_path):
    """The app on a fresh store, with an empty index."""
    yield from app_on_fresh_store(BASE_CONFIG, database_url, tmp_path)


@pytest.fixture
def client(app):
    """A test client of the app."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A CLI runner of the app."""
    return app.test_cli_runner()


@pytest.fixture
def world(app, client):
    """A populated cast: two providers, an enterprise, two city offices and an admin."""
    from tests.factories import World

    return World.build(app, client)
