"""Benchmark cases (转型样板): who may author them, their review, filters and city promotions."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.factories import assert_error, case_payload

CASES = "/api/v1/cases"


def draft_case(world, **overrides) -> dict:
    """A case created by the first provider, still a draft."""
    return world.case(headers=world.provider, **overrides)


def pending_case(world, **overrides) -> dict:
    """A provider's case submitted for review."""
    case = draft_case(world, **overrides)
    response = world.client.post(f"{CASES}/{case['id']}/submit", headers=world.provider)
    assert response.status_code == 200, response.json
    return response.json


def promote(world, case_id: int, headers=None, start: int = 0, days: int = 30, **body):
    """Ask for a promotion starting ``start`` days from today and lasting ``days`` days."""
    starts_on = date.today() + timedelta(days=start)
    body = {
        "starts_on": starts_on.isoformat(),
        "ends_on": (starts_on + timedelta(days=days)).isoformat(),
        **body,
    }
    return world.client.post(
        f"{CASES}/{case_id}/promotions", json=body, headers=world.office if headers is None else headers
    )


def listed_ids(client, query: str = "", headers=None) -> list[int]:
    """Ids of the cases that the list shows to ``headers``."""
    response = client.get(f"{CASES}?{query}", headers=headers or {})
    assert response.status_code == 200, response.json
    return [item["id"] for item in response.json["items"]]


class TestAuthoring:
    """Who may create a case, and in which status it starts."""

    def test_city_office_case_in_its_city_is_published_at_once(self, world):
        """A 苏州市 office's case for 苏州市 is public immediately."""
        case = world.case()
        assert case["status"] == "published"
        assert case["published_at"] is not None
        assert world.client.get(f"{CASES}/{case['id']}").status_code == 200

    def test_city_office_cannot_write_for_another_city(self, world):
        """The 苏州市 office may not publish a case set in 宁波市."""
        response = world.client.post(
            CASES, json=case_payload(city="宁波市", province="浙江省"), headers=world.office
        )
        assert_error(response, 403)

    def test_admin_case_is_published_at_once(self, world):
        """An admin's case is public immediately, in any city."""
        case = world.case(headers=world.admin, city="宁波市", province="浙江省")
        assert case["status"] == "published"
        assert case["author_role"] == "admin"

    def test_provider_case_starts_as_draft_of_its_company(self, world):
        """A provider's case is a draft tied to its company."""
        case = draft_case(world)
        assert case["status"] == "draft"
        assert case["provider_id"] == world.provider_id

    def test_enterprise_cannot_create_cases(self, world):
        """Enterprise accounts read cases but do not publish them."""
        assert_error(world.client.post(CASES, json=case_payload(), headers=world.enterprise), 403)

    def test_anonymous_cannot_create_cases(self, client):
        """Writing needs an account."""
        assert_error(client.post(CASES, json=case_payload()), 401)


