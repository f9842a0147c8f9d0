"""City pilots: set-up and enrolment, the dashboard on a hand-built city, scoping, exports and projects."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import quote

import openpyxl
import pytest

from tests.factories import (
    assert_error,
    assess,
    create_sub_industry,
    enrol,
    enterprise_account,
    level_payload,
    login,
    sub_industry_payload,
)

SUZHOU = "/api/v1/cities/苏州市/pilot"
NINGBO = "/api/v1/cities/宁波市/pilot"
PROJECTS = "/api/v1/retrofit-projects"


def days_ago(days: int) -> str:
    """The ISO date ``days`` days before today (negative: after)."""
    return (date.today() - timedelta(days=days)).isoformat()


@dataclass
class Pilot:
    """A hand-built 苏州市 pilot.

    注塑制品 (C292): e1 规上 一级→二级 (declares 创新型, unverified); e2 规上 小巨人 一级 (in both
    groups); e3 规下 专精特新 二级 (e2's and e3's tiers confirmed by the office); e4 规上, never
    assessed; e5 规下 一级→二级 (in neither group).
    汽车零部件 (C3670): ten 规上 enterprises, nine at 二级 — exactly 90%.
    专用设备 (C35): nobody enrolled.
    """

    world: object
    moulding: dict
    auto_parts: dict
    empty: dict
    e1: int
    e2: int
    e2_headers: dict
    e3: int
    e4: int
    e5: int
    auto_ids: list[int]


@pytest.fixture
def pilot(world) -> Pilot:
    """The hand-built 苏州市 pilot described by :class:`Pilot`."""
    client, office = world.client, world.office
    moulding = create_sub_industry(client, office, name="注塑制品", industry_codes=["C292"], target_count=4)
    auto_parts = create_sub_industry(
        client, office, name="汽车零部件", industry_codes=["C3670"], target_count=5
    )
    empty = create_sub_industry(client, office, name="专用设备", industry_codes=["C35"], target_count=2)
    e1 = world.enterprise_id
    e2, e2_headers = enterprise_account(
        client, name="苏州小巨人注塑有限公司", tier="little_giant", size="medium"
    )
    e3, _ = enterprise_account(client, name="苏州专精模具有限公司", above_scale=False, tier="specialized")
    e4, _ = enterprise_account(client, name="苏州未评注塑有限公司", tier="none")
    e5, e5_headers = enterprise_account(
        client, name="苏州小微注塑厂", above_scale=False, tier="none", size="micro"
    )
    enrol(client, office, moulding["id"], [e1, e2, e3, e4, e5])
    for enterprise_id, tier in ((e2, "little_giant"), (e3, "specialized")):
        response = client.post(
            f"/api/v1/enterprises/{enterprise_id}/tier-verification", json={"tier": tier}, headers=office
        )
        assert response.status_code == 200, response.json
    assess(client, e1, world.enterprise, level_payload(1, assessed_on=days_ago(300)))
    assess(client, e1, office, level_payload(2, kind="onsite", assessed_on=days_ago(10)))
    assess(client, e2, e2_headers, level_payload(1, points_above_band=25, assessed_on=days_ago(150)))
    assess(client, e3, office, level_payload(2, kind="onsite", assessed_on=days_ago(100)))
    assess(client, e5, e5_headers, level_payload(1, assessed_on=days_ago(200)))
    assess(client, e5, e5_headers, level_payload(2, assessed_on=days_ago(20)))
    auto_ids = []
    for i in range(10):
        enterprise_id, headers = enterprise_account(
            client, name=f"苏州汽配{i}有限公司", industry="C3670", tier="none"
        )
        assess(client, enterprise_id, headers, level_payload(2 if i < 9 else 1))
        auto_ids.append(enterprise_id)
    enrol(client, office, auto_parts["id"], auto_ids)
    return Pilot(world, moulding, auto_parts, empty, e1, e2, e2_headers, e3, e4, e5, auto_ids)


def dashboard(pilot: Pilot, headers=None, **query) -> dict:
    """The 苏州市 dashboard as ``headers`` (default: its office) sees it, on every assessment unless asked.

    The hand-built city's arithmetic mixes self- and on-site assessments, so these tests ask for
    ``basis=all``; the default, ``onsite``, is tested in ``tests/test_pilot_integrity.py``.
    """
    query.setdefault("basis", "all")
    response = pilot.world.client.get(SUZHOU, query_string=query, headers=headers or pilot.world.office)
    assert response.status_code == 200, response.json
    return response.json


def by_name(body: dict) -> dict[str, dict]:
    """The dashboard's 细分行业 rows by label."""
    return {row["name"]: row for row in body["sub_industries"]}


