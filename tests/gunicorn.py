"""Serve the app with gunicorn on a temporary store, for tests that need real worker processes."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade

from marketplace import create_app
from marketplace.auth.service import create_account
from marketplace.extensions import db
from tests.conftest import TEST_SECRET, create_index
from tests.factories import PASSWORD, provider_payload

ROOT = Path(__file__).resolve().parent.parent
ADMIN_EMAIL = "admin@example.cn"


CALL_TIMEOUT = 30
"""Seconds a request may take, as long as gunicorn lets a worker take (``timeout``)."""
START_TIMEOUT = 120
"""Seconds gunicorn may take to answer; generous, since tests in parallel load the machine."""


def server_config(tmp_path: Path, **overrides) -> dict:
    """The configuration of a server in ``tmp_path``: its instance folder, SQLite store and index.

    The instance folder holds the index's drain lock and the recommender models, so servers in
    parallel share none of them. Passwords are hashed with the tests' cheap parameters.
    """
    return {
        "INSTANCE_PATH": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'store.sqlite3'}",
        "INDEX_DIR": str(tmp_path / "index"),
        "SECRET_KEY": TEST_SECRET,
        "FAST_PASSWORD_HASHING": True,
        **overrides,
    }


def app_target(config: dict) -> str:
    """The app for gunicorn or ``FLASK_APP``: the factory called with ``config``, as ``wsgi.py`` does."""
    return f"marketplace:create_app({config!r})"


def call(port: int, method: str, path: str, body=None, token: str | None = None):
    """One request on a fresh connection, so that requests spread over the workers.

    :returns: the status and the decoded JSON body.
    :raises OSError, http.client.HTTPException: if the server drops the connection.
    """
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=CALL_TIMEOUT)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        connection.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        connection.close()


def token(port: int, email: str) -> str:
    """Sign in and return the access token."""
    status, body = call(port, "POST", "/api/v1/auth/token", {"email": email, "password": PASSWORD})
    assert status == 200, body
    return body["access_token"]


def provider_token(port: int, email: str) -> str:
    """Register a provider account with its company profile; return its token."""
    body = {"email": email, "password": PASSWORD, "role": "provider", "name": "服务商"}
    assert call(port, "POST", "/api/v1/auth/register", body)[0] == 201
    provider = token(port, email)
    assert call(port, "POST", "/api/v1/providers", provider_payload(), provider)[0] == 201
    return provider


@dataclass
class Served:
    """A running gunicorn: its port, its master process, its log, and an app on the same instance."""

    port: int
    process: subprocess.Popen
    app: Flask
    log: Path

    def worker_pids(self) -> list[int]:
        """The pids of the master's children, i.e. its workers."""
        pid = self.process.pid
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


@contextmanager
def gunicorn(
    config: dict, log: Path, workers: int = 4, env: dict | None = None
) -> Iterator[tuple[int, subprocess.Popen]]:
    """Run ``gunicorn.conf.py`` on the app of ``config`` until the block ends; yields its port and master.

    ``env`` adds environment variables of the server (e.g. ``THREADS``).

    Nothing is shared with another server: the listening socket is bound here, on a port the kernel
    picks, and handed over open (no port can be taken between choosing and binding it), and the
    control socket lives in the instance folder instead of gunicorn's per-user default,
    ``~/.gunicorn/gunicorn.ctl``, which every server on the machine would take from the others.
    """
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    env = {
        **os.environ,
        "APP_ENV": "development",
        "BIND": f"fd://{listener.fileno()}",
        "WORKERS": str(workers),
        "CONTROL_SOCKET": str(Path(config["INSTANCE_PATH"]) / "gunicorn.ctl"),
        **(env or {}),
    }
    command = ["-c", "gunicorn.conf.py", app_target(config)]
    with listener, open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", *command],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            pass_fds=[listener.fileno()],
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                if call(port, "GET", "/api/v1/scenarios")[0] == 200:
                    break
            except (OSError, http.client.HTTPException):
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail("gunicorn did not start: " + log.read_text()[-2000:])
            time.sleep(0.2)
        yield port, process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def serve(
    tmp_path: Path, workers: int = 4, embeddings: str = "none", env: dict | None = None
) -> Iterator[Served]:
    """gunicorn with ``workers`` workers on a migrated SQLite store holding an admin account, and an index.

    ``embeddings`` is ``EMBEDDINGS_BACKEND``: by default none, so workers never load a model. ``env``
    adds environment variables of the server (e.g. ``THREADS``).
    """
    config = server_config(tmp_path, EMBEDDINGS_BACKEND=embeddings)
    app = create_app(config)
    create_index(app)
    with app.app_context():
        upgrade()
        create_account(ADMIN_EMAIL, PASSWORD, "admin", "管理员")
        db.engine.dispose()
    try:
        log = tmp_path / "gunicorn.log"
        with gunicorn(config, log, workers, env) as (port, process):
            yield Served(port=port, process=process, app=app, log=log)
    finally:
        with app.app_context():
            db.engine.dispose()
