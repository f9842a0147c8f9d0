"""Access-control matrix: every API operation against every role, with the status each must get.

Roles: ``anon`` (no token), ``provider_a`` / ``provider_b`` (provider A owns every provider-side
resource in a path), ``enterprise_e`` / ``enterprise_f`` (E owns every enterprise-side resource,
E is in 苏州市 and F in 宁波市), ``office_x`` / ``office_y`` (the 苏州市 and 宁波市 city offices;
city X = 苏州市 is the city in every path and of every city-bound resource), and ``admin``.

Rule for "exists but not yours" (what the services do, kept consistent): a caller whose *role*
may never take the operation gets 403 before any lookup (a provider on a city's pilot); a
resource the caller may *see* but not change answers 403 (an admin replying to an inquiry); a
resource the caller may not even see (another provider's draft, another enterprise's profile,
another city's pilot, 细分行业 or project, an inquiry between others) answers 404, exactly as if
it did not exist, so its existence does not leak. An anonymous caller on a protected operation
gets 401.

Each row is one operation and runs on a fresh world; for each role, the row's ``params`` builds
fresh resources, so one role's write never changes what the next role sees. Rows with ``listed``
also check that a list shows the built resource to exactly those roles. Write bodies are
valid, so the status reflects authorisation, not validation; where the authorised outcome depends
on state the matrix does not set up, the expected status says so (e.g. 409 for showcasing a
project that is not yet accepted, which proves the caller got past the access check).
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest

from tests.factories import (
    PASSWORD,
    World,
    assessment_payload,
    case_payload,
    create_sub_industry,
    credit_code,
    enrol,
    enterprise_account,
    enterprise_payload,
    provider_payload,
    solution_payload,
    sub_industry_payload,
)

ROLES = ("anon", "provider_a", "provider_b", "enterprise_e", "enterprise_f", "office_x", "office_y", "admin")
CITY = "苏州市"
API = "/api/v1"
HTTP_METHODS = {"get", "post", "put", "patch", "delete"}
_unique = itertools.count(1)

EXCLUDED = {
    "/api/openapi.json": "the OpenAPI document itself is public and not an API operation",
    "/api/docs": "interactive documentation page, not an API operation",
    "/api/docs/assets/<path:filename>": "static files of the documentation page",
    "/metrics": "Prometheus scrape endpoint, not part of the public API",
    "/static/<path:filename>": "Flask's static files",
}
CONSOLE_ENDPOINTS = "console."
"""The web console's pages: they call the same services, and tests/test_console*.py check their refusals."""


def everyone(status: int = 200) -> dict[str, int]:
    """Every role, signed in or not, gets ``status``."""
    return dict.fromkeys(ROLES, status)


def only(*allowed: str, ok: int = 200, deny: int = 403, anon: int = 401, **overrides: int) -> dict[str, int]:
    """``allowed`` roles get ``ok``; other signed-in roles ``deny``; anonymous callers ``anon``."""
    table = {role: ok if role in allowed else deny for role in ROLES}
    table["anon"] = ok if "anon" in allowed else anon
    return {**table, **overrides}


def signed_in(ok: int = 200, **overrides: int) -> dict[str, int]:
    """Every signed-in role gets ``ok``; anonymous callers 401."""
    return only(*ROLES[1:], ok=ok, **overrides)


@dataclass
class Row:
    """Expected statuses for one operation and how to build its path parameters and body."""

    expect: dict[str, int]
    params: Callable[[World], dict] = lambda world: {}
    body: Callable[[World, dict], dict | None] | None = None
    query: dict = field(default_factory=dict)
    trained: bool = False
    listed: tuple[str, ...] | None = None
    upload: Callable[[World, dict], bytes] | None = None


# --- resource builders: each call makes fresh resources owned by provider A / enterprise E / city X


def _draft(world: World) -> dict:
    return {"solution_id": world.solution("draft")["id"]}


def _solution_at(status: str) -> Callable[[World], dict]:
    return lambda world: {"item_id": world.solution(status)["id"]}


def _published(world: World) -> dict:
    return {"solution_id": world.solution()["id"]}


