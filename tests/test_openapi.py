"""The OpenAPI document and the interactive docs."""

from __future__ import annotations

import json
import re
from http import HTTPStatus

import jsonschema_rs
import pytest

EXPECTED_OPERATIONS = {
    ("get", "/api/v1/industries"),
    ("get", "/api/v1/industries/{code}"),
    ("get", "/api/v1/scenarios"),
    ("post", "/api/v1/auth/register"),
    ("post", "/api/v1/auth/token"),
    ("get", "/api/v1/auth/me"),
    ("delete", "/api/v1/auth/me"),
    ("post", "/api/v1/auth/logout"),
    ("post", "/api/v1/auth/me/password"),
    ("get", "/api/v1/auth/me/export"),
    ("get", "/api/v1/accounts"),
    ("post", "/api/v1/accounts"),
    ("post", "/api/v1/accounts/{account_id}/disable"),
    ("post", "/api/v1/accounts/{account_id}/enable"),
    ("get", "/api/v1/providers"),
    ("post", "/api/v1/providers"),
    ("get", "/api/v1/providers/{provider_id}"),
    ("patch", "/api/v1/providers/{provider_id}"),
    ("get", "/api/v1/solutions"),
    ("post", "/api/v1/solutions"),
    ("get", "/api/v1/solutions/{solution_id}"),
    ("patch", "/api/v1/solutions/{solution_id}"),
    ("post", "/api/v1/solutions/{item_id}/submit"),
    ("post", "/api/v1/solutions/{item_id}/approve"),
    ("post", "/api/v1/solutions/{item_id}/reject"),
    ("post", "/api/v1/solutions/{item_id}/archive"),
    ("post", "/api/v1/solutions/{solution_id}/inquiries"),
    ("post", "/api/v1/solutions/{solution_id}/outcome-claims/{index}/accept"),
    ("get", "/api/v1/cases"),
    ("post", "/api/v1/cases"),
    ("get", "/api/v1/cases/{case_id}"),
    ("patch", "/api/v1/cases/{case_id}"),
    ("post", "/api/v1/cases/{item_id}/submit"),
    ("post", "/api/v1/cases/{item_id}/approve"),
    ("post", "/api/v1/cases/{item_id}/reject"),
    ("post", "/api/v1/cases/{item_id}/archive"),
    ("post", "/api/v1/cases/{case_id}/promotions"),
    ("post", "/api/v1/cases/{case_id}/metrics/{index}/accept"),
    ("post", "/api/v1/cases/{case_id}/promotions/{promotion_id}/end"),
    ("get", "/api/v1/enterprises"),
    ("post", "/api/v1/enterprises"),
    ("get", "/api/v1/enterprises/{enterprise_id}"),
    ("patch", "/api/v1/enterprises/{enterprise_id}"),
    ("post", "/api/v1/enterprises/{enterprise_id}/tier-verification"),
    ("get", "/api/v1/inquiries"),
    ("get", "/api/v1/inquiries/{inquiry_id}"),
    ("patch", "/api/v1/inquiries/{inquiry_id}"),
    ("post", "/api/v1/inquiries/{inquiry_id}/replies"),
    ("get", "/api/v1/search/solutions"),
    ("get", "/api/v1/search/cases"),
    ("get", "/api/v1/suggest"),
    ("post", "/api/v1/recommendations"),
    ("get", "/api/v1/enterprises/{enterprise_id}/recommendations"),
    ("get", "/api/v1/solutions/{solution_id}/similar"),
    ("get", "/api/v1/cases/{case_id}/similar"),
    ("post", "/api/v1/events"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/api/v1/indicators/digital-level"),
    ("get", "/api/v1/enterprises/{enterprise_id}/assessments"),
    ("post", "/api/v1/enterprises/{enterprise_id}/assessments"),
    ("get", "/api/v1/cities/{city}/pilot"),
    ("get", "/api/v1/cities/{city}/pilot/export"),
    ("get", "/api/v1/cities/{city}/pilot/enterprises"),
    ("get", "/api/v1/cities/{city}/pilot/sub-industries"),
    ("get", "/api/v1/cities/{city}/pilot/enrolment-sheet/template"),
    ("post", "/api/v1/cities/{city}/pilot/enrolment-sheet/preview"),
    ("post", "/api/v1/cities/{city}/pilot/enrolment-sheet/import"),
    ("post", "/api/v1/cities/{city}/pilot/sub-industries"),
    ("get", "/api/v1/cities/{city}/pilot/sub-industries/{sub_industry_id}"),
    ("patch", "/api/v1/cities/{city}/pilot/sub-industries/{sub_industry_id}"),
    ("post", "/api/v1/cities/{city}/pilot/sub-industries/{sub_industry_id}/enrolments"),
    ("delete", "/api/v1/cities/{city}/pilot/sub-industries/{sub_industry_id}/enrolments/{enterprise_id}"),
    ("get", "/api/v1/retrofit-projects"),
    ("post", "/api/v1/retrofit-projects"),
    ("get", "/api/v1/retrofit-projects/{project_id}"),
    ("post", "/api/v1/retrofit-projects/{project_id}/advance"),
    ("post", "/api/v1/retrofit-projects/{project_id}/showcase"),
}


@pytest.fixture
def spec(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    return response.json


def test_document_is_readable_utf8(client):
    """The document is UTF-8 JSON with the charset declared; its Chinese text is not escaped."""
    response = client.get("/api/openapi.json")
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert "中小企业数字化转型方案撮合平台".encode() in response.data and b"\\u" not in response.data


def test_document_lists_every_endpoint(spec, app):
    """Every API route of the app, and only those, is in the document."""
    documented = {
        (method, path) for path, item in spec["paths"].items() for method in item if method != "parameters"
    }
    assert documented == EXPECTED_OPERATIONS
    routed = {
        (
            method.lower(),
            rule.rule.replace("<int:", "{").replace("<string:", "{").replace("<city:", "{").replace(">", "}"),
        )
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(("/api/v1", "/healthz", "/readyz"))
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert routed == EXPECTED_OPERATIONS


def test_writes_declare_bearer_auth(spec):
    """Every write declares the bearer scheme, except sign-up, sign-in and the public recommender."""
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    public_writes = {
        "/api/v1/auth/register",
        "/api/v1/auth/token",
        "/api/v1/recommendations",
        "/api/v1/events",
    }
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in {"post", "patch"} and path not in public_writes:
                assert operation.get("security") == [{"bearerAuth": []}], (method, path)


def test_partial_schemas_are_named_apart(spec):
    """PATCH bodies have their own schema, in which nothing is required."""
    schemas = spec["components"]["schemas"]
    assert "required" in schemas["Solution"] and "required" not in schemas["SolutionPatch"]


def test_interactive_docs_are_served_offline(client):
    """Swagger UI loads from our own server, not a CDN."""
    page = client.get("/api/docs")
    assert page.status_code == 200 and b"/api/docs/assets/swagger-ui-bundle.js" in page.data
    with client.get("/api/docs/assets/swagger-ui-bundle.js") as asset:
        assert asset.status_code == 200 and asset.mimetype == "text/javascript"


def test_error_responses_are_documented_in_the_one_shape(spec):
    """No catch-all ``default``: each operation lists the errors it can answer, all in the one shape."""
    error = spec["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"code", "status", "message", "errors"}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            responses = operation["responses"]
            assert "default" not in responses, (method, path)
            if operation.get("security"):
                assert "401" in responses, (method, path)
            if "{" in path:
                assert {"404", "422"} <= set(responses), (method, path)
            if operation.get("security") == [{"bearerAuth": []}]:
                assert "403" in responses, (method, path)
            if "requestBody" in operation:
                assert {"400", "413", "422"} <= set(responses), (method, path)
    for status in ("401", "404", "429", "503"):
        body = spec["components"]["responses"][HTTPStatus(int(status)).name]["content"]["application/json"]
        assert body["schema"] == {"$ref": "#/components/schemas/Error"}
    assert "429" in spec["paths"]["/api/v1/auth/token"]["post"]["responses"]
    assert "503" in spec["paths"]["/api/v1/search/solutions"]["get"]["responses"]
    industries = spec["paths"]["/api/v1/industries"]["get"]["responses"]
    assert "401" not in industries and "403" not in industries
    assert spec["paths"]["/api/v1/solutions/{solution_id}"]["get"]["security"] == [{}, {"bearerAuth": []}]


CHINESE = re.compile(r"[\u4e00-\u9fff]")


def _operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                yield method, path, operation, [*item.get("parameters", []), *operation.get("parameters", [])]


def _json_schema(schema):
    """An OpenAPI 3.0 schema as Draft 4 JSON Schema: ``nullable`` becomes a ``null`` alternative."""
    if isinstance(schema, list):
        return [_json_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    converted = {key: _json_schema(value) for key, value in schema.items() if key != "nullable"}
    if schema.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


def _problems(spec, schema, instance) -> list[str]:
    """What is wrong with ``instance`` by ``schema`` of the document (refs resolved in the document)."""
    root = {**_json_schema(schema), "components": _json_schema(spec["components"])}
    return [
        f"{error.instance_path}: {error.message}"
        for error in jsonschema_rs.Draft4Validator(root).iter_errors(instance)
    ]


def test_every_operation_is_explained_in_chinese(spec):
    """Every operation has a Chinese summary and a Chinese description; every parameter is described."""
    for method, path, operation, parameters in _operations(spec):
        assert CHINESE.search(operation.get("summary", "")), (method, path)
        assert CHINESE.search(operation.get("description", "")), (method, path)
        for parameter in parameters:
            assert CHINESE.search(parameter.get("description", "")), (method, path, parameter["name"])


def _undescribed(schema, where: str):
    """The properties under ``schema``, at any depth, without a Chinese description."""
    if isinstance(schema, list):
        for item in schema:
            yield from _undescribed(item, where)
        return
    if not isinstance(schema, dict):
        return
    for key, prop in schema.get("properties", {}).items():
        if not CHINESE.search(prop.get("description", "")):
            yield f"{where}.{key}"
        yield from _undescribed(prop, f"{where}.{key}")
    for key in ("items", "allOf", "anyOf", "oneOf", "additionalProperties"):
        yield from _undescribed(schema.get(key), where)


def test_every_property_is_described_in_chinese(spec):
    """Every property of every schema, nested ones included, has a Chinese description."""
    undescribed = [
        found
        for name, schema in spec["components"]["schemas"].items()
        for found in _undescribed(schema, name)
    ]
    assert undescribed == []


def test_every_operation_has_examples_the_document_accepts(spec):
    """A request example where the operation takes a body or query, and a response example, all valid."""
    for method, path, operation, parameters in _operations(spec):
        where = f"{method.upper()} {path}"
        query = [parameter for parameter in parameters if parameter["in"] == "query"]
        if query:
            shown = [parameter for parameter in query if "example" in parameter]
            assert shown, f"{where}: no query parameter has an example"
        for parameter in parameters:
            if "example" in parameter:
                assert not _problems(spec, parameter["schema"], parameter["example"]), (
                    where,
                    parameter["name"],
                )
        for media_type, media in operation.get("requestBody", {}).get("content", {}).items():
            assert "example" in media, f"{where}: no {media_type} request example"
            assert _problems(spec, media["schema"], media["example"]) == [], where
        success = [code for code in operation["responses"] if code.startswith("2")]
        assert len(success) == 1, where
        response = operation["responses"][success[0]]
        if success[0] == "204":
            continue
        examples = {
            media_type: media for media_type, media in response["content"].items() if "example" in media
        }
        assert examples, f"{where}: no response example"
        for media_type, media in examples.items():
            if media_type == "application/json":
                assert _problems(spec, media["schema"], media["example"]) == [], where


def test_examples_come_from_the_demo_catalog(spec):
    """The examples name demo rows and the pilot cities, not placeholders."""
    text = json.dumps(spec["paths"], ensure_ascii=False)
    for city in ("福州市", "厦门市"):
        assert city in text
    assert "汲能" in text and "string" not in json.dumps(
        spec["paths"]["/api/v1/solutions"]["post"]["requestBody"]["content"]["application/json"]["example"]
    )


def test_price_filter_says_it_compares_the_lowest_price(spec):
    """``price_max_cny`` filters on the lowest price; the document says so."""
    for path in ("/api/v1/solutions", "/api/v1/search/solutions"):
        parameters = spec["paths"][path]["get"]["parameters"]
        price = next(parameter for parameter in parameters if parameter["name"] == "price_max_cny")
        assert "最低报价" in price["description"], path


def test_constraints_that_code_enforces_are_declared(spec):
    """Codes checked against tables are enums; user text and credit codes have their patterns."""
    schemas = spec["components"]["schemas"]
    assert "C2929" in schemas["IndustryCode"]["enum"] and "福州市" in schemas["CityName"]["enum"]
    assert len(schemas["ScenarioCode"]["enum"]) == 16
    solution = schemas["Solution"]["properties"]
    assert solution["industries"]["items"]["allOf"] == [{"$ref": "#/components/schemas/IndustryCode"}]
    assert _problems(spec, solution["title"], " 前后有空格 ") and not _problems(
        spec, solution["title"], "视觉质检"
    )
    assert _problems(spec, solution["title"], "换行\n不行") and not _problems(
        spec, solution["description"], "换行\n可以"
    )
    code = schemas["Enterprise"]["properties"]["credit_code"]
    assert not _problems(spec, code, "913501124702766267") and _problems(spec, code, "91350112470276626I")
    assert set(schemas["AssessmentAnswers"]["required"]) >= {"network", "strategy"}


def test_introduction_covers_what_an_integrator_needs(spec):
    """``info.description``: sign-in, roles, errors (a valid example), paging, limits, lifecycle, labels."""
    from marketplace.models import CasePromotion

    intro = spec["info"]["description"]
    for needed in (
        "POST /api/v1/auth/token",
        "Authorization: Bearer",
        "`provider`",
        "`enterprise`",
        "`city_office`",
        "`admin`",
        "`page`",
        "`per_page`",
        '"total"',
        "X-RateLimit-Limit",
        "X-RateLimit-Remaining",
        "X-RateLimit-Reset",
        "Retry-After",
        "draft",
        "pending_review",
        "published",
        "rejected",
        "archived",
        "重新审核通过前不对外展示",
        "自报的值从不显示为核实",
        CasePromotion(city="福州市").label,
    ):
        assert needed in intro, needed
    error_example = json.loads(re.search(r"```json\n(.*?)```", intro, re.S).group(1))
    assert _problems(spec, {"$ref": "#/components/schemas/Error"}, error_example) == []


def test_rate_limited_operations_declare_their_headers(spec):
    """An operation that may answer 429 declares the X-RateLimit headers; the 429 declares Retry-After."""
    limited = [
        (path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method != "parameters" and "429" in operation["responses"]
    ]
    assert {path for path, _ in limited} >= {"/api/v1/auth/token", "/api/v1/recommendations"}
    for path, operation in limited:
        success = next(response for code, response in operation["responses"].items() if code.startswith("2"))
        assert {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} <= set(
            success["headers"]
        ), path
    assert "Retry-After" in spec["components"]["responses"]["TOO_MANY_REQUESTS"]["headers"]
