"""Reviewers: the queue of listings in review, oldest first, approve and reject; the account list."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from marshmallow import ValidationError

from marketplace.auth import service as accounts_service
from marketplace.auth.schemas import UserSchema
from marketplace.auth.security import require_user
from marketplace.cases import service as cases
from marketplace.cases.schemas import CaseSchema
from marketplace.common.schemas import PageArgsSchema
from marketplace.console.blueprint import bp
from marketplace.console.forms import field_errors, form_data
from marketplace.errors import APIError
from marketplace.listings.routes import ReviewSchema
from marketplace.listings.service import review_queue as pending_listings
from marketplace.solutions import service as solutions
from marketplace.solutions.schemas import SolutionSchema

TRANSITIONS = {"solution": solutions.transition_solution, "case": cases.transition_case}
DONE = {"approve": "已通过，已公开发布", "reject": "已驳回，服务商会看到驳回理由"}
ACCOUNT_DONE = {"disable": "已停用，该账号的登录凭证全部失效", "enable": "已重新启用"}


@bp.route("/review")
def review_queue():
    """What waits for review, oldest first (every listing for admins, its city's cases for an office)."""
    actor = require_user()
    queue = pending_listings(actor)
    return render_template(
        "console/review.html",
        solutions=SolutionSchema(many=True).dump(queue["solutions"]),
        cases=CaseSchema(many=True).dump(queue["cases"]),
        errors={},
    )


@bp.route("/review/<any(solution, case):kind>/<int:item_id>/<any(approve, reject):action>", methods=["POST"])
def review(kind: str, item_id: int, action: str):
    """Approve, or reject with a reason, as the API's lifecycle actions do."""
    actor = require_user()
    try:
        reason = None
        if action == "reject":
            reason = ReviewSchema().load(form_data(ReviewSchema(), request.form))["reason"]
        TRANSITIONS[kind](actor, item_id, action, reason)
    except (ValidationError, APIError) as error:
        message, errors = field_errors(error)
        flash(
            f"{message}：{'；'.join(text for texts in errors.values() for text in texts)}"
            if errors
            else message,
            "error",
        )
    else:
        flash(DONE[action], "success")
    return redirect(url_for("console.review_queue"))


@bp.route("/accounts")
def accounts():
    """Every account, newest first (admins)."""
    actor = require_user()
    args = PageArgsSchema().load({"page": request.args.get("page", "1"), "per_page": "50"})
    page = accounts_service.list_accounts(actor, args)
    return render_template(
        "console/accounts.html",
        users=UserSchema(many=True).dump(page["items"]),
        active={user.id: user.is_active for user in page["items"]},
        total=page["total"],
        page=args["page"],
        pages=max(1, -(-page["total"] // args["per_page"])),
    )


@bp.route("/accounts/<int:account_id>/<any(disable, enable):action>", methods=["POST"])
def account_state(account_id: int, action: str):
    """Disable an account or enable it again, as the API's account actions do."""
    actor = require_user()
    try:
        user = accounts_service.set_account_active(actor, account_id, action == "enable")
    except APIError as error:
        flash(field_errors(error)[0], "error")
    else:
        flash(f"{user.email}：{ACCOUNT_DONE[action]}", "success")
    return redirect(url_for("console.accounts"))