def _used_solution_claim(world: World) -> dict:
    """Claim 0 of provider A's published solution, used by a published 苏州市 case."""
    solution_id = world.solution()["id"]
    world.case(solution_ids=[solution_id])
    return {"solution_id": solution_id, "index": 0}


def _case_metric(world: World) -> dict:
    return {"case_id": world.case()["id"], "index": 0}


def _office_case(world: World) -> dict:
    return {"item_id": world.case()["id"]}


def _provider_case(world: World) -> dict:
    """A draft case of provider A (a provider's case waits for review)."""
    return {"item_id": world.case(world.provider)["id"]}


def _account(role: str, **extra) -> dict:
    return {
        "email": f"new{next(_unique)}@example.cn",
        "password": PASSWORD,
        "role": role,
        "name": "新用户",
        **extra,
    }


def _other_account(world: World) -> dict:
    response = world.client.post(f"{API}/auth/register", json=_account("enterprise"))
    assert response.status_code == 201, response.json
    return {"account_id": response.json["id"]}


def _pending_case(world: World) -> dict:
    """A case provider A sent for review (provider cases start as drafts)."""
    case = world.case(world.provider)
    response = world.client.post(f"{API}/cases/{case['id']}/submit", headers=world.provider)
    assert response.status_code == 200, response.json
    return {"item_id": case["id"]}


def _case(world: World) -> dict:
    return {"case_id": world.case()["id"]}


def _promotion(world: World) -> dict:
    case_id = world.case()["id"]
    response = world.client.post(f"{API}/cases/{case_id}/promotions", json=_window(), headers=world.office)
    assert response.status_code == 201, response.json
    return {"case_id": case_id, "promotion_id": response.json["id"]}


def _window() -> dict:
    today = date.today()
    return {"starts_on": today.isoformat(), "ends_on": (today + timedelta(days=30)).isoformat()}


def _inquiry(world: World) -> dict:
    solution_id = world.solution()["id"]
    response = world.client.post(
        f"{API}/solutions/{solution_id}/inquiries",
        json={"message": "想了解报价和部署周期"},
        headers=world.enterprise,
    )
    assert response.status_code == 201, response.json
    return {"inquiry_id": response.json["id"]}


def _city(world: World) -> dict:
    return {"city": CITY}


def _sub_industry(world: World) -> dict:
    return {
        "city": CITY,
        "sub_industry_id": create_sub_industry(world.client, world.office, name=f"注塑制品{next(_unique)}")[
            "id"
        ],
    }


def _enrolment(world: World) -> dict:
    sub_industry_id = create_sub_industry(world.client, world.office, name=f"注塑制品{next(_unique)}")["id"]
    enterprise_id, _ = enterprise_account(world.client)
    enrol(world.client, world.office, sub_industry_id, [enterprise_id])
    return {"city": CITY, "sub_industry_id": sub_industry_id, "enterprise_id": enterprise_id}


def _sheet_city(world: World) -> dict:
    """A 细分行业 of city X and a fresh enterprise of the city, named in an enrolment sheet."""
    sub_industry = create_sub_industry(world.client, world.office, name=f"注塑制品{next(_unique)}")["name"]
    code, name = credit_code(), f"苏州名单注塑{next(_unique)}厂"
    enterprise_account(world.client, credit_code=code, name=name)
    return {"city": CITY, "line": f"{code},{name},{sub_industry}"}


def _sheet(world: World, params: dict) -> bytes:
    return f"统一社会信用代码,企业名称,细分行业\n{params['line']}\n".encode()


def _project_body(world: World) -> dict:
    """A fresh enrolled 苏州市 enterprise and a project body for it with provider A's solution."""
    enterprise_id, _ = enterprise_account(world.client)
    sub_industry_id = create_sub_industry(world.client, world.office, name=f"注塑制品{next(_unique)}")["id"]
    enrol(world.client, world.office, sub_industry_id, [enterprise_id])
    return {
        "enterprise_id": enterprise_id,
        "provider_id": world.provider_id,
        "solution_id": world.solution()["id"],
        "title": "注塑件视觉质检改造",
        "started_on": (date.today() - timedelta(days=30)).isoformat(),
    }


