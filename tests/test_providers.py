"""Provider companies."""

from __future__ import annotations

import pytest

from tests.factories import assert_error, provider_payload, register, solution_payload


def test_provider_creates_and_updates_its_company(client):
    """A provider account creates one company and edits it."""
    headers = register(client, "provider")
    created = client.post("/api/v1/providers", json=provider_payload(), headers=headers)
    assert created.status_code == 201
    provider_id = created.json["id"]
    patched = client.patch(
        f"/api/v1/providers/{provider_id}", json={"description": "新简介"}, headers=headers
    )
    assert patched.status_code == 200 and patched.json["description"] == "新简介"
    assert client.get(f"/api/v1/providers/{provider_id}").json["name"] == created.json["name"]
    assert client.get("/api/v1/auth/me", headers=headers).json["provider_id"] == provider_id


def test_one_company_per_account(client):
    """A second company for the same account is a conflict."""
    headers = register(client, "provider")
    client.post("/api/v1/providers", json=provider_payload(), headers=headers)
    assert_error(client.post("/api/v1/providers", json=provider_payload(), headers=headers), 409)


def test_credit_code_is_unique(client):
    """Two companies cannot share a credit code."""
    body = provider_payload()
    client.post("/api/v1/providers", json=body, headers=register(client, "provider"))
    again = client.post(
        "/api/v1/providers", json={**body, "name": "另一家"}, headers=register(client, "provider")
    )
    assert_error(again, 409, "credit_code")


@pytest.mark.parametrize(
    "code",
    ["91320500MA0000005D", "91320500MA000005C", "91320500MA000000IC", "hello"],
    ids=["check-char", "length", "letter-I", "garbage"],
)
def test_malformed_credit_code_is_422(client, code):
    """A credit code failing GB 32100-2015 is rejected, naming the field."""
    response = client.post(
        "/api/v1/providers", json=provider_payload(credit_code=code), headers=register(client, "provider")
    )
    assert_error(response, 422, "credit_code")


def test_credit_code_is_upper_cased(client):
    """Lower-case input is accepted and stored upper-case."""
    body = provider_payload()
    body["credit_code"] = body["credit_code"].lower()
    response = client.post("/api/v1/providers", json=body, headers=register(client, "provider"))
    assert response.status_code == 201 and response.json["credit_code"] == body["credit_code"].upper()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"province": "苏州"}, "province"),
        ({"contact_phone": "12345"}, "contact_phone"),
        ({"contact_email": "nope"}, "contact_email"),
        ({"name": ""}, "name"),
        ({"name": " \u3000\t "}, "name"),
    ],
)
def test_provider_field_validation(client, overrides, field):
    """Bad fields are named."""
    response = client.post(
        "/api/v1/providers", json=provider_payload(**overrides), headers=register(client, "provider")
    )
    assert_error(response, 422, field)


def test_text_is_stored_without_surrounding_whitespace(world):
    """Names, titles and tags are trimmed before they are validated and stored."""
    response = world.client.patch(
        f"/api/v1/providers/{world.provider_id}",
        json={"name": "  苏州智检科技有限公司 \n"},
        headers=world.provider,
    )
    assert response.status_code == 200 and response.json["name"] == "苏州智检科技有限公司"
    solution = world.solution(status="draft", title=" 注塑件视觉检测 ", tags=[" 视觉质检 ", "AOI"])
    assert (solution["title"], solution["tags"]) == ("注塑件视觉检测", ["视觉质检", "AOI"])
    blank = world.client.post("/api/v1/solutions", json=solution_payload(tags=["  "]), headers=world.provider)
    assert_error(blank, 422, "tags")


def test_only_provider_accounts_create_companies(client):
    """Enterprises get 403, anonymous callers 401."""
    assert_error(
        client.post("/api/v1/providers", json=provider_payload(), headers=register(client, "enterprise")), 403
    )
    assert_error(client.post("/api/v1/providers", json=provider_payload()), 401)


def test_others_cannot_edit(world):
    """Another provider and a city office cannot edit a company; an admin can."""
    url = f"/api/v1/providers/{world.provider_id}"
    assert_error(world.client.patch(url, json={"name": "篡改"}, headers=world.other_provider), 403)
    assert_error(world.client.patch(url, json={"name": "篡改"}, headers=world.office), 403)
    assert_error(world.client.patch(url, json={"name": "篡改"}), 401)
    assert world.client.patch(url, json={"name": "管理员修正"}, headers=world.admin).status_code == 200


def test_patch_cannot_take_anothers_credit_code(world):
    """Changing to a credit code in use is a conflict."""
    other_code = world.client.get(f"/api/v1/providers/{world.other_provider_id}").json["credit_code"]
    response = world.client.patch(
        f"/api/v1/providers/{world.provider_id}", json={"credit_code": other_code}, headers=world.provider
    )
    assert_error(response, 409, "credit_code")


def test_list_filters_and_pages(world):
    """The directory filters by place and name and pages."""
    client = world.client
    everyone = client.get("/api/v1/providers").json
    assert everyone["total"] == 2 and everyone["page"] == 1 and everyone["per_page"] == 20
    assert [p["city"] for p in client.get("/api/v1/providers?city=宁波市").json["items"]] == ["宁波市"]
    assert client.get("/api/v1/providers?province=江苏省").json["total"] == 1
    assert client.get("/api/v1/providers?name=能效").json["items"][0]["id"] == world.other_provider_id
    page2 = client.get("/api/v1/providers?per_page=1&page=2").json
    assert len(page2["items"]) == 1 and page2["total"] == 2
    assert client.get("/api/v1/providers?name=%25").json["total"] == 0


def test_unknown_provider_is_404(client):
    """A missing provider is a 404 in the shape."""
    assert_error(client.get("/api/v1/providers/999"), 404)
