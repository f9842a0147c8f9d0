"""The city office's console pages: dashboard bars, enrolment, assessment, projects, promotion, export."""

from __future__ import annotations

import re
from datetime import date, timedelta

from tests.console_helpers import account, post_form, sign_in
from tests.factories import create_sub_industry, enterprise_account, level_payload, login


def text_of(response) -> str:
    return response.get_data(as_text=True)


def office(app, client, city: str = "苏州市") -> dict:
    email = account(app, "city_office", f"office-{city}@example.cn", city=city, name=f"{city}工信局")
    headers = login(client, email)
    sign_in(client, email)
    return headers


def test_the_dashboard_draws_each_share_against_its_target(app, client):
    headers = office(app, client)
    sub = create_sub_industry(client, headers)
    ids = [enterprise_account(client, above_scale=True)[0] for _ in range(3)]

    page = client.get(f"/city/sub-industries/{sub['id']}")
    assert page.status_code == 200
    assert text_of(page).count('name="enterprise_ids"') == 3
    enrolled = post_form(
        client,
        f"/city/sub-industries/{sub['id']}",
        [("enterprise_ids", str(i)) for i in ids],
        page=f"/city/sub-industries/{sub['id']}",
    )
    assert enrolled.status_code == 302, text_of(enrolled)

    before = text_of(client.get("/city"))
    assert "还需 3 家" in before
    assert "0/3 家达到二级及以上（0%），目标 90%" in before
    assert before.count("<svg") == 2  # the total and the one 细分行业, two bars in each

    level_two = level_payload(2)
    form = [("kind", "onsite")]
    form += [(f"answer-{code}", option) for code, option in level_two["answers"].items()]
    form += [(f"level-{code}", str(level)) for code, level in level_two["scenario_levels"].items()]
    path = f"/city/enterprises/{ids[0]}/assessments"
    recorded = post_form(client, path, form, page=path)
    assert recorded.status_code == 200, text_of(recorded)
    assert "评测已记录：二级" in text_of(recorded)

    after = text_of(client.get("/city"))
    assert "还需 2 家" in after
    assert "1/3 家达到二级及以上（33.3%），目标 90%" in after
    width = re.search(r'<rect x="0" y="\d+" width="([\d.]+)" height="22" fill="#0b5cad"', after)
    assert width and float(width.group(1)) == round(320 / 3, 1)


def test_an_assessment_without_answers_names_the_field(app, client):
    office(app, client)
    enterprise_id, _ = enterprise_account(client)
    path = f"/city/enterprises/{enterprise_id}/assessments"
    response = post_form(client, path, [("kind", "onsite")], page=path)
    assert response.status_code == 422
    assert 'id="answers-errors"' in text_of(response) or 'id="scenario_levels-errors"' in text_of(response)


def test_another_citys_office_cannot_open_the_dashboard_of_an_enterprise_elsewhere(app, client):
    office(app, client, "宁波市")
    enterprise_id, _ = enterprise_account(client)  # in 苏州市
    response = client.get(f"/city/enterprises/{enterprise_id}/assessments")
    assert response.status_code == 404


def test_exports_are_the_api_files(app, client):
    headers = office(app, client)
    sub = create_sub_industry(client, headers)
    enterprise_id, _ = enterprise_account(client, name="=HYPERLINK(1)注塑厂")
    client.post(
        f"/api/v1/cities/苏州市/pilot/sub-industries/{sub['id']}/enrolments",
        json={"enterprise_ids": [enterprise_id]},
        headers=headers,
    )
    csv = client.get("/city/export?format=csv")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    api = client.get("/api/v1/cities/苏州市/pilot/export?format=csv", headers=headers)
    assert csv.data == api.data
    assert "'=HYPERLINK(1)注塑厂" in csv.data.decode("utf-8-sig")
    xlsx = client.get("/city/export?format=xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"


def test_promoting_a_case_for_a_date_range(app, client):
    from tests.factories import case_payload

    headers = office(app, client)
    case = client.post("/api/v1/cases", json=case_payload(), headers=headers).json
    today = date.today()
    bad = post_form(
        client,
        "/city/cases",
        {"case_id": str(case["id"]), "starts_on": today.isoformat(), "ends_on": "not-a-date"},
        page="/city/cases",
    )
    assert bad.status_code == 422 and 'id="ends_on-errors"' in text_of(bad)
    good = post_form(
        client,
        "/city/cases",
        {
            "case_id": str(case["id"]),
            "starts_on": today.isoformat(),
            "ends_on": (today + timedelta(days=30)).isoformat(),
        },
        page="/city/cases",
    )
    assert good.status_code == 302
    assert "推广中" in text_of(client.get("/city/cases"))
    assert client.get(f"/api/v1/cases/{case['id']}").json["promoted"] is True


def test_the_projects_board_has_a_column_per_stage_and_advances_a_project(app, client, world):
    headers = office(app, client)
    sub = create_sub_industry(client, headers)
    enterprise_id, _ = enterprise_account(client)
    client.post(
        f"/api/v1/cities/苏州市/pilot/sub-industries/{sub['id']}/enrolments",
        json={"enterprise_ids": [enterprise_id]},
        headers=headers,
    )
    project = client.post(
        "/api/v1/retrofit-projects",
        json={
            "enterprise_id": enterprise_id,
            "provider_id": world.provider_id,
            "title": "注塑车间视觉质检改造",
        },
        headers=headers,
    )
    assert project.status_code == 201, project.json
    html = text_of(client.get("/city/projects"))
    for stage in ("诊断评估（1）", "备案审核（0）", "改造实施（0）", "竣工验收（0）"):
        assert stage in html
    assert "注塑车间视觉质检改造" in html
    moved = post_form(
        client, f"/city/projects/{project.json['id']}/advance", {"note": "材料齐全"}, page="/city/projects"
    )
    assert moved.status_code == 302
    assert "备案审核（1）" in text_of(client.get("/city/projects"))


def test_city_pages_refuse_other_roles(app, client):
    sign_in(client, account(app, "provider", "p@example.cn"))
    assert client.get("/city").status_code == 403
    assert client.get("/city/export?format=csv").status_code == 403


def test_an_assessment_takes_the_measures_given_and_names_a_half_given_one(app, client):
    office(app, client)
    enterprise_id, _ = enterprise_account(client)
    path = f"/city/enterprises/{enterprise_id}/assessments"
    level_two = level_payload(2)
    form = [("kind", "onsite")]
    form += [(f"answer-{code}", option) for code, option in level_two["answers"].items()]
    form += [(f"level-{code}", str(level)) for code, level in level_two["scenario_levels"].items()]
    half = post_form(client, path, [*form, ("measure-pass_rate-before", "96")], page=path)
    assert half.status_code == 422
    errors = re.search(r'<ul class="field-errors" id="measures-errors">(.*?)</ul>', text_of(half), re.S)
    assert errors and "pass_rate" in errors.group(1)
    whole = post_form(
        client,
        path,
        [*form, ("measure-pass_rate-before", "96"), ("measure-pass_rate-after", "99")],
        page=path,
    )
    assert whole.status_code == 200, text_of(whole)
    stored = client.get(f"/api/v1/enterprises/{enterprise_id}/assessments", headers=office_headers(client))
    assert stored.json["items"][0]["measures"]["pass_rate"] == {"before": 96.0, "after": 99.0}


def office_headers(client) -> dict:
    return login(client, "office-苏州市@example.cn")