class TestSetUp:
    """A city office defines its 细分行业 and enrols its enterprises."""

    def test_sub_industries_carry_the_city_label_codes_and_target(self, pilot):
        """A 细分行业 is the city's own label over GB/T 4754 codes, with the city's retrofit target."""
        listed = pilot.world.client.get(f"{SUZHOU}/sub-industries", headers=pilot.world.office).json
        assert [(s["name"], s["industry_codes"], s["target_count"]) for s in listed] == [
            ("注塑制品", ["C292"], 4),
            ("汽车零部件", ["C3670"], 5),
            ("专用设备", ["C35"], 2),
        ]
        assert listed[0]["enrolled"] == 5 and listed[0]["city"] == "苏州市"

    def test_duplicate_label_is_a_conflict(self, pilot):
        response = pilot.world.client.post(
            f"{SUZHOU}/sub-industries", json=sub_industry_payload(name="注塑制品"), headers=pilot.world.office
        )
        assert_error(response, 409, "name")

    def test_unknown_code_is_refused(self, world):
        response = world.client.post(
            f"{SUZHOU}/sub-industries",
            json=sub_industry_payload(industry_codes=["C99"]),
            headers=world.office,
        )
        assert_error(response, 422, "industry_codes")

    def test_patch_changes_the_target(self, pilot):
        response = pilot.world.client.patch(
            f"{SUZHOU}/sub-industries/{pilot.empty['id']}",
            json={"target_count": 8},
            headers=pilot.world.office,
        )
        assert response.status_code == 200 and response.json["target_count"] == 8

    def test_enrolling_twice_changes_nothing(self, pilot):
        """Enrolment is idempotent, so an office can send its whole list again."""
        body = enrol(pilot.world.client, pilot.world.office, pilot.moulding["id"], [pilot.e1])
        assert body["enrolled"] == 5

    def test_enterprise_of_another_city_is_refused(self, pilot):
        response = pilot.world.client.post(
            f"{SUZHOU}/sub-industries/{pilot.moulding['id']}/enrolments",
            json={"enterprise_ids": [pilot.world.other_enterprise_id]},
            headers=pilot.world.office,
        )
        assert_error(response, 422, "enterprise_ids")

    def test_enterprise_outside_the_codes_is_refused(self, pilot):
        """The error names the enterprise's own code (C2929), so the office sees why it does not fit."""
        response = pilot.world.client.post(
            f"{SUZHOU}/sub-industries/{pilot.empty['id']}/enrolments",
            json={"enterprise_ids": [pilot.e1]},
            headers=pilot.world.office,
        )
        body = assert_error(response, 422, "enterprise_ids")
        assert "C2929" in body["errors"]["enterprise_ids"][0]

    def test_enterprise_in_another_sub_industry_is_a_conflict(self, pilot):
        """An enterprise counts towards one 细分行业 only, or the city's total would count it twice."""
        client, office = pilot.world.client, pilot.world.office
        other = create_sub_industry(client, office, name="塑料制品", industry_codes=["C29"])
        response = client.post(
            f"{SUZHOU}/sub-industries/{other['id']}/enrolments",
            json={"enterprise_ids": [pilot.e1]},
            headers=office,
        )
        assert_error(response, 409, "enterprise_ids")

    def test_unenrol(self, pilot):
        client, office = pilot.world.client, pilot.world.office
        path = f"{SUZHOU}/sub-industries/{pilot.moulding['id']}/enrolments/{pilot.e5}"
        assert client.delete(path, headers=office).status_code == 204
        assert_error(client.delete(path, headers=office), 404)


