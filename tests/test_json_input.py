"""Hostile JSON bodies: deep nesting, huge numbers and invalid Unicode are refused with a 4xx, never a 500."""

from __future__ import annotations

import pytest

from tests.factories import assert_error, register

JSON = {"Content-Type": "application/json"}


def post_raw(client, path: str, body: str, headers: dict | None = None):
    """POST ``body`` exactly as written (the test client would re-encode a dict)."""
    return client.post(path, data=body.encode("utf-8"), headers={**JSON, **(headers or {})})


def deep(levels: int) -> str:
    """An array nested ``levels`` deep."""
    return "[" * levels + "]" * levels


@pytest.mark.parametrize("levels", [1_000, 100_000])
def test_deep_nesting_is_a_400_on_a_public_endpoint(client, levels):
    """Nesting past the bound is named, before any schema (or the recursion limit) sees it."""
    body = assert_error(post_raw(client, "/api/v1/recommendations", deep(levels)), 400, "_request")
    assert "嵌套" in body["errors"]["_request"][0]


def test_deep_nesting_inside_a_field_is_a_400(client):
    """The bound holds inside a value too, and for a signed-in caller's create."""
    headers = register(client, "provider")
    payload = '{"title": ' + deep(1_000) + "}"
    assert_error(post_raw(client, "/api/v1/solutions", payload, headers), 400, "_request")
    payload = '{"industry": "C29", "needs": {"a": ' * 40 + "1" + "}" * 40 + "}"
    assert_error(post_raw(client, "/api/v1/recommendations", payload), 400, "_request")


def test_ordinary_nesting_still_loads(client):
    """A body as deep as the real ones (an object of lists of objects) is untouched by the bound."""
    response = client.post("/api/v1/recommendations", json={"industry": [[[["C29"]]]], "needs": "质检"})
    assert_error(response, 422, "industry")


@pytest.mark.parametrize(
    "literal",
    ["1" * 5_000, "-" + "9" * 5_000, "1." + "0" * 5_000, "1e" + "9" * 5_000],
    ids=["integer", "negative", "fraction", "exponent"],
)
def test_a_number_literal_beyond_the_bound_is_a_400(client, literal):
    """Python refuses int() past 4,300 digits; the loader refuses long literals before that."""
    payload = '{"industry": "C29", "needs": "质检", "limit": ' + literal + "}"
    body = assert_error(post_raw(client, "/api/v1/recommendations", payload), 400, "_request")
    assert "数字" in body["errors"]["_request"][0]


def test_a_long_but_bounded_number_reaches_the_schema(client):
    """A number of ordinary length is the schema's business, which names the field."""
    payload = '{"industry": "C29", "needs": "质检", "limit": ' + "9" * 30 + "}"
    assert_error(post_raw(client, "/api/v1/recommendations", payload), 422, "limit")


@pytest.mark.parametrize(
    ("path", "payload"),
    [
        ("/api/v1/auth/token", '{"email": "\\ud800@example.cn", "password": "whatever-1234"}'),
        (
            "/api/v1/auth/register",
            '{"email": "a@example.cn", "password": "\\ud800horse-9-horse", "role": "provider", "name": "x"}',
        ),
        ("/api/v1/recommendations", '{"industry": "C29", "needs": "\\udfff质检"}'),
        ("/api/v1/recommendations", '{"industry": "C29", "needs": "质检", "\\ud83d": 1}'),
    ],
    ids=["token-email", "register-password", "low-surrogate", "surrogate-key"],
)
def test_a_lone_surrogate_is_a_400(client, path, payload):
    """An escaped lone surrogate cannot be stored or hashed; it is refused as invalid text."""
    body = assert_error(post_raw(client, path, payload), 400, "_request")
    assert "Unicode" in body["errors"]["_request"][0]


def test_a_surrogate_pair_is_an_ordinary_character(client):
    """``\\ud83d\\ude00`` is one valid character (😀), not two lone halves."""
    payload = '{"industry": "C29", "needs": "\\ud83d\\ude00", "limit": 0}'
    assert_error(post_raw(client, "/api/v1/recommendations", payload), 422, "limit")


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_standard_constants_are_a_400(client, constant):
    """NaN and Infinity are not JSON; the store's JSON columns could not hold them either."""
    payload = '{"industry": "C29", "needs": "质检", "budget_max_cny": ' + constant + "}"
    assert_error(post_raw(client, "/api/v1/recommendations", payload), 400, "_request")


def test_invalid_utf8_is_a_400(client):
    """Bytes that are not UTF-8 are refused as a body that cannot be read."""
    response = client.post("/api/v1/recommendations", data=b'{"needs": "\xed\xa0\x80"}', headers=JSON)
    assert_error(response, 400, "_request")


def test_flask_get_json_uses_the_same_loader(app):
    """Code reading ``request.get_json()`` directly is held to the same bounds."""

    @app.post("/raw-json")
    def raw_json():
        from flask import request

        return {"keys": sorted(request.get_json())}

    client = app.test_client()
    assert post_raw(client, "/raw-json", '{"a": 1}').json == {"keys": ["a"]}
    assert_error(post_raw(client, "/raw-json", deep(1_000)), 400, "_request")
    assert_error(post_raw(client, "/raw-json", '{"a": "\\ud800"}'), 400, "_request")
