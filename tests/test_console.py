"""The console through the test client: sessions, CSRF, CSP, permissions and forms over the services."""

from __future__ import annotations

import re

import pytest

from marketplace.auth.service import find_user
from marketplace.console.formatting import amount, amount_range
from tests.console_helpers import account, csrf_token, post_form, sign_in
from tests.factories import PASSWORD, provider_payload


def text_of(response) -> str:
    return response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("low", "high", "written"),
    [
        (30_000, 80_000, "3–8 万元"),
        (15_000, 25_000, "1.5–2.5 万元"),
        (2_000, 8_000, "2000–8000 元"),
        (5_000, 20_000, "0.5–2 万元"),
        (50_000, 50_000, "5 万元"),
        (0, 100_000_000, "0–1 亿元"),
    ],
)
def test_amounts_read_as_people_write_them(low, high, written):
    assert amount_range(low, high) == written


def test_single_amounts():
    assert amount(120_000) == "12 万元"
    assert amount(None) == "—"


def test_console_pages_have_their_own_csp_and_the_api_keeps_none(client):
    page = client.get("/")
    assert page.status_code == 200
    assert "说说您遇到的问题" in text_of(page)
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "default-src 'none'" in policy and "form-action 'self'" in policy
    assert "<script>" not in text_of(page) and " style=" not in text_of(page)
    with client.get("/console/static/console.js") as script:
        assert script.status_code == 200 and "unsafe" not in script.headers["Content-Security-Policy"]
    api = client.get("/api/v1/scenarios")
    assert api.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"


def test_the_industry_picker_names_the_finder_the_script_may_ask(client):
    """The select says where its type-ahead asks, and the CSP lets the page's script ask only there."""
    page = client.get("/")
    picker = re.search(r'<select id="industry"[^>]*data-industry-picker="([^"]+)"', text_of(page))
    assert picker, "the home page's industry select is not marked for the type-ahead"
    assert "connect-src 'self'" in page.headers["Content-Security-Policy"]
    found = client.get(picker.group(1), query_string={"q": "注塑", "level": "class", "per_page": 12})
    assert found.status_code == 200
    assert found.json["items"][0]["code"] == "C2929"
    option = f'<option value="{found.json["items"][0]["code"]}"'
    assert option in text_of(page), "the finder offers a code the select cannot take"


CONTROL = re.compile(r"<(input|select|textarea)\b([^>]*)>")


def assert_labelled(html: str) -> int:
    """Every visible control has an id that a <label for> names, or sits inside its own <label>."""
    count = 0
    for match in CONTROL.finditer(html):
        attributes = match.group(2)
        if 'type="hidden"' in attributes:
            continue
        count += 1
        found = re.search(r'\bid="([^"]+)"', attributes)
        if found and f'for="{found.group(1)}"' in html:
            continue
        opening = html.rfind("<label", 0, match.start())
        assert opening != -1 and html.rfind("</label>", opening, match.start()) == -1, attributes
    return count


def test_every_control_on_the_home_page_has_a_label(client):
    assert assert_labelled(text_of(client.get("/"))) >= 3
    assert assert_labelled(text_of(client.get("/search?q=视觉"))) >= 2
    assert assert_labelled(text_of(client.get("/login"))) == 2
    assert assert_labelled(text_of(client.get("/register"))) == 4


def test_every_control_of_the_provider_forms_has_a_label(app, client):
    provider_with_company(app, client)
    assert assert_labelled(text_of(client.get("/provider"))) >= 7
    assert assert_labelled(text_of(client.get("/provider/solutions/new"))) >= 30
    assert assert_labelled(text_of(client.get("/provider/cases/new"))) >= 20


def test_a_form_post_without_its_csrf_token_is_refused(app, client):
    email = account(app, "provider", "p@example.cn")
    response = client.post("/login", data={"email": email, "password": "correct-horse-9"})
    assert response.status_code == 400
    assert "页面已过期" in text_of(response)
    assert "user_id" not in str(client.get_cookie("session"))
    wrong = client.post("/login", data={"email": email, "password": "correct-horse-9", "csrf_token": "x"})
    assert wrong.status_code == 400
    assert client.get("/provider").status_code == 302


def test_logout_needs_the_token_too(app, client):
    sign_in(client, account(app, "provider", "p@example.cn"))
    assert client.post("/logout").status_code == 400
    assert client.get("/provider").status_code == 200
    post_form(client, "/logout", {}, page="/provider")
    assert client.get("/provider").status_code == 302


def test_the_session_cookie_is_httponly_and_lax(app, client):
    email = account(app, "enterprise", "e@example.cn")
    response = sign_in(client, email)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert response.headers["Location"] == "/enterprise"
    assert client.get("/enterprise").headers["Cache-Control"] == "private, no-store"


