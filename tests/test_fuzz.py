"""Hostile input: every operation of our own OpenAPI document, fuzzed in-process with schemathesis.

One pytest item per operation (so pytest-xdist spreads them; a new operation is fuzzed as soon as it
is documented), each with 100 generated requests, valid and invalid (schemathesis' positive and
negative modes), derandomised so every run sends the same requests. Each request is sent as one
caller drawn with it: anonymous, with an expired token, or signed in as a provider, an enterprise,
a city office or an admin of the demo catalog. Ids, cities and industry codes in paths often name
real rows, and write bodies are often valid ones from the test builders, so requests get past
validation into the services.

Every item works on its own copy of one seeded SQLite store (a PostgreSQL store would need a
restore per item, which costs more than the fuzz itself). An item passes when no request gets a
5xx, every response is documented (status code, content type, body schema), and no error response
committed a write (seen from the engine's own events, so the failure names the statements) other
than the bookkeeping it exists for (a failed sign-in's record, a reserved idempotency key:
BOOKKEEPING_TABLES).

The document's promise, positive data only: a second item per operation sends requests that are
valid by the document (its examples, then generated ones), as the same callers on the same store.
An item passes when the server never refuses one as malformed (400, 413 or 422: schemathesis'
``positive_data_acceptance`` check) and never answers 5xx, except for the rules JSON Schema cannot
state (UNDECLARABLE_RULES). A refusal outside them means the document must declare a constraint the
server enforces, or the server must accept what the document allows.
"""

from __future__ import annotations

import copy
import io
import os
import re
import shutil
import tempfile
import zlib
from datetime import date, timedelta
from functools import partial
from pathlib import Path

import hypothesis
import openpyxl
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.config import PositiveDataAcceptanceConfig
from sqlalchemy import event, select

from marketplace import create_app
from marketplace.extensions import db
from marketplace.seeding import DEMO_PASSWORD
from tests.conftest import BASE_CONFIG

EXAMPLES_PER_OPERATION = 100
ROLE_HEADER = "X-Fuzz-Caller"
ROLES = ("anonymous", "expired", "provider", "enterprise", "city_office", "admin")
ROLE_ACCOUNTS = {
    "provider": "prov-001@demo.example.cn",
    "enterprise": "ent-003@demo.example.cn",
    "city_office": "fuzhou-office@demo.example.cn",
    "admin": "admin@demo.example.cn",
}
DEMO_CITIES = ("福州市", "苏州市", "厦门市", "宁波市")
DEMO_INDUSTRIES = ("C", "C29", "C292", "C2929", "C36")
WRITE_STATEMENTS = ("INSERT", "UPDATE", "DELETE", "REPLACE")
BOOKKEEPING_TABLES = ("sign_in_failures", "idempotency_keys")
"""Tables an error response writes on purpose: a failed sign-in is recorded for the lockout, and an
Idempotency-Key is reserved before the view runs (and released when it fails)."""


def _openapi_document() -> dict:
    """The document the app serves, read from an app on a throwaway store."""
    with tempfile.TemporaryDirectory() as folder:
        app = create_app({**BASE_CONFIG, "DATABASE_URL": "sqlite://", "INSTANCE_PATH": folder})
        response = app.test_client().get("/api/openapi.json")
        assert response.status_code == 200
        return response.json


DOCUMENT = _openapi_document()
schema = schemathesis.openapi.from_dict(DOCUMENT)
schema.config.generation.update(max_examples=EXAMPLES_PER_OPERATION, deterministic=True, database="none")
schema.config.phases.update(phases=["examples", "fuzzing"])


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    """Often replace a generated id, city or industry code by one the demo store holds."""
    known = {}
    for name, value in (path_parameters or {}).items():
        if name.endswith("_id") and isinstance(value, int):
            known[name] = st.one_of(st.just(value), st.integers(1, 12))
        elif name == "city" and isinstance(value, str):
            known[name] = st.one_of(st.just(value), st.sampled_from(DEMO_CITIES))
        elif name == "code" and isinstance(value, str):
            known[name] = st.one_of(st.just(value), st.sampled_from(DEMO_INDUSTRIES))
        else:
            known[name] = st.just(value)
    return st.fixed_dictionaries(known) if known else st.just(path_parameters)


