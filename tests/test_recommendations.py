"""Recommendations through the API: ranking, reasons, level-up planning, access, feedback and models."""

from __future__ import annotations

import logging

import joblib
import pytest
from sqlalchemy import update

from marketplace import create_app
from marketplace.extensions import db
from marketplace.models import BenchmarkCase, FeedbackEvent, RankerModel, Solution
from marketplace.recommendations import models_store
from marketplace.search.cache import GenerationCache
from tests.conftest import create_index
from tests.factories import assert_error

NEEDS = {"industry": "C2929", "needs": "客户老投诉我们的注塑件有黑点缩水，全靠老师傅拿眼看外观缺陷"}


@pytest.fixture
def catalog(world, runner):
    """A small catalog with a trained, active model."""
    vision = world.solution(title="注塑件外观缺陷视觉检测一体机")
    costly = world.solution(
        title="高端注塑件外观缺陷视觉检测产线", price_min_cny=400_000, price_max_cny=900_000, level_uplifts=[]
    )
    energy = world.solution(
        headers=world.other_provider,
        title="车间能耗监测平台",
        industries=["C"],
        scenarios=["energy"],
        tags=["能耗监测"],
        level_uplifts=[],
        delivery_modes=["saas"],
        summary="电表接入，分项计量，找出最耗电的设备",
        description="按设备、班组统计用电，峰谷电价优化。",
    )
    case = world.case(title="注塑企业视觉质检改造样板", solution_ids=[vision["id"]])
    result = runner.invoke(args=["matching", "train"])
    assert result.exit_code == 0, result.output
    return {"vision": vision, "costly": costly, "energy": energy, "case": case}


def _recommend(client, **body):
    response = client.post("/api/v1/recommendations", json={**NEEDS, **body})
    assert response.status_code == 200, response.json
    return response.json


def test_recommends_with_reasons(world, catalog):
    """The fitting solution and the peer case come first, each with reasons from real components."""
    body = _recommend(world.client, budget_max_cny=100_000, city="苏州市")
    assert body["request_id"] and body["model_version"]
    top = body["solutions"][0]
    assert top["id"] == catalog["vision"]["id"]
    assert "预算内（报价 3–8 万元）" in top["reasons"]
    assert top["reasons"][0].startswith("匹配您的需求：")
    assert all(item["reasons"][0].startswith("匹配您的需求：") for item in body["solutions"] + body["cases"])
    assert any(reason.startswith("同属") for reason in top["reasons"])
    assert "本市样板案例 1 个使用该方案" in top["reasons"]
    assert body["cases"][0]["id"] == catalog["case"]["id"]
    assert body["cases"][0]["reasons"]


def test_case_reasons_name_levels_as_the_indicator_does(world, catalog):
    """Level names are the indicator's: a case that started below 一级 says 未达一级, as the table does."""
    case = world.case(
        title="注塑企业外观缺陷视觉检测样板",
        solution_ids=[catalog["vision"]["id"]],
        level_before=0,
        level_after=2,
    )
    cases = _recommend(world.client)["cases"]
    reasons = next(item["reasons"] for item in cases if item["id"] == case["id"])
    assert "改造后由未达一级升至二级" in reasons


def test_budget_trap_ranks_below_and_says_why(world, catalog):
    """A solution far over budget ranks below an equally relevant one within it, and says so."""
    solutions = _recommend(world.client, budget_max_cny=100_000)["solutions"]
    order = [item["id"] for item in solutions]
    assert order.index(catalog["vision"]["id"]) < order.index(catalog["costly"]["id"])
    costly = next(item for item in solutions if item["id"] == catalog["costly"]["id"])
    assert any("超出预算" in reason for reason in costly["reasons"])


def test_a_budget_stated_in_the_needs_counts_as_stated(world, catalog):
    """ "预算十万以内" in the owner's words ranks and explains like the budget field; the field wins."""
    needs = NEEDS["needs"] + "，预算十万以内"
    solutions = _recommend(world.client, needs=needs)["solutions"]
    order = [item["id"] for item in solutions]
    assert order.index(catalog["vision"]["id"]) < order.index(catalog["costly"]["id"])
    costly = next(item for item in solutions if item["id"] == catalog["costly"]["id"])
    assert any("超出预算" in reason for reason in costly["reasons"])
    roomy = _recommend(world.client, needs=needs, budget_max_cny=1_000_000)["solutions"]
    costly = next(item for item in roomy if item["id"] == catalog["costly"]["id"])
    assert not any("超出预算" in reason for reason in costly["reasons"])


