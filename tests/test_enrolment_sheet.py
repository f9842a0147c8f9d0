"""Bulk enrolment from a spreadsheet: template, preview naming every row's problems, all-or-nothing import."""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass

import openpyxl
import pytest

from marketplace.extensions import db
from marketplace.models import Enterprise, Role, User
from marketplace.pilots import enrolment_sheet
from tests.factories import (
    assert_error,
    create_sub_industry,
    credit_code,
    enrol,
    enterprise_account,
)

SUZHOU = "/api/v1/cities/苏州市/pilot"
SHEET = f"{SUZHOU}/enrolment-sheet"
HEADERS = ["统一社会信用代码", "企业名称", "细分行业"]


@dataclass
class City:
    """苏州市 with two 细分行业 and three enterprises of its own; 宁波市 has one enterprise."""

    world: object
    moulding: dict
    auto_parts: dict
    moulder: dict
    auto_maker: dict
    die_maker: dict
    ningbo: dict


def profile(client, headers: dict, enterprise_id: int) -> dict:
    response = client.get(f"/api/v1/enterprises/{enterprise_id}", headers=headers)
    assert response.status_code == 200, response.json
    return response.json


@pytest.fixture
def city(world) -> City:
    client, office = world.client, world.office
    moulding = create_sub_industry(client, office, name="注塑制品", industry_codes=["C292"])
    auto_parts = create_sub_industry(client, office, name="汽车零部件", industry_codes=["C3670"])
    auto_id, _ = enterprise_account(client, name="苏州汽配（集团）有限公司", industry="C3670")
    die_id, _ = enterprise_account(client, name="苏州精模有限公司", industry="C3525")
    return City(
        world,
        moulding,
        auto_parts,
        profile(client, office, world.enterprise_id),
        profile(client, office, auto_id),
        profile(client, office, die_id),
        profile(client, world.admin, world.other_enterprise_id),
    )


def xlsx(rows: list[list], headers: list | None = None, before: list[list] | None = None) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for line in before or []:
        sheet.append(line)
    sheet.append(headers or HEADERS)
    for line in rows:
        sheet.append(line)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows: list[list], encoding: str = "utf-8-sig", headers: list | None = None) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(headers or HEADERS)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def upload(client, step: str, body: bytes, headers: dict, name: str = "名单.xlsx", city: str = "苏州市"):
    return client.post(
        f"/api/v1/cities/{city}/pilot/enrolment-sheet/{step}",
        data={"file": (io.BytesIO(body), name)},
        headers=headers,
        content_type="multipart/form-data",
    )


def preview(client, body: bytes, headers: dict, name: str = "名单.xlsx") -> dict:
    response = upload(client, "preview", body, headers, name)
    assert response.status_code == 200, response.json
    return response.json


def enrolled(client, headers: dict) -> dict[str, list[int]]:
    """The enterprise ids of each 细分行业 of 苏州市, by name."""
    subs = client.get(f"{SUZHOU}/sub-industries", headers=headers).json
    return {sub["name"]: sorted(sub["enterprise_ids"]) for sub in subs}


def enrolment_count(app) -> int:
    from marketplace.pilots.models import PilotEnrolment

    with app.app_context():
        return db.session.query(PilotEnrolment).count()


def problems(row: dict) -> dict[str, str]:
    return {problem["field"]: problem["message"] for problem in row["problems"]}


