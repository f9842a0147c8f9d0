"""City offices: the pilot dashboard as SVG bars, enrolment, assessments, projects, promotions, exports."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from marshmallow import ValidationError

from marketplace.assessments import service as assessments
from marketplace.assessments.schemas import AssessmentSchema
from marketplace.assessments.service import indicator
from marketplace.auth.security import require_user
from marketplace.cases import service as cases
from marketplace.cases.schemas import CaseQueryArgsSchema, CaseSchema, PromotionSchema
from marketplace.console.blueprint import bp
from marketplace.console.charts import percent, rule_bar
from marketplace.console.forms import field_errors, form_data
from marketplace.console.uploads import discard_upload, keep_upload, kept_upload
from marketplace.enterprises import service as enterprises
from marketplace.enterprises.schemas import EnterpriseQueryArgsSchema, EnterpriseSchema
from marketplace.errors import APIError
from marketplace.models import Role
from marketplace.pilots import dashboard, enrolment, enrolment_sheet, export, projects, standings
from marketplace.pilots.models import ProjectStatus
from marketplace.pilots.schemas import (
    AdvanceSchema,
    BasisArgsSchema,
    DashboardSchema,
    EnrolmentSchema,
    EnrolmentSheetUploadSchema,
    ExportArgsSchema,
    ProjectQueryArgsSchema,
    ProjectSchema,
    SheetTemplateArgsSchema,
    SubIndustrySchema,
)

bp.add_app_template_global(percent, "percent")


def office_city() -> tuple:
    """The signed-in city office and its city (the pilot services check every access again)."""
    actor = require_user(Role.CITY_OFFICE)
    return actor, actor.city


@bp.route("/city")
def city_home():
    """The pilot dashboard: per 细分行业, the share at 二级+ against 90%, 小巨人 against 100%, 还需 N 家."""
    actor, city = office_city()
    args = BasisArgsSchema().load(form_data(BasisArgsSchema(), request.args))
    board = DashboardSchema().dump(dashboard.dashboard(actor, city, args["basis"]))
    bars = {
        row["id"]: [
            rule_bar("规上及专精特新企业", row["main_group"]),
            rule_bar("专精特新“小巨人”", row["little_giant"]),
        ]
        for row in board["sub_industries"]
    }
    total_bars = [
        rule_bar("规上及专精特新企业", board["total"]["main_group"]),
        rule_bar("专精特新“小巨人”", board["total"]["little_giant"]),
    ]
    return render_template("console/city_home.html", board=board, bars=bars, total_bars=total_bars)


@bp.route("/city/export")
def city_export():
    """The pilot's enterprise list as CSV or XLSX, as the API exports it."""
    actor, city = office_city()
    args = ExportArgsSchema().load(form_data(ExportArgsSchema(), request.args))
    rows = standings.export_rows(actor, city, args["basis"])
    return export.export_response(rows, city, args["format"])


@bp.route("/city/sub-industries/<int:sub_industry_id>", methods=["GET", "POST"])
def sub_industry_page(sub_industry_id: int):
    """A 细分行业: its enrolled enterprises, and enrolment of the city's enterprises in its industries.

    Enrolment from a spreadsheet is city-wide (a row names its 细分行业): :func:`enrolment_sheet_page`.
    """
    actor, city = office_city()
    message, errors = None, {}
    if request.method == "POST":
        try:
            data = EnrolmentSchema().load(form_data(EnrolmentSchema(), request.form))
            enrolment.enrol(actor, city, sub_industry_id, data["enterprise_ids"])
        except (ValidationError, APIError) as error:
            message, errors = field_errors(error)
        else:
            flash("已纳入试点", "success")
            return redirect(url_for("console.sub_industry_page", sub_industry_id=sub_industry_id))
    sub = enrolment.get_sub_industry(actor, city, sub_industry_id)
    dumped = SubIndustrySchema().dump(sub)
    candidates = enterprises.list_enterprises(
        actor,
        EnterpriseQueryArgsSchema().load(
            {"city": [city], "industry": dumped["industry_codes"], "per_page": "100"}
        ),
    )["items"]
    enrolled = set(dumped.get("enterprise_ids") or [])
    return render_template(
        "console/sub_industry.html",
        sub=dumped,
        candidates=[e for e in EnterpriseSchema(many=True).dump(candidates) if e["id"] not in enrolled],
        enrolled=EnterpriseSchema(many=True).dump([e for e in candidates if e.id in enrolled]),
        message=message,
        errors=errors,
    ), (200 if message is None else 422)


