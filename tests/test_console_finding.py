"""Finding help in the console: the needs box, search with facets and paging, the inquiry, the profile."""

from __future__ import annotations

from datetime import date, timedelta

from tests.console_helpers import account, csrf_token, post_form, sign_in
from tests.factories import enterprise_payload, login


def text_of(response) -> str:
    return response.get_data(as_text=True)


def test_search_shows_facet_checkboxes_with_counts_and_pages(world, client):
    for n in range(12):
        world.solution(title=f"注塑件视觉检测方案{n:02d}", scenarios=["quality"], delivery_modes=["edge"])
    world.solution(title="视觉检测云平台", delivery_modes=["saas"], level_uplifts=[])
    first = text_of(client.get("/search?q=视觉检测"))
    assert "共 13 条，第 1 / 2 页" in first
    assert 'name="delivery_mode" value="saas"' in first
    assert "（1）" in first and "（12）" in first
    assert 'rel="next"' in first
    filtered = text_of(client.get("/search?q=视觉检测&delivery_mode=saas"))
    assert "共 1 条" in filtered
    assert 'value="saas" checked' in filtered
    assert 'value="edge"' in filtered  # a facet counts as if its own filter were absent
    second = text_of(client.get("/search?q=视觉检测&page=2"))
    assert "第 2 / 2 页" in second and 'rel="prev"' in second


def test_search_for_cases_labels_promoted_ones(world, client):
    case = world.case(title="注塑企业视觉质检改造样板")
    today = date.today()
    response = client.post(
        f"/api/v1/cases/{case['id']}/promotions",
        json={"starts_on": today.isoformat(), "ends_on": (today + timedelta(days=10)).isoformat()},
        headers=world.office,
    )
    assert response.status_code == 201
    html = text_of(client.get("/search?kind=cases&q=视觉质检"))
    assert "注塑企业视觉质检改造样板" in html and 'class="badge promoted"' in html


def test_the_needs_box_names_a_missing_industry_beside_it(client):
    response = client.get("/recommend?needs=注塑件有黑点")
    assert response.status_code == 422
    html = text_of(response)
    assert 'id="industry-errors"' in html and "缺少必填字段" in html
    assert "注塑件有黑点" in html


def test_recommendations_show_reasons_and_the_promoted_label(world, client, runner):
    vision = world.solution(title="注塑件外观缺陷视觉检测一体机")
    case = world.case(title="注塑企业视觉质检改造样板", solution_ids=[vision["id"]])
    today = date.today()
    client.post(
        f"/api/v1/cases/{case['id']}/promotions",
        json={"starts_on": today.isoformat(), "ends_on": (today + timedelta(days=10)).isoformat()},
        headers=world.office,
    )
    assert runner.invoke(args=["matching", "train"]).exit_code == 0
    response = client.get("/recommend?industry=C2929&needs=客户老投诉注塑件有黑点缩水，全靠老师傅拿眼看")
    assert response.status_code == 200
    html = text_of(response)
    assert "注塑件外观缺陷视觉检测一体机" in html and "3–8 万元" in html
    assert html.count('<ul class="reasons"') >= 2
    assert "推广样板" in html
    assert "request_id=" in html