def test_a_deadline_and_a_place_for_the_data_in_the_needs_reorder_and_explain(world):
    """Two listings answer the need alike; the one that can keep the data on site and be in use
    within the stated two weeks comes first, and each says whether it meets them (the prior)."""
    cloud = world.solution(title="注塑件外观缺陷云端视觉检测", delivery_modes=["saas"], deploy_days=60)
    local = world.solution(
        headers=world.other_provider,
        title="注塑件外观缺陷本地视觉检测",
        delivery_modes=["on_premise"],
        industries=["C"],
    )
    plain = [item["id"] for item in _recommend(world.client)["solutions"]]
    assert plain[:2] == [cloud["id"], local["id"]]  # its own industry, where nothing else is stated
    needs = NEEDS["needs"] + "。图纸和检测数据不能出厂，两周内就要用起来"
    body = _recommend(world.client, needs=needs)
    assert body["model_version"].startswith("prior-")
    solutions = {item["id"]: item for item in body["solutions"]}
    assert [item["id"] for item in body["solutions"]][:2] == [local["id"], cloud["id"]]
    assert "可本地部署，数据不出厂" in solutions[local["id"]]["reasons"]
    assert "约 14 天可上线，赶得上您说的 14 天内" in solutions[local["id"]]["reasons"]
    assert "云端交付，数据须上传到服务商" in solutions[cloud["id"]]["reasons"]
    assert "上线约需 60 天，晚于您说的 14 天内" in solutions[cloud["id"]]["reasons"]


def test_level_plan_for_an_enterprise_below_level_two(world, catalog):
    """Below 二级, the plan names the constraint scenarios to lift first."""
    body = _recommend(world.client, digital_level=1)
    plan = body["level_plan"]
    assert plan["target_level"] == 2 and plan["basis"] == "level_rule"
    assert len(plan["scenarios"]) == plan["min_constraint_scenarios"] == 3
    assert all(s["constraint"] for s in plan["scenarios"])
    assert _recommend(world.client, digital_level=2)["level_plan"] is None


def test_at_most_two_per_provider_in_the_top_ten(world, runner):
    """One provider's many similar listings do not crowd out the others."""
    for n in range(4):
        world.solution(title=f"注塑件外观缺陷视觉检测方案{n}")
    other = world.solution(headers=world.other_provider, title="注塑外观缺陷视觉检测")
    runner.invoke(args=["matching", "train"])
    solutions = _recommend(world.client)["solutions"]
    providers = [item["provider"]["id"] for item in solutions[:10]]
    assert providers.count(world.provider_id) <= 2
    assert other["id"] in [item["id"] for item in solutions[:3]]


def test_enterprise_recommendations_follow_profile_privacy(world, catalog):
    """The owner and its city's office get recommendations for a stored profile; others do not."""
    url = f"/api/v1/enterprises/{world.enterprise_id}/recommendations"
    assert world.client.get(url, headers=world.enterprise).status_code == 200
    assert world.client.get(url, headers=world.office).status_code == 200
    assert_error(world.client.get(url, headers=world.other_office), 404)
    assert_error(world.client.get(url, headers=world.provider), 404)
    assert_error(world.client.get(url), 401)


def test_similar_items(world, catalog):
    """Similar items exclude the item itself; unpublished items are not found."""
    sid = catalog["vision"]["id"]
    body = world.client.get(f"/api/v1/solutions/{sid}/similar").json
    assert sid not in [item["id"] for item in body["solutions"]]
    assert catalog["costly"]["id"] in [item["id"] for item in body["solutions"]]
    assert world.client.get(f"/api/v1/cases/{catalog['case']['id']}/similar").status_code == 200
    draft = world.solution(status="draft")
    assert_error(world.client.get(f"/api/v1/solutions/{draft['id']}/similar"), 404)


def test_feedback_events(app, world, catalog):
    """Events on served items are logged; unknown lists and items are refused; inquiries log themselves."""
    body = _recommend(world.client)
    item = body["solutions"][0]
    event = {
        "request_id": body["request_id"],
        "item_type": "solution",
        "item_id": item["id"],
        "type": "click",
    }
    response = world.client.post("/api/v1/events", json=event)
    assert response.status_code == 201 and response.json["position"] == 0
    assert_error(
        world.client.post("/api/v1/events", json={**event, "request_id": "0" * 36}), 422, "request_id"
    )
    assert_error(world.client.post("/api/v1/events", json={**event, "item_id": 99999}), 422, "item_id")
    assert_error(world.client.post("/api/v1/events", json={**event, "type": "purchase"}), 422, "type")
    inquiry = world.client.post(
        f"/api/v1/solutions/{item['id']}/inquiries",
        json={"message": "想了解报价", "request_id": body["request_id"]},
        headers=world.enterprise,
    )
    assert inquiry.status_code == 201
    with app.app_context():
        logged = db.session.scalars(db.select(FeedbackEvent).where(FeedbackEvent.type == "inquiry")).all()
        assert [(e.request_id, e.item_id, e.position) for e in logged] == [
            (body["request_id"], item["id"], 0)
        ]