def test_preview_names_every_rows_problems_and_writes_nothing(city):
    """Each row's problems carry its row number, field, Chinese column and message; nothing is enrolled."""
    client, office = city.world.client, city.world.office
    moulder, auto, die = city.moulder, city.auto_maker, city.die_maker
    wrong_check = moulder["credit_code"][:-1] + ("0" if moulder["credit_code"][-1] != "0" else "1")
    body = xlsx(
        [
            [moulder["credit_code"], moulder["name"], "注塑制品"],  # 2: fine
            [auto["credit_code"], "苏州汽配(集团)有限公司", ""],  # 3: fine, half-width brackets, inferred
            [credit_code(), "苏州不存在有限公司", ""],  # 4: not on the platform
            [wrong_check, moulder["name"], ""],  # 5: check character wrong
            [moulder["credit_code"], moulder["name"], ""],  # 6: duplicate of row 2
            [city.ningbo["credit_code"], city.ningbo["name"], ""],  # 7: another city's enterprise
            [die["credit_code"], "苏州别的公司", ""],  # 8: name differs
            [die["credit_code"][:5], die["name"], ""],  # 9: too short
            [auto["credit_code"].lower(), auto["name"], "注塑制品"],  # 10: duplicate (case folded)
            ["", "苏州无码公司", "注塑制品"],  # 11: no code
        ]
    )
    before = enrolment_count(city.world.app)
    report = preview(client, body, office)
    assert enrolment_count(city.world.app) == before == 0
    assert report["file_format"] == "xlsx" and report["imported"] is False and report["can_import"] is False
    rows = {row["row"]: row for row in report["rows"]}
    assert list(rows) == list(range(2, 12))
    assert rows[2]["action"] == "enrol" and rows[2]["sub_industry_id"] == city.moulding["id"]
    assert rows[2]["enterprise_id"] == moulder["id"] and rows[2]["problems"] == []
    assert rows[3]["action"] == "enrol" and rows[3]["sub_industry_name"] == "汽车零部件"
    assert "没有该统一社会信用代码的企业档案" in problems(rows[4])["credit_code"]
    assert "校验" in problems(rows[5])["credit_code"] or "无效" in problems(rows[5])["credit_code"]
    assert problems(rows[6])["credit_code"] == "与第 2 行的统一社会信用代码重复"
    assert "苏州市没有该统一社会信用代码的企业档案" in problems(rows[7])["credit_code"]
    assert rows[7]["enterprise_id"] is None, "another city's enterprise is not revealed"
    assert "企业名称与平台档案不一致" in problems(rows[8])["name"]
    assert set(problems(rows[9])) == {"credit_code"}
    assert problems(rows[10])["credit_code"] == "与第 3 行的统一社会信用代码重复"
    assert problems(rows[11]) == {"credit_code": "缺少必填值"}
    assert rows[4]["problems"][0]["column"] == "统一社会信用代码"
    assert rows[8]["problems"][0]["column"] == "企业名称"
    assert (report["total"], report["valid"], report["invalid"], report["to_enrol"]) == (10, 2, 8, 2)


def test_sub_industry_rules(city):
    """The 细分行业 named must exist and hold the enterprise's industry; a blank one is chosen by industry."""
    client, office = city.world.client, city.world.office
    moulder, auto, die = city.moulder, city.auto_maker, city.die_maker
    report = preview(
        client,
        xlsx(
            [
                [moulder["credit_code"], moulder["name"], "汽车零部件"],
                [auto["credit_code"], auto["name"], "新能源"],
                [die["credit_code"], die["name"], ""],
            ]
        ),
        office,
    )
    rows = report["rows"]
    assert "不在“汽车零部件”的行业代码（C3670）范围内" in problems(rows[0])["sub_industry"]
    assert (
        "本市试点没有名为“新能源”的细分行业（现有：注塑制品、汽车零部件）"
        in problems(rows[1])["sub_industry"]
    )
    assert "不在本市任何细分行业的行业代码范围内" in problems(rows[2])["sub_industry"]
    create_sub_industry(client, office, name="塑料大类", industry_codes=["C29"])
    ambiguous = preview(client, xlsx([[moulder["credit_code"], moulder["name"], ""]]), office)
    assert "可归入多个细分行业（注塑制品、塑料大类）" in problems(ambiguous["rows"][0])["sub_industry"]


def test_import_enrols_every_row_and_again_changes_nothing(city):
    client, office = city.world.client, city.world.office
    moulder, auto = city.moulder, city.auto_maker
    body = xlsx(
        [[moulder["credit_code"], moulder["name"], ""], [auto["credit_code"], auto["name"], "汽车零部件"]]
    )
    response = upload(client, "import", body, office)
    assert response.status_code == 200, response.json
    assert response.json["imported"] is True and response.json["to_enrol"] == 2
    assert enrolled(client, office) == {"注塑制品": [moulder["id"]], "汽车零部件": [auto["id"]]}
    again = upload(client, "import", body, office).json
    assert again["to_enrol"] == 0 and again["unchanged"] == 2
    assert [row["action"] for row in again["rows"]] == ["unchanged", "unchanged"]
    assert enrolment_count(city.world.app) == 2


def test_an_enterprise_enrolled_elsewhere_is_a_row_problem(city):
    client, office = city.world.client, city.world.office
    create_sub_industry(client, office, name="塑料大类", industry_codes=["C29"])
    plastics = client.get(f"{SUZHOU}/sub-industries", headers=office).json[-1]
    enrol(client, office, plastics["id"], [city.moulder["id"]])
    response = upload(
        client, "import", xlsx([[city.moulder["credit_code"], city.moulder["name"], "注塑制品"]]), office
    )
    body = assert_error(response, 422, "rows")
    assert "企业已纳入细分行业“塑料大类”" in body["errors"]["rows[2].sub_industry"][0]


