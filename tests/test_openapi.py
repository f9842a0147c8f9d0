"""The OpenAPI document and the interactive docs."""

from __future__ import annotations

from http import HTTPStatus

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
