"""Benchmark cases (转型样板): authoring, review, visibility and city promotions."""

from __future__ import annotations

from datetime import date

from sqlalchemy import and_, exists, or_, select

from marketplace.cases.schemas import CaseSchema
from marketplace.common.concurrency import begin_write, commit_write
from marketplace.common.lifecycle import apply_transition, check_editable, get_or_404
from marketplace.common.pagination import paginate
from marketplace.common.provenance import accept, reconcile
from marketplace.common.schemas import load_merged
from marketplace.errors import Conflict, Forbidden, NotFound, Unprocessable
from marketplace.extensions import db
from marketplace.models import (
    BenchmarkCase,
    CasePromotion,
    CaseScenario,
    ListingStatus,
    Role,
    Solution,
    User,
    case_solutions,
    utcnow,
)
from marketplace.providers.service import own_provider


def is_reviewer(actor: User | None, case: BenchmarkCase) -> bool:
    """Admins review every case; a city office reviews the cases of its city."""
    if actor is None:
        return False
    return actor.role is Role.ADMIN or (actor.role is Role.CITY_OFFICE and actor.city == case.city)


def visibility_clause(actor: User | None):
    """Return the SQL condition for cases ``actor`` may see."""
    published = BenchmarkCase.status == ListingStatus.PUBLISHED
    if actor is None:
        return published
    if actor.role is Role.ADMIN:
        return BenchmarkCase.id.is_not(None)
    if actor.role is Role.CITY_OFFICE:
        submitted = BenchmarkCase.status != ListingStatus.DRAFT
        return or_(published, and_(BenchmarkCase.city == actor.city, submitted))
    return or_(published, BenchmarkCase.author_id == actor.id)


def get_case(actor: User | None, case_id: int) -> BenchmarkCase:
    """Get a case the caller may see; a provider's draft stays private until it is submitted.

    :raises NotFound: if it does not exist or is not visible to the caller.
    """
    case = get_or_404(BenchmarkCase, case_id, "案例")
    visible = (
        case.status is ListingStatus.PUBLISHED
        or (actor is not None and (case.author_id == actor.id or actor.role is Role.ADMIN))
        or (is_reviewer(actor, case) and case.status is not ListingStatus.DRAFT)
    )
    if not visible:
        raise NotFound("案例不存在")
    return case


def _resolve_solutions(ids: list[int]) -> list[Solution]:
    wanted = list(dict.fromkeys(ids))
    found = db.session.scalars(
        select(Solution).where(Solution.id.in_(wanted), Solution.status == ListingStatus.PUBLISHED)
    ).all()
    missing = sorted(set(wanted) - {solution.id for solution in found})
    if missing:
        listed = "、".join(map(str, missing))
        raise Unprocessable(errors={"solution_ids": [f"方案不存在或未发布：{listed}"]})
    return sorted(found, key=lambda solution: wanted.index(solution.id))


def _assign(case: BenchmarkCase, data: dict) -> None:
    data = dict(data)
    if "solution_ids" in data:
        case.solutions = _resolve_solutions(data.pop("solution_ids"))
    for key, value in data.items():
        setattr(case, key, value)
    if case.level_before > case.level_after:
        raise Unprocessable(errors={"level_after": ["改造后等级不能低于改造前等级"]})


def _check_city(actor: User, city: str) -> None:
    if actor.role is Role.CITY_OFFICE and city != actor.city:
        raise Forbidden("城市主管部门只能管理本市的案例")


def create_case(actor: User, data: dict) -> BenchmarkCase:
    """Create a case: published at once for its city's office or an admin, a draft for a provider.

    Metrics marked ``city_accepted`` are accepted by the office or admin who writes them.

    :raises Forbidden: for enterprises, or a city office writing for another city.
    :raises Unprocessable: for a provider's metric marked ``city_accepted``.
    """
    if actor.role is Role.ENTERPRISE:
        raise Forbidden("企业账号不能发布案例")
    _check_city(actor, data["city"])
    if "metrics" in data:
        data = {
            **data,
            "metrics": reconcile("metrics", data["metrics"], [], actor, actor.role is not Role.PROVIDER),
        }
    case = BenchmarkCase(author=actor)
    if actor.role is Role.PROVIDER:
        case.provider = own_provider(actor)
        case.status = ListingStatus.DRAFT
    else:
        case.status = ListingStatus.PUBLISHED
        case.published_at = utcnow()
    _assign(case, data)
    db.session.add(case)
    db.session.commit()
    return case


def _managed(actor: User, case_id: int) -> BenchmarkCase:
    case = get_case(actor, case_id)
    if case.author_id != actor.id and not is_reviewer(actor, case):
        raise Forbidden("只能修改自己发布或本市的案例")
    return case


def update_case(
    actor: User, case_id: int, data: dict, if_match: frozenset[str] | None = None
) -> BenchmarkCase:
    """Edit a case (its author or reviewer); a provider's edit of a published case goes back to review.

    A metric keeps its city acceptance only while its numbers are unchanged; the reviewer's own
    ``city_accepted`` metrics are accepted by the reviewer.

    :raises Conflict: while the case is in review or archived.
    :raises Unprocessable: for a provider's metric newly marked ``city_accepted``.
    """
    case = _managed(actor, case_id)
    check_editable(case)
    begin_write(case, if_match)
    data = load_merged(CaseSchema(), case, data)
    if "city" in data:
        _check_city(actor, data["city"])
    if "metrics" in data:
        data["metrics"] = reconcile("metrics", data["metrics"], case.metrics, actor, is_reviewer(actor, case))
    _assign(case, data)
    if case.status is ListingStatus.PUBLISHED and actor.role is Role.PROVIDER:
        case.status = ListingStatus.PENDING_REVIEW
    commit_write(if_match)
    return case


