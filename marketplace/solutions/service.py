"""Solutions: listing, review lifecycle and visibility."""

from __future__ import annotations

from sqlalchemy import and_, exists, false, or_, select

from marketplace.common.concurrency import begin_write, commit_write
from marketplace.common.lifecycle import apply_transition, check_editable, get_or_404
from marketplace.common.pagination import paginate
from marketplace.common.provenance import accept, reconcile
from marketplace.common.schemas import load_merged
from marketplace.errors import Forbidden, NotFound, Unprocessable
from marketplace.extensions import db
from marketplace.models import (
    BenchmarkCase,
    ListingStatus,
    Role,
    Solution,
    SolutionLabel,
    User,
    case_solutions,
)
from marketplace.providers.service import own_provider
from marketplace.solutions.schemas import SolutionSchema


def check_consistency(solution: Solution) -> None:
    """Check rules that span fields, after a create or a partial update.

    :raises Unprocessable: naming the offending field.
    """
    if solution.price_min_cny > solution.price_max_cny:
        raise Unprocessable(errors={"price_max_cny": ["最高报价不能低于最低报价"]})
    for uplift in solution.level_uplifts:
        if uplift["scenario"] not in solution.scenarios:
            raise Unprocessable(errors={"level_uplifts": ["等级提升的场景须在方案场景之中"]})


def _assign(solution: Solution, data: dict) -> None:
    for key, value in data.items():
        setattr(solution, key, value)
    check_consistency(solution)


def visibility_clause(actor: User | None):
    """Return the SQL condition for solutions ``actor`` may see."""
    published = Solution.status == ListingStatus.PUBLISHED
    if actor is None:
        return published
    if actor.role is Role.ADMIN:
        return Solution.id.is_not(None)
    if actor.role is Role.PROVIDER and actor.provider is not None:
        return or_(published, Solution.provider_id == actor.provider.id)
    return published


def is_owner(actor: User | None, solution: Solution) -> bool:
    """True if ``actor`` is the provider that lists ``solution``."""
    return actor is not None and actor.provider is not None and solution.provider_id == actor.provider.id


def get_solution(actor: User | None, solution_id: int) -> Solution:
    """Get a solution the caller may see.

    :raises NotFound: if it does not exist or is not visible to the caller.
    """
    solution = get_or_404(Solution, solution_id, "方案")
    if solution.status is not ListingStatus.PUBLISHED and not (
        is_owner(actor, solution) or (actor is not None and actor.role is Role.ADMIN)
    ):
        raise NotFound("方案不存在")
    return solution


def create_solution(actor: User, data: dict) -> Solution:
    """List a new solution as a draft of the caller's company.

    :raises Unprocessable: for an outcome claim marked ``city_accepted`` (see :func:`accept_claim`).
    """
    solution = Solution(provider=own_provider(actor), status=ListingStatus.DRAFT)
    if "outcome_claims" in data:
        data = {
            **data,
            "outcome_claims": reconcile("outcome_claims", data["outcome_claims"], [], actor, False),
        }
    _assign(solution, data)
    db.session.add(solution)
    db.session.commit()
    return solution


def _owned(actor: User, solution_id: int) -> Solution:
    solution = get_solution(actor, solution_id)
    if not is_owner(actor, solution):
        raise Forbidden("只能操作自己公司的方案")
    return solution


def update_solution(
    actor: User, solution_id: int, data: dict, if_match: frozenset[str] | None = None
) -> Solution:
    """Edit an own solution; editing a published one sends it back to review.

    An outcome claim keeps its city acceptance only while its numbers are unchanged.

    :raises Forbidden: for anyone but the owner.
    :raises Conflict: while it is in review or archived.
    :raises Unprocessable: for a claim newly marked ``city_accepted``.
    :raises PreconditionFailed: if ``if_match`` names another version, or it changed meanwhile.
    """
    solution = _owned(actor, solution_id)
    check_editable(solution)
    begin_write(solution, if_match)
    data = load_merged(SolutionSchema(), solution, data)
    if "outcome_claims" in data:
        data["outcome_claims"] = reconcile(
            "outcome_claims", data["outcome_claims"], solution.outcome_claims, actor, False
        )
    _assign(solution, data)
    if solution.status is ListingStatus.PUBLISHED:
        solution.status = ListingStatus.PENDING_REVIEW
    commit_write(if_match)
    return solution


