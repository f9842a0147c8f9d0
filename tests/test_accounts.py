"""The account lifecycle: sign-out, password change, admin listing and disabling, export and deletion."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.models import Enterprise, Inquiry, User
from tests.factories import (
    PASSWORD,
    assert_error,
    assess,
    create_sub_industry,
    enrol,
    level_payload,
    login,
)

NEW_PASSWORD = "another-horse-42"


def me(client, headers):
    return client.get("/api/v1/auth/me", headers=headers)


def test_logout_revokes_every_token_of_the_caller(world):
    """Two sessions of one account both stop working after one of them signs out."""
    email = me(world.client, world.provider).json["email"]
    second = login(world.client, email)
    assert world.client.post("/api/v1/auth/logout", headers=world.provider).status_code == 204
    assert_error(me(world.client, world.provider), 401)
    assert_error(me(world.client, second), 401)
    assert me(world.client, login(world.client, email)).status_code == 200


def test_password_change_needs_the_current_password_and_revokes_tokens(world):
    """The old password is required, the rules apply, old tokens stop, the new password works."""
    email = me(world.client, world.provider).json["email"]
    path = "/api/v1/auth/me/password"
    wrong = {"current_password": "not-the-password", "new_password": NEW_PASSWORD}
    assert_error(world.client.post(path, json=wrong, headers=world.provider), 422, "current_password")
    weak = {"current_password": PASSWORD, "new_password": "password123"}
    assert_error(world.client.post(path, json=weak, headers=world.provider), 422, "new_password")
    response = world.client.post(
        path, json={"current_password": PASSWORD, "new_password": NEW_PASSWORD}, headers=world.provider
    )
    assert response.status_code == 200 and response.json["token_type"] == "Bearer"
    assert_error(me(world.client, world.provider), 401)
    assert me(world.client, {"Authorization": f"Bearer {response.json['access_token']}"}).status_code == 200
    assert login(world.client, email, NEW_PASSWORD)
    failed = world.client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert_error(failed, 401)


def test_admins_list_accounts_paged_and_filtered(world):
    """Admins page through accounts, filtered by role and e-mail; nobody else may."""
    response = world.client.get("/api/v1/accounts", query_string={"role": "enterprise"}, headers=world.admin)
    assert response.status_code == 200
    assert response.json["total"] == 2 and {a["role"] for a in response.json["items"]} == {"enterprise"}
    email = response.json["items"][0]["email"]
    found = world.client.get("/api/v1/accounts", query_string={"email": email[:6]}, headers=world.admin)
    assert email in [a["email"] for a in found.json["items"]]
    paged = world.client.get("/api/v1/accounts", query_string={"per_page": 2, "page": 2}, headers=world.admin)
    assert paged.json["total"] == 7 and len(paged.json["items"]) == 2
    assert_error(world.client.get("/api/v1/accounts", headers=world.office), 403)


def test_a_disabled_account_cannot_act_or_sign_in_until_enabled(world):
    """Disabling stops the account's tokens and sign-ins; enabling lets it sign in again (new tokens only)."""
    account = me(world.client, world.enterprise).json
    path = f"/api/v1/accounts/{account['id']}"
    response = world.client.post(f"{path}/disable", headers=world.admin)
    assert response.status_code == 200 and response.json["is_active"] is False
    assert_error(me(world.client, world.enterprise), 401)
    signing_in = world.client.post(
        "/api/v1/auth/token", json={"email": account["email"], "password": PASSWORD}
    )
    assert_error(signing_in, 401)
    assert world.client.post(f"{path}/enable", headers=world.admin).json["is_active"] is True
    assert_error(me(world.client, world.enterprise), 401)
    assert me(world.client, login(world.client, account["email"])).status_code == 200
    assert_error(world.client.post(f"{path}/disable", headers=world.provider), 403)


def test_an_admin_cannot_disable_itself(world):
    """An admin disabling its own account would lock the door behind it."""
    ident = me(world.client, world.admin).json["id"]
    assert_error(world.client.post(f"/api/v1/accounts/{ident}/disable", headers=world.admin), 409)


