"""Bulk enrolment in the city office's console: template, upload, every row's preview, all or nothing."""

from __future__ import annotations

import io
import os
import re
import time
from pathlib import Path

import openpyxl

from marketplace.console.uploads import UPLOAD_FOLDER, UPLOAD_TTL_SECONDS
from marketplace.extensions import db
from marketplace.pilots.models import PilotEnrolment
from tests.console_helpers import account, csrf_token, sign_in
from tests.factories import create_sub_industry, credit_code
from tests.test_console import assert_labelled

PAGE = "/city/enrolment-sheet"
HEADERS = ["统一社会信用代码", "企业名称", "细分行业"]
IMPORT_TOKEN = re.compile(r'name="token" value="([^"]+)"')


def text_of(response) -> str:
    return response.get_data(as_text=True)


def xlsx(rows: list[list]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADERS)
    for line in rows:
        sheet.append(line)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def console_office(world, city: str = "苏州市"):
    """A console client signed in as an office of ``city``."""
    client = world.app.test_client()
    sign_in(client, account(world.app, "city_office", f"console-{city}@example.cn", city=city, name="工信局"))
    return client


def moulder(world) -> dict:
    """The 苏州市 enterprise of the world, with a 注塑制品 细分行业 to go to."""
    create_sub_industry(world.client, world.office, name="注塑制品", industry_codes=["C292"])
    response = world.client.get(f"/api/v1/enterprises/{world.enterprise_id}", headers=world.office)
    return response.json


def upload(client, body: bytes, name: str = "名单.xlsx", token: str | None = None):
    data = {"file": (io.BytesIO(body), name)}
    if token is not False:
        data["csrf_token"] = token or csrf_token(client, PAGE)
    return client.post(f"{PAGE}/preview", data=data, content_type="multipart/form-data")


def import_form(client, token: str, csrf: bool = True):
    data = {"token": token}
    if csrf:
        data["csrf_token"] = csrf_token(client, PAGE)
    return client.post(f"{PAGE}/import", data=data)


def enrolments(app) -> int:
    with app.app_context():
        return db.session.query(PilotEnrolment).count()


def test_the_office_previews_a_list_then_imports_it_and_the_dashboard_counts_it(world):
    enterprise = moulder(world)
    client = console_office(world)
    page = client.get(PAGE)
    assert page.status_code == 200
    assert assert_labelled(text_of(page)) == 1
    assert 'enctype="multipart/form-data"' in text_of(page)
    assert "已纳入 0 家" in text_of(client.get("/city"))

    previewed = upload(client, xlsx([[enterprise["credit_code"], enterprise["name"], ""]]))
    assert previewed.status_code == 200, text_of(previewed)
    body = text_of(previewed)
    assert "第 2 行" in body and "将纳入" in body and "注塑制品" in body
    assert enrolments(world.app) == 0, "a preview writes nothing"
    assert assert_labelled(body) == 1
    token = IMPORT_TOKEN.search(body).group(1)

    imported = import_form(client, token)
    assert imported.status_code == 302, text_of(imported)
    assert imported.headers["Location"].endswith("/city")
    assert enrolments(world.app) == 1
    dashboard = text_of(client.get("/city"))
    assert "批量纳入完成：新纳入 1 家企业" in dashboard
    assert "已纳入 1 家" in dashboard
    again = import_form(client, token)
    assert again.status_code == 422
    assert "没有待导入的表格" in text_of(again), "an imported list cannot be imported twice"


def test_every_rows_problem_is_named_and_nothing_can_be_imported(world):
    enterprise = moulder(world)
    client = console_office(world)
    response = upload(
        client,
        xlsx(
            [
                [enterprise["credit_code"], enterprise["name"], ""],
                [enterprise["credit_code"], "别的名字", ""],
                [credit_code(), "不存在的企业", "没有的行业"],
            ]
        ),
    )
    body = text_of(response)
    assert response.status_code == 200, body
    assert "表格中有 2 行存在问题，未写入任何数据" in body
    row3 = body[body.index('id="row-3"') : body.index('id="row-4"')]
    assert "统一社会信用代码：与第 2 行的统一社会信用代码重复" in row3
    row4 = body[body.index('id="row-4"') :]
    assert "苏州市没有该统一社会信用代码的企业档案" in row4
    assert "细分行业：本市试点没有名为“没有的行业”的细分行业" in row4
    assert 'name="token"' not in body, "a list with problems offers no import"
    assert enrolments(world.app) == 0


