"""Every error comes back in the one JSON shape, never as a 500 or a stack trace."""

from __future__ import annotations

import io
import re

import pytest
import werkzeug.exceptions as wz

from tests.factories import assert_error, level_payload, register, solution_payload

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
    """A method the route lacks answers 405 in the shape, with the ``Allow`` header RFC 9110 requires."""
    response = client.delete("/api/v1/scenarios")
    assert_error(response, 405)
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}


def test_oversized_chunked_body_is_413(app, client):
    """A chunked body (no Content-Length) past MAX_CONTENT_LENGTH is a 413, not a 400 about cut-off JSON."""
    app.config["MAX_CONTENT_LENGTH"] = 1024
    body = ('{"industry": "C29", "needs": "' + "质" * 2000 + '"}').encode()
    response = client.post(
        "/api/v1/recommendations",
        input_stream=io.BytesIO(body),
        headers={"Transfer-Encoding": "chunked", "Content-Type": "application/json"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert_error(response, 413)


def test_chunked_body_within_the_limit_is_read_whole(app, client):
    """A chunked body of exactly MAX_CONTENT_LENGTH bytes is read, not refused."""
    body = b'{"industry": "C29", "needs": "' + b"x" * 200 + b'", "limit": 0}'
    app.config["MAX_CONTENT_LENGTH"] = len(body)
    response = client.post(
        "/api/v1/recommendations",
        input_stream=io.BytesIO(body),
        headers={"Transfer-Encoding": "chunked", "Content-Type": "application/json"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert_error(response, 422, "limit")


def test_a_long_url_is_414_in_the_shape(client):
    """A request target over 4,094 bytes is refused by the app, in JSON, before any view runs."""
    assert client.get("/api/v1/solutions?q=" + "a" * 4_000).status_code == 200
    assert_error(client.get("/api/v1/solutions?q=" + "a" * 4_100), 414)


@pytest.mark.parametrize(
    "headers",
    [{"X-Big": "a" * 8_200}, {f"X-Many-{n}": "1" for n in range(101)}],
    ids=["one-big-field", "too-many-fields"],
)
def test_big_headers_are_431_in_the_shape(client, headers):
    """A header field over 8,190 bytes, or more than 100 fields, is a 431 in the shape."""
    assert_error(client.get("/healthz", headers=headers), 431)


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


def test_list_items_are_named_by_index(world):
    """A bad list item is named ``industries[1]``, not nested under ``{"industries": {"1": ...}}``."""
    payload = solution_payload(industries=["C292", "X999"], tags=["视觉质检", 7])
    body = assert_error(world.client.post("/api/v1/solutions", json=payload, headers=world.provider), 422)
    assert set(body["errors"]) == {"industries[1]", "tags[1]"}, body
    assert all(isinstance(messages, list) for messages in body["errors"].values())


def test_nested_items_are_named_by_path(world):
    """A field inside a list of objects is ``level_uplifts[0].scenario``."""
    uplifts = [{"scenario": "quality", "from_level": 1, "to_level": 2}, {"scenario": "nope", "from_level": 1}]
    payload = solution_payload(level_uplifts=uplifts)
    body = assert_error(world.client.post("/api/v1/solutions", json=payload, headers=world.provider), 422)
    assert {"level_uplifts[1].scenario", "level_uplifts[1].to_level"} <= set(body["errors"]), body


def test_dict_values_are_named_by_key_without_a_value_level(world):
    """A bad value in a mapping is ``scenario_levels.quality``: no ``value`` level in between."""
    payload = level_payload(1)
    payload["scenario_levels"] = {**payload["scenario_levels"], "quality": "high"}
    response = world.client.post(
        f"/api/v1/enterprises/{world.enterprise_id}/assessments", json=payload, headers=world.enterprise
    )
    body = assert_error(response, 422)
    assert body["errors"] == {"scenario_levels.quality": ["应为整数"]}, body


def test_service_errors_about_mapping_entries_are_flat_too(world):
    """A domain rule about one answer names ``answers.<code>`` like the schema would."""
    payload = level_payload(1)
    del payload["answers"]["network"]
    response = world.client.post(
        f"/api/v1/enterprises/{world.enterprise_id}/assessments", json=payload, headers=world.enterprise
    )
    body = assert_error(response, 422)
    assert body["errors"] == {"answers.network": ["缺少作答"]}, body


def test_a_mapping_of_the_wrong_type_is_refused_in_chinese(world):
    """ "Not a valid mapping type." was marshmallow's English; the message is Chinese now."""
    payload = {**level_payload(1), "answers": ["network"]}
    response = world.client.post(
        f"/api/v1/enterprises/{world.enterprise_id}/assessments", json=payload, headers=world.enterprise
    )
    body = assert_error(response, 422, "answers")
    assert body["errors"]["answers"] == ["应为对象（键值映射）"]


def test_a_body_that_is_not_an_object_names_the_request(world):
    """A schema-level error names ``_request``, the request as a whole."""
    body = assert_error(world.client.post("/api/v1/providers", json=[1], headers=world.provider), 422)
    assert body["errors"] == {"_request": ["请求体应为 JSON 对象"]}


def test_a_rule_about_the_caller_names_the_request(client):
    """An inquiry from an enterprise account without a profile is a 422 that names ``_request``."""
    headers = register(client, "enterprise")
    response = client.post("/api/v1/solutions/1/inquiries", json={"message": "想了解报价"}, headers=headers)
    body = assert_error(response, 422, "_request")
    assert body["errors"]["_request"] == [body["message"]]


def test_an_exact_length_is_phrased_as_one_number(client):
    """ "长度应在 36 到 36 个字符之间" reads as "长度应为 36 个字符"."""
    event = {"request_id": "short", "item_type": "solution", "item_id": 1, "type": "click"}
    body = assert_error(client.post("/api/v1/events", json=event), 422, "request_id")
    assert body["errors"]["request_id"] == ["长度应为 36 个字符"]


def _schemas_in_use() -> list:
    """An instance of every API schema the app declares (every module of the package imported)."""
    import importlib
    import pkgutil

    from marshmallow import Schema

    import marketplace

    for module in pkgutil.walk_packages(marketplace.__path__, "marketplace."):
        importlib.import_module(module.name)

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    return [cls() for cls in set(subclasses(Schema)) if cls.__module__.startswith("marketplace")]


def _fields_of(field):
    """``field`` and the fields inside it: list items, mapping keys and values, tuple members."""
    yield field
    for inner in (getattr(field, name, None) for name in ("inner", "key_field", "value_field")):
        if inner is not None:
            yield from _fields_of(inner)
    for inner in getattr(field, "tuple_fields", ()):
        yield from _fields_of(inner)


def _is_chinese(message) -> bool:
    return isinstance(message, str) and re.search("[\u4e00-\u9fff]", message) is not None


def test_no_default_message_of_a_field_class_in_use_is_english():
    """Every marshmallow default message a user can meet, by field class, schema or validator, is Chinese."""
    schemas = _schemas_in_use()
    used = {field for schema in schemas for top in schema.fields.values() for field in _fields_of(top)}
    english = {}
    for cls in {type(field) for field in used}:
        defaults = {}
        for base in reversed(cls.__mro__):
            defaults.update(getattr(base, "default_error_messages", {}))
        english.update(
            {f"{cls.__name__}.{key}": text for key, text in defaults.items() if not _is_chinese(text)}
        )
    for field in used:
        for validator in field.validators:
            if getattr(validator, "error", "中") is None or not _is_chinese(
                getattr(validator, "error", "中")
            ):
                english[f"{field.name}:{type(validator).__name__}"] = validator.error
    for schema in schemas:
        english.update(
            {
                f"{type(schema).__name__}.{k}": v
                for k, v in schema.error_messages.items()
                if not _is_chinese(v)
            }
        )
    assert len(used) > 100
    assert english == {}
