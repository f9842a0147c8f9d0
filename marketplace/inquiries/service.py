"""Inquiries (对接): an enterprise asks about a solution, its provider answers and tracks it.

The provider moves an inquiry along :data:`NEXT_STATUSES`; every change is one conditional
``UPDATE … WHERE status = <the status it was read in>``, so a change computed from a stale read
never overwrites another made meanwhile.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from marketplace.common.lifecycle import get_or_404
from marketplace.common.pagination import paginate
from marketplace.errors import Conflict, Forbidden, NotFound, Unprocessable
from marketplace.extensions import db
from marketplace.models import (
    Inquiry,
    InquiryReply,
    InquiryStatus,
    ListingStatus,
    Role,
    Solution,
    User,
    utcnow,
)
from marketplace.recommendations.service import log_inquiry
from marketplace.solutions.service import get_solution

S = InquiryStatus
NEXT_STATUSES: dict[InquiryStatus, tuple[InquiryStatus, ...]] = {
    S.NEW: (S.CONTACTED, S.WON, S.LOST),
    S.CONTACTED: (S.WON, S.LOST),
    S.WON: (),
    S.LOST: (),
}
"""Where an inquiry may go from each status; won and lost are final."""
STATUS_NAMES = {S.NEW: "新咨询", S.CONTACTED: "已联系", S.WON: "已成交", S.LOST: "未成交"}
DUPLICATE_WINDOW = timedelta(minutes=10)
DUPLICATE_MESSAGE = "10 分钟内已就该方案发送过相同内容的咨询"


def _is_provider_party(actor: User, inquiry: Inquiry) -> bool:
    return actor.provider is not None and inquiry.solution.provider_id == actor.provider.id


def _is_enterprise_party(actor: User, inquiry: Inquiry) -> bool:
    return actor.enterprise is not None and inquiry.enterprise_id == actor.enterprise.id


def create_inquiry(actor: User, solution_id: int, message: str, request_id: str | None = None) -> Inquiry:
    """Send an inquiry about a published solution from the caller's enterprise, logged as feedback.

    :raises Unprocessable: if the enterprise account has no profile yet, or ``request_id`` names no
        list served to the caller with the solution in it.
    :raises NotFound: if the solution is not published.
    :raises Conflict: if the same enterprise sent the same message about it in the last 10 minutes.
    """
    if actor.enterprise is None:
        raise Unprocessable("请先创建企业档案（POST /api/v1/enterprises）")
    solution = get_solution(actor, solution_id)
    if solution.status is not ListingStatus.PUBLISHED:
        raise NotFound("方案不存在")
    enterprise = actor.enterprise
    now = utcnow()
    repeated = select(Inquiry.id).where(
        Inquiry.enterprise_id == enterprise.id,
        Inquiry.solution_id == solution.id,
        Inquiry.message == message,
        Inquiry.created_at >= now - DUPLICATE_WINDOW,
    )
    if db.session.scalar(repeated.limit(1)) is not None:
        raise Conflict(DUPLICATE_MESSAGE, {"message": [DUPLICATE_MESSAGE]})
    log_inquiry(actor, solution.id, request_id)
    inquiry = Inquiry(
        solution=solution,
        enterprise=enterprise,
        message=message,
        created_at=now,
        duplicate_key=duplicate_key(enterprise.id, solution.id, message, now),
    )
    db.session.add(inquiry)
    try:
        db.session.commit()
    except IntegrityError as error:
        db.session.rollback()
        raise Conflict(DUPLICATE_MESSAGE, {"message": [DUPLICATE_MESSAGE]}) from error
    return inquiry


def duplicate_key(enterprise_id: int, solution_id: int, message: str, at) -> str:
    """A key that two inquiries share when one sender sends one message about one solution in one window.

    The store keeps it unique, so a burst of identical inquiries sent at the same moment (which the
    check for an earlier one cannot see) is refused as well.
    """
    window = int(at.timestamp() // DUPLICATE_WINDOW.total_seconds())
    return hashlib.sha256(f"{enterprise_id}:{solution_id}:{window}:{message}".encode()).hexdigest()


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
        _move(inquiry.id, InquiryStatus.NEW, InquiryStatus.CONTACTED, actor)
    db.session.commit()
    return inquiry


def _move(inquiry_id: int, current: InquiryStatus, target: InquiryStatus, actor: User) -> bool:
    """Change the status only if it is still ``current``; True if it was changed (the caller commits)."""
    now = utcnow()
    result = db.session.execute(
        update(Inquiry)
        .where(Inquiry.id == inquiry_id, Inquiry.status == current)
        .values(status=target, status_changed_at=now, status_changed_by_id=actor.id, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _refused(current: InquiryStatus, target: InquiryStatus) -> Conflict:
    allowed = NEXT_STATUSES[current]
    then = "、".join(s.value for s in allowed) if allowed else "无（已是最终状态）"
    message = (
        f"对接状态为「{STATUS_NAMES[current]}」（{current.value}），不能改为 {target.value}；可改为：{then}"
    )
    return Conflict(message, {"status": [message], "allowed_status": [s.value for s in allowed]})


def set_status(actor: User, inquiry_id: int, status: str) -> Inquiry:
    """Record the outcome of an inquiry (the provider only), along :data:`NEXT_STATUSES`.

    The change records who made it and when.

    :raises Forbidden: for anyone but the provider of the solution.
    :raises Conflict: if the status may not go to ``status``, now or after a change made meanwhile;
        ``errors.allowed_status`` lists where it may go.
    """
    inquiry = get_inquiry(actor, inquiry_id)
    if not _is_provider_party(actor, inquiry):
        raise Forbidden("只有方案所属服务商可以更新对接状态")
    current, target = inquiry.status, InquiryStatus(status)
    if target not in NEXT_STATUSES[current]:
        raise _refused(current, target)
    if not _move(inquiry.id, current, target, actor):
        db.session.rollback()
        raise _refused(db.session.get(Inquiry, inquiry.id).status, target)
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
