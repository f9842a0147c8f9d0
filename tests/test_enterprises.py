"""Enterprise profiles: private to the owner, the office of their city and admins."""

from __future__ import annotations

import pytest

from marketplace.common.credit_code import ALPHABET
from tests.factories import assert_error, credit_code, enterprise_payload, register

ENTERPRISES = "/api/v1/enterprises"


def new_enterprise(world, **overrides) -> dict:
    """Create a profile for a fresh enterprise account."""
    headers = register(world.client, "enterprise")
    response = world.client.post(ENTERPRISES, json=enterprise_payload(**overrides), headers=headers)
    assert response.status_code == 201, response.json
    return response.json


def listed_ids(world, headers, query: str = "") -> list[int]:
    """Ids of the profiles the list shows to ``headers``."""
    response = world.client.get(f"{ENTERPRISES}?{query}", headers=headers)
    assert response.status_code == 200, response.json
    return [item["id"] for item in response.json["items"]]


def create_as_new_account(world, **overrides):
    """Post a profile from a fresh enterprise account and return the response."""
    headers = register(world.client, "enterprise")
    return world.client.post(ENTERPRISES, json=enterprise_payload(**overrides), headers=headers)


class TestPrivacy:
    """Who may see a profile."""

    def test_owner_sees_own_profile(self, world):
        """An enterprise reads its own profile, including its needs."""
        response = world.client.get(f"{ENTERPRISES}/{world.enterprise_id}", headers=world.enterprise)
        assert response.status_code == 200, response.json
        assert response.json["needs"] == enterprise_payload()["needs"]

    def test_owner_lists_only_its_own_profile(self, world):
        """An enterprise's list holds its own profile and no other."""
        assert listed_ids(world, world.enterprise) == [world.enterprise_id]

    def test_city_office_sees_and_lists_enterprises_of_its_city(self, world):
        """The 苏州市 office reads and lists the 苏州市 enterprise, and only it."""
        response = world.client.get(f"{ENTERPRISES}/{world.enterprise_id}", headers=world.office)
        assert response.status_code == 200, response.json
        assert listed_ids(world, world.office) == [world.enterprise_id]

    def test_other_city_office_cannot_find_the_profile(self, world):
        """The 宁波市 office gets 404 for a 苏州市 enterprise."""
        response = world.client.get(f"{ENTERPRISES}/{world.enterprise_id}", headers=world.other_office)
        assert_error(response, 404)

    @pytest.mark.parametrize("query", ["", "city=苏州市", "city=苏州市&city=宁波市"])
    def test_other_city_office_never_lists_the_profile(self, world, query):
        """A city filter does not widen a city office's view beyond its own city."""
        assert world.enterprise_id not in listed_ids(world, world.other_office, query)

    def test_provider_cannot_list_enterprises(self, world):
        """Providers never browse enterprise profiles in bulk."""
        assert_error(world.client.get(ENTERPRISES, headers=world.provider), 403)

    def test_provider_cannot_find_a_profile(self, world):
        """A provider gets 404 for an enterprise's profile."""
        assert_error(world.client.get(f"{ENTERPRISES}/{world.enterprise_id}", headers=world.provider), 404)

    def test_anonymous_is_unauthorised(self, world):
        """Profiles need an account, both the list and a single one."""
        assert_error(world.client.get(ENTERPRISES), 401)
        assert_error(world.client.get(f"{ENTERPRISES}/{world.enterprise_id}"), 401)

    def test_another_enterprise_cannot_find_the_profile(self, world):
        """Enterprises do not see each other."""
        response = world.client.get(f"{ENTERPRISES}/{world.enterprise_id}", headers=world.other_enterprise)
        assert_error(response, 404)

    def test_admin_sees_all(self, world):
        """An admin reads and lists every profile."""
        assert listed_ids(world, world.admin) == [world.enterprise_id, world.other_enterprise_id]
        response = world.client.get(f"{ENTERPRISES}/{world.other_enterprise_id}", headers=world.admin)
        assert response.status_code == 200, response.json


