"""The index never silently diverges from the store (issue #14, items 1–3).

A serving process never creates an index, readiness notices an index that lost or lags behind
writes, nothing unpublished is served from a cache, writes never wait for the index, the outbox
drains on a timer, and a killed rebuild leaves neither processes nor unlisted directories behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
import tantivy
from filelock import FileLock
from sqlalchemy import update

from indexing.analysis import Analyzer
from indexing.base import SearchUnavailable
from indexing.embedded_backend import EmbeddedBackend
from marketplace import create_app
from marketplace.extensions import db
from marketplace.models import IndexOutbox, utcnow
from marketplace.search import outbox
from marketplace.search.engine import search_state
from marketplace.search.maintenance import drain_outbox
from marketplace.seeding import load_synthetic
from tests.conftest import TEST_SECRET
from tests.factories import assert_error
from tests.gunicorn import ROOT
from tests.indexing.contract import doc


def _found(client, q: str) -> set[int]:
    response = client.get("/api/v1/search/solutions", query_string={"q": q, "per_page": 100})
    assert response.status_code == 200, response.json
    return {item["id"] for item in response.json["items"]}


def _fresh_process(app):
    """A second app on the same store and index: what a worker started after a crash sees."""
    return create_app({**app.config, "INSTANCE_PATH": app.instance_path})


def test_a_fresh_process_answers_503_and_never_creates_an_index_in_place_of_a_missing_one(app, client, world):
    """With the index directory away, a new worker must not start an empty index and drain writes into it."""
    kept = world.solution(title="迁走之前发布的方案")
    index_dir = Path(app.config["INDEX_DIR"])
    away = index_dir.with_name("index.unmounted")
    index_dir.rename(away)

    fresh = _fresh_process(app)
    fresh_world = replace(world, client=fresh.test_client())
    during = fresh_world.solution(title="迁走期间发布的方案")
    body = assert_error(fresh_world.client.get("/api/v1/search/solutions", query_string={"q": "方案"}), 503)
    assert body["message"] == "搜索服务暂不可用，请稍后再试"
    assert fresh_world.client.get("/readyz").status_code == 503
    assert not index_dir.exists(), "a serving process created an index"
    with fresh.app_context():
        assert outbox.lag() > 0, "the outbox rows were dropped without reaching the real index"

    away.rename(index_dir)
    fresh_world.solution(title="恢复之后发布的方案")
    assert {kept["id"], during["id"]} <= _found(fresh_world.client, "方案")
    ready = fresh_world.client.get("/readyz")
    assert ready.status_code == 200, ready.json
    assert ready.json["index_lag"] == 0
    with fresh.app_context():
        db.engine.dispose()


def test_readiness_fails_when_the_index_lost_items_the_outbox_no_longer_names(app, client, world):
    """Equal counts of published items in store and index, or the service is not ready."""
    first = world.solution(title="就绪检查方案甲")
    world.solution(title="就绪检查方案乙")
    assert client.get("/readyz").status_code == 200
    with app.app_context():
        search_state().backend.delete("solution", [first["id"]])
        assert outbox.lag() == 0
    body = assert_error(client.get("/readyz"), 503, "index")
    assert "不一致" in body["errors"]["index"][0]


def test_a_commit_into_a_version_that_is_no_longer_live_is_not_acknowledged(tmp_path):
    """A write that waited for the writer while a rebuild switched versions fails instead of vanishing."""
    analyzer = Analyzer.from_seed_data(str(ROOT / "seed_data"))
    index_dir = tmp_path / "index"
    rebuilder = EmbeddedBackend(index_dir, analyzer)
    rebuilder.rebuild(iter([doc(1)]))
    writer = EmbeddedBackend(index_dir, analyzer, lock_timeout=20)
    holder = tantivy.Index.open(str(index_dir / (index_dir / "CURRENT").read_text())).writer()
    outcome = {}

    def write():
        try:
            writer.index([doc(2)])
            outcome["result"] = "acknowledged"
        except SearchUnavailable as error:
            outcome["result"] = error

    thread = threading.Thread(target=write)
    thread.start()
    time.sleep(0.5)  # the write now waits for the writer of the version it opened
    rebuilder.rebuild(iter([doc(1)]))
    del holder
    thread.join(30)
    assert isinstance(outcome["result"], SearchUnavailable), outcome


def test_an_unpublished_solution_is_never_served_while_the_index_cannot_be_written(app, client, world):
    """Archived while tantivy's writer is held elsewhere: search stops showing it at once."""
    archived = world.solution(title="写锁期间下架的方案")
    assert archived["id"] in _found(client, "写锁期间")
    with app.app_context():
        search_state().backend.lock_timeout = 0.5
        live = Path(app.config["INDEX_DIR"]) / (Path(app.config["INDEX_DIR"]) / "CURRENT").read_text()
    holder = tantivy.Index.open(str(live)).writer()
    try:
        response = client.post(f"/api/v1/solutions/{archived['id']}/archive", headers=world.admin)
        assert response.status_code == 200, response.json
        assert client.get(f"/api/v1/solutions/{archived['id']}").status_code == 404
        for _ in range(3):
            assert archived["id"] not in _found(client, "写锁期间")
        with app.app_context():
            assert outbox.lag() > 0
    finally:
        del holder


