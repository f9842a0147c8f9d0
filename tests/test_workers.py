"""Several gunicorn workers share the store and the embedded index."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from flask_migrate import upgrade

from marketplace import create_app
from marketplace.auth.service import create_account
from marketplace.extensions import db
from tests.conftest import TEST_SECRET
from tests.factories import PASSWORD, provider_payload, solution_payload

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _call(port: int, method: str, path: str, body=None, token: str | None = None):
    """One request on a fresh connection, so that requests spread over the workers."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    connection.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    response = connection.getresponse()
    payload = json.loads(response.read() or b"null")
    connection.close()
    return response.status, payload


@pytest.fixture
def served(tmp_path):
    """gunicorn with four workers on a migrated SQLite store; yields its port."""
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'store.sqlite3'}",
        "INDEX_DIR": str(tmp_path / "index"),
        "SECRET_KEY": TEST_SECRET,
        "APP_ENV": "development",
    }
    app = create_app(
        {
            "INSTANCE_PATH": str(tmp_path),
            "DATABASE_URL": env["DATABASE_URL"],
            "INDEX_DIR": env["INDEX_DIR"],
            "SECRET_KEY": TEST_SECRET,
        }
    )
    with app.app_context():
        upgrade()
        create_account("admin@example.cn", PASSWORD, "admin", "管理员")
        db.engine.dispose()
    port = _free_port()
    env.update(BIND=f"127.0.0.1:{port}", WORKERS="4")
    log = tmp_path / "gunicorn.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 30
    while True:
        try:
            if _call(port, "GET", "/api/v1/scenarios")[0] == 200:
                break
        except OSError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            pytest.fail("gunicorn did not start: " + log.read_text()[-2000:])
        time.sleep(0.2)
    yield port
    process.send_signal(signal.SIGTERM)
    process.wait(20)


def _token(port: int, email: str) -> str:
    status, body = _call(port, "POST", "/api/v1/auth/token", {"email": email, "password": PASSWORD})
    assert status == 200, body
    return body["access_token"]


def test_published_solution_is_found_through_every_worker_within_a_second(served):
    """A solution published through one worker is found by fresh connections to all four within 1 s."""
    port = served
    status, _ = _call(
        port,
        "POST",
        "/api/v1/auth/register",
        {"email": "p@example.cn", "password": PASSWORD, "role": "provider", "name": "服务商"},
    )
    assert status == 201
    provider = _token(port, "p@example.cn")
    admin = _token(port, "admin@example.cn")
    assert _call(port, "POST", "/api/v1/providers", provider_payload(), provider)[0] == 201
    status, solution = _call(
        port, "POST", "/api/v1/solutions", solution_payload(title="多进程一致性验证方案"), provider
    )
    assert status == 201
    assert _call(port, "POST", f"/api/v1/solutions/{solution['id']}/submit", token=provider)[0] == 200
    assert _call(port, "POST", f"/api/v1/solutions/{solution['id']}/approve", token=admin)[0] == 200
    published_at = time.monotonic()
    found = []
    for _ in range(24):
        status, body = _call(port, "GET", "/api/v1/search/solutions?q=%E5%A4%9A%E8%BF%9B%E7%A8%8B")
        assert status == 200, body
        found.append([item["id"] for item in body["items"]] == [solution["id"]])
    assert time.monotonic() - published_at < 1.0
    assert all(found)


def test_concurrent_writes_through_several_workers_all_reach_the_index(served):
    """Writes racing through different workers (tantivy admits one writer) are all indexed."""
    from concurrent.futures import ThreadPoolExecutor

    port = served
    admin = _token(port, "admin@example.cn")
    tokens = []
    for n in range(4):
        email = f"p{n}@example.cn"
        _call(
            port,
            "POST",
            "/api/v1/auth/register",
            {"email": email, "password": PASSWORD, "role": "provider", "name": "服务商"},
        )
        token = _token(port, email)
        assert _call(port, "POST", "/api/v1/providers", provider_payload(), token)[0] == 201
        tokens.append(token)

    def publish(args):
        n, token = args
        status, body = _call(
            port,
            "POST",
            "/api/v1/solutions",
            solution_payload(title=f"并发写入方案{n}", tags=["并发验证"]),
            token,
        )
        assert status == 201, body
        _call(port, "POST", f"/api/v1/solutions/{body['id']}/submit", token=token)
        return body["id"]

    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(publish, [(n, tokens[n % 4]) for n in range(16)]))
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: _call(port, "POST", f"/api/v1/solutions/{i}/approve", token=admin), ids))
    status, body = _call(
        port, "GET", "/api/v1/search/solutions?tag=%E5%B9%B6%E5%8F%91%E9%AA%8C%E8%AF%81&per_page=50"
    )
    assert status == 200 and sorted(item["id"] for item in body["items"]) == sorted(ids)