def transition_case(
    actor: User,
    case_id: int,
    action: str,
    reason: str | None = None,
    if_match: frozenset[str] | None = None,
) -> BenchmarkCase:
    """Submit (author), approve or reject (reviewer), or archive (author or reviewer) a case.

    :raises Forbidden: if the caller may not take ``action`` on this case.
    :raises Conflict: if the status does not allow ``action``.
    """
    case = get_case(actor, case_id)
    allowed = {
        "submit": case.author_id == actor.id,
        "approve": is_reviewer(actor, case),
        "reject": is_reviewer(actor, case),
        "archive": case.author_id == actor.id or is_reviewer(actor, case),
    }[action]
    if not allowed:
        raise Forbidden("无权对该案例执行此操作")
    begin_write(case, if_match)
    apply_transition(case, action, reason)
    commit_write(if_match)
    return case


def accept_metric(
    actor: User, case_id: int, index: int, if_match: frozenset[str] | None = None
) -> BenchmarkCase:
    """Mark metric ``index`` of a case as accepted by the office of its city (or an admin).

    :raises Forbidden: for anyone but the case's reviewers.
    :raises NotFound: if the case or the metric does not exist.
    :raises Conflict: if the metric is accepted already.
    """
    case = get_case(actor, case_id)
    if not is_reviewer(actor, case):
        raise Forbidden("只有案例所在城市的主管部门或平台管理员可以验收效果数据")
    begin_write(case, if_match)
    case.metrics = accept("metrics", case.metrics, index, actor)
    commit_write(if_match)
    return case


def promote_case(actor: User, case_id: int, data: dict) -> CasePromotion:
    """Promote a published case of the city office's own city for a bounded time.

    :raises Forbidden: unless the caller is the office of the case's city.
    :raises Conflict: if the case is unpublished or a promotion overlaps.
    """
    case = get_case(actor, case_id)
    if actor.role is not Role.CITY_OFFICE or actor.city != case.city:
        raise Forbidden("只有案例所在城市的主管部门可以推广该案例")
    if case.status is not ListingStatus.PUBLISHED:
        raise Conflict("只能推广已发布的案例")
    for other in case.promotions:
        if (
            other.ended_at is None
            and other.starts_on <= data["ends_on"]
            and data["starts_on"] <= other.ends_on
        ):
            raise Conflict("该时段已有推广", {"starts_on": ["与已有推广时段重叠"]})
    promotion = CasePromotion(case=case, city=case.city, created_by_id=actor.id, **data)
    db.session.add(promotion)
    db.session.commit()
    return promotion


def end_promotion(actor: User, case_id: int, promotion_id: int) -> CasePromotion:
    """End a promotion early (the office of its city, or an admin).

    :raises Conflict: if it has already ended.
    """
    promotion = get_or_404(CasePromotion, promotion_id, "推广")
    if promotion.case_id != case_id:
        raise NotFound("推广不存在")
    if not is_reviewer(actor, promotion.case):
        raise Forbidden("只有案例所在城市的主管部门可以结束推广")
    if promotion.ended_at is not None:
        raise Conflict("该推广已结束")
    promotion.ended_at = utcnow()
    db.session.commit()
    return promotion


def _running_promotion():
    today = date.today()
    return exists().where(
        and_(
            CasePromotion.case_id == BenchmarkCase.id,
            CasePromotion.ended_at.is_(None),
            CasePromotion.starts_on <= today,
            CasePromotion.ends_on >= today,
        )
    )


def list_cases(actor: User | None, args: dict) -> dict:
    """List the cases the caller may see, filtered and newest first."""
    query = select(BenchmarkCase).where(visibility_clause(actor))
    if args.get("city"):
        query = query.where(BenchmarkCase.city.in_(args["city"]))
    if args.get("province"):
        query = query.where(BenchmarkCase.province.in_(args["province"]))
    if args.get("industry"):
        query = query.where(
            or_(*(BenchmarkCase.industry_code.startswith(c, autoescape=True) for c in args["industry"]))
        )
    if args.get("scenario"):
        query = query.where(
            exists().where(
                and_(CaseScenario.case_id == BenchmarkCase.id, CaseScenario.scenario.in_(args["scenario"]))
            )
        )
    if args.get("solution_id"):
        query = query.where(
            exists().where(
                and_(
                    case_solutions.c.case_id == BenchmarkCase.id,
                    case_solutions.c.solution_id.in_(args["solution_id"]),
                )
            )
        )
    if args.get("provider_id"):
        query = query.where(BenchmarkCase.provider_id.in_(args["provider_id"]))
    if args.get("status"):
        query = query.where(BenchmarkCase.status.in_(args["status"]))
    if args.get("promoted") is not None:
        running = _running_promotion()
        query = query.where(running if args["promoted"] else ~running)
    if args.get("level_after_min") is not None:
        query = query.where(BenchmarkCase.level_after >= args["level_after_min"])
    query = query.order_by(BenchmarkCase.created_at.desc(), BenchmarkCase.id.desc())
    return paginate(query, args["page"], args["per_page"])