def _project(world: World) -> dict:
    response = world.client.post(f"{API}/retrofit-projects", json=_project_body(world), headers=world.office)
    assert response.status_code == 201, response.json
    return {"project_id": response.json["id"]}


def _enterprise(world: World) -> dict:
    return {"enterprise_id": world.enterprise_id}


def _provider(world: World) -> dict:
    return {"provider_id": world.provider_id}


def _event_body(world: World, params: dict) -> dict:
    response = world.client.post(f"{API}/recommendations", json=RECOMMEND)
    assert response.status_code == 200, response.json
    body = response.json
    kind, items = ("solution", body["solutions"]) if body["solutions"] else ("case", body["cases"])
    return {"request_id": body["request_id"], "item_type": kind, "item_id": items[0]["id"], "type": "click"}


RECOMMEND = {"industry": "C2929", "needs": "注塑件有黑点缩水，全靠人工目检"}
OWNER_OFFICE_ADMIN = ("enterprise_e", "office_x", "admin")
PILOT_STAFF = only("office_x", "admin", office_y=404)
STAFF_LOGIN = "staff-login@example.cn"


def _listed(prepare: Callable[[World], dict], key: str) -> Callable[[World], dict]:
    """Build a resource with ``prepare``; its ``key`` is the id a list must show or hide."""
    return lambda world: (lambda built: {**built, "listed_id": built[key]})(prepare(world))


def _const(body: dict) -> Callable[[World, dict], dict]:
    return lambda world, params: body