class TestDashboard:
    """The numbers of the hand-built city."""

    def test_enrolment_counts(self, pilot):
        moulding = by_name(dashboard(pilot))["注塑制品"]
        assert moulding["enrolled"] == {
            "total": 5,
            "by_size": {"micro": 1, "small": 3, "medium": 1},
            "by_scale": {"above": 3, "below": 2},
            "by_tier": {"none": 2, "innovative": 0, "specialized": 1, "little_giant": 1, "unverified": 1},
        }

    def test_level_distribution_at_first_and_latest(self, pilot):
        """Each enterprise's first assessment beside its latest shows what the pilot changed."""
        moulding = by_name(dashboard(pilot))["注塑制品"]
        first = {row["level_name"]: row["count"] for row in moulding["levels_first"]}
        latest = {row["level_name"]: row["count"] for row in moulding["levels_latest"]}
        assert first == {"未评测": 1, "未达一级": 0, "一级": 3, "二级": 1, "三级": 0, "四级": 0}
        assert latest == {"未评测": 1, "未达一级": 0, "一级": 1, "二级": 3, "三级": 0, "四级": 0}

    def test_main_group_counts_the_union_and_the_unassessed_as_below(self, pilot):
        main = by_name(dashboard(pilot))["注塑制品"]["main_group"]
        assert main == {
            "members": 4,
            "achieved": 2,
            "unassessed": 1,
            "share": 0.5,
            "achieved_at_first": 1,
            "share_at_first": 0.25,
            "target_share": 0.9,
            "required": 4,
            "needed": 2,
            "status": "not_met",
        }

    def test_little_giant_counts_in_both_groups(self, pilot):
        moulding = by_name(dashboard(pilot))["注塑制品"]
        giant = moulding["little_giant"]
        assert (giant["members"], giant["achieved"], giant["needed"], giant["target_share"]) == (1, 0, 1, 1.0)
        assert moulding["status"] == "not_met"

    def test_below_scale_enterprises_are_tallied_without_a_target(self, pilot):
        """规下 have no numeric target (only a "marked" rise): a share, but no target or status."""
        below = by_name(dashboard(pilot))["注塑制品"]["below_scale"]
        assert below == {
            "members": 2,
            "achieved": 2,
            "unassessed": 0,
            "share": 1.0,
            "achieved_at_first": 1,
            "share_at_first": 0.5,
        }

    def test_exactly_ninety_percent_meets_the_line(self, pilot):
        """The 90% edge again, through the API: a share of 0.9 still meets the line."""
        auto = by_name(dashboard(pilot))["汽车零部件"]
        assert (auto["main_group"]["share"], auto["main_group"]["needed"], auto["status"]) == (0.9, 0, "met")
        assert auto["little_giant"]["status"] == "not_applicable"

    def test_empty_sub_industry(self, pilot):
        """Nobody enrolled shows no share and is not applicable, rather than 0% and missed."""
        empty = by_name(dashboard(pilot))["专用设备"]
        assert empty["enrolled"]["total"] == 0
        assert (empty["main_group"]["share"], empty["main_group"]["needed"]) == (None, 0)
        assert empty["status"] == "not_applicable"

    def test_total_sums_each_sub_industry_need(self, pilot):
        """The city needs what each 细分行业 needs, added up; pooled shares would hide one behind another."""
        total = dashboard(pilot)["total"]
        assert (total["main_group"]["members"], total["main_group"]["achieved"]) == (14, 11)
        assert (total["main_group"]["needed"], total["little_giant"]["needed"]) == (2, 1)
        assert total["status"] == "not_met"
        assert total["retrofit"]["target_count"] == 11

    def test_closest_lists_assessed_group_members_below_the_line(self, pilot):
        """Who to help first: assessed target-group members short of 二级; e4, never assessed, has no gap."""
        moulding = by_name(dashboard(pilot))["注塑制品"]
        [closest] = moulding["closest"]
        assert closest["enterprise_id"] == pilot.e2
        assert closest["in_main_group"] and closest["in_little_giant_group"]
        assert closest["gap"]["points_missing"] == 0 and closest["gap"]["scenarios_to_raise"]
        auto = by_name(dashboard(pilot))["汽车零部件"]
        assert [row["enterprise_id"] for row in auto["closest"]] == [pilot.auto_ids[-1]]

    def test_onsite_basis_counts_onsite_assessments_only(self, pilot):
        """Official counts rest on on-site assessments; on that basis self-assessed means unassessed."""
        main = by_name(dashboard(pilot, basis="onsite"))["注塑制品"]["main_group"]
        assert (main["achieved"], main["unassessed"]) == (2, 2)

    def test_enterprise_list_filters_those_below_the_target(self, pilot):
        """The office's work list: who in a target group is not yet at 二级, the never assessed included."""
        response = pilot.world.client.get(
            f"{SUZHOU}/enterprises",
            query_string={"below_target": "true", "in_groups": "true", "basis": "all"},
            headers=pilot.world.office,
        )
        rows = response.json["items"]
        assert {row["enterprise_id"] for row in rows} == {pilot.e2, pilot.e4, pilot.auto_ids[-1]}
        unassessed = next(row for row in rows if row["enterprise_id"] == pilot.e4)
        assert (unassessed["latest"], unassessed["gap"], unassessed["at_target"]) == (None, None, False)


