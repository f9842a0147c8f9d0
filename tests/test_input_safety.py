"""Text that could run in a spreadsheet or break a store: formulas neutralised, control characters refused."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from sqlalchemy import update

from marketplace.extensions import db
from marketplace.models import Enterprise
from tests.factories import (
    assert_error,
    case_payload,
    create_sub_industry,
    enrol,
    enterprise_payload,
    provider_payload,
    register,
    solution_payload,
)

FORMULA = '=HYPERLINK("http://evil.example","点击查看")'
EXPORT = "/api/v1/cities/苏州市/pilot/export"


def _exported_names(world) -> tuple[list[str], list]:
    sub_industry = create_sub_industry(world.client, world.office)
    enrol(world.client, world.office, sub_industry["id"], [world.enterprise_id])
    response = world.client.get(EXPORT, query_string={"format": "csv"}, headers=world.office)
    assert response.status_code == 200, response.json
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    column = rows[0].index("企业名称")
    response = world.client.get(EXPORT, query_string={"format": "xlsx"}, headers=world.office)
    assert response.status_code == 200, response.json
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    return [row[column] for row in rows[1:]], [sheet.cell(row=2, column=column + 1)]


def test_exports_neutralise_formula_like_text(world):
    """A name starting with = is quoted in the CSV and a plain string, not a formula, in the XLSX."""
    response = world.client.patch(
        f"/api/v1/enterprises/{world.enterprise_id}", json={"name": FORMULA}, headers=world.enterprise
    )
    assert response.status_code == 200, response.json
    csv_names, (cell,) = _exported_names(world)
    assert csv_names == ["'" + FORMULA]
    assert cell.value == FORMULA and cell.data_type == "s"


def test_export_survives_control_characters_already_stored(world):
    """A name stored with a control character before input was checked still exports as XLSX."""
    with world.app.app_context():
        db.session.execute(
            update(Enterprise).where(Enterprise.id == world.enterprise_id).values(name="苏州\u0007注塑厂")
        )
        db.session.commit()
    csv_names, (cell,) = _exported_names(world)
    assert cell.value == "苏州注塑厂"


@pytest.mark.parametrize("character", ["\u0007", "\u0000", "\n", "\u001b", "\u0085"])
@pytest.mark.parametrize(
    ("path", "make_body", "field", "headers"),
    [
        ("/api/v1/providers", lambda v: provider_payload(name=f"苏州{v}智检"), "name", "provider"),
        ("/api/v1/enterprises", lambda v: enterprise_payload(name=f"苏州{v}注塑"), "name", "enterprise"),
        (
            "/api/v1/solutions",
            lambda v: solution_payload(title=f"视觉{v}质检"),
            "title",
            "provider_with_company",
        ),
        (
            "/api/v1/cases",
            lambda v: case_payload(enterprise_name=f"苏州{v}注塑"),
            "enterprise_name",
            "office",
        ),
    ],
)
def test_single_line_text_refuses_control_characters(world, character, path, make_body, field, headers):
    """Names and titles refuse every control character, newline and tab included, naming the field."""
    caller = {
        "provider": register(world.client, "provider"),
        "enterprise": register(world.client, "enterprise"),
        "provider_with_company": world.provider,
        "office": world.office,
    }[headers]
    assert_error(world.client.post(path, json=make_body(character), headers=caller), 422, field)


@pytest.mark.parametrize(
    ("character", "status"), [("\n", 201), ("\t", 201), ("\u0007", 422), ("\u0000", 422)]
)
def test_multi_line_text_takes_newlines_and_tabs_only(world, character, status):
    """Descriptions keep line breaks and tabs; other control characters and NUL are refused."""
    body = solution_payload(description=f"工业相机加边缘计算盒{character}两周上线")
    response = world.client.post("/api/v1/solutions", json=body, headers=world.provider)
    if status == 201:
        assert response.status_code == 201, response.json
        assert character in response.json["description"]
    else:
        assert_error(response, 422, "description")


def test_nul_is_refused_in_inquiries_and_accounts(world):
    """NUL is refused in every text field: an inquiry message, a staff account's name."""
    sid = world.solution()["id"]
    response = world.client.post(
        f"/api/v1/solutions/{sid}/inquiries", json={"message": "想了解\u0000报价"}, headers=world.enterprise
    )
    assert_error(response, 422, "message")
    body = {"email": "x@example.cn", "password": "correct-horse-9", "role": "admin", "name": "管理\u0000员"}
    assert_error(world.client.post("/api/v1/accounts", json=body, headers=world.admin), 422, "name")