def make_enterprises(app, count: int) -> list[tuple[str, str]]:
    """``count`` 苏州市 enterprises in C2929, written straight to the store: (credit code, name) each."""
    made = []
    with app.app_context():
        for index in range(count):
            owner = User(
                email=f"bulk{index}@example.cn", password_hash="x", role=Role.ENTERPRISE, name="企业"
            )
            code, name = credit_code(), f"苏州批量注塑第{index}厂"
            db.session.add(
                Enterprise(
                    owner=owner,
                    name=name,
                    credit_code=code,
                    province="江苏省",
                    city="苏州市",
                    industry_code="C2929",
                    size="small",
                    above_scale=True,
                    tier="none",
                    digital_level=1,
                    needs="",
                )
            )
            made.append((code, name))
        db.session.commit()
    return made


def test_one_bad_row_of_600_writes_nothing(city):
    """Row 500 of 600 names an unknown 细分行业: the import answers 422 naming it, and enrols no one."""
    client, office, app = city.world.client, city.world.office, city.world.app
    lines = [[code, name, "注塑制品"] for code, name in make_enterprises(app, 600)]
    lines[499][2] = "注塑制品X"
    response = upload(client, "import", xlsx(lines), office)
    body = assert_error(response, 422, "rows")
    assert body["message"] == "表格中有 1 行存在问题，未导入任何企业"
    assert list(body["errors"]) == ["rows[501].sub_industry"]
    assert "注塑制品X" in body["errors"]["rows[501].sub_industry"][0]
    assert enrolment_count(app) == 0
    lines[499][2] = "注塑制品"
    response = upload(client, "import", csv_bytes(lines), office, "名单.csv")
    assert response.status_code == 200, response.json
    assert response.json["to_enrol"] == 600 and enrolment_count(app) == 600


def test_a_race_at_commit_writes_nothing(city, monkeypatch):
    """An enrolment made between the checks and the commit is refused by the store; nothing is written."""
    client, office = city.world.client, city.world.office
    enrol(client, office, city.moulding["id"], [city.moulder["id"]])
    monkeypatch.setattr(enrolment_sheet, "_enrolments_of", lambda ids: {})
    body = xlsx(
        [
            [city.auto_maker["credit_code"], city.auto_maker["name"], ""],
            [city.moulder["credit_code"], city.moulder["name"], ""],
        ]
    )
    assert_error(upload(client, "import", body, office), 409)
    assert enrolled(client, office) == {"注塑制品": [city.moulder["id"]], "汽车零部件": []}


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [("gbk", "gb18030"), ("utf-8-sig", "utf-8"), ("utf-8", "utf-8"), ("utf-16", "utf-16")],
)
def test_csv_encodings_from_excel(city, encoding, expected):
    """Excel in China saves CSV as GBK; UTF-8 with or without BOM and UTF-16 are read too."""
    client, office = city.world.client, city.world.office
    lines = [[city.auto_maker["credit_code"], city.auto_maker["name"], "汽车零部件"]]
    report = preview(client, csv_bytes(lines, encoding), office, "名单.csv")
    assert report["file_format"] == "csv" and report["encoding"] == expected
    assert report["rows"][0]["name"] == "苏州汽配（集团）有限公司" and report["can_import"] is True


def test_a_semicolon_csv_and_a_title_above_the_header(city):
    """Lists often open with a title row; headers may carry a * and aliases such as 企业全称."""
    client, office = city.world.client, city.world.office
    code, name = city.moulder["credit_code"], city.moulder["name"]
    text = f"2024年规上工业企业名录;;\n序号;*统一社会信用代码;企业全称\n1;{code};{name}\n"
    report = preview(client, text.encode("gbk"), office, "名录.csv")
    assert report["rows"][0]["row"] == 3 and report["rows"][0]["action"] == "enrol"


def test_formula_cells_are_refused(city):
    """An XLSX formula, or CSV text a spreadsheet would run (=, +, -, @), is a problem of its cell."""
    client, office = city.world.client, city.world.office
    code, name = city.moulder["credit_code"], city.moulder["name"]
    workbook_rows = [[code, '=HYPERLINK("http://evil.example","点我")', ""], [f'="{code}"', name, ""]]
    rows = preview(client, xlsx(workbook_rows), office)["rows"]
    assert "单元格是公式" in problems(rows[0])["name"]
    assert "单元格是公式" in problems(rows[1])["credit_code"]
    csv_rows = [[code, "=cmd|' /C calc'!A0", ""], [code, name, "@SUM(1+1)"], [code, "+苏州", ""]]
    report = preview(client, csv_bytes(csv_rows), office, "名单.csv")
    assert "以“=”开头" in problems(report["rows"][0])["name"]
    assert "以“@”开头" in problems(report["rows"][1])["sub_industry"]
    assert "以“+”开头" in problems(report["rows"][2])["name"]
    assert_error(upload(client, "import", csv_bytes(csv_rows), office, "名单.csv"), 422, "rows")
    assert enrolment_count(city.world.app) == 0


def test_a_credit_code_stored_as_a_number_is_refused(city):
    client, office = city.world.client, city.world.office
    rows = preview(client, xlsx([[913205001234567000, city.moulder["name"], ""]]), office)["rows"]
    assert "被存成了数字" in problems(rows[0])["credit_code"]


