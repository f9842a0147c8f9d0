"""Providers: the company profile, solutions with their review status, and the create and edit forms."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from marshmallow import ValidationError

from marketplace.auth.security import require_user
from marketplace.cases import service as cases
from marketplace.cases.schemas import CaseQueryArgsSchema, CaseSchema
from marketplace.console.blueprint import bp
from marketplace.console.forms import field_errors, form_data, profile_form, rows
from marketplace.errors import APIError
from marketplace.models import Role
from marketplace.providers import service as providers
from marketplace.providers.schemas import ProviderSchema
from marketplace.solutions import service as solutions
from marketplace.solutions.schemas import SolutionQueryArgsSchema, SolutionSchema

UPLIFT_KEYS = ("scenario", "from_level", "to_level")
CLAIM_KEYS = ("metric", "value", "unit", "source_type", "note")
CLAIM_VALUES = ("metric", "value", "unit")
LIST_FIELDS = ("industries", "scenarios", "delivery_modes")


@bp.route("/provider", methods=["GET", "POST"])
def provider_home():
    """我的公司: the company profile (created here once), and my solutions and cases with their status."""
    actor = require_user(Role.PROVIDER)
    company = actor.provider
    form = profile_form(
        ProviderSchema,
        company,
        lambda data: providers.create_provider(actor, data),
        lambda company_id, data: providers.update_provider(actor, company_id, data),
    )
    if form.saved:
        flash("公司信息已保存", "success")
        return redirect(url_for("console.provider_home"))
    own_solutions, own_cases = [], []
    if company is not None:
        own_solutions = solutions.list_solutions(
            actor, SolutionQueryArgsSchema().load({"mine": "true", "per_page": "100"})
        )["items"]
        own_cases = cases.list_cases(
            actor, CaseQueryArgsSchema().load({"provider_id": [str(company.id)], "per_page": "100"})
        )["items"]
    return render_template(
        "console/provider_home.html",
        company=company,
        values=form.values,
        errors=form.errors,
        message=form.message,
        solutions=SolutionSchema(many=True).dump(own_solutions),
        cases=CaseSchema(many=True).dump(own_cases),
    ), (200 if form.message is None else 422)


def solution_form_data(schema: SolutionSchema) -> dict:
    """The solution form as the API's JSON body: lists from pickers and repeated rows."""
    data = form_data(schema, request.form)
    data["level_uplifts"] = rows(request.form, "uplift", UPLIFT_KEYS)
    data["outcome_claims"] = rows(request.form, "claim", CLAIM_KEYS, CLAIM_VALUES)
    return data


def solution_form_values(solution: dict | None) -> dict:
    """What the form shows: the posted values after an error, else the stored solution."""
    if request.method != "POST":
        return dict(solution or {})
    values = request.form.to_dict()
    for key in LIST_FIELDS:
        values[key] = request.form.getlist(key)
    values["level_uplifts"] = rows(request.form, "uplift", UPLIFT_KEYS)
    values["outcome_claims"] = rows(request.form, "claim", CLAIM_KEYS, CLAIM_VALUES)
    return values


@bp.route("/provider/solutions/new", methods=["GET", "POST"])
def new_solution():
    """List a new solution: a draft until it is submitted for review."""
    actor = require_user(Role.PROVIDER)
    message, errors = None, {}
    if request.method == "POST":
        try:
            data = SolutionSchema().load(solution_form_data(SolutionSchema()))
            solution = solutions.create_solution(actor, data)
        except (ValidationError, APIError) as error:
            message, errors = field_errors(error)
        else:
            flash("方案已保存为草稿，确认无误后请提交审核", "success")
            return redirect(url_for("console.edit_solution", solution_id=solution.id))
    return render_template(
        "console/solution_form.html",
        solution=None,
        values=solution_form_values(None),
        errors=errors,
        message=message,
    ), (200 if message is None else 422)