def _valid_bodies() -> dict[str, dict]:
    """Bodies the seeded store accepts, per operation, from the test payload builders."""
    from tests.factories import (
        assessment_payload,
        case_payload,
        enterprise_payload,
        provider_payload,
        solution_payload,
        sub_industry_payload,
    )

    today = date.today()
    promotion = {"starts_on": today.isoformat(), "ends_on": (today + timedelta(days=30)).isoformat()}
    message = {"message": "想了解报价和部署周期"}
    return {
        "POST /api/v1/auth/register": {
            "email": "fuzz@example.cn",
            "password": "correct-horse-9",
            "role": "provider",
            "name": "测试",
        },
        "POST /api/v1/auth/token": {"email": ROLE_ACCOUNTS["provider"], "password": DEMO_PASSWORD},
        "POST /api/v1/providers": provider_payload(),
        "PATCH /api/v1/providers/{provider_id}": {"description": "专注机器视觉质检"},
        "POST /api/v1/solutions": solution_payload(),
        "PATCH /api/v1/solutions/{solution_id}": {"summary": "黑点、缩水、飞边在线检测"},
        "POST /api/v1/solutions/{item_id}/reject": {"reason": "材料不全"},
        "POST /api/v1/cases": case_payload(city="福州市", province="福建省"),
        "PATCH /api/v1/cases/{case_id}": {"summary": "上线后漏检率明显下降"},
        "POST /api/v1/cases/{item_id}/reject": {"reason": "材料不全"},
        "POST /api/v1/cases/{case_id}/promotions": promotion,
        "POST /api/v1/enterprises": enterprise_payload(),
        "PATCH /api/v1/enterprises/{enterprise_id}": {"needs": "想做能耗监测"},
        "POST /api/v1/solutions/{solution_id}/inquiries": message,
        "POST /api/v1/inquiries/{inquiry_id}/replies": message,
        "PATCH /api/v1/inquiries/{inquiry_id}": {"status": "contacted"},
        "POST /api/v1/enterprises/{enterprise_id}/assessments": assessment_payload(30),
        "POST /api/v1/cities/{city}/pilot/sub-industries": sub_industry_payload(),
        "PATCH /api/v1/cities/{city}/pilot/sub-industries/{sub_industry_id}": {"target_count": 30},
        "POST /api/v1/cities/{city}/pilot/sub-industries/{sub_industry_id}/enrolments": {
            "enterprise_ids": [3, 13]
        },
        "POST /api/v1/retrofit-projects": {"enterprise_id": 3, "provider_id": 1, "title": "视觉质检改造"},
        "POST /api/v1/retrofit-projects/{project_id}/advance": {"note": "已验收"},
        "POST /api/v1/recommendations": {"industry": "C2929", "needs": "注塑件有黑点缩水，全靠人工目检"},
    }


VALID_BODIES = _valid_bodies()


@schema.hook
def flatmap_body(context, body):
    """Often send a body the store accepts, whole or with some generated fields mixed in, to reach deep."""
    valid = VALID_BODIES.get(context.operation.label)
    if valid is None or not isinstance(body, dict):
        return st.just(body)
    mixed = (
        st.sets(st.sampled_from(sorted(body)), max_size=2).map(
            lambda keys: {**valid, **{key: body[key] for key in keys}}
        )
        if body
        else st.just(valid)
    )
    return st.one_of(st.just(body), st.just(valid), mixed)


@schema.hook
def flatmap_case(context, case):
    """Send each case as one caller: anonymous, with an expired token, or signed in as a role."""
    return st.sampled_from(ROLES).map(partial(_as_caller, case))


def _as_caller(case, role: str):
    case.headers = {**(case.headers or {}), ROLE_HEADER: role}
    return case