def transition_solution(
    actor: User,
    solution_id: int,
    action: str,
    reason: str | None = None,
    if_match: frozenset[str] | None = None,
) -> Solution:
    """Submit (owner), approve or reject (admin), or archive (owner or admin) a solution.

    :raises Forbidden: if the caller's role may not take ``action``.
    :raises Conflict: if the status does not allow ``action``.
    """
    if action in ("approve", "reject"):
        if actor.role is not Role.ADMIN:
            raise Forbidden("只有平台管理员可以审核方案")
        solution = get_solution(actor, solution_id)
    elif action == "archive" and actor.role is Role.ADMIN:
        solution = get_solution(actor, solution_id)
    else:
        solution = _owned(actor, solution_id)
    begin_write(solution, if_match)
    apply_transition(solution, action, reason)
    commit_write(if_match)
    return solution


def may_accept_claims(actor: User, solution: Solution) -> bool:
    """Admins, and the office of a city where a published case used the solution, accept its claims."""
    if actor.role is Role.ADMIN:
        return True
    if actor.role is not Role.CITY_OFFICE:
        return False
    used_in_city = (
        select(BenchmarkCase.id)
        .join(case_solutions, case_solutions.c.case_id == BenchmarkCase.id)
        .where(
            case_solutions.c.solution_id == solution.id,
            BenchmarkCase.city == actor.city,
            BenchmarkCase.status == ListingStatus.PUBLISHED,
        )
        .limit(1)
    )
    return db.session.scalar(used_in_city) is not None


def accept_claim(
    actor: User, solution_id: int, index: int, if_match: frozenset[str] | None = None
) -> Solution:
    """Mark outcome claim ``index`` of a published solution as accepted by the caller's city (or an admin).

    :raises Forbidden: unless :func:`may_accept_claims`.
    :raises NotFound: if the solution or the claim does not exist.
    :raises Conflict: if the claim is accepted already.
    """
    solution = get_solution(actor, solution_id)
    if not may_accept_claims(actor, solution):
        raise Forbidden("只有平台管理员或使用该方案的已发布案例所在城市的主管部门可以验收效果数据")
    begin_write(solution, if_match)
    solution.outcome_claims = accept("outcome_claims", solution.outcome_claims, index, actor)
    commit_write(if_match)
    return solution


def _has_label(kind: str, values: list[str], prefix: bool = False):
    match = (
        or_(*(SolutionLabel.value.startswith(v, autoescape=True) for v in values))
        if prefix
        else SolutionLabel.value.in_(values)
    )
    return exists().where(and_(SolutionLabel.solution_id == Solution.id, SolutionLabel.kind == kind, match))


def list_solutions(actor: User | None, args: dict) -> dict:
    """List the solutions the caller may see, filtered and newest first."""
    query = select(Solution).where(visibility_clause(actor))
    if args.get("mine"):
        own_id = actor.provider.id if actor is not None and actor.provider is not None else None
        query = query.where(Solution.provider_id == own_id if own_id else false())
    if args.get("industry"):
        query = query.where(_has_label("industries", args["industry"], prefix=True))
    for kind, arg in (("scenarios", "scenario"), ("tags", "tag"), ("delivery_modes", "delivery_mode")):
        if args.get(arg):
            query = query.where(_has_label(kind, args[arg]))
    if args.get("provider_id"):
        query = query.where(Solution.provider_id.in_(args["provider_id"]))
    if args.get("status"):
        query = query.where(Solution.status.in_(args["status"]))
    if args.get("price_max_cny") is not None:
        query = query.where(Solution.price_min_cny <= args["price_max_cny"])
    if args.get("deploy_days_max") is not None:
        query = query.where(Solution.deploy_days <= args["deploy_days_max"])
    query = query.order_by(Solution.created_at.desc(), Solution.id.desc())
    return paginate(query, args["page"], args["per_page"])