MATRIX: dict[tuple[str, str], Row] = {
    # public reference data and health
    ("GET", "/healthz"): Row(everyone()),
    ("GET", "/readyz"): Row(everyone()),
    ("GET", f"{API}/industries"): Row(everyone()),
    ("GET", f"{API}/industries/{{code}}"): Row(everyone(), lambda w: {"code": "C29"}),
    ("GET", f"{API}/scenarios"): Row(everyone()),
    ("GET", f"{API}/indicators/digital-level"): Row(everyone()),
    # accounts
    ("POST", f"{API}/auth/register"): Row(everyone(201), body=lambda w, p: _account("provider")),
    ("POST", f"{API}/auth/token"): Row(everyone(), body=_const({"email": STAFF_LOGIN, "password": PASSWORD})),
    ("GET", f"{API}/auth/me"): Row(signed_in()),
    ("DELETE", f"{API}/auth/me"): Row(signed_in(204), body=_const({"password": PASSWORD})),
    ("POST", f"{API}/auth/logout"): Row(signed_in(204)),
    ("POST", f"{API}/auth/me/password"): Row(
        signed_in(), body=_const({"current_password": PASSWORD, "new_password": "another-horse-42"})
    ),
    ("GET", f"{API}/auth/me/export"): Row(signed_in()),
    ("GET", f"{API}/accounts"): Row(only("admin")),
    ("POST", f"{API}/accounts"): Row(
        only("admin", ok=201), body=lambda w, p: _account("city_office", city="杭州市")
    ),
    ("POST", f"{API}/accounts/{{account_id}}/disable"): Row(only("admin"), _other_account),
    ("POST", f"{API}/accounts/{{account_id}}/enable"): Row(only("admin"), _other_account),
    # providers: public profiles, each written by its owner (or an admin)
    ("GET", f"{API}/providers"): Row(everyone()),
    ("POST", f"{API}/providers"): Row(
        only("provider_a", "provider_b", ok=409),
        body=_const(provider_payload()),  # one profile per account
    ),
    ("GET", f"{API}/providers/{{provider_id}}"): Row(everyone(), _provider),
    ("PATCH", f"{API}/providers/{{provider_id}}"): Row(
        only("provider_a", "admin"), _provider, _const({"description": "专注机器视觉质检"})
    ),
    # solutions: a draft is seen by its provider and admins only; admins review
    ("GET", f"{API}/solutions"): Row(
        everyone(), _listed(_draft, "solution_id"), listed=("provider_a", "admin")
    ),
    ("POST", f"{API}/solutions"): Row(
        only("provider_a", "provider_b", ok=201), body=_const(solution_payload())
    ),
    ("GET", f"{API}/solutions/{{solution_id}}"): Row(only("provider_a", "admin", deny=404, anon=404), _draft),
    ("PATCH", f"{API}/solutions/{{solution_id}}"): Row(
        only("provider_a", provider_b=404), _draft, _const({"summary": "黑点、缩水、飞边在线检测"})
    ),
    ("POST", f"{API}/solutions/{{item_id}}/submit"): Row(
        only("provider_a", deny=404, admin=403), _solution_at("draft")
    ),
    ("POST", f"{API}/solutions/{{item_id}}/approve"): Row(only("admin"), _solution_at("pending_review")),
    ("POST", f"{API}/solutions/{{item_id}}/reject"): Row(
        only("admin"), _solution_at("pending_review"), _const({"reason": "材料不全"})
    ),
    ("POST", f"{API}/solutions/{{item_id}}/archive"): Row(
        only("provider_a", "admin"), _solution_at("published")
    ),
    ("GET", f"{API}/solutions/{{solution_id}}/similar"): Row(everyone(), _published, trained=True),
    ("POST", f"{API}/solutions/{{solution_id}}/outcome-claims/{{index}}/accept"): Row(
        only("office_x", "admin"), _used_solution_claim
    ),
    ("POST", f"{API}/solutions/{{solution_id}}/inquiries"): Row(
        only("enterprise_e", "enterprise_f", ok=201), _published, _const({"message": "想了解报价和部署周期"})
    ),
    # cases: offices review and promote the cases of their city
    ("GET", f"{API}/cases"): Row(everyone()),
    ("POST", f"{API}/cases"): Row(
        only("provider_a", "provider_b", "office_x", "admin", ok=201), body=_const(case_payload())
    ),
    ("GET", f"{API}/cases/{{case_id}}"): Row(everyone(), _case),
    ("PATCH", f"{API}/cases/{{case_id}}"): Row(
        only("office_x", "admin"), _case, _const({"summary": "上线后漏检率明显下降"})
    ),
    ("GET", f"{API}/cases/{{case_id}}/similar"): Row(everyone(), _case, trained=True),
    ("POST", f"{API}/cases/{{case_id}}/metrics/{{index}}/accept"): Row(
        only("office_x", "admin"), _case_metric
    ),
    ("POST", f"{API}/cases/{{item_id}}/submit"): Row(only("provider_a", deny=404, admin=403), _provider_case),
    ("POST", f"{API}/cases/{{item_id}}/approve"): Row(
        only("office_x", "admin", deny=404, provider_a=403), _pending_case
    ),
    ("POST", f"{API}/cases/{{item_id}}/reject"): Row(
        only("office_x", "admin", deny=404, provider_a=403), _pending_case, _const({"reason": "材料不全"})
    ),
    ("POST", f"{API}/cases/{{item_id}}/archive"): Row(only("office_x", "admin"), _office_case),
    ("POST", f"{API}/cases/{{case_id}}/promotions"): Row(
        only("office_x", ok=201), _case, lambda w, p: _window()
    ),
    ("POST", f"{API}/cases/{{case_id}}/promotions/{{promotion_id}}/end"): Row(
        only("office_x", "admin"), _promotion
    ),
    # enterprises: a profile is private to its owner, its city office and admins
    ("GET", f"{API}/enterprises"): Row(
        signed_in(provider_a=403, provider_b=403),
        _listed(_enterprise, "enterprise_id"),
        listed=OWNER_OFFICE_ADMIN,
    ),
    ("POST", f"{API}/enterprises"): Row(
        only("enterprise_e", "enterprise_f", ok=409),
        body=_const(enterprise_payload()),  # one per account
    ),
    ("GET", f"{API}/enterprises/{{enterprise_id}}"): Row(only(*OWNER_OFFICE_ADMIN, deny=404), _enterprise),
    ("PATCH", f"{API}/enterprises/{{enterprise_id}}"): Row(
        only("enterprise_e", "admin", deny=404, office_x=403), _enterprise, _const({"needs": "想做能耗监测"})
    ),
    ("POST", f"{API}/enterprises/{{enterprise_id}}/tier-verification"): Row(
        only("office_x", "admin", office_y=404), _enterprise, _const({"tier": "specialized"})
    ),
    ("GET", f"{API}/enterprises/{{enterprise_id}}/assessments"): Row(
        only(*OWNER_OFFICE_ADMIN, deny=404), _enterprise
    ),
    ("POST", f"{API}/enterprises/{{enterprise_id}}/assessments"): Row(
        only(*OWNER_OFFICE_ADMIN, ok=201, deny=404), _enterprise, _const(assessment_payload(30))
    ),
    ("GET", f"{API}/enterprises/{{enterprise_id}}/recommendations"): Row(
        only(*OWNER_OFFICE_ADMIN, deny=404), _enterprise, trained=True
    ),
    # recommendations, search, feedback: public
    ("POST", f"{API}/recommendations"): Row(everyone(), body=_const(RECOMMEND), trained=True),
    ("POST", f"{API}/events"): Row(everyone(201), body=_event_body, trained=True),
    ("GET", f"{API}/search/solutions"): Row(everyone()),
    ("GET", f"{API}/search/cases"): Row(everyone()),
    ("GET", f"{API}/suggest"): Row(everyone(), query={"prefix": "视觉"}),
    # inquiries: between the enterprise that sent it and the provider of the solution; admins read
    ("GET", f"{API}/inquiries"): Row(
        signed_in(office_x=403, office_y=403),
        _listed(_inquiry, "inquiry_id"),
        listed=("provider_a", "enterprise_e", "admin"),
    ),
    ("GET", f"{API}/inquiries/{{inquiry_id}}"): Row(
        only("provider_a", "enterprise_e", "admin", deny=404), _inquiry
    ),
    ("PATCH", f"{API}/inquiries/{{inquiry_id}}"): Row(
        only("provider_a", deny=404, enterprise_e=403, admin=403), _inquiry, _const({"status": "contacted"})
    ),
    ("POST", f"{API}/inquiries/{{inquiry_id}}/replies"): Row(
        only("provider_a", "enterprise_e", ok=201, deny=404, admin=403), _inquiry, _const({"message": "你好"})
    ),
    # city pilots: a city office sees only its own city; another city's pilot answers 404
    ("GET", f"{API}/cities/{{city}}/pilot"): Row(PILOT_STAFF, _city),
    ("GET", f"{API}/cities/{{city}}/pilot/export"): Row(PILOT_STAFF, _city),
    ("GET", f"{API}/cities/{{city}}/pilot/enterprises"): Row(
        PILOT_STAFF, _listed(_enrolment, "enterprise_id"), listed=("office_x", "admin")
    ),
    ("GET", f"{API}/cities/{{city}}/pilot/sub-industries"): Row(PILOT_STAFF, _city),
    ("GET", f"{API}/cities/{{city}}/pilot/enrolment-sheet/template"): Row(PILOT_STAFF, _city),
    ("POST", f"{API}/cities/{{city}}/pilot/enrolment-sheet/preview"): Row(
        PILOT_STAFF, _sheet_city, upload=_sheet
    ),
    ("POST", f"{API}/cities/{{city}}/pilot/enrolment-sheet/import"): Row(
        PILOT_STAFF, _sheet_city, upload=_sheet
    ),
    ("POST", f"{API}/cities/{{city}}/pilot/sub-industries"): Row(
        {**PILOT_STAFF, "office_x": 201, "admin": 201},
        _city,
        lambda w, p: sub_industry_payload(name=f"注塑制品{next(_unique)}"),
    ),
    ("GET", f"{API}/cities/{{city}}/pilot/sub-industries/{{sub_industry_id}}"): Row(
        PILOT_STAFF, _sub_industry
    ),
    ("PATCH", f"{API}/cities/{{city}}/pilot/sub-industries/{{sub_industry_id}}"): Row(
        PILOT_STAFF, _sub_industry, _const({"target_count": 30})
    ),
    ("POST", f"{API}/cities/{{city}}/pilot/sub-industries/{{sub_industry_id}}/enrolments"): Row(
        PILOT_STAFF, _sub_industry, lambda w, p: {"enterprise_ids": [enterprise_account(w.client)[0]]}
    ),
    (
        "DELETE",
        f"{API}/cities/{{city}}/pilot/sub-industries/{{sub_industry_id}}/enrolments/{{enterprise_id}}",
    ): Row({**PILOT_STAFF, "office_x": 204, "admin": 204}, _enrolment),
    # retrofit projects: registered by offices; seen by their city's office, the provider and admins
    ("GET", f"{API}/retrofit-projects"): Row(
        signed_in(), _listed(_project, "project_id"), listed=("provider_a", "office_x", "admin")
    ),
    ("POST", f"{API}/retrofit-projects"): Row(
        only("office_x", "admin", ok=201, office_y=422), body=lambda w, p: _project_body(w)
    ),
    ("GET", f"{API}/retrofit-projects/{{project_id}}"): Row(
        only("provider_a", "office_x", "admin", deny=404), _project
    ),
    ("POST", f"{API}/retrofit-projects/{{project_id}}/advance"): Row(
        only("office_x", "admin", deny=404, provider_a=403), _project, _const({})
    ),
    ("POST", f"{API}/retrofit-projects/{{project_id}}/showcase"): Row(
        only("office_x", ok=409, deny=404, provider_a=403, admin=403), _project, lambda w, p: _window()
    ),
}