def test_a_lagging_index_is_not_ready_past_the_documented_bound(app, client, world):
    """Rows waiting longer than ``INDEX_LAG_BOUND_SECONDS`` make ``/readyz`` answer 503."""
    solution = world.solution(title="滞后检查方案")
    with app.app_context():
        outbox.enqueue("solution", [solution["id"]])
        db.session.commit()
    assert client.get("/readyz").status_code == 200, "a fresh lag is within the bound"
    bound = app.config["INDEX_LAG_BOUND_SECONDS"]
    with app.app_context():
        db.session.execute(update(IndexOutbox).values(created_at=utcnow() - timedelta(seconds=bound + 1)))
        db.session.commit()
    body = assert_error(client.get("/readyz"), 503, "index")
    assert "滞后" in body["errors"]["index"][0]


def test_a_write_returns_at_once_while_the_drain_lock_or_the_writer_is_held(app, client, world):
    """The store commit answers; indexing follows when the lock or writer is free again."""
    solution = world.solution(title="不等索引的方案", status="pending_review")
    with app.app_context():
        lock_path = str(search_state().lock_path)
        live = Path(app.config["INDEX_DIR"]) / (Path(app.config["INDEX_DIR"]) / "CURRENT").read_text()
    with FileLock(lock_path, timeout=1):  # as a rebuild holds it
        started = time.monotonic()
        response = client.post(f"/api/v1/solutions/{solution['id']}/approve", headers=world.admin)
        assert response.status_code == 200, response.json
        assert time.monotonic() - started < 2
    with app.app_context():
        assert drain_outbox(timeout=10) is not None
    assert solution["id"] in _found(client, "不等索引")
    holder = tantivy.Index.open(str(live)).writer()
    try:
        started = time.monotonic()
        response = client.post(f"/api/v1/solutions/{solution['id']}/archive", headers=world.admin)
        assert response.status_code == 200, response.json
        assert time.monotonic() - started < 2
    finally:
        del holder
    with app.app_context():
        assert drain_outbox(timeout=10) is not None
    assert solution["id"] not in _found(client, "不等索引")


def test_waiting_rows_are_drained_on_a_timer_without_another_write(app, client, world):
    """Once the writer is free again, the outbox drains by itself within a few intervals."""
    app.config["INDEX_DRAIN_INTERVAL"] = 0.2
    live = Path(app.config["INDEX_DIR"]) / (Path(app.config["INDEX_DIR"]) / "CURRENT").read_text()
    holder = tantivy.Index.open(str(live)).writer()
    try:
        solution = world.solution(title="定时补写的方案")
        with app.app_context():
            assert outbox.lag() > 0
        del holder
        deadline = time.monotonic() + 10
        while solution["id"] not in _found(client, "定时补写"):
            assert time.monotonic() < deadline, "the outbox was not drained without another write"
            time.sleep(0.1)
    finally:
        app.extensions["background_tasks"]["index-drain"].stop()
    with app.app_context():
        assert outbox.lag() == 0


def _descendants(pid: int) -> set[int]:
    found, todo = set(), [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").iterdir():
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                found.add(child)
                todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_rebuild_killed_with_sigkill_takes_its_children_along_and_leaves_listed_leftovers(
    app, client, runner, world
):
    """kill -9 of ``flask index rebuild``: its children exit; status lists what is left, clean removes it."""
    with app.app_context():
        load_synthetic(3000)
        assert drain_outbox(timeout=60) == 3000
    index_dir = Path(app.config["INDEX_DIR"])
    live = (index_dir / "CURRENT").read_text()
    config = {
        "DATABASE_URL": app.config["DATABASE_URL"],
        "INDEX_DIR": str(index_dir),
        "INSTANCE_PATH": app.instance_path,
        "SECRET_KEY": TEST_SECRET,
        "INDEX_PROCESSES": 2,
        "EMBEDDINGS_BACKEND": app.config["EMBEDDINGS_BACKEND"],
    }
    rebuild = subprocess.Popen(
        [sys.executable, "-m", "flask", "index", "rebuild"],
        cwd=ROOT,
        env={**os.environ, "FLASK_APP": f"marketplace:create_app({config!r})"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while len(children := _descendants(rebuild.pid)) < 2 or not (
        {e.name for e in index_dir.iterdir() if e.is_dir()} - {live}
    ):
        assert rebuild.poll() is None, "the rebuild finished before it could be killed"
        assert time.monotonic() < deadline, "the rebuild never started its analysis processes"
        time.sleep(0.02)
    rebuild.send_signal(signal.SIGKILL)
    assert rebuild.wait(10) == -signal.SIGKILL
    deadline = time.monotonic() + 10
    while survivors := {pid for pid in children if _alive(pid)}:
        assert time.monotonic() < deadline, f"analysis processes outlived their parent: {survivors}"
        time.sleep(0.1)

    result = runner.invoke(args=["index", "status"])
    assert result.exit_code == 0, result.output
    leftovers = json.loads(result.output)["leftovers"]
    assert leftovers and live not in leftovers
    result = runner.invoke(args=["index", "clean"])
    assert result.exit_code == 0, result.output
    assert not {entry.name for entry in index_dir.iterdir()} & set(leftovers)
    assert json.loads(runner.invoke(args=["index", "status"]).output)["leftovers"] == []
    assert (index_dir / "CURRENT").read_text() == live
    assert client.get("/api/v1/search/solutions", query_string={"q": "质量"}).status_code == 200
