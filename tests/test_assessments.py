"""Digital-level assessments through the API: scoring, the gap to the next level, history and access."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.factories import (
    answers_worth,
    assert_error,
    assess,
    assessment_payload,
    level_payload,
    scenario_levels,
)


def url(enterprise_id: int) -> str:
    """The assessments path of an enterprise."""
    return f"/api/v1/enterprises/{enterprise_id}/assessments"


def test_indicator_is_public_and_versioned(client):
    """Anyone can read the indicator a form is built from."""
    body = client.get("/api/v1/indicators/digital-level").json
    assert body["version"] and "could not be checked" in body["source"]
    assert [(p["name"], p["max_points"]) for p in body["parts"]] == [
        ("数字化基础", 50),
        ("数字化管理", 30),
        ("数字化成效", 20),
    ]
    assert len(body["scenarios"]) == 16
    assert {s["name"] for s in body["scenarios"] if s["constraint"]} >= {"产品设计", "质量管理", "财务管理"}
    assert body["targets"] == {"target_level": 2, "main_group_share": 0.9, "little_giant_share": 1.0}
    assert body["level_rule"][2] == {
        "level": 2,
        "min_score": 40,
        "min_scenarios": 6,
        "min_constraint_scenarios": 3,
    }


class TestScoringAndGap:
    """The response carries the level, the sub-scores and what stands between it and the next level."""

    def test_self_assessment_reaching_level_two(self, world):
        """二级 is the pilot target: no target gap is left, but the gap to 三级 still names what to raise."""
        body = assess(world.client, world.enterprise_id, world.enterprise, level_payload(2))
        assert (body["level"], body["level_name"], body["kind"]) == (2, "二级", "self")
        assert body["scores"]["total"] == 45
        assert body["scores"]["foundation"] + body["scores"]["management"] == 45
        assert body["target_gap"] is None
        gap = body["next_level_gap"]
        assert (gap["target_level"], gap["target_level_name"], gap["points_missing"]) == (3, "三级", 15)
        assert (gap["scenarios_missing"], gap["constraint_scenarios_missing"]) == (8, 5)
        raised = gap["scenarios_to_raise"]
        assert len(raised) == 8 and sum(s["constraint"] for s in raised) == 5
        assert sorted(s["current_level"] for s in raised) == [1, 1, 2, 2, 2, 2, 2, 2]
        assert len(body["scenario_levels"]) == 16

    def test_gap_names_points_and_constraint_scenarios(self, world):
        """35 points and only two constraint scenarios at 二级: 5 points and one constraint scenario short."""
        levels = scenario_levels(2, 2, 4, rest=1)
        body = assess(world.client, world.enterprise_id, world.enterprise, assessment_payload(35, levels))
        assert body["level"] == 1
        gap = body["target_gap"]
        assert gap == body["next_level_gap"]
        assert (gap["points_missing"], gap["scenarios_missing"], gap["constraint_scenarios_missing"]) == (
            5,
            0,
            1,
        )
        [scenario] = gap["scenarios_to_raise"]
        assert scenario["constraint"] and (scenario["current_level"], scenario["target_level"]) == (1, 2)
        assert scenario["name"]

    def test_measures_score_the_effectiveness_part(self, world):
        """成效 points come from the measures compared before and after, each on its own bands."""
        payload = level_payload(
            1,
            measures={
                "energy_intensity": {"before": 1.0, "after": 0.9},
                "pass_rate": {"before": 96.0, "after": 99.0},
                "revenue_per_employee": {"before": 50, "after": 52},
            },
        )
        body = assess(world.client, world.enterprise_id, world.enterprise, payload)
        assert body["scores"]["effectiveness"] == 7 + 7 + 1
        assert body["measures"]["pass_rate"] == {"before": 96.0, "after": 99.0}

    def test_top_level_has_no_next_gap(self, world):
        """四级 is the top level: there is no next level to show a gap to."""
        payload = assessment_payload(
            80, scenario_levels(4, 9, 7), measures={"pass_rate": {"before": 90, "after": 95}}
        )
        body = assess(world.client, world.enterprise_id, world.enterprise, payload)
        assert (body["level"], body["next_level_gap"], body["target_gap"]) == (4, None, None)

    def test_missing_and_unknown_answers_are_named(self, world):
        """The form is long: every missing or unknown answer is named at once, not only the first."""
        answers = answers_worth(40)
        del answers["network"]
        answers["talent"] = "z"
        body = assert_error(
            world.client.post(
                url(world.enterprise_id),
                json={"kind": "self", "answers": answers, "scenario_levels": {"quality": 2}},
                headers=world.enterprise,
            ),
            422,
            "answers",
        )
        assert {key for key in body["errors"] if key.startswith("answers.")} == {
            "answers.network",
            "answers.talent",
        }
        assert len([key for key in body["errors"] if key.startswith("scenario_levels.")]) == 15

    @pytest.mark.parametrize(
        ("override", "field"),
        [
            ({"scenario_levels": scenario_levels(5, 9, 7)}, "scenario_levels"),
            ({"kind": "expert"}, "kind"),
            # Far enough ahead to stay in the future if the run crosses midnight after collection.
            ({"assessed_on": (date.today() + timedelta(days=30)).isoformat()}, "assessed_on"),
            ({"measures": {"energy_intensity": {"before": 0, "after": 1}}}, "measures"),
            ({"measures": {"pass_rate": {"before": -1, "after": 1}}}, "measures"),
        ],
    )
    def test_invalid_input_is_refused(self, world, override, field):
        response = world.client.post(
            url(world.enterprise_id), json=level_payload(1, **override), headers=world.enterprise
        )
        assert_error(response, 422, field)


class TestHistory:
    """Every assessment is kept, so before and after can be shown; the profile follows the latest."""

    def test_history_newest_first_and_profile_level_follows_the_latest(self, world):
        """The profile follows the latest assessment by date, not the last one recorded."""
        before = (date.today() - timedelta(days=200)).isoformat()
        assess(world.client, world.enterprise_id, world.enterprise, level_payload(1, assessed_on=before))
        after = assess(
            world.client,
            world.enterprise_id,
            world.office,
            level_payload(2, kind="onsite", assessed_on=date.today().isoformat()),
        )
        backdated = (date.today() - timedelta(days=400)).isoformat()
        assess(world.client, world.enterprise_id, world.enterprise, level_payload(0, assessed_on=backdated))
        history = world.client.get(url(world.enterprise_id), headers=world.enterprise).json
        assert [item["level"] for item in history["items"]] == [2, 1, 0]
        assert history["items"][0]["id"] == after["id"] and history["total"] == 3
        profile = world.client.get(
            f"/api/v1/enterprises/{world.enterprise_id}", headers=world.enterprise
        ).json
        assert profile["digital_level"] == 2

    def test_kind_filter(self, world):
        """Pilot figures rest on on-site assessments (现场评定), so an office lists them apart."""
        assess(world.client, world.enterprise_id, world.enterprise, level_payload(1))
        assess(world.client, world.enterprise_id, world.office, level_payload(1, kind="onsite"))
        onsite = world.client.get(
            url(world.enterprise_id), query_string={"kind": "onsite"}, headers=world.office
        ).json
        assert [item["recorded_by_role"] for item in onsite["items"]] == ["city_office"]


class TestAccess:
    """The enterprise self-assesses; only its city's office or an admin records on-site assessments."""

    def test_enterprise_cannot_record_onsite(self, world):
        """An enterprise could otherwise certify its own level as if assessed on site."""
        response = world.client.post(
            url(world.enterprise_id), json=level_payload(2, kind="onsite"), headers=world.enterprise
        )
        assert_error(response, 403)

    @pytest.mark.parametrize("who", ["office", "admin"])
    def test_city_office_and_admin_record_onsite(self, world, who):
        body = assess(world.client, world.enterprise_id, getattr(world, who), level_payload(2, kind="onsite"))
        assert body["kind"] == "onsite"

    @pytest.mark.parametrize("who", ["other_office", "provider", "other_enterprise"])
    def test_others_cannot_see_or_record(self, world, who):
        """404, not 403: outsiders do not even learn that the enterprise exists."""
        headers = getattr(world, who)
        assert_error(world.client.post(url(world.enterprise_id), json=level_payload(2), headers=headers), 404)
        assert_error(world.client.get(url(world.enterprise_id), headers=headers), 404)

    def test_anonymous_is_refused(self, world):
        assert_error(world.client.get(url(world.enterprise_id)), 401)
        assert_error(world.client.post(url(world.enterprise_id), json=level_payload(2)), 401)

    @pytest.mark.parametrize("who", ["enterprise", "office", "admin"])
    def test_owner_office_and_admin_read_the_history(self, world, who):
        assess(world.client, world.enterprise_id, world.enterprise, level_payload(1))
        response = world.client.get(url(world.enterprise_id), headers=getattr(world, who))
        assert response.status_code == 200 and response.json["total"] == 1
        assert response.json["items"][0]["target_gap"] is not None
