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
from marketplace.enterprises import service as enterprises
from marketplace.enterprises.schemas import EnterpriseQueryArgsSchema, EnterpriseSchema
from marketplace.errors import APIError
from marketplace.models import Role
from marketplace.pilots import dashboard, enrolment, export, projects, standings
from marketplace.pilots.models import ProjectStatus
from marketplace.pilots.schemas import (
    AdvanceSchema,
    BasisArgsSchema,
    DashboardSchema,
    EnrolmentSchema,
    ExportArgsSchema,
    ProjectQueryArgsSchema,
    ProjectSchema,
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

    GAP(#15, bulk-enrolment branch): the spreadsheet upload (preview every row's problems, then
    import all or nothing) is to call the pilots API's bulk-enrolment service functions here.
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
