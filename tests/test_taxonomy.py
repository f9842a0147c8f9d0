"""Industries (GB/T 4754-2017, section C) and the 16 scenarios, served read-only."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.factories import assert_error

SCENARIO_CODES = [
    "product_design",
    "process_design",
    "marketing",
    "after_sales",
    "planning_scheduling",
    "production_control",
    "quality",
    "equipment",
    "safety",
    "energy",
    "procurement",
    "warehousing_logistics",
    "finance",
    "hr",
    "collaboration",
    "decision_support",
]


@pytest.fixture
def industries(client):
    response = client.get("/api/v1/industries")
    assert response.status_code == 200
    return response.json


def test_section_c_is_complete(industries):
    """Every 大类, 中类 and 小类 of 门类 C is served, with the standard named."""
    levels = Counter(item["level"] for item in industries["items"])
    assert levels == {"section": 1, "division": 31, "group": 179, "class": 609}
    assert industries["standard"] == "GB/T 4754-2017"
    assert industries["total"] == 820
    divisions = [item["code"] for item in industries["items"] if item["level"] == "division"]
    assert divisions == [f"C{n}" for n in range(13, 44)]


def test_tree_is_consistent(industries):
    """Each entry's parent exists one level up and prefixes its code."""
    by_code = {item["code"]: item for item in industries["items"]}
    order = ["section", "division", "group", "class"]
    for item in industries["items"]:
        if item["parent"] is None:
            continue
        parent = by_code[item["parent"]]
        assert item["code"].startswith(parent["code"])
        assert order.index(item["level"]) == order.index(parent["level"]) + 1


@pytest.mark.parametrize(
    ("code", "name", "parent"),
    [
        ("C3670", "汽车零部件及配件制造", "C367"),
        ("C3660", "汽车车身、挂车制造", "C366"),
        ("C3922", "通信终端设备制造", "C392"),
        ("C176", "针织或钩针编织物及其制品制造", "C17"),
        ("C358", "医疗仪器设备及器械制造", "C35"),
        ("C15", "酒、饮料和精制茶制造业", "C"),
    ],
)
def test_2017_codes_not_2011(client, code, name, parent):
    """Codes follow the 2017 edition (汽车零部件 is 3670, not the 2011 code 366)."""
    response = client.get(f"/api/v1/industries/{code}")
    assert response.status_code == 200
    assert (response.json["name"], response.json["parent"]) == (name, parent)
    assert response.json["version"] == "2017"


def test_under_filter_returns_the_subtree(client):
    """Filtering by a parent code returns it and all its descendants."""
    items = client.get("/api/v1/industries?under=C36").json["items"]
    codes = {item["code"] for item in items}
    assert {"C36", "C367", "C3670", "C3611"} <= codes
    assert all(code.startswith("C36") for code in codes)
    classes = client.get("/api/v1/industries?under=C36&level=class").json["items"]
    assert classes and all(item["level"] == "class" for item in classes)


def test_unknown_industry_is_rejected(client):
    """An unknown code is a 422 on filters and a 404 on lookup."""
    assert_error(client.get("/api/v1/industries?under=C99"), 422, "under")
    assert_error(client.get("/api/v1/industries/C366X"), 404)


def test_scenarios_are_the_sixteen(client):
    """The 16 scenarios, in the indicator's order, with names, flags, groups and sub-scenarios."""
    body = client.get("/api/v1/scenarios").json
    items = body["items"]
    assert [item["code"] for item in items] == SCENARIO_CODES
    by_code = {item["code"]: item for item in items}
    assert by_code["quality"]["name"] == "质量管理" and by_code["quality"]["constraint"] is True
    assert by_code["hr"]["constraint"] is False
    assert by_code["energy"]["group_name"] == "生产制造"
    assert "视觉质检" in by_code["quality"]["sub_scenarios"]
    assert "参数优化" in by_code["process_design"]["sub_scenarios"]
    assert "智能分拣" in by_code["warehousing_logistics"]["sub_scenarios"]
    assert "能耗监测" in by_code["energy"]["sub_scenarios"]
    assert "预测性维护" in by_code["equipment"]["sub_scenarios"]
    assert body["version"]


def test_taxonomy_is_read_only(client):
    """Writes to the taxonomy are not allowed."""
    assert_error(client.post("/api/v1/industries", json={}), 405)
    assert_error(client.put("/api/v1/scenarios", json={}), 405)


def test_json_is_sent_as_readable_utf8(client):
    """Chinese names arrive as UTF-8 text, not ``\\uXXXX`` escapes, and the charset is declared."""
    response = client.get("/api/v1/scenarios")
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert "产品设计".encode() in response.data and b"\\u" not in response.data