class TestCityScoping:
    """One city's office never reads another city's pilot or enterprises."""

    @pytest.mark.parametrize("path", ["", "/export", "/enterprises", "/sub-industries"])
    def test_other_city_office_gets_not_found(self, pilot, path):
        assert_error(pilot.world.client.get(SUZHOU + path, headers=pilot.world.other_office), 404)

    def test_office_cannot_read_other_city_either_way(self, pilot):
        """Scoping holds both ways, and the other office's own, empty, pilot still answers."""
        assert_error(pilot.world.client.get(NINGBO, headers=pilot.world.office), 404)
        own = pilot.world.client.get(NINGBO, headers=pilot.world.other_office).json
        assert own["sub_industries"] == [] and own["total"]["enrolled"]["total"] == 0

    def test_other_city_office_cannot_reach_a_sub_industry_through_its_own_city(self, pilot):
        """A 细分行业 id is checked against the city in the path: no reaching another city's by id."""
        client, other = pilot.world.client, pilot.world.other_office
        sub = pilot.moulding["id"]
        assert_error(client.get(f"{NINGBO}/sub-industries/{sub}", headers=other), 404)
        response = client.post(
            f"{NINGBO}/sub-industries/{sub}/enrolments", json={"enterprise_ids": [1]}, headers=other
        )
        assert_error(response, 404)
        assert_error(client.post(f"{SUZHOU}/sub-industries", json=sub_industry_payload(), headers=other), 404)

    @pytest.mark.parametrize("who", ["provider", "enterprise"])
    def test_providers_and_enterprises_are_forbidden(self, pilot, who):
        headers = getattr(pilot.world, who)
        assert_error(pilot.world.client.get(SUZHOU, headers=headers), 403)
        assert_error(pilot.world.client.get(f"{SUZHOU}/export", headers=headers), 403)

    def test_anonymous_is_refused(self, pilot):
        assert_error(pilot.world.client.get(SUZHOU), 401)

    def test_admin_reads_any_city(self, pilot):
        assert len(dashboard(pilot, headers=pilot.world.admin)["sub_industries"]) == 3

    def test_enrolled_enterprise_cannot_move_away(self, pilot):
        """An enrolled enterprise cannot silently move city: its pilot record would be orphaned."""
        response = pilot.world.client.patch(
            f"/api/v1/enterprises/{pilot.e5}",
            json={"city": "宁波市", "province": "浙江省"},
            headers=pilot.world.admin,
        )
        assert_error(response, 409, "city")
        assert by_name(dashboard(pilot))["注塑制品"]["enrolled"]["total"] == 5