def test_before_any_training_the_prior_serves(world):
    """A freshly loaded catalog is served at once by the prior, and the answer says so."""
    vision = world.solution(title="注塑件外观缺陷视觉检测一体机")
    world.solution(
        title="车间能耗监测平台",
        industries=["C2929"],
        scenarios=["energy"],
        tags=["能耗监测"],
        level_uplifts=[],
        summary="电表接入，分项计量，找出最耗电的设备",
        description="按设备、班组统计用电，峰谷电价优化。",
    )
    body = _recommend(world.client, budget_max_cny=100_000)
    assert body["model_version"].startswith("prior-")
    assert body["solutions"][0]["id"] == vision["id"]
    assert body["solutions"][0]["reasons"][0].startswith("匹配您的需求：")


def test_bad_requests_are_named(client):
    assert_error(client.post("/api/v1/recommendations", json={**NEEDS, "industry": "C99"}), 422, "industry")
    assert_error(client.post("/api/v1/recommendations", json={"industry": "C29"}), 422, "needs")
    assert_error(client.post("/api/v1/recommendations", json={**NEEDS, "limit": 500}), 422, "limit")


def test_training_activates_only_a_better_model_and_workers_follow(app, world, catalog, runner, monkeypatch):
    """A retrain without evidence of improvement stays inactive; --force activates and is picked up."""
    with app.app_context():
        first = models_store.active_row().version
    runner.invoke(args=["matching", "train"])
    with app.app_context():
        assert models_store.active_row().version == first
        assert db.session.scalar(db.select(db.func.count(RankerModel.version))) == 2
    monkeypatch.setattr(models_store, "RELOAD_SECONDS", 0.0)
    result = runner.invoke(args=["matching", "train", "--force"])
    assert result.exit_code == 0
    with app.app_context():
        newest = models_store.active_row().version
    assert newest != first
    assert _recommend(world.client)["model_version"] == newest


def test_outdated_model_gives_way_to_the_prior_until_train_if_missing_replaces_it(
    app, world, catalog, runner, monkeypatch
):
    """A model fitted on other features cannot score: the prior serves, and ``--if-missing`` retrains."""
    with app.app_context():
        row = models_store.active_row()
        matcher = joblib.load(row.path)
        matcher.features_ = matcher.features_[:-1]
        joblib.dump(matcher, row.path)
        stale = row.version
    monkeypatch.setattr(models_store, "RELOAD_SECONDS", 0.0)
    monkeypatch.setattr(models_store, "_loaded", {})
    assert _recommend(world.client)["model_version"].startswith("prior-")
    result = runner.invoke(args=["matching", "train", "--if-missing"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert models_store.active_row().version != stale
    assert _recommend(world.client)["model_version"] != stale
    assert "nothing to do" in runner.invoke(args=["matching", "train", "--if-missing"]).output


def test_public_endpoint_is_rate_limited(tmp_path, database_url):
    """Past the limit the caller gets 429 in the error shape."""
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "k" * 48,
            "DATABASE_URL": database_url,
            "INSTANCE_PATH": str(tmp_path),
            "RATELIMIT_ENABLED": True,
            "RECOMMENDATION_RATE_LIMIT": "2/minute",
        }
    )
    create_index(app)
    client = app.test_client()
    statuses = [client.post("/api/v1/recommendations", json=NEEDS).status_code for _ in range(3)]
    assert statuses[:2] == [200, 200]
    assert_error(client.post("/api/v1/recommendations", json=NEEDS), 429)
    with app.app_context():
        db.engine.dispose()


def test_a_signed_in_users_list_takes_feedback_only_from_them(world, catalog):
    """Nobody else can write events against a signed-in user's recommendation list."""
    response = world.client.post("/api/v1/recommendations", json=NEEDS, headers=world.enterprise)
    body = response.json
    event = {
        "request_id": body["request_id"],
        "item_type": "solution",
        "item_id": body["solutions"][0]["id"],
        "type": "not_interested",
    }
    assert_error(
        world.client.post("/api/v1/events", json=event, headers=world.other_enterprise), 422, "request_id"
    )
    assert_error(world.client.post("/api/v1/events", json=event), 422, "request_id")
    assert world.client.post("/api/v1/events", json=event, headers=world.enterprise).status_code == 201


