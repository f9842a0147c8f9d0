"""Cities and provinces are checked against seed_data/taxonomy/regions.json, short forms normalised."""

from __future__ import annotations

import pytest

from tests.factories import (
    PASSWORD,
    assert_error,
    case_payload,
    enterprise_payload,
    login,
    provider_payload,
    register,
)


def test_short_forms_are_normalised_so_the_office_sees_the_enterprise(world):
    """An enterprise entered as 苏州 / 江苏 is stored as 苏州市 / 江苏省, visible to the 苏州市 office."""
    headers = register(world.client, "enterprise")
    body = enterprise_payload(name="苏州某五金厂", city="苏州", province="江苏")
    response = world.client.post("/api/v1/enterprises", json=body, headers=headers)
    assert response.status_code == 201, response.json
    assert (response.json["city"], response.json["province"]) == ("苏州市", "江苏省")
    listed = world.client.get("/api/v1/enterprises", headers=world.office).json
    assert response.json["id"] in [item["id"] for item in listed["items"]]
    provider = register(world.client, "provider")
    body = provider_payload(city="宁波", province="浙江")
    response = world.client.post("/api/v1/providers", json=body, headers=provider)
    assert response.status_code == 201, response.json
    assert (response.json["city"], response.json["province"]) == ("宁波市", "浙江省")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"city": "不存在市"}, "city"),
        ({"province": "不存在省"}, "province"),
        ({"city": "福州市", "province": "浙江省"}, "city"),
    ],
)
def test_unknown_or_mismatched_places_are_422(world, overrides, field):
    """Unknown cities and provinces, and a city outside its province, are refused on every store."""
    client = world.client
    assert_error(
        client.post(
            "/api/v1/providers", json=provider_payload(**overrides), headers=register(client, "provider")
        ),
        422,
        field,
    )
    assert_error(
        client.post(
            "/api/v1/enterprises",
            json=enterprise_payload(**overrides),
            headers=register(client, "enterprise"),
        ),
        422,
        field,
    )
    assert_error(
        client.post("/api/v1/cases", json=case_payload(**overrides), headers=world.admin), 422, field
    )


def test_a_patch_is_checked_against_the_stored_province(world):
    """Moving an enterprise to 福州市 while its province stays 江苏省 is refused; moving both is fine."""
    path = f"/api/v1/enterprises/{world.enterprise_id}"
    assert_error(world.client.patch(path, json={"city": "福州市"}, headers=world.enterprise), 422, "city")
    response = world.client.patch(path, json={"city": "福州", "province": "福建省"}, headers=world.enterprise)
    assert response.status_code == 200, response.json
    assert response.json["city"] == "福州市"


def test_staff_accounts_need_a_known_city(world, runner):
    """API and CLI refuse 不存在市 and normalise 苏州."""
    body = {
        "email": "o@example.cn",
        "password": PASSWORD,
        "role": "city_office",
        "name": "x",
        "city": "不存在市",
    }
    assert_error(world.client.post("/api/v1/accounts", json=body, headers=world.admin), 422, "city")
    response = world.client.post("/api/v1/accounts", json={**body, "city": "苏州"}, headers=world.admin)
    assert response.status_code == 201 and response.json["city"] == "苏州市"
    command = [
        "accounts",
        "create",
        "--email",
        "c@example.cn",
        "--password",
        PASSWORD,
        "--role",
        "city_office",
    ]
    result = runner.invoke(args=[*command, "--city", "不存在市"])
    assert result.exit_code != 0 and "city" in result.output
    result = runner.invoke(args=[*command, "--city", "宁波"])
    assert result.exit_code == 0, result.output
    assert (
        world.client.get("/api/v1/auth/me", headers=login(world.client, "c@example.cn")).json["city"]
        == "宁波市"
    )


def test_unknown_city_in_a_pilot_path_is_404_and_short_forms_resolve(world):
    """/cities/不存在市/pilot is 404 even for an admin; /cities/苏州/pilot is 苏州市's."""
    assert_error(world.client.get("/api/v1/cities/不存在市/pilot", headers=world.admin), 404)
    response = world.client.get("/api/v1/cities/苏州/pilot", headers=world.office)
    assert response.status_code == 200, response.json
    assert response.json["city"] == "苏州市"


def test_list_filters_normalise_places(world):
    """Filters take short forms too."""
    assert world.client.get("/api/v1/providers", query_string={"city": "苏州"}).json["total"] == 1
    world.case()
    assert (
        world.client.get("/api/v1/cases", query_string={"city": "苏州", "province": "江苏"}).json["total"]
        == 1
    )