class TestExport:
    """The enterprise list as files a province can open."""

    def test_csv_is_utf8_with_bom_and_chinese_headers(self, pilot):
        """Excel on Chinese Windows reads a CSV without a BOM as GBK; offices open the file there."""
        response = pilot.world.client.get(
            f"{SUZHOU}/export", query_string={"format": "csv", "basis": "all"}, headers=pilot.world.office
        )
        assert response.status_code == 200
        assert response.mimetype == "text/csv" and response.headers["Cache-Control"] == "no-store"
        assert response.data.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
        header = rows[0]
        for column in (
            "企业名称",
            "统一社会信用代码",
            "所属区县/城市",
            "细分行业",
            "规上/规下",
            "梯度（企业自报）",
            "梯度（城市核实）",
            "首次评测等级",
            "最新评测等级",
            "距二级差距(分)",
            "需提升场景",
            "评测类型",
            "评测日期",
        ):
            assert column in header
        assert len(rows) == 1 + 15
        records = {row[header.index("企业名称")]: dict(zip(header, row, strict=True)) for row in rows[1:]}
        giant = records["苏州小巨人注塑有限公司"]
        assert (giant["梯度（城市核实）"], giant["计入90%考核"], giant["计入小巨人考核"]) == (
            "专精特新“小巨人”",
            "是",
            "是",
        )
        assert records["苏州某精密注塑有限公司"]["梯度（城市核实）"] == "待核实"
        assert giant["最新评测等级"] == "一级" and giant["需提升场景"]
        assert records["苏州未评注塑有限公司"]["距二级差距(分)"] == "未评测"
        assert records["苏州专精模具有限公司"]["评测类型"] == "现场评定"

    def test_content_disposition_names_the_file_per_rfc_5987(self, pilot):
        """Old clients read the ASCII ``filename``, others the UTF-8 ``filename*`` with the city's name."""
        response = pilot.world.client.get(f"{SUZHOU}/export", headers=pilot.world.office)
        disposition = response.headers["Content-Disposition"]
        stamp = date.today().isoformat()
        assert disposition.startswith(f'attachment; filename="pilot-enterprises-{stamp}.csv"')
        assert f"filename*=UTF-8''{quote('苏州市')}" in disposition

    def test_xlsx_opens_with_openpyxl(self, pilot):
        """The file opens as a real workbook, header frozen and the name column wide enough to read."""
        response = pilot.world.client.get(
            f"{SUZHOU}/export", query_string={"format": "xlsx"}, headers=pilot.world.office
        )
        assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
        sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
        header = [cell.value for cell in sheet[1]]
        assert header[:3] == ["序号", "企业名称", "统一社会信用代码"]
        assert sheet.freeze_panes == "C2" and sheet.max_row == 16
        assert sheet.column_dimensions["B"].width > 10
        names = {sheet.cell(row=r, column=2).value for r in range(2, 17)}
        assert "苏州小微注塑厂" in names

    def test_unknown_format_is_refused(self, pilot):
        response = pilot.world.client.get(
            f"{SUZHOU}/export", query_string={"format": "pdf"}, headers=pilot.world.office
        )
        assert_error(response, 422, "format")