class TestValidation:
    """Rules on a case's content."""

    def test_linked_published_solutions_are_returned(self, world):
        """The solutions a case used are stored and shown with it."""
        first, second = world.solution(), world.solution(title="设备预测性维护平台")
        case = world.case(solution_ids=[second["id"], first["id"]])
        assert sorted(case["solution_ids"]) == sorted([first["id"], second["id"]])
        seen = world.client.get(f"{CASES}/{case['id']}").json
        assert sorted(seen["solution_ids"]) == sorted([first["id"], second["id"]])

    def test_unknown_solution_is_refused(self, world):
        """A solution id that does not exist is named."""
        response = world.client.post(CASES, json=case_payload(solution_ids=[9999]), headers=world.office)
        body = assert_error(response, 422, "solution_ids")
        assert "9999" in body["errors"]["solution_ids"][0]

    @pytest.mark.parametrize("author", ["office", "admin", "provider"])
    def test_unpublished_solution_is_refused(self, world, author):
        """A draft solution cannot be cited by anyone, not even its own provider or an admin."""
        draft = world.solution(status="draft")
        body = case_payload(solution_ids=[draft["id"]])
        response = world.client.post(CASES, json=body, headers=getattr(world, author))
        assert_error(response, 422, "solution_ids")

    def test_level_after_below_level_before_is_refused(self, world):
        """A retrofit cannot lower the digital level."""
        body = case_payload(level_before=3, level_after=2)
        assert_error(world.client.post(CASES, json=body, headers=world.office), 422, "level_after")

    def test_partial_update_cannot_lower_level_after_below_level_before(self, world):
        """The level rule also holds when a PATCH changes one side only, and nothing is saved."""
        case = world.case(level_before=1, level_after=2)
        response = world.client.patch(f"{CASES}/{case['id']}", json={"level_after": 0}, headers=world.office)
        assert_error(response, 422, "level_after")
        assert world.client.get(f"{CASES}/{case['id']}").json["level_after"] == 2

    def test_partial_update_changes_only_the_given_fields(self, world):
        """A PATCH of the title keeps the linked solutions and metrics."""
        solution = world.solution()
        case = world.case(solution_ids=[solution["id"]])
        response = world.client.patch(
            f"{CASES}/{case['id']}", json={"title": "新标题案例"}, headers=world.office
        )
        assert response.status_code == 200, response.json
        assert response.json["title"] == "新标题案例"
        assert response.json["solution_ids"] == [solution["id"]]
        assert response.json["metrics"] == case["metrics"]

    def test_unknown_industry_code_is_refused(self, world):
        """Industry codes come from GB/T 4754-2017."""
        body = case_payload(industry="C9999")
        assert_error(world.client.post(CASES, json=body, headers=world.office), 422, "industry")


