"""The 细分行业 of a city's pilot, and the enrolment of the city's enterprises in them."""

from __future__ import annotations

from sqlalchemy import select

from marketplace.common.schemas import load_merged
from marketplace.errors import Conflict, NotFound, Unprocessable
from marketplace.extensions import db
from marketplace.models import Enterprise, User
from marketplace.pilots.access import check_city_staff
from marketplace.pilots.models import PilotEnrolment, PilotSubIndustry, RetrofitProject
from marketplace.pilots.schemas import SubIndustrySchema


def list_sub_industries(actor: User, city: str) -> list[PilotSubIndustry]:
    """The 细分行业 of a city's pilot."""
    check_city_staff(actor, city)
    return db.session.scalars(
        select(PilotSubIndustry).where(PilotSubIndustry.city == city).order_by(PilotSubIndustry.id)
    ).all()


def _sub_industry(actor: User, city: str, sub_industry_id: int) -> PilotSubIndustry:
    check_city_staff(actor, city)
    sub_industry = db.session.get(PilotSubIndustry, sub_industry_id)
    if sub_industry is None or sub_industry.city != city:
        raise NotFound("细分行业不存在")
    return sub_industry


def get_sub_industry(actor: User, city: str, sub_industry_id: int) -> PilotSubIndustry:
    """One 细分行业 of a city's pilot.

    :raises NotFound: if it does not exist in ``city``.
    """
    return _sub_industry(actor, city, sub_industry_id)


def _ensure_name_free(city: str, name: str, own_id: int | None = None) -> None:
    clash = db.session.scalar(
        select(PilotSubIndustry.id).where(PilotSubIndustry.city == city, PilotSubIndustry.name == name)
    )
    if clash is not None and clash != own_id:
        raise Conflict("本市已有同名细分行业", {"name": ["本市已有同名细分行业"]})


def create_sub_industry(actor: User, city: str, data: dict) -> PilotSubIndustry:
    """Define a 细分行业 of the city's pilot: its label, GB/T codes and retrofit target.

    :raises Conflict: if the city already has one of that name.
    """
    check_city_staff(actor, city)
    _ensure_name_free(city, data["name"])
    sub_industry = PilotSubIndustry(city=city, created_by_id=actor.id, **data)
    db.session.add(sub_industry)
    db.session.commit()
    return sub_industry


def update_sub_industry(actor: User, city: str, sub_industry_id: int, data: dict) -> PilotSubIndustry:
    """Change a 细分行业's label, codes or retrofit target.

    :raises Conflict: if the new label is taken in the city, or the new codes leave out enrolled
        enterprises (``errors.industry_codes`` names them).
    """
    sub_industry = _sub_industry(actor, city, sub_industry_id)
    data = load_merged(SubIndustrySchema(), sub_industry, data)
    if "name" in data:
        _ensure_name_free(city, data["name"], sub_industry.id)
    if "industry_codes" in data:
        orphans = [
            row.enterprise
            for row in sub_industry.enrolments
            if not industry_matches(row.enterprise.industry_code, data["industry_codes"])
        ]
        if orphans:
            listed = "、".join(f"{e.name}（{e.industry_code}）" for e in orphans)
            raise Conflict(
                "新的行业代码不再包含已纳入的企业，请先调整这些企业的纳入",
                {"industry_codes": [f"已纳入但不在新行业代码范围内：{listed}"]},
            )
    for key, value in data.items():
        setattr(sub_industry, key, value)
    db.session.commit()
    return sub_industry


def industry_matches(enterprise_code: str, codes: list[str]) -> bool:
    """An enterprise fits a 细分行业 when its code lies at or below one of the codes in GB/T 4754.

    A 中类 enterprise (C292) does not fit a 小类 细分行业 (C2929): its own 小类 is unknown.
    """
    return any(enterprise_code.startswith(code) for code in codes)


def enrolments_outside(enterprise_id: int, industry_code: str) -> list[str]:
    """The enrolments of an enterprise that ``industry_code`` would leave: "city 细分行业 (codes)"."""
    rows = db.session.scalars(select(PilotEnrolment).where(PilotEnrolment.enterprise_id == enterprise_id))
    return [
        f"{row.sub_industry.city}“{row.sub_industry.name}”（{'、'.join(row.sub_industry.industry_codes)}）"
        for row in rows
        if not industry_matches(industry_code, row.sub_industry.industry_codes)
    ]


def enrol(actor: User, city: str, sub_industry_id: int, enterprise_ids: list[int]) -> PilotSubIndustry:
    """Enrol enterprises of the city in a 细分行业; enrolling one already there changes nothing.

    :raises Unprocessable: for enterprises not in the city or outside the 细分行业's codes.
    :raises Conflict: for enterprises enrolled in another 细分行业.
    """
    sub_industry = _sub_industry(actor, city, sub_industry_id)
    wanted = list(dict.fromkeys(enterprise_ids))
    found = {
        e.id: e
        for e in db.session.scalars(
            select(Enterprise).where(Enterprise.id.in_(wanted), Enterprise.city == city)
        )
    }
    enrolled = {
        row.enterprise_id: row
        for row in db.session.scalars(select(PilotEnrolment).where(PilotEnrolment.enterprise_id.in_(wanted)))
    }
    missing = [i for i in wanted if i not in found]
    if missing:
        listed = "、".join(map(str, missing))
        raise Unprocessable(errors={"enterprise_ids": [f"企业不存在或不在{city}：{listed}"]})
    outside = [i for i in wanted if not industry_matches(found[i].industry_code, sub_industry.industry_codes)]
    if outside:
        listed = "、".join(f"{found[i].name}（{found[i].industry_code}）" for i in outside)
        raise Unprocessable(
            errors={"enterprise_ids": [f"企业所属行业不在该细分行业的行业代码范围内：{listed}"]}
        )
    elsewhere = [i for i in wanted if i in enrolled and enrolled[i].sub_industry_id != sub_industry.id]
    if elsewhere:
        listed = "、".join(found[i].name for i in elsewhere)
        raise Conflict("企业已纳入其他细分行业", {"enterprise_ids": [f"已纳入其他细分行业：{listed}"]})
    for enterprise_id in wanted:
        if enterprise_id not in enrolled:
            db.session.add(
                PilotEnrolment(
                    sub_industry=sub_industry, enterprise=found[enterprise_id], enrolled_by_id=actor.id
                )
            )
    db.session.commit()
    return sub_industry


def unenrol(actor: User, city: str, sub_industry_id: int, enterprise_id: int) -> None:
    """Take an enterprise out of a 细分行业.

    :raises NotFound: if it is not enrolled there.
    :raises Conflict: if it has a retrofit project in the pilot.
    """
    sub_industry = _sub_industry(actor, city, sub_industry_id)
    enrolment = db.session.scalar(
        select(PilotEnrolment).where(
            PilotEnrolment.sub_industry_id == sub_industry.id, PilotEnrolment.enterprise_id == enterprise_id
        )
    )
    if enrolment is None:
        raise NotFound("该企业未纳入此细分行业")
    if db.session.scalar(select(RetrofitProject.id).where(RetrofitProject.enterprise_id == enterprise_id)):
        raise Conflict("该企业已有改造项目，不能退出试点")
    db.session.delete(enrolment)
    db.session.commit()


def in_city_pilot(enterprise_id: int) -> bool:
    """True if the enterprise is enrolled in a pilot 细分行业 or has a retrofit project."""
    return any(
        db.session.scalar(select(model.enterprise_id).where(model.enterprise_id == enterprise_id).limit(1))
        is not None
        for model in (PilotEnrolment, RetrofitProject)
    )
