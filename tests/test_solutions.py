"""Solutions: listing, review lifecycle, visibility and filters."""

from __future__ import annotations

import pytest

from tests.factories import assert_error, register, solution_payload


def test_provider_lists_a_draft(world):
    """A new solution is a draft of the caller's company, with everything it was given."""
    solution = world.solution(status="draft")
    assert solution["status"] == "draft" and solution["provider_id"] == world.provider_id
    assert solution["industries"] == ["C292"] and solution["delivery_modes"] == ["edge", "hardware_bundle"]
    assert solution["level_uplifts"] == [{"scenario": "quality", "from_level": 1, "to_level": 2}]
    assert solution["outcome_claims"][0]["source_type"] == "vendor_claimed"


def test_full_lifecycle(world):
    """draft → submit → pending_review → approve → published → archive → archived."""
    client, sid = world.client, world.solution(status="draft")["id"]
    assert (
        client.post(f"/api/v1/solutions/{sid}/submit", headers=world.provider).json["status"]
        == "pending_review"
    )
    published = client.post(f"/api/v1/solutions/{sid}/approve", headers=world.admin).json
    assert published["status"] == "published" and published["published_at"]
    archived = client.post(f"/api/v1/solutions/{sid}/archive", headers=world.provider).json
    assert archived["status"] == "archived"
    assert_error(client.get(f"/api/v1/solutions/{sid}"), 404)


def test_rejection_needs_a_reason_and_allows_resubmission(world):
    """A rejection carries a reason; the provider may fix and resubmit."""
    client, sid = world.client, world.solution(status="pending_review")["id"]
    assert_error(client.post(f"/api/v1/solutions/{sid}/reject", json={}, headers=world.admin), 422, "reason")
    rejected = client.post(
        f"/api/v1/solutions/{sid}/reject", json={"reason": "价格区间不合理"}, headers=world.admin
    )
    assert rejected.json["status"] == "rejected" and rejected.json["review_note"] == "价格区间不合理"
    assert (
        client.patch(
            f"/api/v1/solutions/{sid}", json={"price_max_cny": 60000}, headers=world.provider
        ).status_code
        == 200
    )
    assert (
        client.post(f"/api/v1/solutions/{sid}/submit", headers=world.provider).json["status"]
        == "pending_review"
    )


@pytest.mark.parametrize(
    ("status", "action"),
    [
        ("draft", "approve"),
        ("draft", "archive"),
        ("published", "submit"),
        ("published", "approve"),
        ("archived", "submit"),
        ("pending_review", "submit"),
    ],
)
def test_invalid_transitions_are_409(world, status, action):
    """Actions not allowed from the current status are conflicts."""
    sid = world.solution(status=status)["id"]
    who = world.admin if action == "approve" else world.provider
    assert_error(world.client.post(f"/api/v1/solutions/{sid}/{action}", headers=who), 409)


@pytest.mark.parametrize("action", ["approve", "reject"])
def test_only_admins_review(world, action):
    """Providers, including the owner, and city offices cannot review."""
    sid = world.solution(status="pending_review")["id"]
    for headers in (world.provider, world.other_provider, world.office, world.enterprise):
        response = world.client.post(
            f"/api/v1/solutions/{sid}/{action}", json={"reason": "理由充分"}, headers=headers
        )
        assert_error(response, 403)


def test_only_published_solutions_are_public(world):
    """Anonymous users and other providers see published solutions only; owners and admins see all."""
    client = world.client
    draft = world.solution(status="draft")["id"]
    published = world.solution()["id"]
    assert_error(client.get(f"/api/v1/solutions/{draft}"), 404)
    assert_error(client.get(f"/api/v1/solutions/{draft}", headers=world.other_provider), 404)
    assert client.get(f"/api/v1/solutions/{draft}", headers=world.provider).status_code == 200
    assert client.get(f"/api/v1/solutions/{draft}", headers=world.admin).status_code == 200
    assert [s["id"] for s in client.get("/api/v1/solutions").json["items"]] == [published]
    assert {s["id"] for s in client.get("/api/v1/solutions", headers=world.provider).json["items"]} == {
        draft,
        published,
    }
    assert client.get("/api/v1/solutions?status=draft", headers=world.other_provider).json["total"] == 0