class TestReview:
    """A provider's case goes through review by the office of the case's city."""

    def test_provider_draft_is_hidden_from_anonymous_users(self, world):
        """A draft is not found by anonymous callers, nor listed."""
        case = draft_case(world)
        assert_error(world.client.get(f"{CASES}/{case['id']}"), 404)
        assert case["id"] not in listed_ids(world.client)

    def test_provider_draft_is_hidden_from_other_providers(self, world):
        """Another provider cannot find or list someone else's draft."""
        case = draft_case(world)
        assert_error(world.client.get(f"{CASES}/{case['id']}", headers=world.other_provider), 404)
        assert case["id"] not in listed_ids(world.client, headers=world.other_provider)

    def test_author_sees_its_own_draft(self, world):
        """The provider finds its draft by id and in its list."""
        case = draft_case(world)
        assert world.client.get(f"{CASES}/{case['id']}", headers=world.provider).status_code == 200
        assert case["id"] in listed_ids(world.client, headers=world.provider)

    def test_submit_then_city_office_approval_publishes(self, world):
        """submit → pending_review → approve by the 苏州市 office → published and public."""
        case = pending_case(world)
        assert case["status"] == "pending_review"
        response = world.client.post(f"{CASES}/{case['id']}/approve", headers=world.office)
        assert response.status_code == 200, response.json
        assert response.json["status"] == "published"
        assert response.json["published_at"] is not None
        assert world.client.get(f"{CASES}/{case['id']}").status_code == 200

    def test_admin_can_approve(self, world):
        """An admin reviews cases of every city."""
        case = pending_case(world)
        response = world.client.post(f"{CASES}/{case['id']}/approve", headers=world.admin)
        assert response.json["status"] == "published"

    def test_other_city_office_cannot_approve(self, world):
        """The 宁波市 office may not review a 苏州市 case; it cannot even see it while it is in review."""
        case = pending_case(world)
        assert_error(world.client.post(f"{CASES}/{case['id']}/approve", headers=world.other_office), 404)
        assert (
            world.client.get(f"{CASES}/{case['id']}", headers=world.office).json["status"] == "pending_review"
        )

    def test_other_city_office_cannot_archive_a_published_case(self, world):
        """A published 苏州市 case is visible to the 宁波市 office but not its to manage."""
        case = world.case()
        assert_error(world.client.post(f"{CASES}/{case['id']}/archive", headers=world.other_office), 403)

    def test_author_cannot_approve_its_own_case(self, world):
        """A provider does not review its own case."""
        case = pending_case(world)
        assert_error(world.client.post(f"{CASES}/{case['id']}/approve", headers=world.provider), 403)

    def test_reject_needs_a_reason(self, world):
        """Rejecting without a reason names the ``reason`` field and leaves the case in review."""
        case = pending_case(world)
        response = world.client.post(f"{CASES}/{case['id']}/reject", json={}, headers=world.office)
        assert_error(response, 422, "reason")
        assert (
            world.client.get(f"{CASES}/{case['id']}", headers=world.office).json["status"] == "pending_review"
        )

    def test_reject_stores_the_reason_for_the_author(self, world):
        """The author reads why the case was rejected, and may resubmit it."""
        case = pending_case(world)
        response = world.client.post(
            f"{CASES}/{case['id']}/reject", json={"reason": "缺少改造前后的数据来源"}, headers=world.office
        )
        assert response.json["status"] == "rejected"
        seen = world.client.get(f"{CASES}/{case['id']}", headers=world.provider).json
        assert seen["review_note"] == "缺少改造前后的数据来源"
        resubmitted = world.client.post(f"{CASES}/{case['id']}/submit", headers=world.provider)
        assert resubmitted.json["status"] == "pending_review"

    def test_archive_hides_the_case_from_the_public(self, world):
        """An archived case leaves the public list and page."""
        case = world.case()
        response = world.client.post(f"{CASES}/{case['id']}/archive", headers=world.office)
        assert response.json["status"] == "archived"
        assert_error(world.client.get(f"{CASES}/{case['id']}"), 404)
        assert case["id"] not in listed_ids(world.client)

    @pytest.mark.parametrize(
        ("status", "action", "who"),
        [
            ("draft", "approve", "admin"),
            ("draft", "archive", "provider"),
            ("published", "submit", "office"),
            ("published", "approve", "office"),
        ],
    )
    def test_invalid_transition_is_a_conflict(self, world, status, action, who):
        """An action the current status does not allow answers 409 and changes nothing."""
        case = draft_case(world) if status == "draft" else world.case()
        headers = getattr(world, who)
        assert_error(world.client.post(f"{CASES}/{case['id']}/{action}", headers=headers), 409)
        assert world.client.get(f"{CASES}/{case['id']}", headers=headers).json["status"] == status

    def test_reviewers_do_not_see_unsubmitted_drafts(self, world):
        """A provider's draft stays private: the city office cannot read, edit or approve it unsubmitted."""
        case = draft_case(world)
        url = f"{CASES}/{case['id']}"
        assert_error(world.client.get(url, headers=world.office), 404)
        assert_error(world.client.patch(url, json={"title": "城市改写标题"}, headers=world.office), 404)
        assert_error(world.client.post(f"{url}/approve", headers=world.office), 404)
        assert case["id"] not in listed_ids(world.client, headers=world.office)
        world.client.post(f"{url}/submit", headers=world.provider)
        assert world.client.get(url, headers=world.office).json["status"] == "pending_review"

    def test_provider_edit_of_published_case_goes_back_to_review(self, world):
        """A provider cannot change a published case without a new review."""
        case = pending_case(world)
        world.client.post(f"{CASES}/{case['id']}/approve", headers=world.office)
        response = world.client.patch(
            f"{CASES}/{case['id']}", json={"title": "改过的案例标题"}, headers=world.provider
        )
        assert response.json["status"] == "pending_review"
        assert_error(world.client.get(f"{CASES}/{case['id']}"), 404)


