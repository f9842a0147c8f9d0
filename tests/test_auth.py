"""Accounts, tokens and roles."""

from __future__ import annotations

import time

import jwt
import pytest

from marketplace.extensions import db
from marketplace.models import User
from tests.conftest import TEST_SECRET
from tests.factories import PASSWORD, assert_error, bearer, login, register, staff


def _register(client, **overrides):
    body = {
        "email": "Owner@Example.cn",
        "password": PASSWORD,
        "role": "provider",
        "name": "张三",
        **overrides,
    }
    return client.post("/api/v1/auth/register", json=body)


def test_register_and_sign_in(client):
    """A new provider registers, gets a bearer token and sees its own account."""
    response = _register(client)
    assert response.status_code == 201
    assert response.json["email"] == "owner@example.cn"
    assert "password" not in response.json and "password_hash" not in response.json
    token = client.post("/api/v1/auth/token", json={"email": "OWNER@example.cn", "password": PASSWORD})
    assert token.status_code == 200
    assert token.json["token_type"] == "Bearer" and token.json["expires_in"] == 3600
    me = client.get("/api/v1/auth/me", headers=bearer(token.json["access_token"]))
    assert me.json["role"] == "provider"


def test_password_is_hashed_with_argon2(app, client):
    """The store keeps an argon2id hash, never the password."""
    _register(client)
    with app.app_context():
        stored = db.session.scalar(db.select(User.password_hash))
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


@pytest.mark.parametrize("role", ["admin", "city_office", "superuser"])
def test_self_registration_cannot_take_staff_roles(client, role):
    """Only provider and enterprise accounts can sign themselves up."""
    assert_error(_register(client, role=role), 422, "role")


def test_duplicate_email_is_409(client):
    """An e-mail registers once, case-insensitively."""
    _register(client)
    assert_error(_register(client, email="owner@EXAMPLE.cn"), 409, "email")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [({"email": "not-an-email"}, "email"), ({"password": "short"}, "password"), ({"name": ""}, "name")],
)
def test_register_validation(client, overrides, field):
    """Bad sign-up fields are named."""
    assert_error(_register(client, **overrides), 422, field)


def test_wrong_password_is_401(client):
    """Wrong credentials give one message that does not say which part was wrong."""
    _register(client)
    wrong = client.post("/api/v1/auth/token", json={"email": "owner@example.cn", "password": "wrong-pass"})
    unknown = client.post("/api/v1/auth/token", json={"email": "nobody@example.cn", "password": PASSWORD})
    assert assert_error(wrong, 401)["message"] == assert_error(unknown, 401)["message"]


def test_expired_token_is_401(app, client):
    """A token past its expiry is refused."""
    app.config["TOKEN_TTL_SECONDS"] = 1
    headers = register(client, "provider")
    time.sleep(2)
    body = assert_error(client.get("/api/v1/auth/me", headers=headers), 401)
    assert "过期" in body["message"]


@pytest.mark.parametrize(
    "header",
    [
        "Bearer not-a-token",
        "Basic dXNlcjpwYXNz",
        "Bearer " + jwt.encode({"sub": "1", "exp": 9999999999}, "another-secret-key-of-sufficient-length!!"),
        "Bearer " + jwt.encode({"sub": "1"}, TEST_SECRET),
        "Bearer " + jwt.encode({"sub": "x", "exp": 9999999999}, TEST_SECRET),
        "Bearer " + jwt.encode({"sub": "999", "exp": 9999999999}, TEST_SECRET),
    ],
    ids=["garbage", "basic", "foreign-signature", "no-expiry", "bad-subject", "unknown-user"],
)
def test_invalid_tokens_are_401(client, header):
    """Forged, foreign, expiry-less or orphaned tokens are refused, even on public endpoints."""
    assert_error(client.get("/api/v1/auth/me", headers={"Authorization": header}), 401)
    assert_error(client.get("/api/v1/solutions", headers={"Authorization": header}), 401)


def test_anonymous_me_is_401(client):
    """The account endpoint needs a token."""
    assert_error(client.get("/api/v1/auth/me"), 401)


