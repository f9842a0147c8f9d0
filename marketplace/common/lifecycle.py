"""Review lifecycle shared by solutions and cases, and small store helpers."""

from __future__ import annotations

from marketplace.common.schemas import MAX_ID
from marketplace.errors import Conflict, NotFound
from marketplace.extensions import db
from marketplace.models import ListingStatus, utcnow

S = ListingStatus
TRANSITIONS: dict[str, tuple[frozenset[ListingStatus], ListingStatus]] = {
    "submit": (frozenset({S.DRAFT, S.REJECTED}), S.PENDING_REVIEW),
    "approve": (frozenset({S.PENDING_REVIEW}), S.PUBLISHED),
    "reject": (frozenset({S.PENDING_REVIEW}), S.REJECTED),
    "archive": (frozenset({S.PUBLISHED}), S.ARCHIVED),
}
STATUS_NAMES = {
    S.DRAFT: "草稿",
    S.PENDING_REVIEW: "待审核",
    S.PUBLISHED: "已发布",
    S.REJECTED: "已驳回",
    S.ARCHIVED: "已下架",
}
EDITABLE = frozenset({S.DRAFT, S.REJECTED, S.PUBLISHED})


def apply_transition(listing, action: str, note: str | None = None) -> None:
    """Move a solution or case along the lifecycle; the caller commits.

    :raises Conflict: if ``action`` is not allowed from the listing's status.
    """
    sources, target = TRANSITIONS[action]
    if listing.status not in sources:
        raise Conflict(f"{STATUS_NAMES[listing.status]}状态不能执行此操作")
    listing.status = target
    if action in ("reject", "approve"):
        listing.review_note = note
    if target is S.PUBLISHED:
        listing.published_at = utcnow()


def check_editable(listing) -> None:
    """Refuse edits while a listing is in review or archived.

    :raises Conflict: in pending_review or archived status.
    """
    if listing.status not in EDITABLE:
        raise Conflict(f"{STATUS_NAMES[listing.status]}状态不能修改")


def get_or_404(model, ident: int, label: str):
    """Load a row by primary key, or raise a 404 naming what was missing."""
    row = db.session.get(model, ident) if 0 < ident <= MAX_ID else None
    if row is None:
        raise NotFound(f"{label}不存在")
    return row