def test_contacting_a_provider_signs_in_first_then_sends_the_inquiry(app, world, client):
    solution = world.solution()
    token = csrf_token(client)
    anonymous = client.post(
        f"/solutions/{solution['id']}/inquire", data={"csrf_token": token, "message": "多少钱？"}
    )
    assert anonymous.status_code == 302
    assert anonymous.headers["Location"].startswith("/login?next=")
    assert "登录后联系服务商" in text_of(client.get(f"/solutions/{solution['id']}"))

    email = account(app, "enterprise", "boss@example.cn")
    client.post("/api/v1/enterprises", json=enterprise_payload(), headers=login(client, email))
    sign_in(client, email)
    page = f"/solutions/{solution['id']}"
    empty = post_form(client, f"{page}/inquire", {"message": ""}, page=page)
    assert empty.status_code == 422 and 'id="message-errors"' in text_of(empty)
    sent = post_form(client, f"{page}/inquire", {"message": "我们有 12 台注塑机，大概多少钱？"}, page=page)
    assert sent.status_code == 302
    thread = text_of(client.get(sent.headers["Location"]))
    assert "我们有 12 台注塑机" in thread and "新咨询" in thread
    again = post_form(client, f"{page}/inquire", {"message": "我们有 12 台注塑机，大概多少钱？"}, page=page)
    assert again.status_code == 422 and "10 分钟内已就该方案发送过相同内容的咨询" in text_of(again)
    listing = client.get("/api/v1/inquiries", headers=world.provider).json
    assert listing["total"] == 1


def test_an_enterprise_keeps_a_private_profile_and_sees_its_recommendations(app, client, world, runner):
    email = account(app, "enterprise", "boss@example.cn")
    sign_in(client, email)
    assert client.get("/enterprise/recommendations").status_code == 302
    form = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in enterprise_payload().items()}
    bad = post_form(client, "/enterprise", {**form, "credit_code": "91320500MA0000001X"}, page="/enterprise")
    assert bad.status_code == 422 and 'id="credit_code-errors"' in text_of(bad)
    good = post_form(client, "/enterprise", form, page="/enterprise")
    assert good.status_code == 302
    assert '<option value="C2929" selected>' in text_of(client.get("/"))
    world.solution(title="注塑件外观缺陷视觉检测一体机")
    assert runner.invoke(args=["matching", "train"]).exit_code == 0
    mine = client.get("/enterprise/recommendations")
    assert mine.status_code == 200
    html = text_of(mine)
    assert "注塑件外观缺陷视觉检测一体机" in html and "达到二级的提升路径" in html


def test_the_provider_answers_and_records_the_outcome(app, client):
    from tests.factories import provider_payload, solution_payload

    provider_email = account(app, "provider", "sales@example.cn")
    provider = login(client, provider_email)
    client.post("/api/v1/providers", json=provider_payload(), headers=provider)
    solution = client.post("/api/v1/solutions", json=solution_payload(), headers=provider).json
    client.post(f"/api/v1/solutions/{solution['id']}/submit", headers=provider)
    admin = login(client, account(app, "admin", "admin@example.cn"))
    client.post(f"/api/v1/solutions/{solution['id']}/approve", headers=admin)
    enterprise = login(client, account(app, "enterprise", "boss@example.cn"))
    client.post("/api/v1/enterprises", json=enterprise_payload(), headers=enterprise)
    inquiry = client.post(
        f"/api/v1/solutions/{solution['id']}/inquiries", json={"message": "多少钱？"}, headers=enterprise
    ).json

    sign_in(client, provider_email)
    inbox = text_of(client.get("/inquiries"))
    assert "未处理的新咨询 1 条" in inbox and '新咨询 <span class="count">（1）</span>' in inbox
    page = f"/inquiries/{inquiry['id']}"
    assert post_form(client, f"{page}/reply", {"message": "约 3 万元"}, page=page).status_code == 302
    thread = text_of(client.get(page))
    assert "约 3 万元" in thread and "<strong>已联系</strong>" in thread
    assert 'value="contacted"' not in thread  # only the statuses it may still go to
    refused = post_form(client, f"{page}/status", {"status": "new"}, page=page)
    assert refused.status_code == 422 and 'id="status-errors"' in text_of(refused)
    assert post_form(client, f"{page}/status", {"status": "won"}, page=page).status_code == 302
    final = text_of(client.get(page))
    assert "<strong>已成交</strong>" in final and 'id="status"' not in final
    assert "没有未处理的新咨询" in text_of(client.get("/inquiries"))
    assert client.get(f"/api/v1/inquiries/{inquiry['id']}", headers=enterprise).json["status"] == "won"
