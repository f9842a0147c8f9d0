"""JSON bodies take numbers and booleans as they are: nothing is rounded or read from a string."""

from __future__ import annotations

import pytest

from tests.factories import assert_error, enterprise_payload, register, solution_payload


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"price_min_cny": 1000.5}, "price_min_cny"),
        ({"price_min_cny": "1000"}, "price_min_cny"),
        ({"deploy_days": 1.5}, "deploy_days"),
        ({"deploy_days": True}, "deploy_days"),
        ({"level_uplifts": [{"scenario": "quality", "from_level": "1", "to_level": 2}]}, "level_uplifts"),
    ],
)
def test_solution_integers_are_strict(world, overrides, field):
    """A fraction, a string or a boolean where an integer belongs is a 422 naming the field."""
    response = world.client.post(
        "/api/v1/solutions", json=solution_payload(**overrides), headers=world.provider
    )
    assert_error(response, 422, field)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"digital_level": 2.7}, "digital_level"),
        ({"digital_level": "2"}, "digital_level"),
        ({"above_scale": "true"}, "above_scale"),
        ({"above_scale": 1}, "above_scale"),
        ({"above_scale": 0}, "above_scale"),
    ],
)
def test_enterprise_numbers_and_flags_are_strict(world, overrides, field):
    """Integers and booleans of a profile must be JSON integers and booleans."""
    headers = register(world.client, "enterprise")
    response = world.client.post("/api/v1/enterprises", json=enterprise_payload(**overrides), headers=headers)
    assert_error(response, 422, field)


def test_patch_is_strict_and_query_strings_still_parse(world):
    """A PATCH refuses "1000"; query arguments, which are always strings, still parse."""
    sid = world.solution()["id"]
    response = world.client.patch(
        f"/api/v1/solutions/{sid}", json={"price_max_cny": "90000"}, headers=world.provider
    )
    assert_error(response, 422, "price_max_cny")
    listed = world.client.get("/api/v1/solutions", query_string={"price_max_cny": "50000", "mine": "true"})
    assert listed.status_code == 200 and listed.json["total"] == 0
    assert world.client.get("/api/v1/solutions", query_string={"price_max_cny": "50000"}).json["total"] == 1