def test_provider_cannot_touch_anothers_solution(world):
    """Another provider gets 403 on a published solution and 404 on a draft."""
    client = world.client
    published, draft = world.solution()["id"], world.solution(status="draft")["id"]
    assert_error(
        client.patch(
            f"/api/v1/solutions/{published}", json={"title": "篡改标题"}, headers=world.other_provider
        ),
        403,
    )
    assert_error(client.post(f"/api/v1/solutions/{published}/archive", headers=world.other_provider), 403)
    assert_error(client.post(f"/api/v1/solutions/{draft}/submit", headers=world.other_provider), 404)
    assert_error(
        client.patch(f"/api/v1/solutions/{published}", json={"title": "篡改标题"}, headers=world.enterprise),
        403,
    )


def test_admin_can_archive_any_listing(world):
    """Moderation: an admin archives a published solution."""
    sid = world.solution()["id"]
    assert (
        world.client.post(f"/api/v1/solutions/{sid}/archive", headers=world.admin).json["status"]
        == "archived"
    )


def test_editing_a_published_solution_sends_it_back_to_review(world):
    """Changes to a live listing are moderated again."""
    sid = world.solution()["id"]
    edited = world.client.patch(
        f"/api/v1/solutions/{sid}", json={"summary": "新的简介内容"}, headers=world.provider
    )
    assert edited.json["status"] == "pending_review"
    assert_error(
        world.client.patch(f"/api/v1/solutions/{sid}", json={"summary": "再次修改"}, headers=world.provider),
        409,
    )


def test_provider_without_company_cannot_list(client):
    """A provider account must create its company first."""
    assert_error(
        client.post("/api/v1/solutions", json=solution_payload(), headers=register(client, "provider")), 422
    )


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"industries": ["C9999"]}, "industries"),
        ({"industries": []}, "industries"),
        ({"scenarios": ["vision"]}, "scenarios"),
        ({"delivery_modes": ["cloud"]}, "delivery_modes"),
        ({"price_min_cny": -1}, "price_min_cny"),
        ({"price_min_cny": 90000, "price_max_cny": 80000}, "price_max_cny"),
        ({"deploy_days": 0}, "deploy_days"),
        ({"level_uplifts": [{"scenario": "quality", "from_level": 2, "to_level": 2}]}, "level_uplifts"),
        ({"level_uplifts": [{"scenario": "energy", "from_level": 1, "to_level": 2}]}, "level_uplifts"),
        (
            {"outcome_claims": [{"metric": "x", "value": 1, "unit": "%", "source_type": "rumour"}]},
            "outcome_claims",
        ),
        ({"title": "x" * 121}, "title"),
    ],
)
def test_solution_validation(world, overrides, field):
    """Bad solution fields are named, and nothing is written."""
    response = world.client.post(
        "/api/v1/solutions", json=solution_payload(**overrides), headers=world.provider
    )
    assert_error(response, 422, field)
    assert world.client.get("/api/v1/solutions", headers=world.provider).json["total"] == 0


def test_partial_update_keeps_the_price_band_consistent(world):
    """A PATCH that would invert the stored price band is rejected and changes nothing."""
    sid = world.solution(status="draft")["id"]
    response = world.client.patch(
        f"/api/v1/solutions/{sid}", json={"price_max_cny": 1000}, headers=world.provider
    )
    assert_error(response, 422, "price_max_cny")
    assert world.client.get(f"/api/v1/solutions/{sid}", headers=world.provider).json["price_max_cny"] == 80000


