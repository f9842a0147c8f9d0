"""Faults: a worker killed mid-write, the index gone, a rebuild killed midway, the database dropping us."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from indexing.base import SearchRequest
from marketplace import normalise_database_url
from marketplace.extensions import db
from marketplace.models import ListingStatus, Solution
from marketplace.search import outbox
from marketplace.search.engine import search_state
from marketplace.search.maintenance import drain_outbox
from marketplace.seeding import load_synthetic
from tests.conftest import POSTGRES_URL, TEST_SECRET
from tests.factories import assert_error, solution_payload
from tests.gunicorn import ADMIN_EMAIL, ROOT, call, provider_token, serve, token

pytestmark = pytest.mark.slow


def _published_in_store() -> set[int]:
    return set(db.session.scalars(select(Solution.id).where(Solution.status == ListingStatus.PUBLISHED)))


def _solutions_in_index() -> set[int]:
    result = search_state().backend.search(SearchRequest(kind="solution", per_page=10_000, facets=()))
    assert result.total == len(result.hits)
    return {hit.id for hit in result.hits}


def _live_version(index_dir: Path) -> str:
    return (index_dir / "CURRENT").read_text().strip()


def test_killing_workers_during_a_burst_of_writes_loses_no_acknowledged_write(tmp_path):
    """Every write answered 2xx while workers are SIGKILLed is in the store; a sync makes the index match.

    Each solution goes create → submit → approve → edit → approve on one thread. A request cut off
    by the kill stops that solution's sequence: the store then holds the state after the last
    acknowledged step, or after the cut-off one if it committed before the worker died.
    """
    with serve(tmp_path, workers=4) as server:
        port = server.port
        admin = token(port, ADMIN_EMAIL)
        providers = [provider_token(port, f"p{n}@example.cn") for n in range(4)]
        acknowledged: dict[int, tuple[str, str]] = {}
        cut_off: dict[int, tuple[str, str]] = {}
        lost_requests = []
        progress = threading.Semaphore(0)

        def step(ident, method, path, body, who, expected):
            try:
                status, answer = call(port, method, path, body, who)
            except (OSError, http.client.HTTPException):
                lost_requests.append(path)
                if ident is not None:
                    cut_off[ident] = expected
                return None
            assert 200 <= status < 300, (path, status, answer)
            ident = answer["id"]
            acknowledged[ident] = expected
            progress.release()
            return ident

        def write(n: int) -> None:
            provider = providers[n % len(providers)]
            title, edited = f"抗故障写入方案{n}号", f"抗故障写入方案{n}号（修订版）"
            ident = step(
                None, "POST", "/api/v1/solutions", solution_payload(title=title), provider, ("draft", title)
            )
            sequence = (
                ("submit", None, provider, ("pending_review", title)),
                ("approve", None, admin, ("published", title)),
                ("", {"title": edited}, provider, ("pending_review", edited)),
                ("approve", None, admin, ("published", edited)),
            )
            for action, body, who, expected in sequence:
                if ident is None:
                    return
                path = f"/api/v1/solutions/{ident}" + (f"/{action}" if action else "")
                ident = step(ident, "PATCH" if body else "POST", path, body, who, expected)

        killed = []

        def kill_workers() -> None:
            for _ in range(3):
                for _ in range(25):
                    progress.acquire(timeout=30)
                victim = server.worker_pids()[0]
                os.kill(victim, signal.SIGKILL)
                killed.append(victim)

        killer = threading.Thread(target=kill_workers)
        killer.start()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(write, range(40)))
        killer.join()
        assert len(killed) == 3

        with server.app.app_context():
            stored = {
                row.id: (row.status.value, row.title)
                for row in db.session.scalars(select(Solution).where(Solution.id.in_(acknowledged)))
            }
            for ident, expected in acknowledged.items():
                assert stored.get(ident) in {expected, cut_off.get(ident)}, (ident, lost_requests)

            result = server.app.test_cli_runner().invoke(args=["index", "sync"])
            assert result.exit_code == 0, result.output
            assert outbox.lag() == 0
            assert _solutions_in_index() == _published_in_store()
        assert call(port, "GET", "/api/v1/search/solutions?q=%E6%8A%97%E6%95%85%E9%9A%9C")[0] == 200


@pytest.mark.parametrize("gone", ["live version", "index directory"])
def test_writes_succeed_while_the_index_is_gone_and_reach_it_once_it_is_back(app, client, world, gone):
    """With the index moved away, writes answer 2xx, search 503; once back, the next write drains the outbox.

    Moving the whole index directory must not make a running process start an empty index in its place.
    """
    world.solution(title="索引在线时发布的方案")
    index_dir = Path(app.config["INDEX_DIR"])
    live = index_dir / _live_version(index_dir) if gone == "live version" else index_dir
    away = live.with_name(f"{live.name}.unmounted")
    live.rename(away)
    try:
        during = world.solution(title="索引离线时发布的方案")
        body = assert_error(client.get("/api/v1/search/solutions", query_string={"q": "离线"}), 503)
        assert body["message"] == "搜索服务暂不可用，请稍后再试"
        assert_error(client.get("/api/v1/suggest", query_string={"prefix": "索引"}), 503)
        assert client.get("/readyz").status_code == 503
        with app.app_context():
            assert db.session.get(Solution, during["id"]).status is ListingStatus.PUBLISHED
            assert outbox.lag() > 0
    finally:
        away.rename(live)

    after = world.solution(title="索引恢复后发布的方案")
    with app.app_context():
        assert outbox.lag() == 0
    response = client.get("/api/v1/search/solutions", query_string={"q": "索引 方案"})
    assert response.status_code == 200
    found = {item["id"] for item in response.json["items"]}
    assert {during["id"], after["id"]} <= found
    assert client.get("/readyz").json["index_lag"] == 0


def test_a_rebuild_killed_midway_leaves_the_old_index_serving(app, client, world):
    """SIGKILL during ``flask index rebuild``: the old version keeps answering; the next rebuild cleans up."""
    with app.app_context():
        # Enough documents that the rebuild runs for about a second after its directory appears.
        load_synthetic(3000)
        assert drain_outbox(timeout=60) == 3000
    index_dir = Path(app.config["INDEX_DIR"])
    old_version = _live_version(index_dir)
    query = {"q": "质量检测", "per_page": 50}
    before = client.get("/api/v1/search/solutions", query_string=query).json
    assert before["total"] > 0

    config = {
        "DATABASE_URL": app.config["DATABASE_URL"],
        "INDEX_DIR": str(index_dir),
        "INSTANCE_PATH": app.instance_path,
        "SECRET_KEY": TEST_SECRET,
        "EMBEDDINGS_BACKEND": "none",
    }
    rebuild = subprocess.Popen(
        [sys.executable, "-m", "flask", "index", "rebuild"],
        cwd=ROOT,
        env={**os.environ, "FLASK_APP": f"marketplace:create_app({config!r})"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    existing = {entry.name for entry in index_dir.iterdir()}
    deadline = time.monotonic() + 30
    while not (partial := {e.name for e in index_dir.iterdir() if e.is_dir()} - existing):
        assert rebuild.poll() is None, rebuild.stderr.read().decode()
        assert time.monotonic() < deadline, "the rebuild never started a new version"
        time.sleep(0.01)
    time.sleep(0.1)
    rebuild.send_signal(signal.SIGKILL)
    assert rebuild.wait(10) == -signal.SIGKILL, "the rebuild finished before it could be killed"
    rebuild.stderr.close()

    assert _live_version(index_dir) == old_version
    assert partial <= {entry.name for entry in index_dir.iterdir()}
    assert client.get("/api/v1/search/solutions", query_string=query).json == before

    result = app.test_cli_runner().invoke(args=["index", "rebuild"])
    assert result.exit_code == 0, result.output
    new_version = _live_version(index_dir)
    assert new_version != old_version
    versions = {entry.name for entry in index_dir.iterdir() if entry.is_dir()}
    assert versions == {old_version, new_version}
    after = client.get("/api/v1/search/solutions", query_string=query).json
    assert after["total"] == before["total"]
    assert {item["id"] for item in after["items"]} == {item["id"] for item in before["items"]}


@pytest.mark.postgres
@pytest.mark.skipif(
    not POSTGRES_URL,
    reason="needs PostgreSQL (TEST_DATABASE_URL): it drops the app's connections from another session",
)
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_the_next_request_succeeds_after_the_database_dropped_every_connection(app, client, world):
    """The server closing every connection between two requests (as a restart does) goes unnoticed.

    A test cannot restart the shared PostgreSQL server, so another session terminates every
    backend of this database instead; the engine's ``pool_pre_ping`` must replace the dead
    pooled connections before the next request uses them.
    """
    solution = world.solution(title="数据库重连验证方案")
    assert client.get(f"/api/v1/solutions/{solution['id']}").status_code == 200
    url = normalise_database_url(app.config["DATABASE_URL"])
    admin_engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as connection:
        terminated = connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).all()
    admin_engine.dispose()
    assert terminated and all(ok for (ok,) in terminated)

    response = client.get(f"/api/v1/solutions/{solution['id']}")
    assert response.status_code == 200, response.json
    response = client.post("/api/v1/solutions", json=solution_payload(), headers=world.provider)
    assert response.status_code == 201, response.json
