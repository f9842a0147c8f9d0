"""City offices: the pilot dashboard with server-drawn bars, enrolment, projects, promotions and exports."""

from __future__ import annotations

from flask import render_template

from marketplace.auth.security import require_user
from marketplace.console.blueprint import bp
from marketplace.models import Role


@bp.route("/city")
def city_home():
    """The city's pilot dashboard."""
    require_user(Role.CITY_OFFICE)
    return render_template("console/error.html", status=501, message="试点看板尚未完成", details={}), 501
