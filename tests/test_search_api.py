"""Search through the API: consistency with the store, facets, promotions, outages."""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest

from indexing.base import SearchUnavailable
from indexing.vocabulary import FACETS, FILTERS, RANGES
from marketplace import create_app
from marketplace.extensions import db
from marketplace.search import outbox
from marketplace.search.schemas import FacetsSchema, SearchArgsSchema
from tests.conftest import BASE_CONFIG
from tests.factories import assert_error, case_payload


def _search(client, path="solutions", headers=None, **params):
    response = client.get(f"/api/v1/search/{path}", query_string=params, headers=headers)
    assert response.status_code == 200, response.json
    return response.json


def _ids(body) -> list[int]:
    return [item["id"] for item in body["items"]]


def test_published_solution_is_searchable_at_once(world):
    """Publishing makes a solution findable by the time the response returns; drafts never are."""
    draft = world.solution(status="draft", title="草稿里的视觉检测")["id"]
    published = world.solution(title="注塑件外观缺陷视觉检测")["id"]
    body = _search(world.client, q="注塑件 外观缺陷")
    assert _ids(body) == [published] and draft not in _ids(body)
    item = body["items"][0]
    assert item["provider_name"] == "苏州智检科技有限公司" and item["score"] > 0
    assert "<em>" in item["highlight"]["title"]


def test_archive_and_edit_reach_the_index(world):
    """Archiving removes a solution from search; an edit back in review removes it until approved."""
    sid = world.solution(title="能耗监测平台", scenarios=["energy"], level_uplifts=[])["id"]
    assert _ids(_search(world.client, q="能耗监测")) == [sid]
    world.client.patch(f"/api/v1/solutions/{sid}", json={"title": "能源管理云平台"}, headers=world.provider)
    assert _search(world.client, q="能源管理")["total"] == 0
    world.client.post(f"/api/v1/solutions/{sid}/approve", headers=world.admin)
    assert _ids(_search(world.client, q="能源管理")) == [sid]
    world.client.post(f"/api/v1/solutions/{sid}/archive", headers=world.provider)
    assert _search(world.client, q="能源管理")["total"] == 0


def test_provider_move_reaches_its_solutions(world):
    """A provider's city is part of its solutions' documents and follows an edit."""
    sid = world.solution()["id"]
    world.client.patch(
        f"/api/v1/providers/{world.provider_id}", json={"city": "无锡市"}, headers=world.provider
    )
    assert _ids(_search(world.client, city="无锡市")) == [sid]


def test_hits_show_a_provider_rename_at_once(world):
    """Hits are dumped once per index generation; a rename commits to the index, so the next page shows it."""
    sid = world.solution(title="注塑件外观缺陷视觉检测")["id"]
    assert _search(world.client, q="视觉检测")["items"][0]["provider_name"] == "苏州智检科技有限公司"
    response = world.client.patch(
        f"/api/v1/providers/{world.provider_id}",
        json={"name": "苏州慧眼智能科技有限公司"},
        headers=world.provider,
    )
    assert response.status_code == 200, response.json
    item = _search(world.client, q="视觉检测")["items"][0]
    assert (item["id"], item["provider_name"]) == (sid, "苏州慧眼智能科技有限公司")


def test_facets_have_labels_and_are_disjunctive(world):
    """Facet values carry Chinese labels; a facet's own filter does not narrow its counts."""
    world.solution(scenarios=["quality"], industries=["C2929"])
    world.solution(scenarios=["energy"], industries=["C3670"], level_uplifts=[], delivery_modes=["saas"])
    body = _search(world.client, scenario="quality")
    assert body["total"] == 1
    scenario = {f["value"]: (f["label"], f["count"]) for f in body["facets"]["scenario"]}
    assert scenario == {"quality": ("质量管理", 1), "energy": ("能耗管理", 1)}
    industry = {f["value"]: f["label"] for f in body["facets"]["industry"]}
    assert industry == {"C29": "橡胶和塑料制品业"}
    modes = {f["value"]: f["label"] for f in body["facets"]["delivery_mode"]}
    assert modes == {"edge": "边缘部署", "hardware_bundle": "软硬一体"}