def test_filters_combine(world):
    """Values within a filter are ORed; different filters are ANDed; a parent industry includes children."""
    vision = world.solution(industries=["C2929"], tags=["视觉质检"])["id"]
    energy = world.solution(
        title="注塑车间能耗监测",
        industries=["C3670"],
        scenarios=["energy"],
        tags=["能耗监测"],
        level_uplifts=[],
        delivery_modes=["saas"],
        price_min_cny=5000,
        price_max_cny=20000,
        deploy_days=7,
    )["id"]
    other = world.solution(
        headers=world.other_provider,
        industries=["C17"],
        scenarios=["equipment"],
        tags=["OEE"],
        level_uplifts=[],
    )["id"]

    def ids(query):
        response = world.client.get(f"/api/v1/solutions?{query}")
        assert response.status_code == 200, response.json
        return {item["id"] for item in response.json["items"]}

    assert ids("industry=C29") == {vision}
    assert ids("industry=C29&industry=C36") == {vision, energy}
    assert ids("industry=C") == {vision, energy, other}
    assert ids("scenario=energy&scenario=equipment") == {energy, other}
    assert ids("scenario=energy&industry=C29") == set()
    assert ids("tag=视觉质检") == {vision}
    assert ids("delivery_mode=saas") == {energy}
    assert ids(f"provider_id={world.other_provider_id}") == {other}
    assert ids("price_max_cny=10000") == {energy}
    assert ids("deploy_days_max=7") == {energy}
    assert_error(world.client.get("/api/v1/solutions?industry=C366X"), 422, "industry")


def test_mine_lists_only_own(world):
    """``mine=true`` gives a provider its own listings in every state."""
    world.solution(status="draft")
    world.solution(headers=world.other_provider)
    mine = world.client.get("/api/v1/solutions?mine=true", headers=world.provider).json
    assert mine["total"] == 1 and mine["items"][0]["status"] == "draft"
    assert world.client.get("/api/v1/solutions?mine=true").json["total"] == 0


def test_list_is_newest_first_and_paged(world):
    """Lists are newest first and page with page/per_page."""
    ids = [world.solution(title=f"方案{n}")["id"] for n in range(3)]
    first = world.client.get("/api/v1/solutions?per_page=2").json
    assert [s["id"] for s in first["items"]] == ids[::-1][:2] and first["total"] == 3
    second = world.client.get("/api/v1/solutions?per_page=2&page=2").json
    assert [s["id"] for s in second["items"]] == [ids[0]]


@pytest.mark.parametrize(
    ("patch", "path"),
    [
        ({"level_uplifts": [{"from_level": 1, "to_level": 2}]}, "level_uplifts[0].scenario"),
        ({"outcome_claims": [{"metric": "x"}]}, "outcome_claims[0].value"),
        ({"outcome_claims": [{"metric": "x"}]}, "outcome_claims[0].source_type"),
    ],
)
def test_patch_with_incomplete_nested_objects_is_422(world, patch, path):
    """A PATCH is checked as the whole object it makes: nested objects are never partial."""
    sid = world.solution(status="draft")["id"]
    before = world.client.get(f"/api/v1/solutions/{sid}", headers=world.provider).json
    body = assert_error(
        world.client.patch(f"/api/v1/solutions/{sid}", json=patch, headers=world.provider), 422
    )
    assert path in body["errors"], body
    after = world.client.get(f"/api/v1/solutions/{sid}", headers=world.provider).json
    assert after["level_uplifts"] == before["level_uplifts"]
    assert after["outcome_claims"] == before["outcome_claims"]


def test_patch_replaces_a_list_whole_and_keeps_other_fields(world):
    """A list in a PATCH replaces the stored list; fields it does not name stay as they were."""
    sid = world.solution(status="draft")["id"]
    claim = {"metric": "误检率", "value": 0.5, "unit": "%", "source_type": "third_party"}
    response = world.client.patch(
        f"/api/v1/solutions/{sid}", json={"outcome_claims": [claim]}, headers=world.provider
    )
    assert response.status_code == 200, response.json
    assert [c["metric"] for c in response.json["outcome_claims"]] == ["误检率"]
    assert response.json["level_uplifts"] == [{"scenario": "quality", "from_level": 1, "to_level": 2}]