def open_project(pilot: Pilot, enterprise_id: int, started_days_ago: int = 120, **overrides):
    """Open a project for ``enterprise_id`` with the first provider and one of its solutions."""
    solution = pilot.world.solution()
    body = {
        "enterprise_id": enterprise_id,
        "provider_id": pilot.world.provider_id,
        "solution_id": solution["id"],
        "title": "注塑件视觉质检改造",
        "contract_amount_cny": 180_000,
        "started_on": days_ago(started_days_ago),
        **overrides,
    }
    return pilot.world.client.post(PROJECTS, json=body, headers=pilot.world.office)


def advance(pilot: Pilot, project_id: int, headers=None):
    """Ask to move a project to its next stage."""
    return pilot.world.client.post(
        f"{PROJECTS}/{project_id}/advance", json={}, headers=headers or pilot.world.office
    )


def accepted_project(pilot: Pilot) -> dict:
    """e2 (the 小巨人) retrofitted from 一级 to 二级 and accepted on site."""
    project = open_project(pilot, pilot.e2).json
    for _ in range(2):
        advance(pilot, project["id"])
    assess(
        pilot.world.client,
        pilot.e2,
        pilot.world.office,
        level_payload(
            2,
            kind="onsite",
            points_above_band=10,
            measures={
                "pass_rate": {"before": 96.1, "after": 98.9},
                "energy_intensity": {"before": 1.2, "after": 1.05},
            },
        ),
    )
    response = advance(pilot, project["id"])
    assert response.status_code == 200, response.json
    return response.json


class TestProjects:
    """Retrofit projects: lifecycle, acceptance, visibility."""

    def test_lifecycle_to_acceptance(self, pilot):
        """Four stages to 竣工验收, which needs an on-site assessment made after implementation began."""
        response = open_project(pilot, pilot.e2)
        assert response.status_code == 201, response.json
        project = response.json
        assert (project["status"], project["status_name"], project["sub_industry_name"]) == (
            "diagnosis",
            "诊断评估",
            "注塑制品",
        )
        assert project["outcome"]["level_before"] == 1 and project["outcome"]["level_after"] is None
        assert advance(pilot, project["id"]).json["status"] == "filing"
        implementing = advance(pilot, project["id"]).json
        assert implementing["status"] == "implementation" and implementing["implementing_at"]
        assert_error(advance(pilot, project["id"]), 409)
        accepted = accepted_project_after(pilot, project["id"])
        assert accepted["status"] == "accepted" and accepted["status_name"] == "竣工验收"
        assert accepted["outcome"]["level_uplift"] == 1
        assert_error(advance(pilot, project["id"]), 409)

    def test_one_project_under_way_per_enterprise(self, pilot):
        open_project(pilot, pilot.e2)
        assert_error(open_project(pilot, pilot.e2), 409)

    @pytest.mark.parametrize(
        ("override", "field"),
        [
            ({"provider_id": 999}, "provider_id"),
            ({"solution_id": 999}, "solution_id"),
            # Far enough ahead to stay in the future if the run crosses midnight after collection.
            ({"started_on": (date.today() + timedelta(days=30)).isoformat()}, "started_on"),
        ],
    )
    def test_bad_references_are_named(self, pilot, override, field):
        assert_error(open_project(pilot, pilot.e2, **override), 422, field)

    def test_enterprise_must_be_enrolled_and_in_the_city(self, pilot):
        """Projects count towards the city's pilot, so only its enrolled enterprises have them."""
        outsider, _ = enterprise_account(pilot.world.client, name="苏州未入试点有限公司")
        assert_error(open_project(pilot, outsider), 422, "enterprise_id")
        assert_error(open_project(pilot, pilot.world.other_enterprise_id), 422, "enterprise_id")

    @pytest.mark.parametrize("who", ["provider", "enterprise"])
    def test_only_staff_open_projects(self, pilot, who):
        body = {"enterprise_id": pilot.e2, "provider_id": pilot.world.provider_id, "title": "改造"}
        assert_error(pilot.world.client.post(PROJECTS, json=body, headers=getattr(pilot.world, who)), 403)

    def test_visibility(self, pilot):
        """Only the parties see a project: its city's office, admins, its provider and its enterprise."""
        project = open_project(pilot, pilot.e2).json
        client, world = pilot.world.client, pilot.world
        for headers in (world.office, world.admin, world.provider, pilot.e2_headers):
            assert client.get(f"{PROJECTS}/{project['id']}", headers=headers).status_code == 200
        for headers in (world.other_office, world.other_provider, world.enterprise):
            assert_error(client.get(f"{PROJECTS}/{project['id']}", headers=headers), 404)
        assert client.get(PROJECTS, headers=world.provider).json["total"] == 1
        assert client.get(PROJECTS, headers=world.other_provider).json["total"] == 0
        assert client.get(PROJECTS, headers=world.other_office).json["total"] == 0

    def test_involved_provider_cannot_advance(self, pilot):
        """Stages are the city's decisions: not even the project's own provider moves it on."""
        project = open_project(pilot, pilot.e2).json
        assert_error(advance(pilot, project["id"], headers=pilot.world.provider), 403)
        assert_error(advance(pilot, project["id"], headers=pilot.world.other_office), 404)

    def test_enterprise_with_a_project_cannot_be_unenrolled(self, pilot):
        """Unenrolling would orphan the project's record in the pilot."""
        open_project(pilot, pilot.e2)
        path = f"{SUZHOU}/sub-industries/{pilot.moulding['id']}/enrolments/{pilot.e2}"
        assert_error(pilot.world.client.delete(path, headers=pilot.world.office), 409)

    def test_dashboard_reports_retrofit_counts_and_provider_uplift(self, pilot):
        """Providers are rated on results: the dashboard shows each one's projects and the levels gained."""
        accepted_project(pilot)
        open_project(pilot, pilot.e4)
        body = dashboard(pilot)
        moulding = by_name(body)["注塑制品"]
        assert moulding["retrofit"] == {
            "target_count": 4,
            "total": 2,
            "diagnosis": 1,
            "filing": 0,
            "implementation": 0,
            "accepted": 1,
        }
        assert moulding["little_giant"]["status"] == "met"
        [provider] = body["providers"]
        assert (provider["provider_id"], provider["projects_total"], provider["reached_target"]) == (
            pilot.world.provider_id,
            2,
            1,
        )
        assert provider["mean_level_uplift"] == 1.0
        assert {p["level_uplift"] for p in provider["projects"]} == {1, None}