class TestCreation:
    """One profile per account, with a unique, well-formed credit code."""

    def test_second_profile_for_the_same_account_is_a_conflict(self, world):
        """An enterprise account has one profile."""
        response = world.client.post(ENTERPRISES, json=enterprise_payload(), headers=world.enterprise)
        assert_error(response, 409)

    def test_only_enterprise_accounts_create_profiles(self, world):
        """A provider account cannot create an enterprise profile."""
        assert_error(world.client.post(ENTERPRISES, json=enterprise_payload(), headers=world.provider), 403)

    def test_credit_code_of_another_enterprise_is_a_conflict(self, world):
        """Two enterprises cannot share a credit code, whatever its case."""
        taken = world.client.get(f"{ENTERPRISES}/{world.enterprise_id}", headers=world.admin).json[
            "credit_code"
        ]
        assert_error(create_as_new_account(world, credit_code=taken), 409, "credit_code")
        assert_error(create_as_new_account(world, credit_code=taken.lower()), 409, "credit_code")

    def test_credit_code_of_a_provider_may_be_an_enterprises_too(self, world):
        """One company can be both a provider and an enterprise: codes are unique within each kind only.

        A clash across kinds would tell a provider that a private enterprise profile exists.
        """
        taken = world.client.get(f"/api/v1/providers/{world.provider_id}").json["credit_code"]
        assert create_as_new_account(world, credit_code=taken).status_code == 201

    def test_a_provider_cannot_learn_that_an_enterprise_code_is_registered(self, world):
        """A provider taking an enterprise's code answers as for any free code, not 409 "已被登记"."""
        code = world.client.get(f"{ENTERPRISES}/{world.enterprise_id}", headers=world.admin).json[
            "credit_code"
        ]
        response = world.client.patch(
            f"/api/v1/providers/{world.provider_id}", json={"credit_code": code}, headers=world.provider
        )
        assert response.status_code == 200, response.json

    @pytest.mark.parametrize(
        "mangle",
        [
            pytest.param(lambda code: code[:17] + ALPHABET[(ALPHABET.index(code[17]) + 1) % 31], id="check"),
            pytest.param(lambda code: code[:17], id="too-short"),
            pytest.param(lambda code: code + "0", id="too-long"),
            *(
                pytest.param(lambda code, letter=letter: code[:9] + letter + code[10:], id=f"letter-{letter}")
                for letter in "IOSVZ"
            ),
        ],
    )
    def test_malformed_credit_code_is_refused(self, world, mangle):
        """A wrong check character, a wrong length or a letter outside the alphabet is named."""
        assert_error(create_as_new_account(world, credit_code=mangle(credit_code())), 422, "credit_code")

    def test_lower_case_credit_code_is_upper_cased(self, world):
        """The stored code is the canonical upper-case form."""
        code = credit_code()
        response = create_as_new_account(world, credit_code=code.lower())
        assert response.status_code == 201, response.json
        assert response.json["credit_code"] == code

    def test_digital_level_above_4_is_refused(self, world):
        """Digital levels run from 0 (not assessed) to 4."""
        assert_error(create_as_new_account(world, digital_level=5), 422, "digital_level")

    def test_unknown_field_is_named(self, world):
        """A field the profile does not have is refused by name."""
        assert_error(create_as_new_account(world, revenue_cny=1_000_000), 422, "revenue_cny")

    def test_unknown_province_is_refused(self, world):
        """Provinces are stored by their full official names; a short form is read as one, others refused."""
        assert_error(create_as_new_account(world, province="江苏国"), 422, "province")
        assert create_as_new_account(world, province="江苏").json["province"] == "江苏省"