def _caller_of_explicit_case(case) -> str:
    """Spread the explicit (coverage) cases, which skip the hooks, over the callers, reproducibly."""
    key = repr((case.path_parameters, case.query, case.body)).encode()
    return ROLES[zlib.crc32(key) % len(ROLES)]


class CommittedWrites:
    """Records the write statements each request commits, from the engine's own events."""

    def __init__(self, engine):
        self.pending: dict[int, list[str]] = {}
        self.committed: list[str] = []
        event.listen(engine, "before_cursor_execute", self._execute)
        event.listen(engine, "commit", self._commit)
        event.listen(engine, "rollback", self._rollback)

    def _execute(self, connection, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(WRITE_STATEMENTS) and not any(
            table in statement for table in BOOKKEEPING_TABLES
        ):
            self.pending.setdefault(id(connection), []).append(statement)

    def _commit(self, connection):
        self.committed.extend(self.pending.pop(id(connection), []))

    def _rollback(self, connection):
        self.pending.pop(id(connection), None)

    def take(self) -> list[str]:
        """Return and forget what was committed since the last call."""
        taken, self.committed = self.committed, []
        return taken


@pytest.fixture(scope="session")
def seeded_store(sqlite_template, tmp_path_factory):
    """The demo catalog, indexed, with a trained matcher and a few inquiries; a header per caller."""
    from marketplace.models import ListingStatus, Solution
    from marketplace.recommendations import models_store

    folder = tmp_path_factory.mktemp("fuzz-template")
    shutil.copy(sqlite_template, folder / "store.sqlite3")
    app = _app(folder)
    result = app.test_cli_runner().invoke(args=["seed", "demo"])
    assert result.exit_code == 0, result.output
    headers = _caller_headers(app)
    with app.app_context():
        models_store.save(models_store.fit_matcher(), {}, activate=True)
        solution_ids = db.session.scalars(
            select(Solution.id).filter_by(provider_id=1, status=ListingStatus.PUBLISHED).limit(3)
        ).all()
    client = app.test_client()
    for solution_id in solution_ids:
        response = client.post(
            f"/api/v1/solutions/{solution_id}/inquiries",
            json={"message": "想了解报价和部署周期"},
            headers=headers["enterprise"],
        )
        assert response.status_code == 201, response.json
    with app.app_context():
        db.engine.dispose()
    return folder, headers


def _caller_headers(app) -> dict[str, dict]:
    """The Authorization header of each caller; ``expired`` carries the admin's token, expired."""
    from marketplace.auth.security import issue_token
    from marketplace.models import User

    def bearer(email: str, ttl: int = 3600) -> dict:
        app.config["TOKEN_TTL_SECONDS"] = ttl
        user = db.session.scalar(select(User).filter_by(email=email))
        return {"Authorization": f"Bearer {issue_token(user)['access_token']}"}

    with app.app_context():
        headers = {role: bearer(email) for role, email in ROLE_ACCOUNTS.items()}
        headers["expired"] = bearer(ROLE_ACCOUNTS["admin"], ttl=-60)
    return {"anonymous": {}, **headers}


def _app(folder: Path):
    return create_app(
        {
            **BASE_CONFIG,
            "DATABASE_URL": f"sqlite:///{folder / 'store.sqlite3'}",
            "INSTANCE_PATH": str(folder),
            "INDEX_DIR": str(folder / "index"),
        }
    )


@pytest.fixture
def fuzzed_app(seeded_store, tmp_path):
    """A copy of the seeded store, and the writes each request commits to it."""
    template, _ = seeded_store
    folder = tmp_path / "store"
    shutil.copytree(template, folder)
    app = _app(folder)
    with app.app_context():
        writes = CommittedWrites(db.engine)
    yield app, writes
    with app.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("store", ["sqlite"])
@schema.parametrize()
@settings(suppress_health_check=list(HealthCheck), deadline=None)
def test_operation_survives_hostile_input(case, store, seeded_store, fuzzed_app):
    """No 5xx, every response as documented, and an error response writes nothing."""
    app, writes = fuzzed_app
    role = case.headers.pop(ROLE_HEADER, None) or _caller_of_explicit_case(case)
    case.headers.update(seeded_store[1][role])
    response = case.call(app=app)
    committed = writes.take()
    hypothesis.event(f"{role} → {response.status_code}")
    if response.status_code >= 400 and committed:
        pytest.fail(
            f"{case.operation.label} as {role} answered {response.status_code} but committed "
            f"{len(committed)} write(s):\n  "
            + "\n  ".join(committed[:5])
            + f"\nReproduce with (on the seeded demo store):\n  {case.as_curl_command()}"
        )
    try:
        case.validate_response(response, checks=CHECKS)
    except Exception as failure:
        failure.add_note(f"Caller: {role} {ROLE_ACCOUNTS.get(role, '')} on the seeded demo store")
        raise


CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]


