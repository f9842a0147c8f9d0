"""Operations: request ids, JSON logs, /metrics, security headers, CORS and rate limits."""

from __future__ import annotations

import http.client
import json
import logging
import socket
import time

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from marketplace import create_app
from marketplace.extensions import db
from marketplace.models import IndexOutbox, RankerModel
from marketplace.observability import JsonFormatter
from tests.conftest import BASE_CONFIG, truncate_all
from tests.factories import PASSWORD, World, assert_error
from tests.gunicorn import serve


@pytest.fixture
def make_app(database_url, tmp_path):
    """Build an app on the test store with extra settings; dispose of it afterwards."""
    apps = []

    def make(**settings):
        app = create_app(
            {**BASE_CONFIG, "DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path), **settings}
        )
        apps.append(app)
        return app

    yield make
    for app in apps:
        with app.app_context():
            db.session.remove()
            if app is apps[0] and db.engine.dialect.name == "postgresql":
                truncate_all()  # the store is shared between tests on PostgreSQL
            db.engine.dispose()


def samples(text: str) -> dict:
    """``{(name, sorted labels): value}`` of a Prometheus text exposition."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def request_count(text: str, endpoint: str, status: str, method: str = "GET") -> float:
    """The request counter of one endpoint, method and status (0 if absent)."""
    labels = (("endpoint", endpoint), ("method", method), ("status", status))
    return samples(text).get(("marketplace_http_requests_total", labels), 0.0)


def test_a_sane_request_id_is_echoed(client):
    response = client.get("/healthz", headers={"X-Request-ID": "edge-7f3a.42:1"})
    assert response.headers["X-Request-ID"] == "edge-7f3a.42:1"


@pytest.mark.parametrize("incoming", [None, "", "a" * 129, "bad id", "注入", "x\ty"])
def test_a_missing_or_unsafe_request_id_is_replaced(client, incoming):
    headers = {} if incoming is None else {"X-Request-ID": incoming}
    response = client.get("/healthz", headers=headers)
    generated = response.headers["X-Request-ID"]
    assert generated != incoming and len(generated) == 32
    assert client.get("/healthz").headers["X-Request-ID"] != generated


def test_errors_carry_the_request_id_too(client):
    response = client.get("/api/v1/no-such-thing", headers={"X-Request-ID": "req-404"})
    assert_error(response, 404)
    assert response.headers["X-Request-ID"] == "req-404"
    response = client.post("/api/v1/auth/token", data="{", content_type="application/json")
    assert_error(response, 400)
    assert len(response.headers["X-Request-ID"]) == 32


def test_every_log_line_of_a_request_carries_its_id(client, caplog):
    """The access line names method, path, endpoint, status and duration; JSON-formatted with the id."""
    caplog.set_level(logging.INFO)
    client.post(
        "/api/v1/auth/token",
        json={"email": "nobody@example.cn", "password": PASSWORD},
        headers={"X-Request-ID": "login-1"},
    )
    records = [record for record in caplog.records if getattr(record, "request_id", None) == "login-1"]
    access = [record for record in records if record.name == "marketplace.access"]
    assert len(access) == 1
    line = json.loads(JsonFormatter().format(access[0]))
    assert line["request_id"] == "login-1" and line["level"] == "INFO" and line["time"]
    assert line["method"] == "POST" and line["path"] == "/api/v1/auth/token"
    assert line["endpoint"] == "auth.Token" and line["status"] == 401
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0


def test_the_factory_logs_json_lines_to_stderr(client, capsys):
    client.get("/healthz", headers={"X-Request-ID": "probe-1"})
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    access = [line for line in lines if line["logger"] == "marketplace.access"]
    assert [line["request_id"] for line in access] == ["probe-1"]
    assert access[0]["endpoint"] == "health.Health" and access[0]["status"] == 200


def test_metrics_count_requests_per_endpoint_not_per_path(client):
    before = client.get("/metrics").text
    for provider_id in (9001, 9002, 9003):
        assert client.get(f"/api/v1/providers/{provider_id}").status_code == 404
    client.get("/healthz")
    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    after = response.text
    endpoint = "providers.ProviderById"
    assert request_count(after, endpoint, "404") - request_count(before, endpoint, "404") == 3
    assert request_count(after, "health.Health", "200") - request_count(before, "health.Health", "200") == 1
    assert not any("/providers/" in value for _, labels in samples(after) for _, value in labels)
    histogram = ("endpoint", endpoint), ("method", "GET"), ("status", "404")
    assert samples(after)[("marketplace_http_request_duration_seconds_count", histogram)] >= 3


def test_metrics_report_the_index_lag_and_the_active_model(app, client):
    values = samples(client.get("/metrics").text)
    assert values[("marketplace_index_lag", ())] == 0
    assert not any(name == "marketplace_recommender_model_info" for name, _ in values)
    with app.app_context():
        db.session.add_all([IndexOutbox(kind="solution", entity_id=n) for n in (1, 2)])
        db.session.add(RankerModel(version="m20260101-000000-000001", path="unused", metrics={}, active=True))
        db.session.commit()
    values = samples(client.get("/metrics").text)
    assert values[("marketplace_index_lag", ())] == 2
    assert values[("marketplace_recommender_model_info", (("version", "m20260101-000000-000001"),))] == 1


def test_metrics_need_the_token_when_one_is_configured(make_app):
    client = make_app(METRICS_TOKEN="s3cret-scrape-token").test_client()
    assert_error(client.get("/metrics"), 401)
    assert_error(client.get("/metrics", headers={"Authorization": "Bearer wrong"}), 401)
    response = client.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape-token"})
    assert response.status_code == 200 and "marketplace_index_lag" in response.text


def test_metrics_stay_out_of_the_api_document(client):
    assert "/metrics" not in client.get("/api/openapi.json").json["paths"]


def get(port: int, path: str) -> http.client.HTTPResponse:
    """One GET on a fresh connection; the body is read."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.body = response.read()
        return response
    finally:
        connection.close()


@pytest.mark.slow
def test_metrics_add_up_the_requests_of_every_gunicorn_worker(tmp_path):
    """Requests answered by two workers are all counted, whichever worker answers the scrape.

    Sync workers (THREADS=1), so that a connection holding one worker sends the others elsewhere.
    """
    with serve(tmp_path, workers=2, env={"THREADS": "1"}) as server:
        # A connection that sends nothing keeps one worker busy, so the next requests go to the other.
        held = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        time.sleep(0.3)
        request_ids = {get(server.port, "/healthz").getheader("X-Request-ID") for _ in range(10)}
        held.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        assert held.makefile("rb").readline().startswith(b"HTTP/1.1 200")
        held.close()
        scrapes = [get(server.port, "/metrics").body.decode() for _ in range(4)]
        log = (tmp_path / "gunicorn.log").read_text()
    assert [request_count(text, "health.Health", "200") for text in scrapes] == [11] * 4
    assert len(request_ids) == 10 and all(len(request_id) == 32 for request_id in request_ids)
    lines = [json.loads(line) for line in log.splitlines() if line.strip()]
    assert any(line["logger"] == "gunicorn.error" for line in lines)
    access = [line for line in lines if line["logger"] == "marketplace.access" and line["path"] == "/healthz"]
    assert len(access) == 11 and len({line["process"] for line in access}) == 2


def test_security_headers_on_every_response(client):
    for response in (client.get("/healthz"), client.get("/api/v1/nothing-here")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
        assert "Strict-Transport-Security" not in response.headers


def test_the_docs_page_may_run_its_own_scripts_and_nothing_else(client):
    policy = client.get("/api/docs").headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self' 'unsafe-inline'"
    assert directives["frame-ancestors"] == "'none'"
    assert "http" not in policy


def test_hsts_only_when_configured(make_app):
    client = make_app(HSTS_SECONDS=31536000).test_client()
    policy = client.get("/healthz").headers["Strict-Transport-Security"]
    assert policy == "max-age=31536000; includeSubDomains"


def test_no_cors_headers_by_default(client):
    response = client.get("/api/v1/scenarios", headers={"Origin": "https://portal.example.cn"})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_cors_answers_the_configured_origins_only(make_app):
    client = make_app(CORS_ORIGINS="https://portal.example.cn, https://admin.example.cn").test_client()
    allowed = client.get("/api/v1/scenarios", headers={"Origin": "https://admin.example.cn"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://admin.example.cn"
    assert "X-Request-ID" in allowed.headers["Access-Control-Expose-Headers"]
    other = client.get("/api/v1/scenarios", headers={"Origin": "https://evil.example.com"})
    assert "Access-Control-Allow-Origin" not in other.headers
    preflight = client.options(
        "/api/v1/auth/token",
        headers={
            "Origin": "https://portal.example.cn",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Authorization, Content-Type",
        },
    )
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://portal.example.cn"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]


def assert_rate_limited(response) -> None:
    """429 in the one error shape, in Chinese, with Retry-After."""
    body = assert_error(response, 429)
    assert body["message"] == "请求过于频繁，请稍后再试"
    assert int(response.headers["Retry-After"]) > 0


def test_sign_in_is_rate_limited(make_app):
    client = make_app(RATELIMIT_ENABLED=True, AUTH_RATE_LIMIT="3/minute").test_client()
    credentials = {"email": "guess@example.cn", "password": "wrong-password-1"}
    statuses = [client.post("/api/v1/auth/token", json=credentials).status_code for _ in range(3)]
    assert statuses == [401, 401, 401]
    assert_rate_limited(client.post("/api/v1/auth/token", json=credentials))
    account = {"email": "new@example.cn", "password": PASSWORD, "role": "enterprise", "name": "新用户"}
    assert client.post("/api/v1/auth/register", json=account).status_code == 201


def test_sign_up_is_rate_limited(make_app):
    client = make_app(RATELIMIT_ENABLED=True, AUTH_RATE_LIMIT="2/minute").test_client()
    for n in range(2):
        account = {"email": f"u{n}@example.cn", "password": PASSWORD, "role": "provider", "name": "用户"}
        assert client.post("/api/v1/auth/register", json=account).status_code == 201
    account = {"email": "u9@example.cn", "password": PASSWORD, "role": "provider", "name": "用户"}
    assert_rate_limited(client.post("/api/v1/auth/register", json=account))


def test_inquiries_are_rate_limited(make_app):
    app = make_app(RATELIMIT_ENABLED=True, INQUIRY_RATE_LIMIT="2/minute")
    world = World.build(app, app.test_client())
    solution = world.solution()
    path = f"/api/v1/solutions/{solution['id']}/inquiries"
    for n in range(2):
        response = world.client.post(path, json={"message": f"想了解部署周期 {n}"}, headers=world.enterprise)
        assert response.status_code != 429, response.json
    assert_rate_limited(world.client.post(path, json={"message": "再问一次"}, headers=world.enterprise))


def test_limits_can_be_shared_through_redis(make_app):
    """With RATELIMIT_STORAGE_URI on Redis, a fresh process (a new app) still sees the spent budget."""
    url = "redis://127.0.0.1:6379/0"
    store = redis.Redis.from_url(url, socket_connect_timeout=0.5)
    try:
        store.ping()
    except redis.RedisError:
        pytest.skip("no Redis at 127.0.0.1:6379")
    # The limiter is one object shared by every app, so its key prefix cannot tell this test apart:
    # an unusual window does, and the keys go before and after.
    keys = "LIMITS:*/127.0.0.1/auth.Token/2/13/minute"
    settings = {
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": url,
        "AUTH_RATE_LIMIT": "2 per 13 minutes",
    }
    credentials = {"email": "guess@example.cn", "password": "wrong-password-1"}
    store.delete(*store.keys(keys) or ["-"])
    try:
        first = make_app(**settings).test_client()
        statuses = [first.post("/api/v1/auth/token", json=credentials).status_code for _ in range(2)]
        assert statuses == [401, 401]
        second = make_app(**settings).test_client()
        assert_rate_limited(second.post("/api/v1/auth/token", json=credentials))
        assert store.keys(keys)
    finally:
        store.delete(*store.keys(keys) or ["-"])


def test_signed_in_actions_are_counted_per_account(make_app):
    """Two enterprises behind one address each get the whole inquiry quota: the key is the account."""
    app = make_app(RATELIMIT_ENABLED=True, INQUIRY_RATE_LIMIT="2/minute")
    world = World.build(app, app.test_client())
    path = f"/api/v1/solutions/{world.solution()['id']}/inquiries"
    for headers in (world.enterprise, world.other_enterprise):
        for n in range(2):
            response = world.client.post(path, json={"message": f"想了解部署周期 {n}"}, headers=headers)
            assert response.status_code == 201, response.json
    assert_rate_limited(world.client.post(path, json={"message": "再问一次"}, headers=world.enterprise))


def test_anonymous_requests_do_not_spend_a_signed_in_callers_quota(make_app):
    """Anonymous recommendations from an address leave a signed-in caller at that address their own."""
    app = make_app(RATELIMIT_ENABLED=True, RECOMMENDATION_RATE_LIMIT="2/minute")
    world = World.build(app, app.test_client())
    needs = {"industry": "C2929", "needs": "注塑件外观缺陷检测", "limit": 0}
    for _ in range(2):
        assert world.client.post("/api/v1/recommendations", json=needs).status_code == 422
    assert_rate_limited(world.client.post("/api/v1/recommendations", json=needs))
    response = world.client.post("/api/v1/recommendations", json=needs, headers=world.enterprise)
    assert response.status_code == 422, response.json


def test_the_default_storage_shares_counts_between_apps_without_a_server(make_app, tmp_path):
    """The embedded default counts in SQLite under instance/: a second app (process) sees the count."""
    settings = {"RATELIMIT_ENABLED": True, "AUTH_RATE_LIMIT": "2/minute"}
    first = make_app(**settings)
    assert first.config["RATELIMIT_STORAGE_URI"].startswith("sqlite:///")
    credentials = {"email": "guess@example.cn", "password": "wrong-password-1"}
    assert [
        first.test_client().post("/api/v1/auth/token", json=credentials).status_code for _ in range(2)
    ] == [
        401,
        401,
    ]
    second = make_app(**settings)
    assert_rate_limited(second.test_client().post("/api/v1/auth/token", json=credentials))
    assert (tmp_path / "ratelimits.sqlite3").exists()


def test_repeated_failures_lock_one_email_out_for_a_while(make_app):
    """After five failures for one e-mail, sign-in for it is refused (429) even with the right password."""
    app = make_app()
    client = app.test_client()
    account = {"email": "owner@example.cn", "password": PASSWORD, "role": "enterprise", "name": "张三"}
    assert client.post("/api/v1/auth/register", json=account).status_code == 201
    wrong = {"email": "owner@example.cn", "password": "wrong-password-1"}
    assert [client.post("/api/v1/auth/token", json=wrong).status_code for _ in range(5)] == [401] * 5
    locked = client.post("/api/v1/auth/token", json={"email": "owner@example.cn", "password": PASSWORD})
    body = assert_error(locked, 429)
    assert "登录失败次数过多" in body["message"] and int(locked.headers["Retry-After"]) > 0
    other = client.post("/api/v1/auth/token", json={"email": "someone@example.cn", "password": PASSWORD})
    assert other.status_code == 401
    unknown = [
        client.post("/api/v1/auth/token", json={**wrong, "email": "nobody@example.cn"}) for _ in range(6)
    ]
    assert [response.status_code for response in unknown] == [401] * 5 + [429]


def test_the_lockout_grows_and_ends(make_app):
    """The window doubles with each further failure and a success afterwards clears the record."""
    from datetime import timedelta

    from marketplace.auth import service
    from marketplace.models import SignInFailure, utcnow

    app = make_app()
    client = app.test_client()
    account = {"email": "owner@example.cn", "password": PASSWORD, "role": "enterprise", "name": "张三"}
    client.post("/api/v1/auth/register", json=account)
    wrong = {"email": "owner@example.cn", "password": "wrong-password-1"}
    windows = []
    for _ in range(7):
        client.post("/api/v1/auth/token", json=wrong)
        with app.app_context():
            row = db.session.get(SignInFailure, "owner@example.cn")
            if row.locked_until is not None:
                windows.append(round((row.locked_until - row.last_failure_at).total_seconds()))
            row.locked_until = None if row.locked_until is None else utcnow() - timedelta(seconds=1)
            db.session.commit()
    assert windows == [service.LOCKOUT_SECONDS, 2 * service.LOCKOUT_SECONDS, 4 * service.LOCKOUT_SECONDS]
    assert client.post("/api/v1/auth/token", json={**wrong, "password": PASSWORD}).status_code == 200
    with app.app_context():
        assert db.session.get(SignInFailure, "owner@example.cn") is None