class TestUpdate:
    """Who may change a profile."""

    def test_owner_updates_own_profile(self, world):
        """The owner changes its needs and digital level."""
        body = {"needs": "想上 MES 报工", "digital_level": 2}
        response = world.client.patch(
            f"{ENTERPRISES}/{world.enterprise_id}", json=body, headers=world.enterprise
        )
        assert response.status_code == 200, response.json
        seen = world.client.get(f"{ENTERPRISES}/{world.enterprise_id}", headers=world.enterprise).json
        assert (seen["needs"], seen["digital_level"]) == ("想上 MES 报工", 2)

    def test_city_office_cannot_update(self, world):
        """The office of the enterprise's city reads but does not edit it."""
        response = world.client.patch(
            f"{ENTERPRISES}/{world.enterprise_id}", json={"digital_level": 4}, headers=world.office
        )
        assert_error(response, 403)
        seen = world.client.get(f"{ENTERPRISES}/{world.enterprise_id}", headers=world.enterprise).json
        assert seen["digital_level"] == 1

    def test_admin_updates_any_profile(self, world):
        """An admin can correct a profile."""
        response = world.client.patch(
            f"{ENTERPRISES}/{world.other_enterprise_id}", json={"tier": "specialized"}, headers=world.admin
        )
        assert response.status_code == 200, response.json
        assert response.json["tier"] == "specialized"

    def test_update_to_a_taken_credit_code_is_a_conflict(self, world):
        """A PATCH cannot take another enterprise's credit code."""
        taken = world.client.get(f"{ENTERPRISES}/{world.other_enterprise_id}", headers=world.admin).json[
            "credit_code"
        ]
        response = world.client.patch(
            f"{ENTERPRISES}/{world.enterprise_id}", json={"credit_code": taken}, headers=world.enterprise
        )
        assert_error(response, 409, "credit_code")

    def test_update_keeping_its_own_credit_code_is_allowed(self, world):
        """Re-sending the profile's own credit code is not a conflict."""
        own = world.client.get(f"{ENTERPRISES}/{world.enterprise_id}", headers=world.enterprise).json
        response = world.client.patch(
            f"{ENTERPRISES}/{world.enterprise_id}",
            json={"credit_code": own["credit_code"]},
            headers=world.enterprise,
        )
        assert response.status_code == 200, response.json

    def test_digital_level_above_4_is_refused_on_update(self, world):
        """The level range also holds for a PATCH."""
        response = world.client.patch(
            f"{ENTERPRISES}/{world.enterprise_id}", json={"digital_level": 5}, headers=world.enterprise
        )
        assert_error(response, 422, "digital_level")


class TestFilters:
    """Filters of the list an admin or a city office browses."""

    def test_industry_parent_code_includes_children(self, world):
        """``industry=C29`` finds an enterprise filed under C2929; ``industry=C33`` does not."""
        assert world.enterprise_id in listed_ids(world, world.admin, "industry=C29")
        assert world.enterprise_id not in listed_ids(world, world.admin, "industry=C33")

    def test_size_filter(self, world):
        """Only enterprises of the size are listed."""
        medium = new_enterprise(world, size="medium")
        assert listed_ids(world, world.admin, "size=medium") == [medium["id"]]

    def test_tier_filter(self, world):
        """Only enterprises of the tier are listed."""
        giant = new_enterprise(world, tier="little_giant")
        assert listed_ids(world, world.admin, "tier=little_giant") == [giant["id"]]

    def test_above_scale_filter(self, world):
        """``above_scale=false`` lists 规下 enterprises only."""
        below = new_enterprise(world, above_scale=False)
        assert listed_ids(world, world.admin, "above_scale=false") == [below["id"]]
        assert below["id"] not in listed_ids(world, world.admin, "above_scale=true")

    def test_digital_level_filter(self, world):
        """Repeated levels are ORed."""
        level3, level4 = new_enterprise(world, digital_level=3), new_enterprise(world, digital_level=4)
        assert listed_ids(world, world.admin, "digital_level=3&digital_level=4") == [
            level3["id"],
            level4["id"],
        ]

    def test_digital_level_filter_above_4_is_refused(self, world):
        """A level outside 0–4 in the query is named."""
        assert_error(
            world.client.get(f"{ENTERPRISES}?digital_level=5", headers=world.admin), 422, "digital_level"
        )

    def test_filters_stay_within_the_office_city(self, world):
        """A city office's filters only narrow its own city's enterprises."""
        ningbo_small = new_enterprise(world, city="宁波市", province="浙江省")
        assert ningbo_small["id"] not in listed_ids(world, world.office, "size=small")
        assert listed_ids(world, world.office, "size=small") == [world.enterprise_id]
