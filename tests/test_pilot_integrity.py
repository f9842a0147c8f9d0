"""Pilot integrity (#13, finding 7 and 8): what an enterprise declares is not what its city verified."""

from __future__ import annotations

from tests import test_pilots
from tests.factories import (
    assert_error,
    assess,
    create_sub_industry,
    enrol,
    enterprise_account,
    level_payload,
)
from tests.test_pilots import PROJECTS, SUZHOU, advance, by_name, dashboard, days_ago, open_project

pilot = test_pilots.pilot

ENTERPRISES = "/api/v1/enterprises"


def verify_tier(client, headers, enterprise_id: int, tier: str):
    """Confirm a tier as ``headers``."""
    return client.post(
        f"{ENTERPRISES}/{enterprise_id}/tier-verification", json={"tier": tier}, headers=headers
    )


class TestDeclaredAndVerified:
    """An enrolled enterprise's own edits do not move the city's counts."""

    def test_self_declared_little_giant_is_not_counted_until_the_office_confirms(self, pilot):
        client, office = pilot.world.client, pilot.world.office
        before = by_name(dashboard(pilot))["注塑制品"]["little_giant"]["members"]
        patched = client.patch(f"{ENTERPRISES}/{pilot.e4}", json={"tier": "little_giant"}, headers=office)
        assert_error(patched, 403)
        owner = pilot.world.client.patch(
            f"{ENTERPRISES}/{pilot.e1}", json={"tier": "little_giant"}, headers=pilot.world.enterprise
        )
        assert owner.status_code == 200, owner.json
        assert (owner.json["tier"], owner.json["verified_tier"], owner.json["tier_status"]) == (
            "little_giant",
            None,
            "unverified",
        )
        moulding = by_name(dashboard(pilot))["注塑制品"]
        assert moulding["little_giant"]["members"] == before
        assert moulding["enrolled"]["by_tier"]["little_giant"] == 1
        assert moulding["enrolled"]["by_tier"]["unverified"] == 1
        rows = client.get(f"{SUZHOU}/enterprises", headers=office).json["items"]
        row = next(r for r in rows if r["enterprise_id"] == pilot.e1)
        assert (row["tier"], row["verified_tier"], row["tier_status_name"]) == (
            "little_giant",
            None,
            "待核实",
        )
        assert not row["in_little_giant_group"]
        confirmed = verify_tier(client, office, pilot.e1, "little_giant")
        assert confirmed.status_code == 200, confirmed.json
        assert confirmed.json["tier_verified_by"] and confirmed.json["tier_verified_at"]
        assert confirmed.json["tier_status"] == "verified"
        assert by_name(dashboard(pilot))["注塑制品"]["little_giant"]["members"] == before + 1

    def test_only_the_city_office_or_an_admin_confirms_a_tier(self, pilot):
        world = pilot.world
        assert_error(verify_tier(world.client, world.enterprise, pilot.e1, "little_giant"), 403)
        assert_error(verify_tier(world.client, world.provider, pilot.e1, "little_giant"), 403)
        assert_error(verify_tier(world.client, world.other_office, pilot.e1, "little_giant"), 404)
        assert verify_tier(world.client, world.admin, pilot.e1, "specialized").status_code == 200

    def test_an_enterprise_cannot_send_its_own_verification(self, pilot):
        response = pilot.world.client.patch(
            f"{ENTERPRISES}/{pilot.e1}",
            json={"verified_tier": "little_giant"},
            headers=pilot.world.enterprise,
        )
        assert_error(response, 422, "verified_tier")

    def test_declared_level_is_labelled_beside_the_on_site_one(self, pilot):
        response = pilot.world.client.patch(
            f"{ENTERPRISES}/{pilot.e1}", json={"digital_level": 4}, headers=pilot.world.enterprise
        )
        assert response.status_code == 200, response.json
        assert (response.json["digital_level"], response.json["verified_level"]) == (4, 2)
        assert response.json["level_verified_on"] == days_ago(10)

    def test_self_assessments_do_not_change_the_default_count(self, pilot):
        """The default basis is the on-site assessments: a (backdated) self-assessment moves nothing."""
        client, office = pilot.world.client, pilot.world.office
        before = client.get(SUZHOU, headers=office).json
        assert before["basis"] == "onsite"
        assess(client, pilot.e2, pilot.e2_headers, level_payload(3, assessed_on=days_ago(400)))
        assess(client, pilot.e2, pilot.e2_headers, level_payload(3, assessed_on=days_ago(1)))
        after = client.get(SUZHOU, headers=office).json
        main = [by_name(body)["注塑制品"]["main_group"] for body in (before, after)]
        giant = [by_name(body)["注塑制品"]["little_giant"] for body in (before, after)]
        assert main[0] == main[1] and giant[0] == giant[1]
        assert by_name(dashboard(pilot, basis="all"))["注塑制品"]["little_giant"]["achieved"] == 1