def test_an_unreadable_file_is_named_beside_the_file_field(world):
    client = console_office(world)
    create_sub_industry(world.client, world.office, name="注塑制品", industry_codes=["C292"])
    response = upload(client, b"\x00\x01 not a sheet", name="名单.xlsx")
    body = text_of(response)
    assert response.status_code == 422
    assert 'id="file-errors"' in body and 'aria-invalid="true"' in body


def test_posts_without_the_csrf_token_are_refused(world):
    enterprise = moulder(world)
    client = console_office(world)
    refused = upload(client, xlsx([[enterprise["credit_code"], enterprise["name"], ""]]), token=False)
    assert refused.status_code == 400
    assert "页面已过期或来源不明" in text_of(refused)
    token = IMPORT_TOKEN.search(
        text_of(upload(client, xlsx([[enterprise["credit_code"], enterprise["name"], ""]])))
    ).group(1)
    assert import_form(client, token, csrf=False).status_code == 400
    assert enrolments(world.app) == 0
    assert import_form(client, token).status_code == 302


def test_another_citys_office_reaches_neither_the_enterprises_nor_the_upload(world):
    enterprise = moulder(world)
    suzhou = console_office(world)
    body = text_of(upload(suzhou, xlsx([[enterprise["credit_code"], enterprise["name"], ""]])))
    token = IMPORT_TOKEN.search(body).group(1)

    ningbo = console_office(world, "宁波市")
    create_sub_industry(world.client, world.other_office, name="五金", industry_codes=["C33"], city="宁波市")
    theirs = upload(ningbo, xlsx([[enterprise["credit_code"], enterprise["name"], ""]]))
    assert "宁波市没有该统一社会信用代码的企业档案" in text_of(theirs)
    assert 'name="token"' not in text_of(theirs)
    stolen = import_form(ningbo, token)
    assert stolen.status_code == 422
    assert "没有待导入的表格" in text_of(stolen)
    assert enrolments(world.app) == 0


def test_the_template_downloads_and_other_roles_are_refused(world):
    moulder(world)
    client = console_office(world)
    workbook = client.get(f"{PAGE}/template?format=xlsx")
    assert workbook.status_code == 200
    assert "attachment" in workbook.headers["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(workbook.data)).active
    assert [cell.value for cell in sheet[1]] == HEADERS
    table = client.get(f"{PAGE}/template?format=csv")
    assert table.data.decode("utf-8-sig").splitlines()[0] == ",".join(HEADERS)
    assert client.get(f"{PAGE}/template?format=pdf").status_code == 422

    anonymous = world.app.test_client()
    assert anonymous.get(PAGE).status_code == 302
    provider = world.app.test_client()
    sign_in(provider, account(world.app, "provider", "seller@example.cn"))
    assert provider.get(PAGE).status_code == 403
    assert upload(provider, b"x", token=csrf_token(provider, "/provider")).status_code == 403


def test_a_kept_upload_expires(world):
    enterprise = moulder(world)
    client = console_office(world)
    body = text_of(upload(client, xlsx([[enterprise["credit_code"], enterprise["name"], ""]])))
    token = IMPORT_TOKEN.search(body).group(1)
    kept = Path(world.app.instance_path) / UPLOAD_FOLDER / f"{token}.upload"
    assert kept.exists()
    old = time.time() - UPLOAD_TTL_SECONDS - 60
    os.utime(kept, (old, old))
    expired = import_form(client, token)
    assert expired.status_code == 422
    assert "没有待导入的表格" in text_of(expired)
    assert not kept.exists()
    assert enrolments(world.app) == 0
    assert import_form(client, "../../" + token[6:]).status_code == 422, "a made-up token reaches no file"
