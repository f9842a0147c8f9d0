"""Every error comes back in the one JSON shape, never as a 500 or a stack trace."""

from __future__ import annotations

import pytest
import werkzeug.exceptions as wz

from tests.factories import assert_error, register

HTTP_ERRORS = sorted(
    {
        cls
        for cls in vars(wz).values()
        if isinstance(cls, type) and issubclass(cls, wz.HTTPException) and cls.code and cls.code >= 400
    },
    key=lambda cls: (cls.code, cls.__name__),
)


@pytest.mark.parametrize("error_class", HTTP_ERRORS, ids=lambda cls: f"{cls.code}-{cls.__name__}")
def test_every_http_error_has_the_shape(app, error_class):
    """Any werkzeug HTTP error raised anywhere is rendered in the shape with its status, in readable UTF-8."""

    @app.route("/raise")
    def raise_it():
        raise error_class()

    response = app.test_client().get("/raise")
    body = assert_error(response, error_class.code)
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert body["status"] and body["message"].encode() in response.data


def test_unexpected_exception_is_a_plain_500(app):
    """A bug gives a 500 in the shape, with no trace or internals in the body."""

    @app.route("/boom")
    def boom():
        raise RuntimeError("secret internals")

    response = app.test_client().get("/boom")
    body = assert_error(response, 500)
    assert "secret" not in response.get_data(as_text=True)
    assert body["message"] == "服务器内部错误"


def test_unknown_route_is_404(client):
    """An unknown path answers 404 in the shape."""
    assert_error(client.get("/api/v1/nothing-here"), 404)


def test_wrong_method_is_405(client):
    """A method the route lacks answers 405 in the shape."""
    assert_error(client.delete("/api/v1/scenarios"), 405)


def test_malformed_json_is_400(client):
    """A body that is not JSON is named as such."""
    headers = register(client, "provider")
    response = client.post(
        "/api/v1/providers", data="{not json", headers={**headers, "Content-Type": "application/json"}
    )
    body = assert_error(response, 400, "_request")
    assert "JSON" in body["message"]


def test_body_that_is_not_an_object_is_422(client):
    """A JSON array where an object belongs is rejected, not crashed on."""
    headers = register(client, "provider")
    assert_error(client.post("/api/v1/providers", json=[1, 2], headers=headers), 422)


def test_unknown_field_is_named(client):
    """An unexpected field is rejected and named."""
    response = client.post(
        "/api/v1/auth/register",
        json={
            "email": "x@example.cn",
            "password": "12345678",
            "role": "provider",
            "name": "x",
            "admin": True,
        },
    )
    body = assert_error(response, 422, "admin")
    assert body["errors"]["admin"] == ["不允许的字段"]


def test_messages_are_chinese(client):
    """Field messages users read are in Chinese."""
    body = assert_error(client.post("/api/v1/auth/register", json={}), 422, "email")
    assert body["errors"]["email"] == ["缺少必填字段"]
    assert body["message"] == "请求参数校验失败"


def test_too_large_body_is_413(app, client):
    """A body over MAX_CONTENT_LENGTH is refused with 413 before it is parsed."""
    app.config["MAX_CONTENT_LENGTH"] = 1024
    headers = register(client, "provider")
    response = client.post("/api/v1/providers", json={"description": "字" * 2000}, headers=headers)
    assert_error(response, 413)


def test_bad_query_argument_is_named(client):
    """A bad query parameter gets a 422 naming it."""
    assert_error(client.get("/api/v1/solutions?per_page=500"), 422, "per_page")
    assert_error(client.get("/api/v1/solutions?page=abc"), 422, "page")


def test_huge_ids_and_numbers_are_refused_not_crashed(client):
    """Ids beyond the store's range are simply not found; huge filters are named."""
    assert_error(client.get("/api/v1/solutions/100000000000000000000"), 404)
    assert_error(client.get("/api/v1/solutions/3000000000"), 404)
    assert_error(client.get("/api/v1/solutions?provider_id=100000000000000000000"), 422, "provider_id")
    assert_error(client.get("/api/v1/solutions?price_max_cny=100000000000000000000"), 422, "price_max_cny")
    assert_error(client.get("/api/v1/search/solutions?deploy_days_max=100000000000"), 422, "deploy_days_max")
    assert_error(client.get("/api/v1/cases?solution_id=3000000000"), 422, "solution_id")


def test_database_races_become_conflicts(app):
    """A uniqueness violation that slipped past the service checks is a 409, and nothing is written."""
    from sqlalchemy.exc import IntegrityError

    @app.route("/race")
    def race():
        raise IntegrityError("INSERT", {}, Exception("duplicate key"))

    assert_error(app.test_client().get("/race"), 409)