def test_the_template_round_trips(city):
    """The XLSX template has the headers, the city's 细分行业 to pick from, and reads back once filled."""
    client, office = city.world.client, city.world.office
    response = client.get(f"{SHEET}/template", headers=office)
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    assert "attachment" in response.headers["Content-Disposition"]
    workbook = openpyxl.load_workbook(io.BytesIO(response.data))
    sheet = workbook.worksheets[0]
    assert [cell.value for cell in sheet[1]] == HEADERS
    assert [row[0] for row in workbook["细分行业"].iter_rows(min_row=2, values_only=True)] == [
        "注塑制品",
        "汽车零部件",
    ]
    assert sheet.data_validations.dataValidation[0].formula1 == "'细分行业'!$A$2:$A$3"
    sheet.append([city.moulder["credit_code"], city.moulder["name"], "注塑制品"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert preview(client, buffer.getvalue(), office)["to_enrol"] == 1
    blank_csv = client.get(f"{SHEET}/template?format=csv", headers=office)
    assert blank_csv.mimetype == "text/csv"
    assert blank_csv.data == "\ufeff统一社会信用代码,企业名称,细分行业\r\n".encode()
    assert_error(client.get(f"{SHEET}/template?format=xls", headers=office), 422, "format")


def zip_bomb(city) -> bytes:
    """A few kilobytes that unpack to 20 MB."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b" " * 20_000_000)
    return buffer.getvalue()


def too_many_rows(city) -> bytes:
    city.world.app.config["ENROLMENT_SHEET_MAX_ROWS"] = 3
    return xlsx([[credit_code(), "苏州某公司", ""]] * 4)


def too_large(city) -> bytes:
    city.world.app.config["ENROLMENT_SHEET_MAX_BYTES"] = 100
    return csv_bytes([[credit_code(), "苏州某公司", ""]] * 10)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda city: b"", "文件为空"),
        (too_large, "文件过大"),
        (too_many_rows, "超过上限"),
        (lambda city: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "不支持旧版 .xls"),
        (lambda city: b"PK\x03\x04 not really a zip", "无法读取 XLSX"),
        (zip_bomb, "解压后过大"),
        (lambda city: "名称,备注\n苏州,无\n".encode(), "没有找到“统一社会信用代码”表头"),
        (lambda city: csv_bytes([], headers=["统一社会信用代码", "细分行业"]), "表头缺少“企业名称”列"),
        (lambda city: csv_bytes([], headers=["统一社会信用代码", "企业名称", "信用代码"]), "出现了两次"),
        (lambda city: csv_bytes([]), "没有企业数据"),
        (lambda city: b"\x81\xff\xfe\x80\x00abc", "无法识别文件编码"),
        (lambda city: "统一社会信用代码,企业名称\n\0,x\n".encode(), "空字符"),
    ],
)
def test_unusable_files_are_refused_on_the_file_field(city, make, message):
    """A file that cannot be used at all is a 422 on ``file``, for the preview and the import alike."""
    client, office = city.world.client, city.world.office
    body = make(city)
    for step in ("preview", "import"):
        error = assert_error(upload(client, step, body, office), 422, "file")
        assert message in error["errors"]["file"][0], error
    assert enrolment_count(city.world.app) == 0


def test_a_city_without_sub_industries_cannot_import(world):
    body = xlsx([[credit_code(), "宁波某公司", ""]])
    error = assert_error(
        upload(world.client, "preview", body, world.other_office, city="宁波市"), 422, "file"
    )
    assert "尚未设立细分行业" in error["message"]


def test_a_missing_upload_names_the_file_field(city):
    client, office = city.world.client, city.world.office
    assert_error(client.post(f"{SHEET}/preview", json={"file": "x"}, headers=office), 422, "file")
    assert_error(client.post(f"{SHEET}/import", headers=office), 422, "file")


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("anonymous", 401),
        ("provider", 403),
        ("enterprise", 403),
        ("other_office", 404),
        ("office", 200),
        ("admin", 200),
    ],
)
def test_only_the_citys_office_and_admins(city, who, status):
    """The permission matrix of the template, the preview and the import."""
    world = city.world
    headers = {} if who == "anonymous" else getattr(world, who)
    body = xlsx([[city.moulder["credit_code"], city.moulder["name"], ""]])
    responses = [
        world.client.get(f"{SHEET}/template", headers=headers),
        upload(world.client, "preview", body, headers),
        upload(world.client, "import", body, headers),
    ]
    for response in responses:
        if status == 200:
            assert response.status_code == 200, response.get_json()
        else:
            assert_error(response, status)
    assert enrolment_count(world.app) == (1 if status == 200 else 0)
