"""Idempotency-Key on creates: a retried POST replays the first answer instead of creating twice."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.models import IdempotencyKey, Solution, User, utcnow
from tests.factories import PASSWORD, assert_error, solution_payload

KEY = {"Idempotency-Key": "3f1c0a9e-retry-1"}


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def create(world, payload=None, headers=None, key=KEY):
    return world.client.post(
        "/api/v1/solutions",
        json=payload or solution_payload(),
        headers={**(headers or world.provider), **key},
    )


def test_a_retried_create_replays_the_first_answer(world):
    """Same key, same caller, same body: the stored 201 and body come back, and one solution exists."""
    first = create(world)
    second = create(world)
    assert first.status_code == second.status_code == 201
    assert second.json == first.json
    assert second.headers["Idempotent-Replayed"] == "true"
    assert count(world.app, Solution) == 1


def test_the_same_key_with_another_body_is_refused(world):
    """Reusing a key for a different request is a 422 naming the header; nothing is created."""
    create(world)
    response = create(world, solution_payload(title="另一个方案标题"))
    body = assert_error(response, 422, "Idempotency-Key")
    assert "幂等" in body["errors"]["Idempotency-Key"][0]
    assert count(world.app, Solution) == 1


def test_keys_belong_to_their_caller(world):
    """Another caller's identical key is another key."""
    assert create(world).status_code == 201
    assert create(world, headers=world.other_provider).status_code == 201
    assert count(world.app, Solution) == 2


def test_a_failed_create_does_not_keep_the_key(world):
    """A refused body leaves the key free, so the corrected retry creates."""
    assert_error(create(world, solution_payload(deploy_days=-1)), 422, "deploy_days")
    assert create(world).status_code == 201


def test_keys_expire_after_a_day_and_are_purged(world):
    """Past 24 h the key is forgotten (deleted by the next request with a key) and the create runs again."""
    first = create(world)
    with world.app.app_context():
        row = db.session.scalar(select(IdempotencyKey))
        assert timedelta(hours=23) < row.expires_at - utcnow() <= timedelta(hours=24)
        row.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    second = create(world)
    assert second.status_code == 201 and second.json["id"] != first.json["id"]
    assert count(world.app, IdempotencyKey) == 1


def test_anonymous_sign_up_is_idempotent_per_address(client, app):
    """A retried registration answers the stored 201 instead of 409 "already registered"."""
    account = {"email": "retry@example.cn", "password": PASSWORD, "role": "provider", "name": "重试"}
    first = client.post("/api/v1/auth/register", json=account, headers=KEY)
    second = client.post("/api/v1/auth/register", json=account, headers=KEY)
    assert first.status_code == second.status_code == 201 and second.json == first.json
    assert count(app, User) == 1


def test_a_malformed_key_is_refused(world):
    """A key must be 1–255 visible ASCII characters."""
    assert_error(create(world, key={"Idempotency-Key": "x" * 256}), 422, "Idempotency-Key")
    assert count(world.app, Solution) == 0


def test_creates_document_the_header(client):
    """Every POST that answers 201 lists the optional Idempotency-Key header; other operations do not."""
    spec = client.get("/api/openapi.json").json
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
            creates = method == "post" and "201" in operation["responses"]
            assert ("Idempotency-Key" in names) is creates, (method, path)