class TestIndustryBounds:
    """Enrolment ties an enterprise's code to its 细分行业's codes, both ways."""

    def test_enrolled_enterprise_cannot_leave_its_sub_industry_by_changing_industry(self, pilot):
        response = pilot.world.client.patch(
            f"{ENTERPRISES}/{pilot.e1}", json={"industry": "C3670"}, headers=pilot.world.enterprise
        )
        body = assert_error(response, 409, "industry")
        assert "注塑制品" in body["errors"]["industry"][0]

    def test_change_within_the_sub_industry_is_allowed(self, pilot):
        response = pilot.world.client.patch(
            f"{ENTERPRISES}/{pilot.e1}", json={"industry": "C2927"}, headers=pilot.world.enterprise
        )
        assert response.status_code == 200, response.json

    def test_codes_that_would_orphan_enrolments_are_refused_naming_them(self, pilot):
        response = pilot.world.client.patch(
            f"{SUZHOU}/sub-industries/{pilot.moulding['id']}",
            json={"industry_codes": ["C2927"]},
            headers=pilot.world.office,
        )
        body = assert_error(response, 409, "industry_codes")
        assert "苏州小巨人注塑有限公司" in body["errors"]["industry_codes"][0]

    def test_a_middle_class_enterprise_does_not_fit_a_small_class_sub_industry(self, world):
        client, office = world.client, world.office
        sub = create_sub_industry(client, office, name="塑料零件", industry_codes=["C2929"])
        coarse, _ = enterprise_account(client, name="苏州中类塑料有限公司", industry="C292")
        response = client.post(
            f"{SUZHOU}/sub-industries/{sub['id']}/enrolments",
            json={"enterprise_ids": [coarse]},
            headers=office,
        )
        assert_error(response, 422, "enterprise_ids")
        fine, _ = enterprise_account(client, name="苏州小类塑料有限公司", industry="C2929")
        enrol(client, office, sub["id"], [fine])


class TestAcceptanceEvidence:
    """Finding 8: acceptance needs its "before", and a backfilled one changes nothing afterwards."""

    def test_acceptance_without_a_before_assessment_is_refused_naming_it(self, pilot):
        project = open_project(pilot, pilot.e4).json
        assert project["outcome"]["level_before"] is None and project["outcome"]["level_after"] is None
        for _ in range(2):
            advance(pilot, project["id"])
        assess(pilot.world.client, pilot.e4, pilot.world.office, level_payload(2, kind="onsite"))
        body = assert_error(advance(pilot, project["id"]), 409, "before")
        assert "after" not in body["errors"]

    def test_backdated_before_recorded_after_acceptance_does_not_make_a_showcase(self, pilot):
        client, office = pilot.world.client, pilot.world.office
        project = open_project(pilot, pilot.e4, started_days_ago=120).json
        assess(client, pilot.e4, office, level_payload(1, assessed_on=days_ago(121)))
        for _ in range(2):
            advance(pilot, project["id"])
        assess(client, pilot.e4, office, level_payload(2, kind="onsite"))
        accepted = advance(pilot, project["id"]).json
        assert (accepted["outcome"]["level_before"], accepted["outcome"]["level_after"]) == (1, 2)
        assess(client, pilot.e4, office, level_payload(0, points_above_band=0, assessed_on=days_ago(120)))
        shown = client.get(f"{PROJECTS}/{project['id']}", headers=office).json
        assert (shown["outcome"]["level_before"], shown["outcome"]["level_uplift"]) == (1, 1)
