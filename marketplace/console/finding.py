"""Finding help: the needs box and its recommendations, keyword search, solution and case pages, inquiries."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from marshmallow import ValidationError

from marketplace.auth.limits import limiter
from marketplace.auth.security import current_user, require_user
from marketplace.cases import service as cases
from marketplace.cases.schemas import CaseQueryArgsSchema, CaseSchema
from marketplace.console.blueprint import bp
from marketplace.console.forms import field_errors, form_data
from marketplace.errors import APIError
from marketplace.inquiries import service as inquiries
from marketplace.inquiries.routes import inquiry_rate_limit
from marketplace.inquiries.schemas import InquiryCreateSchema
from marketplace.models import Role
from marketplace.recommendations import service as recommendations
from marketplace.recommendations.schemas import RecommendationRequestSchema, RecommendationsSchema
from marketplace.search import service as search
from marketplace.search.schemas import CaseSearchSchema, SearchArgsSchema, SolutionSearchSchema
from marketplace.solutions import service as solutions
from marketplace.solutions.schemas import SolutionSchema

FACETS = (("industry", "行业"), ("scenario", "业务场景"), ("delivery_mode", "交付方式"), ("city", "城市"))
SEARCH_KINDS = {"solutions": "方案", "cases": "样板案例"}


@bp.route("/")
def home():
    """The one big box: 说说您遇到的问题, with the industry (a signed-in enterprise's own, to start with)."""
    actor = current_user()
    profile = actor.enterprise if actor is not None and actor.role is Role.ENTERPRISE else None
    values = {"industry": profile.industry_code} if profile is not None else {}
    return render_template("console/home.html", values=values, errors={}, message=None)


@bp.route("/recommend")
@limiter.limit(lambda: current_app.config["RECOMMENDATION_RATE_LIMIT"])
def recommend():
    """Recommended solutions and cases for the described need, each with its reasons."""
    fields = ("industry", "needs", "budget_max_cny")
    values = {key: request.args.get(key, "") for key in fields}
    try:
        data = RecommendationRequestSchema().load(
            form_data(RecommendationRequestSchema(), request.args, fields)
        )
    except ValidationError as error:
        message, errors = field_errors(error)
        return render_template("console/home.html", values=values, errors=errors, message=message), 422
    limit = data.pop("limit")
    answer = recommendations.recommend(recommendations.profile_from_args(data), limit, current_user())
    return render_template("console/results.html", values=values, answer=RecommendationsSchema().dump(answer))


@bp.route("/search")
def search_page():
    """Keyword search with facet checkboxes, their counts, and paging."""
    kind = request.args.get("kind", "solutions")
    if kind not in SEARCH_KINDS:
        kind = "solutions"
    args = SearchArgsSchema().load(
        {**form_data(SearchArgsSchema(), request.args), "per_page": request.args.get("per_page", "10")}
    )
    if kind == "solutions":
        result = SolutionSearchSchema().dump(search.search_solutions(args))
    else:
        result = CaseSearchSchema().dump(search.search_cases(current_user(), args))
    chosen = {name: set(args.get(name) or []) for name, _ in FACETS}
    pages = max(1, -(-result["total"] // args["per_page"]))
    return render_template(
        "console/search.html",
        kind=kind,
        kinds=SEARCH_KINDS,
        q=args.get("q") or "",
        result=result,
        facets=FACETS,
        chosen=chosen,
        page=args["page"],
        pages=pages,
    )


@bp.app_template_global()
def page_url(page: int) -> str:
    """This page's address with another ``page``."""
    args = request.args.to_dict(flat=False)
    args["page"] = [str(page)]
    return url_for(request.endpoint, **(request.view_args or {}), **args)


@bp.route("/solutions/<int:solution_id>")
def solution_page(solution_id: int):
    """A solution: provider, price range, deployment time, delivery modes, the cases that used it."""
    actor = current_user()
    solution = solutions.get_solution(actor, solution_id)
    used_in = cases.list_cases(
        actor,
        CaseQueryArgsSchema().load(
            {"solution_id": [str(solution_id)], "status": ["published"], "per_page": "20"}
        ),
    )
    return render_template(
        "console/solution.html",
        solution=SolutionSchema().dump(solution),
        provider=solution.provider,
        cases=CaseSchema(many=True).dump(used_in["items"]),
        request_id=request.args.get("request_id", ""),
        message_value="",
        errors={},
    )


@bp.route("/cases/<int:case_id>")
def case_page(case_id: int):
    """A case (看样学样): the enterprise, sub-industry, levels before and after, metrics, solutions used."""
    actor = current_user()
    case = cases.get_case(actor, case_id)
    used = []
    for solution_id in CaseSchema().dump(case)["solution_ids"]:
        try:
            used.append(solutions.get_solution(actor, solution_id))
        except APIError:
            continue
    return render_template(
        "console/case.html", case=CaseSchema().dump(case), used=SolutionSchema(many=True).dump(used)
    )


@bp.route("/solutions/<int:solution_id>/inquire", methods=["POST"])
@limiter.limit(inquiry_rate_limit)
def inquire(solution_id: int):
    """联系服务商: send an inquiry from the signed-in enterprise (sign in first if needed)."""
    actor = current_user()
    if actor is None:
        return redirect(
            url_for("console.login", next=url_for("console.solution_page", solution_id=solution_id))
        )
    require_user(Role.ENTERPRISE)
    try:
        data = InquiryCreateSchema().load(form_data(InquiryCreateSchema(), request.form))
        inquiry = inquiries.create_inquiry(actor, solution_id, data["message"], data.get("request_id"))
    except (ValidationError, APIError) as error:
        message, errors = field_errors(error)
        solution = solutions.get_solution(actor, solution_id)
        return render_template(
            "console/solution.html",
            solution=SolutionSchema().dump(solution),
            provider=solution.provider,
            cases=[],
            request_id=request.form.get("request_id", ""),
            message_value=request.form.get("message", ""),
            errors=errors,
            message=message,
        ), 422
    flash("咨询已发送，服务商回复后会显示在“我的咨询”中", "success")
    return redirect(url_for("console.inquiry_page", inquiry_id=inquiry.id))
