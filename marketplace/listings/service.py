"""What waits for review: the solutions and cases a reviewer may approve or reject."""

from __future__ import annotations

from sqlalchemy import select

from marketplace.errors import Forbidden
from marketplace.extensions import db
from marketplace.models import BenchmarkCase, ListingStatus, Role, Solution, User


def review_queue(actor: User) -> dict:
    """The listings in review that ``actor`` decides on, oldest submission first.

    Admins review every solution and case; a city office reviews its city's cases.

    :raises Forbidden: for providers and enterprises.
    """
    if actor.role not in (Role.ADMIN, Role.CITY_OFFICE):
        raise Forbidden("此操作仅限平台管理员、城市主管部门")
    pending_cases = select(BenchmarkCase).where(BenchmarkCase.status == ListingStatus.PENDING_REVIEW)
    if actor.role is Role.CITY_OFFICE:
        pending_cases = pending_cases.where(BenchmarkCase.city == actor.city)
        solutions = []
    else:
        solutions = db.session.scalars(
            select(Solution)
            .where(Solution.status == ListingStatus.PENDING_REVIEW)
            .order_by(Solution.updated_at, Solution.id)
        ).all()
    cases = db.session.scalars(pending_cases.order_by(BenchmarkCase.updated_at, BenchmarkCase.id)).all()
    return {"solutions": solutions, "cases": cases}