@bp.route("/provider/solutions/<int:solution_id>/edit", methods=["GET", "POST"])
def edit_solution(solution_id: int):
    """Edit an own solution; a published one goes back to review when saved."""
    actor = require_user(Role.PROVIDER)
    solution = SolutionSchema().dump(solutions.get_solution(actor, solution_id))
    message, errors = None, {}
    if request.method == "POST":
        schema = SolutionSchema(partial=True)
        try:
            data = schema.load(solution_form_data(schema))
            solutions.update_solution(actor, solution_id, data)
        except (ValidationError, APIError) as error:
            message, errors = field_errors(error)
        else:
            flash("修改已保存", "success")
            return redirect(url_for("console.edit_solution", solution_id=solution_id))
    return render_template(
        "console/solution_form.html",
        solution=solution,
        values=solution_form_values(solution),
        errors=errors,
        message=message,
    ), (200 if message is None else 422)


@bp.route("/provider/solutions/<int:solution_id>/<any(submit, archive):action>", methods=["POST"])
def solution_action(solution_id: int, action: str):
    """Submit an own solution for review, or take a published one offline."""
    actor = require_user(Role.PROVIDER)
    try:
        solutions.transition_solution(actor, solution_id, action)
    except APIError as error:
        flash(error.message, "error")
    else:
        flash("已提交审核，平台审核通过后即公开" if action == "submit" else "方案已下架", "success")
    return redirect(url_for("console.provider_home"))


METRIC_KEYS = ("name", "before", "after", "unit", "source_type")
METRIC_VALUES = ("name", "before", "after", "unit")


def case_form_data(schema: CaseSchema) -> dict:
    """The case form as the API's JSON body: the pickers and the metric rows."""
    data = form_data(schema, request.form)
    data["metrics"] = rows(request.form, "metric", METRIC_KEYS, METRIC_VALUES)
    return data


def case_form_values(case: dict | None) -> dict:
    """What the case form shows: the posted values after an error, else the stored case."""
    if request.method != "POST":
        return dict(case or {})
    values = request.form.to_dict()
    values["scenarios"] = request.form.getlist("scenarios")
    values["solution_ids"] = [int(v) for v in request.form.getlist("solution_ids") if v.isdigit()]
    values["metrics"] = rows(request.form, "metric", METRIC_KEYS, METRIC_VALUES)
    return values


def render_case_form(actor, case: dict | None, message, errors):
    """The case form, offering the provider's own published solutions to link."""
    own = solutions.list_solutions(
        actor, SolutionQueryArgsSchema().load({"mine": "true", "status": ["published"], "per_page": "100"})
    )["items"]
    return render_template(
        "console/case_form.html",
        case=case,
        values=case_form_values(case),
        errors=errors,
        message=message,
        own_solutions=[(s.id, s.title) for s in own],
    ), (200 if message is None else 422)


@bp.route("/provider/cases/new", methods=["GET", "POST"])
def new_case():
    """Author a case: a draft until it is submitted to its city's office (or an admin) for review."""
    actor = require_user(Role.PROVIDER)
    message, errors = None, {}
    if request.method == "POST":
        try:
            data = CaseSchema().load(case_form_data(CaseSchema()))
            case = cases.create_case(actor, data)
        except (ValidationError, APIError) as error:
            message, errors = field_errors(error)
        else:
            flash("案例已保存为草稿，确认无误后请提交审核", "success")
            return redirect(url_for("console.edit_case", case_id=case.id))
    return render_case_form(actor, None, message, errors)


@bp.route("/provider/cases/<int:case_id>/edit", methods=["GET", "POST"])
def edit_case(case_id: int):
    """Edit an own case; a published one goes back to review when saved."""
    actor = require_user(Role.PROVIDER)
    case = CaseSchema().dump(cases.get_case(actor, case_id))
    message, errors = None, {}
    if request.method == "POST":
        schema = CaseSchema(partial=True)
        try:
            cases.update_case(actor, case_id, schema.load(case_form_data(schema)))
        except (ValidationError, APIError) as error:
            message, errors = field_errors(error)
        else:
            flash("修改已保存", "success")
            return redirect(url_for("console.edit_case", case_id=case_id))
    return render_case_form(actor, case, message, errors)


@bp.route("/provider/cases/<int:case_id>/<any(submit, archive):action>", methods=["POST"])
def case_action(case_id: int, action: str):
    """Submit an own case for review, or take a published one offline."""
    actor = require_user(Role.PROVIDER)
    try:
        cases.transition_case(actor, case_id, action)
    except APIError as error:
        flash(error.message, "error")
    else:
        flash("已提交审核，审核通过后即公开" if action == "submit" else "案例已下架", "success")
    return redirect(url_for("console.provider_home"))
