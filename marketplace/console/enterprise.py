"""Enterprises: the private profile and 为我推荐 (its recommendations with the level plan)."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for

from marketplace.auth.security import require_user
from marketplace.console.blueprint import bp
from marketplace.console.forms import profile_form
from marketplace.enterprises import service as enterprises
from marketplace.enterprises.schemas import SIZES, TIERS, EnterpriseSchema
from marketplace.models import Role
from marketplace.pilots.labels import SIZE_NAMES, TIER_NAMES
from marketplace.recommendations import service as recommendations
from marketplace.recommendations.schemas import RecommendationsSchema


@bp.route("/enterprise", methods=["GET", "POST"])
def enterprise_home():
    """The enterprise's private profile, created here once and edited after."""
    actor = require_user(Role.ENTERPRISE)
    profile = actor.enterprise
    form = profile_form(
        EnterpriseSchema,
        profile,
        lambda data: enterprises.create_enterprise(actor, data),
        lambda profile_id, data: enterprises.update_enterprise(actor, profile_id, data),
    )
    if form.saved:
        flash("企业档案已保存（仅您本人、平台管理员和本市主管部门可见）", "success")
        return redirect(url_for("console.enterprise_home"))
    return render_template(
        "console/enterprise_home.html",
        profile=profile,
        values=form.values,
        errors=form.errors,
        message=form.message,
        size_options=[(size, SIZE_NAMES[size]) for size in SIZES],
        tier_options=[(tier, TIER_NAMES[tier]) for tier in TIERS],
    ), (200 if form.message is None else 422)


@bp.route("/enterprise/recommendations")
def for_me():
    """为我推荐: recommendations from the stored profile, with the plan to reach 二级."""
    actor = require_user(Role.ENTERPRISE)
    if actor.enterprise is None:
        flash("请先填写企业档案，再查看为您推荐的方案", "error")
        return redirect(url_for("console.enterprise_home"))
    answer = recommendations.recommend_for_enterprise(actor, actor.enterprise.id, 10)
    values = {"needs": actor.enterprise.needs, "industry": actor.enterprise.industry_code}
    return render_template(
        "console/results.html", values=values, answer=RecommendationsSchema().dump(answer), for_me=True
    )
