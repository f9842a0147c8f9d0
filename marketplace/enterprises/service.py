"""Enterprise profiles: private to the owner, admins and the office of their city."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import or_, select

from marketplace.common.lifecycle import get_or_404
from marketplace.common.pagination import paginate
from marketplace.common.profiles import create_profile, update_profile
from marketplace.enterprises.schemas import EnterpriseSchema
from marketplace.errors import Conflict, Forbidden, NotFound
from marketplace.extensions import db
from marketplace.models import Enterprise, Role, User, utcnow

CITY_LOCKS = "enterprise_city_locks"
INDUSTRY_LOCKS = "enterprise_industry_locks"


def can_see(actor: User | None, enterprise: Enterprise) -> bool:
    """The owner, admins and the office of the enterprise's city may see a profile."""
    if actor is None:
        return False
    return (
        enterprise.owner_id == actor.id
        or actor.role is Role.ADMIN
        or (actor.role is Role.CITY_OFFICE and actor.city == enterprise.city)
    )


def get_enterprise(actor: User, enterprise_id: int) -> Enterprise:
    """Get a profile the caller may see.

    :raises NotFound: if it does not exist or is private to the caller.
    """
    enterprise = get_or_404(Enterprise, enterprise_id, "企业")
    if not can_see(actor, enterprise):
        raise NotFound("企业不存在")
    return enterprise


def create_enterprise(actor: User, data: dict) -> Enterprise:
    """Create the profile of an enterprise account.

    :raises Conflict: if the account already has one, or the credit code is taken.
    """
    return create_profile(Enterprise, actor, data, "企业")


def update_enterprise(
    actor: User, enterprise_id: int, data: dict, if_match: frozenset[str] | None = None
) -> Enterprise:
    """Change a profile (its owner or an admin).

    :raises Forbidden: for a city office or anyone else who can see it.
    :raises Conflict: for a move to another city while the enterprise is in a city's pilot, or to
        an industry outside the 细分行业 it is enrolled in (``errors.industry`` names them).
    """
    enterprise = get_enterprise(actor, enterprise_id)
    if enterprise.owner_id != actor.id and actor.role is not Role.ADMIN:
        raise Forbidden("只能修改自己的企业档案")
    if data.get("city", enterprise.city) != enterprise.city and city_locked(enterprise.id):
        raise Conflict("企业已纳入本市试点，变更所在城市请联系城市主管部门", {"city": ["企业已纳入本市试点"]})
    industry = data.get("industry_code", enterprise.industry_code)
    if industry != enterprise.industry_code:
        held = industry_locks(enterprise.id, industry)
        if held:
            raise Conflict(
                "企业已纳入试点细分行业，新行业不在其行业代码范围内，请联系城市主管部门",
                {"industry": [f"已纳入：{'；'.join(held)}"]},
            )
    return update_profile(enterprise, data, EnterpriseSchema(), if_match)


def industry_locks(enterprise_id: int, industry_code: str) -> list[str]:
    """What keeps the enterprise from moving to ``industry_code``, e.g. the 细分行业 it is enrolled in.

    Features register their checks, ``check(enterprise_id, industry_code) -> list[str]``, in
    ``app.extensions[INDUSTRY_LOCKS]``; the pilots blueprint does so when it is registered.
    """
    return [
        held
        for check in current_app.extensions.get(INDUSTRY_LOCKS, ())
        for held in check(enterprise_id, industry_code)
    ]


def verify_tier(actor: User, enterprise_id: int, tier: str) -> Enterprise:
    """Record the tier the enterprise's city confirmed; the declared tier stays as the enterprise sent it.

    :raises NotFound: if the caller may not see the enterprise.
    :raises Forbidden: unless the caller is the office of the enterprise's city or an admin.
    """
    enterprise = get_enterprise(actor, enterprise_id)
    if not (actor.role is Role.ADMIN or (actor.role is Role.CITY_OFFICE and actor.city == enterprise.city)):
        raise Forbidden("企业梯度由企业所在城市的主管部门核实")
    enterprise.verified_tier = tier
    enterprise.tier_verified_by_id = actor.id
    enterprise.tier_verified_at = utcnow()
    db.session.commit()
    return enterprise


def city_locked(enterprise_id: int) -> bool:
    """True if a feature keeps the enterprise in its city, as a city pilot does with its enterprises.

    Features register their checks, ``check(enterprise_id) -> bool``, in
    ``app.extensions[CITY_LOCKS]``; the pilots blueprint does so when it is registered.
    """
    return any(check(enterprise_id) for check in current_app.extensions.get(CITY_LOCKS, ()))


def list_enterprises(actor: User, args: dict) -> dict:
    """List the profiles the caller may see: all for admins, one city for its office, one's own otherwise.

    :raises Forbidden: for providers, who never see enterprise profiles in bulk.
    """
    if actor.role is Role.PROVIDER:
        raise Forbidden("服务商不能查看企业名录")
    query = select(Enterprise)
    if actor.role is Role.CITY_OFFICE:
        query = query.where(Enterprise.city == actor.city)
    elif actor.role is Role.ENTERPRISE:
        query = query.where(Enterprise.owner_id == actor.id)
    if args.get("city"):
        query = query.where(Enterprise.city.in_(args["city"]))
    if args.get("industry"):
        query = query.where(
            or_(*(Enterprise.industry_code.startswith(c, autoescape=True) for c in args["industry"]))
        )
    for key in ("size", "tier", "digital_level"):
        if args.get(key):
            query = query.where(getattr(Enterprise, key).in_(args[key]))
    if args.get("above_scale") is not None:
        query = query.where(Enterprise.above_scale == args["above_scale"])
    query = query.order_by(Enterprise.id)
    return paginate(query, args["page"], args["per_page"])