def _rule_to_key(rule: str) -> str:
    """``/a/<int:b>/c`` → ``/a/{b}/c``, the OpenAPI spelling used as the matrix key."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def test_matrix_covers_every_operation_and_nothing_else(app):
    """Every routed operation has a row, every row names a routed operation, and so does the OpenAPI."""
    routed = set()
    for rule in app.url_map.iter_rules():
        if rule.rule in EXCLUDED or rule.endpoint.startswith(CONSOLE_ENDPOINTS):
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routed.add((method, _rule_to_key(rule.rule)))
    assert sorted(routed - set(MATRIX)) == [], "operations without a row in the access matrix"
    assert sorted(set(MATRIX) - routed) == [], "stale rows for operations that no longer exist"
    spec = app.test_client().get("/api/openapi.json").json
    documented = {
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        for method in operations
        if method in HTTP_METHODS
    }
    assert documented <= set(MATRIX)


def _headers(world: World, role: str) -> dict:
    return {
        "anon": {},
        "provider_a": world.provider,
        "provider_b": world.other_provider,
        "enterprise_e": world.enterprise,
        "enterprise_f": world.other_enterprise,
        "office_x": world.office,
        "office_y": world.other_office,
        "admin": world.admin,
    }[role]


@pytest.mark.parametrize("operation", sorted(MATRIX), ids=lambda op: f"{op[0]} {op[1]}")
def test_access(app, client, operation):
    """Each role gets the expected status for this operation, on resources built fresh for it."""
    from marketplace.auth.service import create_account

    world = World.build(app, client)
    with app.app_context():
        create_account(STAFF_LOGIN, PASSWORD, "admin", "管理员", None)
    method, template = operation
    row = MATRIX[operation]
    if row.trained:
        world.case(solution_ids=[world.solution()["id"]])
        result = app.test_cli_runner().invoke(args=["matching", "train"])
        assert result.exit_code == 0, result.output
    got = {}
    for role in ROLES:
        params = row.params(world)
        body = row.body(world, params) if row.body else None
        sent = {"json": body}
        if row.upload:
            sent = {"data": {"file": (io.BytesIO(row.upload(world, params)), "名单.csv")}}
        response = client.open(
            template.format(**params),
            method=method,
            query_string=row.query,
            headers=_headers(world, role),
            **sent,
        )
        got[role] = response.status_code
        if row.listed is not None and response.status_code == 200:
            ids = {item.get("id", item.get("enterprise_id")) for item in response.json["items"]}
            if (params["listed_id"] in ids) != (role in row.listed):
                got[role] = "listed" if role not in row.listed else "not listed"
    wrong = {
        role: f"got {got[role]}, expected {row.expect[role]}"
        for role in ROLES
        if got[role] != row.expect[role]
    }
    assert not wrong, f"{method} {template}: {wrong}"
