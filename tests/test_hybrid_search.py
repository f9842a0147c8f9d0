"""Vectors through the app, with the test embedder: stored once per text, embedded off the request path."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from indexing.embeddings import CachedEmbeddings
from marketplace import create_app
from marketplace.extensions import db
from marketplace.models import ItemEmbedding, PassageEmbedding
from marketplace.search import engine, maintenance, vectors
from marketplace.search.documents import iter_published
from marketplace.taxonomy.service import taxonomy
from tests.conftest import BASE_CONFIG, app_on_fresh_store, create_index
from tests.factories import assert_error

HYBRID_CONFIG = {**BASE_CONFIG, "EMBEDDINGS_BACKEND": "test-hashing", "EMBEDDINGS_BACKGROUND": False}


@pytest.fixture
def app(database_url, tmp_path):
    """The app with the test embedder and no background thread: tests embed the backlog themselves."""
    yield from app_on_fresh_store(HYBRID_CONFIG, database_url, tmp_path)


def _energy(world, **overrides) -> int:
    """A published energy solution whose whole text is about energy."""
    values = {
        "title": "工厂能耗监测",
        "summary": "按设备计量用电",
        "description": "电表加网关，看清每台设备的能耗。",
        "tags": ["能耗监测"],
        "scenarios": ["energy"],
        "level_uplifts": [],
    }
    return world.solution(**{**values, **overrides})["id"]


def _search(client, path="solutions", **params):
    response = client.get(f"/api/v1/search/{path}", query_string=params)
    assert response.status_code == 200, response.json
    return response.json


def _ids(body) -> list[int]:
    return [item["id"] for item in body["items"]]


def _rows(app) -> dict[int, tuple[str, bool]]:
    with app.app_context():
        found = db.session.execute(
            select(ItemEmbedding.item_id, ItemEmbedding.content_digest, ItemEmbedding.vector).where(
                ItemEmbedding.kind == "solution"
            )
        )
        return {item_id: (digest, vector is not None) for item_id, digest, vector in found}


def _embedder(app):
    with app.app_context():
        return vectors.state().embedder


def _embed_backlog(app) -> int:
    with app.app_context():
        return maintenance.embed_backlog()


def test_a_write_never_waits_for_the_model_and_the_backlog_fills_the_index(world):
    """Publishing marks the item as waiting, embedding nothing; the backlog then gives it a vector."""
    app = world.app
    sid = world.solution(
        title="能耗监测平台", summary="按设备计量用电", scenarios=["energy"], level_uplifts=[]
    )["id"]
    assert _embedder(app).calls == []
    assert _rows(app) == {sid: (_rows(app)[sid][0], False)}
    before = _search(world.client, q="用电计量")
    assert before["mode"] == "keyword"
    assert _embed_backlog(app) == 1
    assert _rows(app)[sid][1] is True
    assert [call[0] for call in _embedder(app).calls] == ["passages"]
    after = _search(world.client, q="计量设备的电")
    assert after["mode"] == "hybrid" and _ids(after) == [sid]
    with app.app_context():
        assert maintenance.index_status()["vectors_missing"] == {"solution": 0, "case": 0}


def test_dense_hits_obey_filters_and_facets_count_the_union(world):
    """A neighbour outside the filters is not served; facets count words' and neighbours' matches alike."""
    energy = _energy(world)
    quality = world.solution(title="注塑件视觉检测", scenarios=["quality"])["id"]
    _embed_backlog(world.app)
    semantic = _search(world.client, q="工厂能耗", mode="semantic")
    assert _ids(semantic)[0] == energy and quality not in _ids(semantic)
    filtered = _search(world.client, q="工厂能耗", mode="semantic", scenario="quality")
    assert filtered["total"] == 0 and _ids(filtered) == []
    scenario_facet = {f["value"]: f["count"] for f in filtered["facets"]["scenario"]}
    assert scenario_facet == {"energy": 1}
    assert 0.2 <= semantic["items"][0]["score"] <= 1.0


def test_an_edit_re_embeds_only_when_the_text_changes(world):
    """The stored vector is reused while the text is the same; a new text marks the row waiting again."""
    app = world.app
    sid = _energy(world)
    _embed_backlog(app)
    digest = _rows(app)[sid][0]
    with app.app_context():
        maintenance.rebuild_index()
    assert _rows(app)[sid] == (digest, True) and len(_embedder(app).calls) == 1
    world.client.patch(f"/api/v1/solutions/{sid}", json={"title": "能源管理云平台"}, headers=world.provider)
    world.client.post(f"/api/v1/solutions/{sid}/approve", headers=world.admin)
    changed = _rows(app)[sid]
    assert changed[0] != digest and changed[1] is False
    assert _embed_backlog(app) == 1 and _rows(app)[sid][1] is True


def test_a_change_of_model_re_embeds_and_rebuilds(world, runner, monkeypatch):
    """Vectors record their model: another model's count as missing; ensure re-embeds and rebuilds."""
    app = world.app
    _energy(world)
    _embed_backlog(app)
    monkeypatch.setattr(type(_embedder(app)), "model_id", "test-hashing/2")
    app.extensions["search"]._backend = None
    with app.app_context():
        status = maintenance.index_status()
    assert status["vectors_missing"] == {"solution": 1, "case": 0} and status["layout_current"] is False
    result = runner.invoke(args=["index", "ensure"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        status = maintenance.index_status()
        models = set(db.session.scalars(select(ItemEmbedding.model_id)))
    assert status["vectors_missing"] == {"solution": 0, "case": 0} and status["layout_current"] is True
    assert models == {"test-hashing/2"}


def test_embeddings_sync_command_embeds_and_indexes(world, runner):
    """``flask embeddings sync`` embeds the backlog with a progress bar and brings vectors to the index."""
    sid = _energy(world)
    result = runner.invoke(args=["embeddings", "sync"])
    assert result.exit_code == 0, result.output
    assert "solution 1" in result.output
    assert _rows(world.app)[sid][1] is True
    status = json.loads(runner.invoke(args=["index", "status"]).output)
    assert status["vectors_missing"] == {"solution": 0, "case": 0}
    assert status["index_vectors"] == {"solution": 1, "case": 0}
    ready = world.client.get("/readyz").json
    assert ready["status"] == "ready" and ready["vectors_missing"] == 0


def test_items_without_vectors_are_still_served_and_readyz_says_how_many(world):
    """An item waiting for the model is found by its words; readiness counts it and stays ready."""
    sid = _energy(world)
    assert _ids(_search(world.client, q="能耗监测")) == [sid]
    ready = world.client.get("/readyz")
    assert ready.status_code == 200 and ready.json["vectors_missing"] == 1


def test_dense_neighbours_for_recommendations(world):
    """The matcher's door: published neighbours with their cosine, under filters."""
    energy = _energy(world)
    _energy(world, title="工厂能耗草稿", status="draft")
    _embed_backlog(world.app)
    with world.app.test_request_context():
        found = engine.dense_neighbours("solution", "工厂能耗", 10)
        assert list(found) == [energy] and 0 < found[energy] <= 1
        assert engine.dense_neighbours("solution", "工厂能耗", 10, {"scenario": ("quality",)}) == {}


def test_keyword_mode_ignores_vectors_and_other_sorts_are_keyword(world):
    """``mode=keyword`` never embeds the query; a search ordered by a field is by keywords."""
    _energy(world)
    _embed_backlog(world.app)
    calls = len(_embedder(world.app).calls)
    assert _search(world.client, q="工厂能耗", mode="keyword")["mode"] == "keyword"
    assert _search(world.client, q="工厂能耗", sort="newest")["mode"] == "keyword"
    assert len(_embedder(world.app).calls) == calls


def test_dense_modes_are_refused_without_embeddings(client):
    """With ``EMBEDDINGS_BACKEND=none`` a dense mode is a 422 naming ``mode``; keyword search still works."""
    app = create_app({**BASE_CONFIG, "INSTANCE_PATH": client.application.instance_path + "-none"})
    create_index(app)
    plain = app.test_client()
    assert_error(
        plain.get("/api/v1/search/solutions", query_string={"q": "能耗", "mode": "hybrid"}), 422, "mode"
    )


def test_recommendations_read_stored_vectors_through_the_one_embedder(world):
    """A recommendation embeds the need and the clauses its reasons quote, with the app's one embedder;
    the candidates' own passages are never embedded again on the request (their stored vectors are read)."""
    energy = _energy(world, description="电表加网关，看清每台设备的能耗。峰谷用电分析，给出错峰生产建议。")
    _embed_backlog(world.app)
    embedder = _embedder(world.app)
    calls, texts = len(embedder.calls), len(embedder.texts)
    response = world.client.post(
        "/api/v1/recommendations", json={"industry": "C2929", "needs": "工厂能耗太高，想知道哪台设备最费电"}
    )
    assert response.status_code == 200, response.json
    top = response.json["solutions"][0]
    assert top["id"] == energy and top["reasons"][0].startswith("匹配您的需求：")
    assert ("queries", 1) in embedder.calls[calls:]
    embedded = embedder.texts[texts:]
    embedded.remove("工厂能耗太高，想知道哪台设备最费电")
    with world.app.app_context():
        stored = vectors.passage(next(iter_published("solution", taxonomy())))
    assert embedded and stored not in embedded and all(len(text) <= 60 for text in embedded)


def test_the_clauses_reasons_quote_are_embedded_once_for_every_worker(world, runner):
    """A clause embedded for one request is kept in the store by model: another process (a fresh
    per-process cache) reads it back instead of running the model, and a change of model drops it."""
    _energy(world, description="电表加网关，看清每台设备的能耗。峰谷用电分析，给出错峰生产建议。")
    _embed_backlog(world.app)
    needs = ("工厂能耗太高，想知道哪台设备最费电", "电费一个月好几万，不知道钱花在哪台机器上")
    response = world.client.post("/api/v1/recommendations", json={"industry": "C2929", "needs": needs[0]})
    assert response.status_code == 200, response.json
    with world.app.app_context():
        kept = db.session.execute(select(PassageEmbedding.model_id, PassageEmbedding.content_digest)).all()
        assert kept and {model for model, _ in kept} == {"test-hashing/1"}
        state = vectors.state()
        state._passages = CachedEmbeddings(state.embedder, passages=True)  # another worker's cache
    embedder = _embedder(world.app)
    calls = len(embedder.calls)
    response = world.client.post("/api/v1/recommendations", json={"industry": "C2929", "needs": needs[1]})
    assert response.status_code == 200, response.json
    assert response.json["solutions"][0]["reasons"][0].startswith("匹配您的需求：")
    assert embedder.calls[calls:] == [("queries", 1)]
    with world.app.app_context():
        old = PassageEmbedding(model_id="test-hashing/0", content_digest="0" * 16, vector=b"\0" * 512)
        db.session.add(old)
        db.session.commit()
    assert runner.invoke(args=["embeddings", "sync"]).exit_code == 0
    with world.app.app_context():
        assert set(db.session.scalars(select(PassageEmbedding.model_id))) == {"test-hashing/1"}