def test_the_session_cookie_is_secure_in_production(tmp_path):
    from marketplace import create_app

    app = create_app(
        {
            "APP_ENV": "production",
            "SECRET_KEY": "x" * 40,
            "INSTANCE_PATH": str(tmp_path),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        }
    )
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_a_wrong_password_says_so_and_signs_nobody_in(app, client):
    email = account(app, "provider", "p@example.cn")
    response = post_form(client, "/login", {"email": email, "password": "wrong-password"})
    assert response.status_code == 401
    assert "邮箱或密码错误" in text_of(response)
    assert client.get("/provider").status_code == 302


def test_sign_in_returns_to_a_local_page_only(app, client):
    email = account(app, "enterprise", "e@example.cn")
    token = csrf_token(client)
    away = client.post(
        "/login",
        data={"csrf_token": token, "email": email, "password": "correct-horse-9", "next": "//evil.example/x"},
    )
    assert away.headers["Location"] == "/enterprise"
    client.post("/logout", data={"csrf_token": csrf_token(client, "/enterprise")})
    back = client.post(
        "/login",
        data={
            "csrf_token": csrf_token(client),
            "email": email,
            "password": "correct-horse-9",
            "next": "/search?q=x",
        },
    )
    assert back.headers["Location"] == "/search?q=x"


def test_anonymous_callers_are_sent_to_sign_in(client):
    response = client.get("/provider")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/provider")


def test_pages_of_another_role_are_refused_by_the_service(app, client):
    sign_in(client, account(app, "enterprise", "e@example.cn"))
    response = client.get("/provider")
    assert response.status_code == 403
    assert "此操作仅限服务商" in text_of(response)
    assert client.get("/review").status_code == 403
    assert client.get("/accounts").status_code == 403


def test_a_disabled_account_is_signed_out(app, client):
    from marketplace.auth.service import find_user
    from marketplace.extensions import db

    email = account(app, "provider", "p@example.cn")
    sign_in(client, email)
    with app.app_context():
        find_user(email).is_active = False
        db.session.commit()
    assert client.get("/provider").status_code == 302


def solution_form(**overrides) -> list[tuple[str, str]]:
    fields = {
        "title": "注塑件外观缺陷视觉检测一体机",
        "summary": "针对注塑件黑点、缩水的在线视觉检测",
        "description": "工业相机加边缘计算盒，两周上线。",
        "industries": ["C2929"],
        "scenarios": ["quality"],
        "delivery_modes": ["edge"],
        "tags": "视觉质检，AOI",
        "price_min_cny": "30000",
        "price_max_cny": "80000",
        "deploy_days": "14",
        "uplift-0-scenario": "quality",
        "uplift-0-from_level": "1",
        "uplift-0-to_level": "2",
        "claim-0-metric": "",
        "claim-0-value": "",
        "claim-0-unit": "",
        "claim-0-source_type": "vendor_claimed",
        **overrides,
    }
    items = []
    for key, value in fields.items():
        items.extend((key, v) for v in (value if isinstance(value, list) else [value]))
    return items


def provider_with_company(app, client) -> None:
    sign_in(client, account(app, "provider", "p@example.cn"))
    form = {k: v for k, v in provider_payload().items()}
    response = post_form(client, "/provider", form, page="/provider")
    assert response.status_code == 302, text_of(response)


def test_provider_creates_a_company_then_a_solution_with_field_errors_first(app, client):
    provider_with_company(app, client)
    bad = post_form(
        client, "/provider/solutions/new", solution_form(price_max_cny="1000"), page="/provider/solutions/new"
    )
    assert bad.status_code == 422
    html = text_of(bad)
    error_list = re.search(r'<ul class="field-errors" id="price_max_cny-errors">(.*?)</ul>', html, re.S)
    assert error_list and "最高报价不能低于最低报价" in error_list.group(1)
    assert 'aria-describedby="price_max_cny-errors"' in html
    assert "有 1 处需要修改，请查看标出的字段" in html and "请求参数校验失败" not in html
    assert 'value="注塑件外观缺陷视觉检测一体机"' in html

    good = post_form(client, "/provider/solutions/new", solution_form(), page="/provider/solutions/new")
    assert good.status_code == 302
    edit_path = good.headers["Location"]
    solution_id = int(edit_path.split("/")[3])
    home = text_of(client.get("/provider"))
    assert "草稿" in home and "3–8 万元" in home

    submitted = post_form(client, f"/provider/solutions/{solution_id}/submit", {}, page="/provider")
    assert submitted.status_code == 302
    assert "待审核" in text_of(client.get("/provider"))
    api = client.get(f"/api/v1/solutions/{solution_id}")
    assert api.status_code == 404  # in review: not public


