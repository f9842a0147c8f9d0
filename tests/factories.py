"""Builders for test data; each test states only what matters to it."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from marketplace.auth.service import create_account
from marketplace.common.credit_code import check_character

_sequence = itertools.count(1)
PASSWORD = "correct-horse-9"


def credit_code(n: int | None = None) -> str:
    """Return a valid, unique 统一社会信用代码."""
    n = next(_sequence) if n is None else n
    body = f"91320500MA{n:07d}"
    return body + check_character(body)


def bearer(token: str) -> dict:
    """Authorization header for a token."""
    return {"Authorization": f"Bearer {token}"}


def login(client, email: str, password: str = PASSWORD) -> dict:
    """Get a token and return the header that carries it."""
    response = client.post("/api/v1/auth/token", json={"email": email, "password": password})
    assert response.status_code == 200, response.json
    return bearer(response.json["access_token"])


def register(client, role: str, email: str | None = None, name: str = "测试用户") -> dict:
    """Register a provider or enterprise account and return its auth header."""
    email = email or f"user{next(_sequence)}@example.cn"
    response = client.post(
        "/api/v1/auth/register", json={"email": email, "password": PASSWORD, "role": role, "name": name}
    )
    assert response.status_code == 201, response.json
    return login(client, email)


def staff(app, client, role: str, city: str | None = None) -> dict:
    """Create an admin or city-office account directly and return its auth header."""
    email = f"staff{next(_sequence)}@example.cn"
    with app.app_context():
        create_account(email, PASSWORD, role, "工作人员", city)
    return login(client, email)


def provider_payload(**overrides) -> dict:
    """A valid provider company body."""
    return {
        "name": "苏州智检科技有限公司",
        "credit_code": credit_code(),
        "province": "江苏省",
        "city": "苏州市",
        "description": "专注注塑、五金行业的机器视觉质检。",
        "contact_email": "sales@example.cn",
        "contact_phone": "0512-66881234",
        **overrides,
    }


def solution_payload(**overrides) -> dict:
    """A valid solution body."""
    return {
        "title": "注塑件外观缺陷视觉检测一体机",
        "summary": "针对注塑件黑点、缩水、飞边的在线 AI 视觉检测",
        "description": "工业相机加边缘计算盒，两周上线，替代人工目检。",
        "industries": ["C292"],
        "scenarios": ["quality"],
        "tags": ["视觉质检", "AOI"],
        "price_min_cny": 30_000,
        "price_max_cny": 80_000,
        "deploy_days": 14,
        "delivery_modes": ["edge", "hardware_bundle"],
        "level_uplifts": [{"scenario": "quality", "from_level": 1, "to_level": 2}],
        "outcome_claims": [{"metric": "检出率", "value": 99.5, "unit": "%", "source_type": "vendor_claimed"}],
        **overrides,
    }


def case_payload(**overrides) -> dict:
    """A valid benchmark case body."""
    return {
        "title": "某注塑企业视觉质检改造",
        "enterprise_name": "苏州某精密注塑有限公司",
        "city": "苏州市",
        "province": "江苏省",
        "industry": "C2929",
        "scenarios": ["quality"],
        "solution_ids": [],
        "summary": "上线视觉检测后，漏检率显著下降。",
        "metrics": [{"name": "月均产品合格率", "before": 96.2, "after": 99.1, "unit": "%"}],
        "level_before": 1,
        "level_after": 2,
        "investment_cny": 120_000,
        **overrides,
    }


def enterprise_payload(**overrides) -> dict:
    """A valid enterprise profile body."""
    return {
        "name": "苏州某精密注塑有限公司",
        "credit_code": credit_code(),
        "province": "江苏省",
        "city": "苏州市",
        "industry": "C2929",
        "size": "small",
        "above_scale": True,
        "tier": "innovative",
        "digital_level": 1,
        "needs": "客户老投诉我们的注塑件有黑点缩水，全靠老师傅拿眼看",
        **overrides,
    }


@dataclass
class World:
    """Every role the access rules distinguish, signed in."""

    app: object
    client: object
    admin: dict
    office: dict
    other_office: dict
    provider: dict
    other_provider: dict
    enterprise: dict
    other_enterprise: dict
    provider_id: int
    other_provider_id: int
    enterprise_id: int
    other_enterprise_id: int

    @classmethod
    def build(cls, app, client) -> World:
        """Create the cast: offices of 苏州市 and 宁波市, two providers, two enterprises, an admin."""
        provider, other_provider = register(client, "provider"), register(client, "provider")
        enterprise, other_enterprise = register(client, "enterprise"), register(client, "enterprise")
        ids = []
        for headers, path, body in (
            (provider, "/api/v1/providers", provider_payload()),
            (
                other_provider,
                "/api/v1/providers",
                provider_payload(name="宁波能效科技有限公司", city="宁波市", province="浙江省"),
            ),
            (enterprise, "/api/v1/enterprises", enterprise_payload()),
            (
                other_enterprise,
                "/api/v1/enterprises",
                enterprise_payload(name="宁波某五金厂", city="宁波市", province="浙江省"),
            ),
        ):
            response = client.post(path, json=body, headers=headers)
            assert response.status_code == 201, response.json
            ids.append(response.json["id"])
        return cls(
            app=app,
            client=client,
            admin=staff(app, client, "admin"),
            office=staff(app, client, "city_office", "苏州市"),
            other_office=staff(app, client, "city_office", "宁波市"),
            provider=provider,
            other_provider=other_provider,
            enterprise=enterprise,
            other_enterprise=other_enterprise,
            provider_id=ids[0],
            other_provider_id=ids[1],
            enterprise_id=ids[2],
            other_enterprise_id=ids[3],
        )

    def solution(self, status: str = "published", headers: dict | None = None, **overrides) -> dict:
        """Create a solution as ``headers`` (default: the first provider) and move it to ``status``."""
        headers = headers or self.provider
        response = self.client.post("/api/v1/solutions", json=solution_payload(**overrides), headers=headers)
        assert response.status_code == 201, response.json
        solution = response.json
        steps = {
            "draft": [],
            "pending_review": ["submit"],
            "published": ["submit", "approve"],
            "archived": ["submit", "approve", "archive"],
        }[status]
        for step in steps:
            who = self.admin if step == "approve" else headers
            response = self.client.post(f"/api/v1/solutions/{solution['id']}/{step}", headers=who)
            assert response.status_code == 200, response.json
            solution = response.json
        return solution

    def case(self, headers: dict | None = None, **overrides) -> dict:
        """Create a case as ``headers`` (default: the 苏州市 office, so it is published at once)."""
        response = self.client.post(
            "/api/v1/cases", json=case_payload(**overrides), headers=headers or self.office
        )
        assert response.status_code == 201, response.json
        return response.json


def names_field(errors: dict, field: str) -> bool:
    """Whether ``errors`` names ``field`` itself or a path inside it (``tags[1]``, ``answers.network``)."""
    return any(key == field or key.startswith((f"{field}[", f"{field}.")) for key in errors)


def assert_error(response, status: int, field: str | None = None) -> dict:
    """Assert the one error shape, the status, and that ``field`` (or a path inside it) is named.

    ``errors`` is always flat: each key a path, each value a list of messages.
    """
    body = response.get_json()
    assert response.status_code == status, body
    assert set(body) == {"code", "status", "message", "errors"}, body
    assert body["code"] == status
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["errors"], dict)
    assert all(
        isinstance(messages, list) and all(isinstance(m, str) for m in messages)
        for messages in body["errors"].values()
    ), body
    if field is not None:
        assert names_field(body["errors"], field), body
    return body


def _indicator():
    """The indicator the app reads, straight from ``seed_data``."""
    from pathlib import Path

    import seed_data
    from marketplace.assessments.indicator import load_indicator

    return load_indicator(str(Path(seed_data.__file__).resolve().parent))


def answers_worth(points: int) -> dict:
    """Option answers to every 基础/管理 question that score exactly ``points`` (0–80)."""
    reachable: dict[int, dict] = {0: {}}
    for item in _indicator().choice_items:
        reachable = {
            total + option.points: {**chosen, item.code: option.code}
            for total, chosen in sorted(reachable.items(), reverse=True)
            for option in reversed(item.options)
        }
    if points not in reachable:
        raise ValueError(f"no answers are worth exactly {points} points")
    return reachable[points]


def scenario_levels(level: int, constraint: int, guidance: int, rest: int = 0) -> dict:
    """``constraint`` constraint and ``guidance`` guidance scenarios at ``level``; the others at ``rest``."""
    flags = _indicator().scenarios
    chosen = [code for code, flag in flags.items() if flag][:constraint]
    chosen += [code for code, flag in flags.items() if not flag][:guidance]
    return {code: level if code in chosen else rest for code in flags}


def assessment_payload(points: int = 0, levels: dict | None = None, **overrides) -> dict:
    """A self-assessment worth ``points`` from the options, with ``levels`` for the 16 scenarios."""
    return {
        "kind": "self",
        "answers": answers_worth(points),
        "scenario_levels": levels or scenario_levels(0, 0, 0),
        **overrides,
    }


def level_payload(level: int, points_above_band: int = 5, **overrides) -> dict:
    """An assessment that reaches exactly ``level`` (0–4): in its score band, gate just passed."""
    if level == 0:
        return assessment_payload(10, scenario_levels(1, 2, 2), **overrides)
    row = next(r for r in _indicator().level_rule if r.level == level)
    levels = scenario_levels(
        level, row.min_constraint_scenarios, row.min_scenarios - row.min_constraint_scenarios, level - 1
    )
    return assessment_payload(min(row.min_score + points_above_band, 80), levels, **overrides)


def enterprise_account(
    client, city: str = "苏州市", province: str = "江苏省", **overrides
) -> tuple[int, dict]:
    """Register an enterprise account with a profile in ``city``; returns its id and auth header."""
    headers = register(client, "enterprise")
    body = enterprise_payload(city=city, province=province, **overrides)
    response = client.post("/api/v1/enterprises", json=body, headers=headers)
    assert response.status_code == 201, response.json
    return response.json["id"], headers


def assess(client, enterprise_id: int, headers: dict, payload: dict) -> dict:
    """Record an assessment and return the response body."""
    response = client.post(f"/api/v1/enterprises/{enterprise_id}/assessments", json=payload, headers=headers)
    assert response.status_code == 201, response.json
    return response.json


def sub_industry_payload(**overrides) -> dict:
    """A valid 细分行业 body."""
    return {"name": "注塑制品", "industry_codes": ["C292"], "target_count": 20, **overrides}


def create_sub_industry(client, headers: dict, city: str = "苏州市", **overrides) -> dict:
    """Define a 细分行业 of ``city`` as ``headers`` and return it."""
    response = client.post(
        f"/api/v1/cities/{city}/pilot/sub-industries", json=sub_industry_payload(**overrides), headers=headers
    )
    assert response.status_code == 201, response.json
    return response.json


def enrol(
    client, headers: dict, sub_industry_id: int, enterprise_ids: list[int], city: str = "苏州市"
) -> dict:
    """Enrol enterprises in a 细分行业 and return it."""
    response = client.post(
        f"/api/v1/cities/{city}/pilot/sub-industries/{sub_industry_id}/enrolments",
        json={"enterprise_ids": enterprise_ids},
        headers=headers,
    )
    assert response.status_code == 200, response.json
    return response.json
