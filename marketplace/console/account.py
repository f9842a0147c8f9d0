"""Sign-in, sign-out and sign-up pages."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from marshmallow import ValidationError

from marketplace.auth import service
from marketplace.auth.limits import limiter
from marketplace.auth.routes import auth_rate_limit
from marketplace.auth.schemas import RegisterSchema, TokenRequestSchema
from marketplace.auth.security import current_user
from marketplace.console.blueprint import bp
from marketplace.console.forms import field_errors, form_data
from marketplace.console.session import safe_next, sign_in, sign_out
from marketplace.errors import APIError
from marketplace.models import Role

HOME_OF_ROLE = {
    Role.PROVIDER: "console.provider_home",
    Role.ENTERPRISE: "console.enterprise_home",
    Role.CITY_OFFICE: "console.city_home",
    Role.ADMIN: "console.review_queue",
}


def home_of(user) -> str:
    """Where an account lands after sign-in."""
    return url_for(HOME_OF_ROLE[user.role])


def limit_posts() -> bool:
    """Only the form posts count against the sign-in limit, never showing the page."""
    return request.method != "POST"


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(auth_rate_limit, exempt_when=limit_posts)
def login():
    """Sign in with e-mail and password; the session cookie then carries the account."""
    next_path = request.values.get("next")
    message, errors, values = None, {}, {}
    if request.method == "POST":
        values = {"email": request.form.get("email", "")}
        try:
            data = TokenRequestSchema().load(form_data(TokenRequestSchema(), request.form))
            user = service.check_credentials(data["email"], data["password"])
        except (ValidationError, APIError) as error:
            message, errors = field_errors(error)
        else:
            sign_in(user)
            return redirect(safe_next(next_path, home_of(user)))
    status = 200 if message is None else 401 if not errors else 422
    return render_template(
        "console/login.html", message=message, errors=errors, values=values, next_path=next_path
    ), status


@bp.route("/logout", methods=["POST"])
def logout():
    """Sign out and go home."""
    sign_out()
    return redirect(url_for("console.home"))


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(auth_rate_limit, exempt_when=limit_posts)
def register():
    """Sign up as a provider or an enterprise, then sign in at once."""
    message, errors, values = None, {}, {"role": request.args.get("role", "enterprise")}
    if request.method == "POST":
        values = request.form.to_dict()
        values.pop("password", None)
        try:
            data = RegisterSchema().load(form_data(RegisterSchema(), request.form))
            user = service.create_account(**data)
        except (ValidationError, APIError) as error:
            message, errors = field_errors(error)
        else:
            sign_in(user)
            return redirect(home_of(user))
    status = 200 if message is None else 422
    return render_template("console/register.html", message=message, errors=errors, values=values), status


@bp.app_template_global()
def landing_page() -> str | None:
    """The signed-in account's own start page, for the layout's menu."""
    user = current_user()
    return home_of(user) if user is not None else None