def test_admin_creates_city_office_through_api(app, client):
    """An admin can create a city-office account, which then signs in with its city."""
    admin = staff(app, client, "admin")
    body = {
        "email": "office@sz.example.cn",
        "password": PASSWORD,
        "role": "city_office",
        "name": "苏州市工信局",
        "city": "苏州市",
    }
    response = client.post("/api/v1/accounts", json=body, headers=admin)
    assert response.status_code == 201 and response.json["city"] == "苏州市"
    me = client.get("/api/v1/auth/me", headers=login(client, "office@sz.example.cn"))
    assert me.json["role"] == "city_office"


def test_city_office_needs_a_city(app, client):
    """A city office without a city, or an admin with one, is rejected."""
    admin = staff(app, client, "admin")
    body = {"email": "o@example.cn", "password": PASSWORD, "role": "city_office", "name": "x"}
    assert_error(client.post("/api/v1/accounts", json=body, headers=admin), 422, "city")
    body = {**body, "role": "admin", "city": "苏州市"}
    assert_error(client.post("/api/v1/accounts", json=body, headers=admin), 422, "city")


@pytest.mark.parametrize("role", ["provider", "enterprise"])
def test_only_admins_create_staff(client, role):
    """Providers, enterprises and anonymous callers cannot create staff accounts."""
    body = {"email": "o@example.cn", "password": PASSWORD, "role": "admin", "name": "x"}
    assert_error(client.post("/api/v1/accounts", json=body, headers=register(client, role)), 403)
    assert_error(client.post("/api/v1/accounts", json=body), 401)


def test_city_office_cannot_create_staff(app, client):
    """Only admins make staff accounts; an office could otherwise make offices for other cities."""
    office = staff(app, client, "city_office", "苏州市")
    body = {
        "email": "o@example.cn",
        "password": PASSWORD,
        "role": "city_office",
        "name": "x",
        "city": "宁波市",
    }
    assert_error(client.post("/api/v1/accounts", json=body, headers=office), 403)


def test_cli_creates_staff_accounts(runner, client):
    """``flask accounts create`` makes admin and city-office accounts that can sign in."""
    result = runner.invoke(
        args=["accounts", "create", "--email", "root@example.cn", "--password", PASSWORD, "--role", "admin"]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        args=[
            "accounts",
            "create",
            "--email",
            "sz@example.cn",
            "--password",
            PASSWORD,
            "--role",
            "city_office",
            "--city",
            "苏州市",
        ]
    )
    assert result.exit_code == 0, result.output
    assert client.get("/api/v1/auth/me", headers=login(client, "sz@example.cn")).json["city"] == "苏州市"


def test_cli_rejects_bad_staff_accounts(runner):
    """The CLI validates like the API: a city office needs a city, passwords need 8 characters."""
    result = runner.invoke(
        args=[
            "accounts",
            "create",
            "--email",
            "x@example.cn",
            "--password",
            PASSWORD,
            "--role",
            "city_office",
        ]
    )
    assert result.exit_code != 0 and "city" in result.output
    result = runner.invoke(
        args=["accounts", "create", "--email", "x@example.cn", "--password", "short", "--role", "admin"]
    )
    assert result.exit_code != 0 and "password" in result.output


def test_a_reused_id_does_not_inherit_an_old_token(app, client):
    """A token names its account's token version and creation time, which a new account with the
    same id (SQLite reuses the largest id after a delete) cannot have."""
    old = register(client, "enterprise", email="old@example.cn")
    with app.app_context():
        gone = db.session.scalar(db.select(User).filter_by(email="old@example.cn"))
        ident = gone.id
        db.session.delete(gone)
        db.session.commit()
        db.session.add(
            User(id=ident, email="new@example.cn", password_hash="x", role="enterprise", name="新")
        )
        db.session.commit()
    assert_error(client.get("/api/v1/auth/me", headers=old), 401)


def test_sqlite_never_reuses_an_account_id(app, client):
    """After the newest account is deleted, the next registration gets a new id (AUTOINCREMENT)."""
    register(client, "provider", email="first@example.cn")
    with app.app_context():
        last = db.session.scalar(db.select(User).filter_by(email="first@example.cn"))
        deleted_id = last.id
        db.session.delete(last)
        db.session.commit()
    response = _register(client, email="second@example.cn")
    assert response.status_code == 201
    assert response.json["id"] > deleted_id