def test_a_missing_required_list_is_named_beside_its_field(app, client):
    provider_with_company(app, client)
    response = post_form(
        client,
        "/provider/solutions/new",
        solution_form(scenarios=[], **{"uplift-0-scenario": ""}),
        page="/provider/solutions/new",
    )
    assert response.status_code == 422
    assert 'id="scenarios-errors"' in text_of(response)


def test_admin_approves_from_the_queue_and_rejects_with_a_reason(app, client):
    provider_with_company(app, client)
    ids = []
    for title in ("第一个方案视觉检测", "第二个方案能耗监测"):
        created = post_form(
            client, "/provider/solutions/new", solution_form(title=title), page="/provider/solutions/new"
        )
        solution_id = int(created.headers["Location"].split("/")[3])
        post_form(client, f"/provider/solutions/{solution_id}/submit", {}, page="/provider")
        ids.append(solution_id)
    post_form(client, "/logout", {}, page="/provider")

    sign_in(client, account(app, "admin", "admin@example.cn"))
    queue = text_of(client.get("/review"))
    assert queue.index("第一个方案视觉检测") < queue.index("第二个方案能耗监测")
    no_reason = post_form(client, f"/review/solution/{ids[1]}/reject", {"reason": ""}, page="/review")
    assert no_reason.status_code == 302
    assert "缺少必填字段" in text_of(client.get("/review"))
    post_form(client, f"/review/solution/{ids[0]}/approve", {}, page="/review")
    post_form(client, f"/review/solution/{ids[1]}/reject", {"reason": "价格区间与描述不符"}, page="/review")
    assert client.get(f"/api/v1/solutions/{ids[0]}").status_code == 200
    accounts = text_of(client.get("/accounts"))
    assert "p@example.cn" in accounts and "服务商" in accounts
    post_form(client, "/logout", {}, page="/review")

    sign_in(client, "p@example.cn")
    home = text_of(client.get("/provider"))
    assert "已发布" in home and "已驳回" in home and "驳回理由：价格区间与描述不符" in home


def test_a_provider_cannot_approve_through_the_console(app, client):
    provider_with_company(app, client)
    created = post_form(client, "/provider/solutions/new", solution_form(), page="/provider/solutions/new")
    solution_id = int(created.headers["Location"].split("/")[3])
    post_form(client, f"/provider/solutions/{solution_id}/submit", {}, page="/provider")
    assert client.get("/review").status_code == 403
    post_form(client, f"/review/solution/{solution_id}/approve", {}, page="/provider")
    assert client.get(f"/api/v1/solutions/{solution_id}").status_code == 404


def case_form(**overrides) -> dict:
    return {
        "title": "某注塑企业视觉质检改造",
        "enterprise_name": "苏州某精密注塑有限公司",
        "province": "江苏省",
        "city": "苏州市",
        "industry": "C2929",
        "scenarios": "quality",
        "summary": "上线视觉检测后，漏检率显著下降。",
        "level_before": "1",
        "level_after": "2",
        "metric-0-name": "月均产品合格率",
        "metric-0-before": "96.2",
        "metric-0-after": "99.1",
        "metric-0-unit": "%",
        "metric-0-source_type": "vendor_claimed",
        **overrides,
    }


def test_a_provider_authors_a_case_that_its_city_office_approves(app, client):
    provider_with_company(app, client)
    page = "/provider/cases/new"
    bad = post_form(client, page, case_form(**{"metric-0-after": ""}), page=page)
    assert bad.status_code == 422
    errors = re.search(r'<ul class="field-errors" id="metrics-errors">(.*?)</ul>', text_of(bad), re.S)
    assert errors and "第 1 项：after：缺少必填字段" in errors.group(1)
    good = post_form(client, page, case_form(), page=page)
    assert good.status_code == 302
    case_id = int(good.headers["Location"].split("/")[3])
    assert "草稿" in text_of(client.get("/provider"))
    post_form(client, f"/provider/cases/{case_id}/submit", {}, page="/provider")
    assert "待审核" in text_of(client.get("/provider"))
    post_form(client, "/logout", {}, page="/provider")

    sign_in(client, account(app, "city_office", "office@example.cn", city="苏州市"))
    queue = text_of(client.get("/review"))
    assert "某注塑企业视觉质检改造" in queue and "待审核方案" not in queue
    post_form(client, f"/review/case/{case_id}/approve", {}, page="/review")
    published = client.get(f"/api/v1/cases/{case_id}").json
    assert published["status"] == "published"
    assert published["metrics"][0]["before"] == 96.2