def test_case_promotions_are_searchable_and_labelled(world):
    """A running promotion filters as promoted and is labelled for an enterprise of that city."""
    case = world.case(title="某注塑企业视觉质检改造")
    other = world.case(
        headers=world.other_office,
        **{**case_payload(city="宁波市", province="浙江省"), "title": "宁波五金能耗改造"},
    )
    response = world.client.post(
        f"/api/v1/cases/{case['id']}/promotions",
        json={
            "starts_on": str(date.today() - timedelta(days=5)),
            "ends_on": str(date.today() + timedelta(days=60)),
            "note": "本市重点推广",
        },
        headers=world.office,
    )
    assert response.status_code == 201
    promoted = _search(world.client, "cases", headers=world.enterprise, promoted="true")
    assert _ids(promoted) == [case["id"]]
    item = promoted["items"][0]
    assert item["promoted"] and item["active_promotion"]["label"] == "苏州市主管部门推广"
    assert item["promoted_in_your_city"] is True
    elsewhere = _search(world.client, "cases", headers=world.other_enterprise, promoted="true")
    assert elsewhere["items"][0]["promoted_in_your_city"] is False
    assert _ids(_search(world.client, "cases", promoted="false")) == [other["id"]]


def test_suggest(world):
    """Completions come from titles and tags, then the lexicon."""
    world.solution(title="视觉检测一体机", tags=["视觉质检"])
    response = world.client.get("/api/v1/suggest", query_string={"prefix": "视觉"})
    assert response.status_code == 200
    assert {"视觉检测一体机", "视觉质检"} <= set(response.json["items"])
    assert_error(world.client.get("/api/v1/suggest"), 422, "prefix")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"per_page": 101}, "per_page"),
        ({"page": 200, "per_page": 100}, "page"),
        ({"sort": "random"}, "sort"),
        ({"industry": "C99"}, "industry"),
        ({"q": "字" * 201}, "q"),
        ({"price_max_cny": -1}, "price_max_cny"),
    ],
)
def test_bad_search_arguments(client, params, field):
    """Bad arguments are named."""
    assert_error(client.get("/api/v1/search/solutions", query_string=params), 422, field)


def test_search_arguments_and_facets_are_the_vocabulary():
    """Every filter and range of the vocabulary is a query argument; every facet is in the answer."""
    assert set(FILTERS) | set(RANGES) <= set(SearchArgsSchema().fields)
    assert set(FacetsSchema().fields) == set(FACETS)


class _DownBackend:
    """An index that refuses everything."""

    def __getattr__(self, name):
        def fail(*args, **kwargs):
            raise SearchUnavailable("index down for the test")

        return fail


def test_index_outage_keeps_writes_and_catches_up(app, world, monkeypatch):
    """With the index down, writes succeed and search answers 503; once it is back, the outbox drains."""
    state = app.extensions["search"]
    real = state.backend
    monkeypatch.setattr(state, "_backend", _DownBackend())
    sid = world.solution(title="停机期间发布的方案")["id"]
    assert world.client.get(f"/api/v1/solutions/{sid}").json["status"] == "published"
    assert_error(world.client.get("/api/v1/search/solutions", query_string={"q": "停机"}), 503)
    with app.app_context():
        assert outbox.lag() > 0
    monkeypatch.setattr(state, "_backend", real)
    result = app.test_cli_runner().invoke(args=["index", "sync"])
    assert result.exit_code == 0, result.output
    assert _ids(_search(world.client, q="停机期间")) == [sid]
    with app.app_context():
        assert outbox.lag() == 0