def accepted_project_after(pilot: Pilot, project_id: int) -> dict:
    """Record the on-site assessment after implementation and accept the project."""
    assess(pilot.world.client, pilot.e2, pilot.world.office, level_payload(2, kind="onsite"))
    response = advance(pilot, project_id)
    assert response.status_code == 200, response.json
    return response.json


class TestSeeAndLearn:
    """Candidate 样板 from accepted projects, promoted in one call, reaching search."""

    def test_accepted_project_is_a_candidate_with_its_measures(self, pilot):
        """An accepted project is a 样板 candidate, with the measured results that make it one."""
        project = accepted_project(pilot)
        [candidate] = by_name(dashboard(pilot))["注塑制品"]["candidates"]
        assert (candidate["project_id"], candidate["case_id"], candidate["promoted"]) == (
            project["id"],
            None,
            False,
        )
        assert (candidate["level_before"], candidate["level_after"], candidate["level_uplift"]) == (1, 2, 1)
        measures = {m["name"]: m for m in candidate["measures"]}
        assert set(measures) == {"每百元营收综合能耗", "月均产品合格率"}
        assert measures["月均产品合格率"]["improvement"] == pytest.approx(2.8)
        assert measures["每百元营收综合能耗"]["improvement"] == pytest.approx(0.125)

    def test_one_call_promotes_and_reaches_search(self, pilot):
        """看样学样: one call publishes and promotes a case with city-accepted metrics, found in search."""
        project = accepted_project(pilot)
        client, office = pilot.world.client, pilot.world.office
        window = {"starts_on": date.today().isoformat(), "ends_on": days_ago(-60), "note": "看样学样重点样板"}
        response = client.post(f"{PROJECTS}/{project['id']}/showcase", json=window, headers=office)
        assert response.status_code == 201, response.json
        case = response.json
        assert (
            case["promoted"]
            and case["status"] == "published"
            and case["provider_id"] == pilot.world.provider_id
        )
        assert (case["level_before"], case["level_after"]) == (1, 2)
        assert {m["name"]: m["source_type"] for m in case["metrics"]} == {
            "每百元营收综合能耗": "city_accepted",
            "月均产品合格率": "city_accepted",
        }
        body = dashboard(pilot)
        assert by_name(body)["注塑制品"]["candidates"] == []
        [card] = body["promoted_cases"]
        assert (card["case_id"], card["sub_industry_ids"]) == (case["id"], [pilot.moulding["id"]])
        assert card["promotion"]["note"] == "看样学样重点样板" and len(card["measures"]) == 2
        found = client.get("/api/v1/search/cases", query_string={"promoted": "true"}).json
        assert [item["id"] for item in found["items"]] == [case["id"]]

    def test_showcase_needs_an_accepted_project_and_the_city_office(self, pilot):
        """A 样板 rests on accepted results and is the city's choice."""
        project = open_project(pilot, pilot.e2).json
        window = {"starts_on": date.today().isoformat(), "ends_on": days_ago(-30)}
        client = pilot.world.client
        assert_error(
            client.post(f"{PROJECTS}/{project['id']}/showcase", json=window, headers=pilot.world.office), 409
        )
        assert_error(
            client.post(f"{PROJECTS}/{project['id']}/showcase", json=window, headers=pilot.world.provider),
            403,
        )
        assert_error(
            client.post(
                f"{PROJECTS}/{project['id']}/showcase", json=window, headers=pilot.world.other_office
            ),
            404,
        )