def test_console_sign_in_shares_the_api_limit(sqlite_template, tmp_path):
    import shutil

    from marketplace import create_app
    from tests.conftest import BASE_CONFIG

    store = tmp_path / "store.sqlite3"
    shutil.copy(sqlite_template, store)
    app = create_app(
        {
            **BASE_CONFIG,
            "RATELIMIT_ENABLED": True,
            "AUTH_RATE_LIMIT": "2/minute",
            "DATABASE_URL": f"sqlite:///{store}",
            "INSTANCE_PATH": str(tmp_path),
        }
    )
    client = app.test_client()
    statuses = [
        post_form(client, "/login", {"email": "x@example.cn", "password": "wrong-password"}).status_code
        for _ in range(3)
    ]
    assert statuses == [401, 401, 429]
    assert "请求过于频繁" in text_of(post_form(client, "/login", {"email": "x@example.cn", "password": "x"}))
    assert client.get("/login").status_code == 200


def test_times_read_in_beijing_time():
    from marketplace.console.formatting import local_time

    assert local_time("2026-12-07T01:00:00+00:00") == "2026-12-07 09:00"
    assert local_time("2026-12-06T20:30:00") == "2026-12-07 04:30"
    assert local_time(None) == "—"


def test_every_control_of_the_enterprise_and_city_forms_has_a_label(app, client):
    sign_in(client, account(app, "enterprise", "e@example.cn"))
    assert assert_labelled(text_of(client.get("/enterprise"))) == 10
    post_form(client, "/logout", {}, page="/enterprise")
    sign_in(client, account(app, "city_office", "o@example.cn", city="苏州市"))
    from tests.factories import enterprise_account

    enterprise_id, _ = enterprise_account(client)
    assert assert_labelled(text_of(client.get(f"/city/enterprises/{enterprise_id}/assessments"))) >= 20
    assert assert_labelled(text_of(client.get("/city/cases"))) >= 0


@pytest.mark.parametrize(
    "target",
    ["//evil.example/x", "/\\evil.example", "/\t/evil.example", "https://evil.example/", "javascript:x"],
)
def test_sign_in_never_sends_anyone_elsewhere(target):
    from marketplace.console.session import safe_next

    assert safe_next(target, "/home") == "/home"
    assert safe_next("/search?q=注塑", "/home") == "/search?q=注塑"


def test_forms_work_over_https_where_the_referrer_is_checked(app, client):
    email = account(app, "provider", "p@example.cn")
    page = client.get("/login", base_url="https://localhost")
    assert page.headers["Referrer-Policy"] == "same-origin"
    assert client.get("/api/v1/scenarios").headers["Referrer-Policy"] == "no-referrer"
    token = csrf_token(client)
    form = {"csrf_token": token, "email": email, "password": "correct-horse-9"}
    foreign = client.post(
        "/login", data=form, base_url="https://localhost", headers={"Referer": "https://evil.example/"}
    )
    assert foreign.status_code == 400
    same = client.post(
        "/login", data=form, base_url="https://localhost", headers={"Referer": "https://localhost/login"}
    )
    assert same.status_code == 302


def test_an_admin_disables_and_enables_an_account_and_nobody_else_can(app, client):
    provider = account(app, "provider", "p2@example.cn")
    with app.app_context():
        provider_id = find_user(provider).id
    sign_in(client, provider)
    other = account(app, "enterprise", "e2@example.cn")
    with app.app_context():
        other_id = find_user(other).id
    post_form(client, f"/accounts/{other_id}/disable", {}, page="/provider")
    assert "此操作仅限平台管理员" in text_of(client.get("/provider"))
    assert client.post("/api/v1/auth/token", json={"email": other, "password": PASSWORD}).status_code == 200
    post_form(client, "/logout", {}, page="/provider")

    sign_in(client, account(app, "admin", "admin@example.cn"))
    page = client.get("/accounts").get_data(as_text=True)
    assert_labelled(page)
    assert f'action="/accounts/{provider_id}/disable"' in page
    post_form(client, f"/accounts/{provider_id}/disable", {}, page="/accounts")
    assert "已停用" in text_of(client.get("/accounts"))
    refused = client.post("/api/v1/auth/token", json={"email": provider, "password": PASSWORD})
    assert refused.status_code == 401
    post_form(client, f"/accounts/{provider_id}/enable", {}, page="/accounts")
    assert "已重新启用" in text_of(client.get("/accounts"))
    enabled = client.post("/api/v1/auth/token", json={"email": provider, "password": PASSWORD})
    assert enabled.status_code == 200
