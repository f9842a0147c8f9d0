"""Inquiries (对接): an enterprise asks about a solution, its provider answers and tracks it."""

from __future__ import annotations

from sqlalchemy import select

from marketplace.common.lifecycle import get_or_404
from marketplace.common.pagination import paginate
from marketplace.errors import Forbidden, NotFound, Unprocessable
from marketplace.extensions import db
from marketplace.models import Inquiry, InquiryReply, InquiryStatus, ListingStatus, Role, Solution, User
from marketplace.recommendations.service import log_inquiry
from marketplace.solutions.service import get_solution


def _is_provider_party(actor: User, inquiry: Inquiry) -> bool:
    return actor.provider is not None and inquiry.solution.provider_id == actor.provider.id


def _is_enterprise_party(actor: User, inquiry: Inquiry) -> bool:
    return actor.enterprise is not None and inquiry.enterprise_id == actor.enterprise.id


def create_inquiry(actor: User, solution_id: int, message: str, request_id: str | None = None) -> Inquiry:
    """Send an inquiry about a published solution from the caller's enterprise, logged as feedback.

    :raises Unprocessable: if the enterprise account has no profile yet.
    :raises NotFound: if the solution is not published.
    """
    if actor.enterprise is None:
        raise Unprocessable("请先创建企业档案（POST /api/v1/enterprises）")
    solution = get_solution(actor, solution_id)
    if solution.status is not ListingStatus.PUBLISHED:
        raise NotFound("方案不存在")
    inquiry = Inquiry(solution=solution, enterprise=actor.enterprise, message=message)
    db.session.add(inquiry)
    log_inquiry(actor, solution.id, request_id)
    db.session.commit()
    return inquiry


def get_inquiry(actor: User, inquiry_id: int) -> Inquiry:
    """Get an inquiry the caller is a party to (or any, for an admin).

    :raises NotFound: if it does not exist or the caller is not a party.
    """
    inquiry = get_or_404(Inquiry, inquiry_id, "对接")
    if not (
        actor.role is Role.ADMIN or _is_provider_party(actor, inquiry) or _is_enterprise_party(actor, inquiry)
    ):
        raise NotFound("对接不存在")
    return inquiry


def reply(actor: User, inquiry_id: int, message: str) -> Inquiry:
    """Add a message to the thread (either party); a provider's first reply marks it contacted.

    :raises Forbidden: for an admin, who may read but not speak for a party.
    """
    inquiry = get_inquiry(actor, inquiry_id)
    if actor.role is Role.ADMIN:
        raise Forbidden("管理员不能代替对接双方回复")
    inquiry.replies.append(InquiryReply(author_id=actor.id, author_role=actor.role.value, message=message))
    if actor.role is Role.PROVIDER and inquiry.status is InquiryStatus.NEW:
        inquiry.status = InquiryStatus.CONTACTED
    db.session.commit()
    return inquiry


def set_status(actor: User, inquiry_id: int, status: str) -> Inquiry:
    """Record the outcome of an inquiry (the provider only).

    :raises Forbidden: for anyone but the provider of the solution.
    """
    inquiry = get_inquiry(actor, inquiry_id)
    if not _is_provider_party(actor, inquiry):
        raise Forbidden("只有方案所属服务商可以更新对接状态")
    inquiry.status = InquiryStatus(status)
    db.session.commit()
    return inquiry


def list_inquiries(actor: User, args: dict) -> dict:
    """List the inquiries the caller is a party to, newest first.

    :raises Forbidden: for a city office.
    """
    query = select(Inquiry)
    if actor.role is Role.PROVIDER:
        provider_id = actor.provider.id if actor.provider else None
        query = query.join(Solution).where(Solution.provider_id == provider_id)
    elif actor.role is Role.ENTERPRISE:
        enterprise_id = actor.enterprise.id if actor.enterprise else None
        query = query.where(Inquiry.enterprise_id == enterprise_id)
    elif actor.role is not Role.ADMIN:
        raise Forbidden("城市主管部门不能查看企业与服务商的对接")
    if args.get("status"):
        query = query.where(Inquiry.status.in_(args["status"]))
    if args.get("solution_id"):
        query = query.where(Inquiry.solution_id.in_(args["solution_id"]))
    query = query.order_by(Inquiry.created_at.desc(), Inquiry.id.desc())
    return paginate(query, args["page"], args["per_page"])