def test_demo_pilots_show_sub_industries_above_and_below_the_line(app, runner, client):
    """After ``flask seed demo``, pilot dashboards show a mixed, realistic picture; a reload adds nothing."""
    result = runner.invoke(args=["seed", "demo"])
    assert result.exit_code == 0, result.output
    demo = Path(app.config["SEED_DATA_DIR"]) / "demo"
    offices = {
        o["city"]: o["email"] for o in json.loads((demo / "city_offices.json").read_text(encoding="utf-8"))
    }
    cities = [p["city"] for p in json.loads((demo / "pilots.json").read_text(encoding="utf-8"))]
    assert len(cities) >= 3
    statuses, promoted, rose = [], 0, 0
    for city in cities:
        body = client.get(
            f"/api/v1/cities/{city}/pilot", headers=login(client, offices[city], "demo-password")
        ).json
        assert 2 <= len(body["sub_industries"]) <= 4
        statuses += [row["status"] for row in body["sub_industries"]]
        promoted += len(body["promoted_cases"])
        first, latest = (
            body["total"]["main_group"]["achieved_at_first"],
            body["total"]["main_group"]["achieved"],
        )
        rose += latest > first
        assert body["total"]["enrolled"]["total"] > 0 and body["providers"]
    assert "met" in statuses and "not_met" in statuses
    assert promoted >= 3 and rose == len(cities)
    again = runner.invoke(args=["seed", "demo"])
    assert "assessments 0" in again.output and "retrofit_projects 0" in again.output


def test_demo_pilot_files_are_what_the_generator_builds():
    """``build_pilots.py`` is deterministic and its files match the current demo catalog (rebuild if not)."""
    from seed_data.demo.build_pilots import DEMO_DIR, PilotBuilder

    builder = PilotBuilder()
    builder.build()
    for name, records in builder.files().items():
        assert json.loads((DEMO_DIR / name).read_text(encoding="utf-8")) == records, name