def test_export_of_a_city_whose_name_excel_forbids_as_sheet_title(world):
    """Found by the fuzz: ``*``, ``/`` or brackets in the city broke the XLSX sheet title (500).

    Such a city is no longer a known city, so its path is a 404; the sheet title stays safe anyway.
    """
    from marketplace.pilots.export import to_xlsx

    response = world.client.get(
        "/api/v1/cities/苏州*[市]/pilot/export", query_string={"format": "xlsx"}, headers=world.admin
    )
    assert response.status_code == 404, response.get_json()
    assert openpyxl.load_workbook(io.BytesIO(to_xlsx([], "苏州*[市]"))).active.title == "苏州市试点企业"


def test_the_write_check_sees_a_write_committed_before_an_error(fuzzed_app):
    """The partial-write check can fail: a view that commits and then answers 409 is caught."""
    from marketplace.errors import Conflict
    from marketplace.models import FeedbackEvent

    app, writes = fuzzed_app

    def half_done():
        db.session.execute(FeedbackEvent.__table__.delete())
        db.session.commit()
        raise Conflict()

    app.add_url_rule("/half-done", view_func=half_done, methods=["POST"])
    response = app.test_client().post("/half-done")
    assert response.status_code == 409
    assert any(statement.startswith("DELETE FROM feedback_events") for statement in writes.take())
    assert app.test_client().get("/api/v1/solutions/1").status_code == 200
    assert writes.take() == []


POSITIVE_EXAMPLES_PER_OPERATION = 15
POSITIVE_PHASES = os.environ.get("FUZZ_POSITIVE_PHASES", "examples,fuzzing").split(",")
"""The document's examples and 15 generated requests per operation: about 35 s on two cores, beyond
the seeded store the hostile fuzz builds anyway. ``FUZZ_POSITIVE_PHASES=examples,coverage,fuzzing``
adds schemathesis' boundary values (every length, range and enum edge): about three minutes."""
UNDECLARABLE_RULES = {
    r"(new_)?password": "该密码过于常见|密码不能是或包含邮箱地址|密码不能包含账号名称|密码不正确",
    "current_password": "当前密码不正确",
    "Idempotency-Key": "该幂等键已用于",
    r"level_uplifts\[\d+\]\.to_level": "目标等级应高于起始等级",
    "level_uplifts": "等级提升的场景须在方案场景之中",
    "level_after": "改造后等级不能低于改造前等级",
    "price_max_cny": "最高报价不能低于最低报价",
    "city": "不属于|城市主管部门账号必须指定城市|管理员账号不属于某个城市",
    "ends_on": "结束日期已过|结束日期不能早于开始日期|推广期不能超过",
    "started_on": "启动日期不能晚于今天",
    r"(outcome_claims|metrics)\[\d+\]\.source_type": "只有.*可以标记为城市验收",
    "mode": "语义检索未启用",
    "page": "最多可翻阅前",
    "file": ".",
    r"enterprise_id|provider_id|solution_id|request_id|item_id|solution_ids(\[\d+\])?": (
        "不存在|尚未纳入|不在此次推荐结果中|未发布"
    ),
    "enterprise_ids": "企业不存在或不在|不在该细分行业的行业代码范围内",
    "needs": "请先在企业档案中填写改造需求",
    "_request": "请先创建",
}
"""What a request valid by the document may still be refused for (422), by field and message.

Each rule is stated in the field's description or the operation's, but JSON Schema cannot express
it: a password list or the account's current password, a key's earlier use, a comparison between
two fields, a field that the role makes required, a date relative to today, what the caller's role
may declare, a server without embeddings, ``page × per_page``, the contents of an uploaded file,
rows that must exist (or be published, enrolled, in the city, under the 细分行业's codes), and a
profile the caller must have made first. Any other refusal of positive data fails.
"""