class TestList:
    """Filters and paging of the public case list."""

    def test_industry_parent_code_includes_its_children(self, world):
        """``industry=C29`` finds a case filed under C2929; ``industry=C33`` does not."""
        case = world.case(industry="C2929")
        assert case["id"] in listed_ids(world.client, "industry=C29")
        assert case["id"] in listed_ids(world.client, "industry=C292")
        assert case["id"] not in listed_ids(world.client, "industry=C33")

    def test_city_filter(self, world):
        """Only cases of the named city are listed."""
        suzhou, ningbo = (
            world.case(),
            world.case(headers=world.other_office, city="宁波市", province="浙江省"),
        )
        assert listed_ids(world.client, "city=宁波市") == [ningbo["id"]]
        assert set(listed_ids(world.client, "city=宁波市&city=苏州市")) == {suzhou["id"], ningbo["id"]}

    def test_scenario_filter(self, world):
        """Only cases covering the scenario are listed."""
        quality, energy = world.case(scenarios=["quality"]), world.case(scenarios=["energy", "equipment"])
        assert listed_ids(world.client, "scenario=energy") == [energy["id"]]
        assert listed_ids(world.client, "scenario=quality") == [quality["id"]]

    def test_solution_filter(self, world):
        """Only cases that used the solution are listed."""
        solution = world.solution()
        used, _ = world.case(solution_ids=[solution["id"]]), world.case()
        assert listed_ids(world.client, f"solution_id={solution['id']}") == [used["id"]]

    def test_promoted_filter(self, world):
        """``promoted=true`` lists cases with a running promotion, ``false`` the others."""
        promoted, plain = world.case(), world.case()
        assert promote(world, promoted["id"]).status_code == 201
        assert listed_ids(world.client, "promoted=true") == [promoted["id"]]
        assert listed_ids(world.client, "promoted=false") == [plain["id"]]

    def test_page_envelope(self, world):
        """A page carries items, total, page and per_page; newest first."""
        ids = [world.case()["id"] for _ in range(3)]
        response = world.client.get(f"{CASES}?per_page=2&page=2")
        assert set(response.json) == {"items", "total", "page", "per_page"}
        assert (response.json["total"], response.json["page"], response.json["per_page"]) == (3, 2, 2)
        assert [item["id"] for item in response.json["items"]] == [ids[0]]

    def test_per_page_above_100_is_refused(self, client):
        """A page of more than 100 items is refused, naming ``per_page``."""
        assert_error(client.get(f"{CASES}?per_page=101"), 422, "per_page")