def test_rebuild_and_status_commands(app, world):
    """``flask index rebuild`` rebuilds from the store; ``status`` reports counts and lag."""
    world.solution()
    world.case()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["index", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "indexed 2 documents" in result.output
    status = runner.invoke(args=["index", "status"])
    assert '"lag": 0' in status.output and '"solution": 1' in status.output


def test_ensure_rebuilds_an_index_built_with_another_analysis(app, world, database_url, tmp_path):
    """A deploy whose lexicon changed finds the index stale in status and /readyz; ``ensure`` rebuilds it."""
    sid = world.solution(title="检测工装快换方案")["id"]
    seed = tmp_path / "edited-seed-data"
    shutil.copytree(app.config["SEED_DATA_DIR"], seed)
    with (seed / "lexicon" / "domain.txt").open("a", encoding="utf-8") as terms:
        terms.write("\n检测工装\n")
    config = {**BASE_CONFIG, "DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path)}
    upgraded = create_app({**config, "SEED_DATA_DIR": str(seed)})

    def status(of) -> dict:
        return json.loads(of.test_cli_runner().invoke(args=["index", "status"]).stdout)

    try:
        before = status(upgraded)
        assert before["analysis_current"] is False and before["index_analyzer"] == status(app)["analyzer"]
        assert upgraded.test_client().get("/readyz").json["index_analysis_current"] is False
        result = upgraded.test_cli_runner().invoke(args=["index", "ensure"])
        assert result.exit_code == 0, result.output
        assert "indexed 1 documents" in result.stdout
        after = status(upgraded)
        assert after["analysis_current"] is True and after["index"]["solution"] == 1
        assert _ids(_search(upgraded.test_client(), q="检测工装")) == [sid]
        assert "indexed" not in upgraded.test_cli_runner().invoke(args=["index", "ensure"]).stdout
    finally:
        with upgraded.app_context():
            db.session.remove()
            db.engine.dispose()


def test_ensure_rebuilds_an_index_built_with_another_field_layout(app, world):
    """An index recorded with an older field layout is stale in status; ``ensure`` rebuilds it."""
    world.solution()
    runner = app.test_cli_runner()

    def status() -> dict:
        return json.loads(runner.invoke(args=["index", "status"]).stdout)

    current = status()
    assert current["layout_current"] is True and current["index_layout"] == current["layout"]
    recorded = Path(app.config["INDEX_DIR"]) / current["version"] / "LAYOUT"
    recorded.write_text("older", encoding="utf-8")
    stale = status()
    assert stale["layout_current"] is False and stale["index_layout"] == "older"
    assert stale["analysis_current"] is True
    assert app.test_client().get("/readyz").json["index_analysis_current"] is False
    result = runner.invoke(args=["index", "ensure"])
    assert result.exit_code == 0, result.output
    assert f"index built with layout older, now {current['layout']}: rebuilding" in result.stdout
    assert "indexed 1 documents" in result.stdout
    assert status()["layout_current"] is True
    assert app.test_client().get("/readyz").json["index_analysis_current"] is True
    assert "indexed" not in runner.invoke(args=["index", "ensure"]).stdout


def test_rebuild_discards_outbox_rows_it_covers(app, world, monkeypatch):
    """Rows queued before a rebuild (``seed --no-index``) are not indexed twice; rows queued during it are."""
    first = world.solution()["id"]
    second = world.solution(title="能耗监测平台")["id"]
    with app.app_context():
        outbox.enqueue("solution", [first, second])
        db.session.commit()
    backend = app.extensions["search"].backend
    indexed: list[int] = []
    real_index, real_rebuild = backend.index, backend.rebuild

    def spy_index(documents, wait=None):
        indexed.extend(document.id for document in documents)
        return real_index(documents, wait=wait)

    def rebuild_meanwhile(documents):
        count = real_rebuild(documents)
        outbox.enqueue("solution", [second])
        db.session.commit()
        return count

    monkeypatch.setattr(backend, "index", spy_index)
    monkeypatch.setattr(backend, "rebuild", rebuild_meanwhile)
    result = app.test_cli_runner().invoke(args=["index", "rebuild"])
    assert result.exit_code == 0, result.output
    assert indexed == [second]
    with app.app_context():
        assert outbox.lag() == 0
    assert _ids(_search(world.client, q="能耗监测")) == [second]


def test_readiness_reports_index_lag(app, world, monkeypatch):
    """/readyz answers 200 with the lag while store and index answer, and 503 in the error shape otherwise."""
    world.solution()
    ready = world.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json["index_lag"] == 0 and ready.json["index_documents"]["solution"] == 1
    assert ready.json["index_analysis_current"] is True
    assert world.client.get("/healthz").json == {"status": "ok"}
    monkeypatch.setattr(app.extensions["search"], "_backend", _DownBackend())
    assert_error(world.client.get("/readyz"), 503, "index")