def test_cached_candidates_follow_every_change_of_the_catalog(world, catalog):
    """Candidates are cached per index generation: a case, a provider move or an archive shows at once."""
    vision, case = catalog["vision"]["id"], catalog["case"]["id"]

    def top_reasons():
        body = _recommend(world.client, city="苏州市")
        return next(s["reasons"] for s in body["solutions"] if s["id"] == vision), body

    reasons, _ = top_reasons()
    assert "本市样板案例 1 个使用该方案" in reasons and "本市服务商" in reasons
    world.case(title="第二家注塑企业视觉质检样板", solution_ids=[vision])
    reasons, _ = top_reasons()
    assert "本市样板案例 2 个使用该方案" in reasons
    moved = world.client.patch(
        f"/api/v1/providers/{world.provider_id}",
        json={"city": "宁波市", "province": "浙江省"},
        headers=world.provider,
    )
    assert moved.status_code == 200, moved.json
    reasons, body = top_reasons()
    assert "本市服务商" not in reasons
    assert world.client.post(f"/api/v1/cases/{case}/archive", headers=world.office).status_code == 200
    _, body = top_reasons()
    assert case not in {c["id"] for c in body["cases"]}


def test_the_generation_cache_is_bounded_and_keyed():
    loads = []
    stamps = {1: 1, 3: 1}  # even ids are not published

    def load(ids):
        loads.append(list(ids))
        return {i: f"item {i} v{stamps[i]}" for i in ids if i in stamps}

    def current(ids):
        return {i: stamps[i] for i in ids if i in stamps}

    cache = GenerationCache(size=3)
    assert cache.get("g1", "solution", [1, 2, 3], load, current) == {1: "item 1 v1", 3: "item 3 v1"}
    assert cache.get("g1", "solution", [3, 2, 1], load, current) == {3: "item 3 v1", 1: "item 1 v1"}
    assert loads == [[1, 3]], "hits are not loaded again, unpublished ids never"
    cache.get("g1", "case", [1], load, current)
    cache.get("g1", "case", [3], load, current)
    assert cache.get("g1", "solution", [1], load, current) == {1: "item 1 v1"}
    assert len(loads) == 3, "solution 1 was used more recently than solution 3"
    assert cache.get("g1", "solution", [3], load, current) == {3: "item 3 v1"}
    assert loads[3:] == [[3]], "the least recently used entry made room for the cases"
    cache.get("g2", "solution", [3], load, current)
    assert loads[4:] == [[3]], "a new generation starts empty"
    cache.get(None, "solution", [3], load, current)
    cache.get(None, "solution", [3], load, current)
    assert loads[5:] == [[3], [3]], "no key, no caching"

    stamps[3] = 2
    assert cache.get("g2", "solution", [3], load, current) == {3: "item 3 v2"}, "an edit is read again"
    del stamps[3]
    assert cache.get("g2", "solution", [3], load, current) == {}, "an unpublished item is never served"
    assert loads[7:] == [[3]]


def test_malformed_stored_evidence_is_skipped_and_logged(world, runner, caplog):
    """Evidence JSON that no request could write (seeded straight into the store) never breaks a read.

    Each malformed entry is left out and logged; the rest of the row is still served.
    """
    vision = world.solution(title="注塑件外观缺陷视觉检测一体机")
    case = world.case(title="注塑企业视觉质检改造样板", solution_ids=[vision["id"]])
    good_claim = {"metric": "检出率", "value": 99.5, "unit": "%", "source_type": "vendor_claimed"}
    with world.app.app_context():
        db.session.execute(
            update(Solution)
            .where(Solution.id == vision["id"])
            .values(
                level_uplifts=[{"from_level": 1, "to_level": 2}], outcome_claims=[{"metric": "x"}, good_claim]
            )
        )
        db.session.execute(
            update(BenchmarkCase).where(BenchmarkCase.id == case["id"]).values(metrics=[{"name": "合格率"}])
        )
        db.session.commit()
    assert runner.invoke(args=["matching", "train"]).exit_code == 0
    caplog.set_level(logging.WARNING)
    body = _recommend(world.client)
    assert vision["id"] in [item["id"] for item in body["solutions"]]
    assert case["id"] in [item["id"] for item in body["cases"]]
    for path in (f"/api/v1/solutions/{vision['id']}/similar", f"/api/v1/cases/{case['id']}/similar"):
        assert world.client.get(path).status_code == 200
    shown = world.client.get(f"/api/v1/solutions/{vision['id']}").json
    assert shown["outcome_claims"] == [good_claim] and shown["level_uplifts"] == []
    assert world.client.get(f"/api/v1/cases/{case['id']}").json["metrics"] == []
    skipped = [r for r in caplog.records if "malformed" in r.getMessage()]
    assert {"solutions.level_uplifts", "solutions.outcome_claims", "cases.metrics"} <= {
        r.column for r in skipped
    }