positive_schema = schemathesis.openapi.from_dict(copy.deepcopy(DOCUMENT))
positive_schema.config.generation.update(
    modes=[schemathesis.GenerationMode.POSITIVE],
    max_examples=POSITIVE_EXAMPLES_PER_OPERATION,
    deterministic=True,
    database="none",
)
positive_schema.config.phases.update(phases=POSITIVE_PHASES)
positive_schema.config.checks.positive_data_acceptance = PositiveDataAcceptanceConfig(
    # a generated If-Match names no stored version: a failed precondition, not malformed data
    expected_statuses=[*PositiveDataAcceptanceConfig().expected_statuses, "412"]
)
for _hook in (flatmap_path_parameters, flatmap_body, flatmap_case):
    positive_schema.hook(_hook)


def _credit_codes():
    """Valid 统一社会信用代码 (the document's ``credit-code`` format): 17 characters and their check."""
    from marketplace.common.credit_code import ALPHABET, check_character

    return st.text(ALPHABET, min_size=17, max_size=17).map(lambda first17: first17 + check_character(first17))


schemathesis.openapi.format("credit-code", _credit_codes())


def _refused_for_an_undeclarable_rule(response) -> bool:
    """A 422 whose every message is one of :data:`UNDECLARABLE_RULES`."""
    if response.status_code != 422:
        return False
    errors = response.json().get("errors") or {}
    return bool(errors) and all(
        any(
            re.fullmatch(field_rule, field) and all(re.search(message_rule, m) for m in messages)
            for field_rule, message_rule in UNDECLARABLE_RULES.items()
        )
        for field, messages in errors.items()
    )


@pytest.mark.parametrize("store", ["sqlite"])
@positive_schema.parametrize()
@settings(suppress_health_check=list(HealthCheck), deadline=None)
def test_document_accepts_what_it_declares_valid(case, store, seeded_store, fuzzed_app):
    """Positive data only: a request valid by the document is never refused as malformed (400/413/422)."""
    app, _ = fuzzed_app
    role = case.headers.pop(ROLE_HEADER, None) or _caller_of_explicit_case(case)
    case.headers.update(seeded_store[1][role])
    response = case.call(app=app)
    hypothesis.event(f"{role} → {response.status_code}")
    if _refused_for_an_undeclarable_rule(response):
        return
    try:
        case.validate_response(response, checks=POSITIVE_CHECKS)
    except Exception as failure:
        failure.add_note(f"Caller: {role} {ROLE_ACCOUNTS.get(role, '')} on the seeded demo store")
        raise


POSITIVE_CHECKS = [schemathesis.checks.not_a_server_error, schemathesis.checks.positive_data_acceptance]


def test_a_refused_edit_leaves_nothing_for_a_later_query_to_flush(seeded_store, fuzzed_app):
    """Found by the positive run: a PATCH refused by a rule across fields (422) had already set the
    row's attributes; the search outbox's query after the view flushed them into the CHECK
    constraint on the levels, and the request died with a 500. A refusal now rolls the session back.
    """
    app, writes = fuzzed_app
    client = app.test_client()
    before = client.get("/api/v1/cases/65").json
    edit = {"title": "江门某企业设备联网", "solution_ids": [1], "level_before": 4, "level_after": 3}
    response = client.patch("/api/v1/cases/65", json=edit, headers=seeded_store[1]["admin"])
    assert response.status_code == 422, response.json
    assert set(response.json["errors"]) == {"level_after"}
    assert writes.take() == []
    after = client.get("/api/v1/cases/65").json
    assert (after["title"], after["level_before"]) == (before["title"], before["level_before"])