class TestPromotions:
    """A city office promotes its city's published cases for a bounded time."""

    def test_city_office_promotes_its_city_case(self, world):
        """The case then shows as promoted, with a label, by id and in the list."""
        case = world.case()
        response = promote(world, case["id"])
        assert response.status_code == 201, response.json
        assert response.json["active"] is True
        seen = world.client.get(f"{CASES}/{case['id']}").json
        assert seen["promoted"] is True
        assert seen["active_promotion"]["id"] == response.json["id"]
        assert seen["active_promotion"]["label"] == "苏州市主管部门推广"
        listed = world.client.get(CASES).json["items"][0]
        assert listed["promoted"] is True
        assert listed["active_promotion"]["label"] == "苏州市主管部门推广"

    def test_unpromoted_case_shows_no_promotion(self, world):
        """A case nobody promoted is marked as such."""
        case = world.case()
        assert (case["promoted"], case["active_promotion"]) == (False, None)

    @pytest.mark.parametrize("who", ["other_office", "provider", "enterprise", "admin"])
    def test_only_the_case_city_office_may_promote(self, world, who):
        """Another city's office, providers, enterprises and admins cannot promote a 苏州市 case."""
        case = world.case()
        assert_error(promote(world, case["id"], headers=getattr(world, who)), 403)
        assert world.client.get(f"{CASES}/{case['id']}").json["promoted"] is False

    def test_anonymous_cannot_promote(self, world):
        """Promoting needs an account."""
        case = world.case()
        assert_error(promote(world, case["id"], headers={}), 401)

    def test_ends_on_before_starts_on_is_refused(self, world):
        """A promotion cannot end before it starts."""
        case = world.case()
        assert_error(promote(world, case["id"], start=5, days=-1), 422, "ends_on")

    def test_longer_than_366_days_is_refused(self, world):
        """A promotion lasts at most a year."""
        case = world.case()
        assert_error(promote(world, case["id"], days=367), 422, "ends_on")

    def test_promotion_already_over_is_refused(self, world):
        """A promotion that ended yesterday would never show."""
        case = world.case()
        assert_error(promote(world, case["id"], start=-10, days=9), 422, "ends_on")

    def test_overlapping_promotion_is_a_conflict(self, world):
        """A second promotion overlapping the first answers 409."""
        case = world.case()
        promote(world, case["id"], days=30)
        assert_error(promote(world, case["id"], start=20, days=30), 409)

    @pytest.mark.parametrize(("status", "expected"), [("draft", 404), ("pending_review", 409)])
    def test_unpublished_case_cannot_be_promoted(self, world, status, expected):
        """Only a published case can be promoted; a draft is not even visible to the office."""
        case = draft_case(world) if status == "draft" else pending_case(world)
        assert_error(promote(world, case["id"]), expected)

    def test_archived_case_cannot_be_promoted(self, world):
        """An archived case is no longer promoted."""
        case = world.case()
        world.client.post(f"{CASES}/{case['id']}/archive", headers=world.office)
        assert_error(promote(world, case["id"]), 409)

    def test_ending_a_promotion_unmarks_the_case(self, world):
        """After ending it early, the case is no longer promoted."""
        case = world.case()
        promotion = promote(world, case["id"]).json
        response = world.client.post(
            f"{CASES}/{case['id']}/promotions/{promotion['id']}/end", headers=world.office
        )
        assert response.status_code == 200, response.json
        assert response.json["ended_at"] is not None
        seen = world.client.get(f"{CASES}/{case['id']}").json
        assert (seen["promoted"], seen["active_promotion"]) == (False, None)

    def test_ending_twice_is_a_conflict(self, world):
        """An ended promotion cannot be ended again."""
        case = world.case()
        promotion = promote(world, case["id"]).json
        end = f"{CASES}/{case['id']}/promotions/{promotion['id']}/end"
        world.client.post(end, headers=world.office)
        assert_error(world.client.post(end, headers=world.office), 409)

    def test_other_city_office_cannot_end_a_promotion(self, world):
        """Only the case city's office (or an admin) ends a promotion."""
        case = world.case()
        promotion = promote(world, case["id"]).json
        end = f"{CASES}/{case['id']}/promotions/{promotion['id']}/end"
        assert_error(world.client.post(end, headers=world.other_office), 403)
        assert world.client.get(f"{CASES}/{case['id']}").json["promoted"] is True

    def test_future_promotion_is_not_active_yet(self, world):
        """A promotion starting tomorrow does not mark the case today."""
        case = world.case()
        response = promote(world, case["id"], start=1)
        assert response.status_code == 201, response.json
        assert response.json["active"] is False
        seen = world.client.get(f"{CASES}/{case['id']}").json
        assert (seen["promoted"], seen["active_promotion"]) == (False, None)
        assert case["id"] not in listed_ids(world.client, "promoted=true")


def test_patch_with_an_incomplete_metric_is_422(world):
    """A case PATCH is checked as a whole case: a metric without before/after is refused."""
    cid = world.case()["id"]
    body = assert_error(
        world.client.patch(
            f"/api/v1/cases/{cid}", json={"metrics": [{"name": "合格率"}]}, headers=world.office
        ),
        422,
        "metrics",
    )
    assert {"metrics[0].before", "metrics[0].after", "metrics[0].unit"} <= set(body["errors"])
    assert world.client.get(f"/api/v1/cases/{cid}").json["metrics"][0]["name"] == "月均产品合格率"