def test_tokens_carry_the_version_and_creation_claims(app, client):
    """The claims an id reuse cannot forge are in every token."""
    headers = register(client, "provider")
    claims = jwt.decode(headers["Authorization"].split()[1], TEST_SECRET, algorithms=["HS256"])
    assert {"sub", "ver", "cat", "exp"} <= set(claims)
    forged = jwt.encode({**claims, "ver": claims["ver"] + 1}, TEST_SECRET)
    assert_error(client.get("/api/v1/auth/me", headers=bearer(forged)), 401)
    legacy = jwt.encode({key: claims[key] for key in ("sub", "exp")}, TEST_SECRET)
    assert_error(client.get("/api/v1/auth/me", headers=bearer(legacy)), 401)


@pytest.mark.parametrize(
    "password",
    [
        " " * 8,
        " " * 12,
        "12345678",
        "password",
        "Password123",
        "1q2w3e4r5t6y",
        "woaini1314",
        "nine-char",
        "zhang.san@example.cn",
        "ZHANG.SAN@example.cn",
        "zhang.san1",
        "张三张三张三张三张三",
    ],
    ids=[
        "8-spaces",
        "12-spaces",
        "digits",
        "password",
        "common-mixed-case",
        "common-long",
        "common-chinese",
        "too-short",
        "the-email",
        "the-email-upper",
        "local-part-prefix",
        "the-name",
    ],
)
def test_weak_passwords_are_refused(client, password):
    """Blank, short, common, e-mail-like and name-like passwords are refused, naming the field."""
    name = "张三张三张三张三张三" if password.startswith("张三") else "张三"
    response = _register(client, email="zhang.san@example.cn", password=password, name=name)
    body = assert_error(response, 422, "password")
    assert all("\u4e00" <= ch <= "\u9fff" or not ch.isalpha() for ch in "".join(body["errors"]["password"]))


def test_staff_passwords_follow_the_same_rules(app, client):
    """An admin creating an account, and the CLI, apply the same rules."""
    admin = staff(app, client, "admin")
    body = {"email": "o@example.cn", "password": "12345678", "role": "admin", "name": "x"}
    assert_error(client.post("/api/v1/accounts", json=body, headers=admin), 422, "password")
    result = app.test_cli_runner().invoke(
        args=["accounts", "create", "--email", "r@example.cn", "--password", "password123", "--role", "admin"]
    )
    assert result.exit_code != 0 and "password" in result.output


def test_the_demo_password_passes_the_rules(app):
    """The demo accounts' password is allowed by the same rules (so it was kept)."""
    from marketplace.auth.passwords import password_problems
    from marketplace.seeding import DEMO_PASSWORD

    with app.app_context():
        assert password_problems(DEMO_PASSWORD, "admin@demo.example.cn", "平台管理员") == []


class CountingHasher:
    """Wraps the app's password hasher and counts the verifications it performs."""

    def __init__(self, hasher):
        self.hasher, self.verified = hasher, 0

    def hash(self, password):
        return self.hasher.hash(password)

    def verify(self, password_hash, password):
        self.verified += 1
        return self.hasher.verify(password_hash, password)


@pytest.mark.parametrize("who", ["unknown", "disabled", "wrong-password"])
def test_every_failed_sign_in_costs_one_hash(app, client, who):
    """An unknown e-mail or a disabled account is checked against a hash too, so timing tells nothing."""
    _register(client)
    if who == "disabled":
        with app.app_context():
            db.session.scalar(db.select(User)).is_active = False
            db.session.commit()
    counter = app.extensions["password_hasher"] = CountingHasher(app.extensions["password_hasher"])
    email = "nobody@example.cn" if who == "unknown" else "owner@example.cn"
    password = "wrong-password-1" if who == "wrong-password" else PASSWORD
    assert_error(client.post("/api/v1/auth/token", json={"email": email, "password": password}), 401)
    assert counter.verified == 1


def test_registering_taken_addresses_is_rate_limited(app):
    """409 "already registered" answers are counted per client address; past the limit it is 429."""
    app.config["RATELIMIT_ENABLED"] = True
    from marketplace.auth.limits import limiter

    limiter.init_app(app)
    app.config.update(AUTH_RATE_LIMIT="1000/minute", REGISTRATION_CONFLICT_RATE_LIMIT="2/hour")
    client = app.test_client()
    assert _register(client).status_code == 201
    assert [_register(client).status_code for _ in range(2)] == [409, 409]
    assert_error(_register(client, email="fresh@example.cn"), 429)