SHEET_UPLOAD = "enrolment-sheet"
"""The purpose under which a previewed list waits for its import (:mod:`marketplace.console.uploads`)."""


def render_sheet(report=None, token=None, message=None, errors=None, status=200):
    """The bulk enrolment page: template downloads, the upload form, and the preview of every row."""
    return render_template(
        "console/enrolment_sheet.html",
        report=report,
        token=token,
        message=message,
        errors=errors or {},
        limits=enrolment_sheet.sheet_limits(),
    ), status


def previewed(actor, city: str, data: bytes) -> tuple[dict, str | None]:
    """The preview of ``data``; kept for the import (with its token) only if every row can be imported."""
    report = enrolment_sheet.preview_enrolment_sheet(actor, city, data)
    if report["can_import"]:
        return report, keep_upload(SHEET_UPLOAD, data)
    discard_upload(SHEET_UPLOAD)
    return report, None


def rows_message(report: dict) -> str:
    return f"表格中有 {report['invalid']} 行存在问题，未写入任何数据；请按提示修改后重新上传"


@bp.route("/city/enrolment-sheet")
def enrolment_sheet_page():
    """Bulk enrolment from the office's list (规上名录, 专精特新名单): template, upload, preview, import."""
    office_city()
    return render_sheet()


@bp.route("/city/enrolment-sheet/template")
def enrolment_sheet_template():
    """The blank list (XLSX with the city's 细分行业 to pick from, or CSV)."""
    actor, city = office_city()
    args = SheetTemplateArgsSchema().load(form_data(SheetTemplateArgsSchema(), request.args))
    body = enrolment_sheet.enrolment_template(actor, city, args["format"])
    return export.download_response(body, args["format"], "enrolment-template", f"{city}试点企业批量纳入模板")


@bp.route("/city/enrolment-sheet/preview", methods=["POST"])
def enrolment_sheet_preview():
    """Read the uploaded list and show every row's enterprise, 细分行业 and problems; nothing is written."""
    actor, city = office_city()
    try:
        data = EnrolmentSheetUploadSchema().load(request.files)["file"].read()
        report, token = previewed(actor, city, data)
    except (ValidationError, APIError) as error:
        discard_upload(SHEET_UPLOAD)
        message, errors = field_errors(error)
        return render_sheet(message=message, errors=errors, status=422)
    return render_sheet(report, token, None if report["can_import"] else rows_message(report))


@bp.route("/city/enrolment-sheet/import", methods=["POST"])
def enrolment_sheet_import():
    """Import the previewed list, every row or none; the list is read again and checked again."""
    actor, city = office_city()
    data = kept_upload(SHEET_UPLOAD, request.form.get("token", ""))
    if data is None:
        message = "没有待导入的表格（已超过 30 分钟或已导入），请重新上传并预览"
        return render_sheet(message=message, errors={"file": [message]}, status=422)
    try:
        report = enrolment_sheet.import_enrolment_sheet(actor, city, data)
    except APIError as error:
        message, _details = field_errors(error)
        try:
            report, token = previewed(actor, city, data)
        except APIError as again:
            message, errors = field_errors(again)
            return render_sheet(message=message, errors=errors, status=error.status_code)
        return render_sheet(report, token, message, status=error.status_code)
    discard_upload(SHEET_UPLOAD)
    flash(
        f"批量纳入完成：新纳入 {report['to_enrol']} 家企业，{report['unchanged']} 家已在试点中未变动",
        "success",
    )
    return redirect(url_for("console.city_home"))