def test_a_user_exports_their_own_data(world):
    """The export holds the account, the profile and the inquiries, and nobody else's data."""
    solution = world.solution()
    world.client.post(
        f"/api/v1/solutions/{solution['id']}/inquiries",
        json={"message": "想了解报价"},
        headers=world.enterprise,
    )
    assess(world.client, world.enterprise_id, world.enterprise, level_payload(1))
    export = world.client.get("/api/v1/auth/me/export", headers=world.enterprise)
    assert export.status_code == 200
    body = export.json
    assert body["account"]["email"] == me(world.client, world.enterprise).json["email"]
    assert body["enterprise"]["id"] == world.enterprise_id and body["provider"] is None
    assert [inquiry["message"] for inquiry in body["inquiries"]] == ["想了解报价"]
    assert len(body["assessments"]) == 1
    provider = world.client.get("/api/v1/auth/me/export", headers=world.provider).json
    assert provider["provider"]["id"] == world.provider_id and provider["enterprise"] is None
    assert [item["id"] for item in provider["solutions"]] == [solution["id"]]
    assert "password" not in str(body) and "password_hash" not in str(body)


def test_deleting_an_enterprise_account_removes_its_personal_data(world):
    """With its password, an enterprise deletes its account: profile, inquiries, assessments, enrolment.

    The account row stays as an anonymous tombstone (the ids others' records name), the e-mail is
    free again, and its tokens and password stop working.
    """
    app, client = world.app, world.client
    solution = world.solution()
    client.post(
        f"/api/v1/solutions/{solution['id']}/inquiries", json={"message": "报价"}, headers=world.enterprise
    )
    assess(client, world.enterprise_id, world.enterprise, level_payload(1))
    sub_industry = create_sub_industry(client, world.office)
    enrol(client, world.office, sub_industry["id"], [world.enterprise_id])
    account = me(client, world.enterprise).json
    wrong = client.delete("/api/v1/auth/me", json={"password": "not-the-password"}, headers=world.enterprise)
    assert_error(wrong, 422, "password")
    response = client.delete("/api/v1/auth/me", json={"password": PASSWORD}, headers=world.enterprise)
    assert response.status_code == 204
    assert_error(me(client, world.enterprise), 401)
    signing_in = client.post("/api/v1/auth/token", json={"email": account["email"], "password": PASSWORD})
    assert_error(signing_in, 401)
    with app.app_context():
        tombstone = db.session.get(User, account["id"])
        assert tombstone.deleted_at is not None and not tombstone.is_active
        assert account["email"] not in tombstone.email and tombstone.name == "已注销用户"
        assert db.session.get(Enterprise, world.enterprise_id) is None
        assert db.session.scalar(select(func.count()).select_from(Inquiry)) == 0
        for table in ("assessments", "pilot_enrolments"):
            rows = db.session.execute(db.metadata.tables[table].select()).all()
            assert rows == [], table
    pilot = client.get(
        f"/api/v1/cities/苏州市/pilot/sub-industries/{sub_industry['id']}", headers=world.office
    )
    assert pilot.status_code == 200
    again = {"email": account["email"], "password": PASSWORD, "role": "enterprise", "name": "新"}
    assert client.post("/api/v1/auth/register", json=again).status_code == 201


def test_every_table_that_names_an_enterprise_is_handled_by_deletion():
    """A new table referencing enterprises must be added to the deletion path (or cascade)."""
    from marketplace.accounts.service import ENTERPRISE_DEPENDENTS

    referencing = {
        (table.name, fk.ondelete)
        for table in db.metadata.tables.values()
        for fk in table.foreign_keys
        if fk.column.table.name == "enterprises"
    }
    assert {name for name, _ in referencing} == set(ENTERPRISE_DEPENDENTS)
    for name, ondelete in referencing:
        assert (ondelete == "CASCADE") == (ENTERPRISE_DEPENDENTS[name] == "cascade"), name


def test_deleting_a_provider_account_archives_its_listings(world):
    """A provider's company stays (it is not personal data) without contacts, its listings archived."""
    solution = world.solution()
    response = world.client.delete("/api/v1/auth/me", json={"password": PASSWORD}, headers=world.provider)
    assert response.status_code == 204
    provider = world.client.get(f"/api/v1/providers/{world.provider_id}").json
    assert provider["contact_email"] is None and provider["contact_phone"] is None
    assert_error(world.client.get(f"/api/v1/solutions/{solution['id']}"), 404)


@pytest.mark.parametrize("path", ["/api/v1/auth/logout", "/api/v1/auth/me/export"])
def test_lifecycle_endpoints_need_a_token(client, path):
    method = client.get if path.endswith("export") else client.post
    assert_error(method(path), 401)