def assessment_form_data() -> dict:
    """The assessment form as the API's body: an option per question, the measures given, scenario levels."""
    ind = indicator()
    data = form_data(AssessmentSchema(), request.form)
    data["answers"] = {
        item.code: request.form[f"answer-{item.code}"]
        for item in ind.choice_items
        if request.form.get(f"answer-{item.code}")
    }
    data["measures"] = {
        item.code: {
            "before": request.form.get(f"measure-{item.code}-before", "").strip(),
            "after": request.form.get(f"measure-{item.code}-after", "").strip(),
        }
        for item in ind.measure_items
        if request.form.get(f"measure-{item.code}-before", "").strip()
        or request.form.get(f"measure-{item.code}-after", "").strip()
    }
    data["scenario_levels"] = {code: request.form.get(f"level-{code}", "0") for code in ind.scenarios}
    return data


@bp.route("/city/enterprises/<int:enterprise_id>/assessments", methods=["GET", "POST"])
def record_assessment(enterprise_id: int):
    """Record an assessment (现场评定 by default) of an enterprise of the city."""
    actor, _city = office_city()
    enterprise = enterprises.get_enterprise(actor, enterprise_id)
    message, errors, result = None, {}, None
    if request.method == "POST":
        try:
            data = AssessmentSchema().load(assessment_form_data())
            result = AssessmentSchema().dump(assessments.record_assessment(actor, enterprise_id, data))
        except (ValidationError, APIError) as error:
            message, errors = field_errors(error)
    return render_template(
        "console/assessment_form.html",
        enterprise=EnterpriseSchema().dump(enterprise),
        indicator=indicator(),
        form=request.form,
        message=message,
        errors=errors,
        result=result,
    ), (200 if message is None else 422)


@bp.route("/city/projects")
def projects_board():
    """The retrofit projects board by stage."""
    actor, city = office_city()
    found = projects.list_projects(actor, ProjectQueryArgsSchema().load({"city": [city], "per_page": "100"}))
    items = ProjectSchema(many=True).dump(found["items"])
    columns = [(status.value, [p for p in items if p["status"] == status.value]) for status in ProjectStatus]
    return render_template("console/projects.html", columns=columns, last=ProjectStatus.ACCEPTED.value)


@bp.route("/city/projects/<int:project_id>/advance", methods=["POST"])
def advance_project(project_id: int):
    """Move a project to its next stage."""
    actor, _city = office_city()
    try:
        data = AdvanceSchema().load(form_data(AdvanceSchema(), request.form))
        projects.advance_project(actor, project_id, data["note"])
    except (ValidationError, APIError) as error:
        message, errors = field_errors(error)
        flash("；".join([message, *(t for texts in errors.values() for t in texts)]), "error")
    else:
        flash("项目已进入下一阶段", "success")
    return redirect(url_for("console.projects_board"))


@bp.route("/city/cases", methods=["GET", "POST"])
def city_cases():
    """The city's published cases, and promoting one for a date range."""
    actor, city = office_city()
    message, errors = None, {}
    if request.method == "POST":
        try:
            case_id = int(request.form.get("case_id", "0"))
            data = PromotionSchema().load(form_data(PromotionSchema(), request.form))
            cases.promote_case(actor, case_id, data)
        except ValueError:
            message, errors = "请选择案例", {"case_id": ["请选择案例"]}
        except (ValidationError, APIError) as error:
            message, errors = field_errors(error)
        else:
            flash("推广已设置", "success")
            return redirect(url_for("console.city_cases"))
    found = cases.list_cases(
        actor, CaseQueryArgsSchema().load({"city": [city], "status": ["published"], "per_page": "100"})
    )
    return render_template(
        "console/city_cases.html",
        cases=CaseSchema(many=True).dump(found["items"]),
        message=message,
        errors=errors,
        values=request.form,
    ), (200 if message is None else 422)
