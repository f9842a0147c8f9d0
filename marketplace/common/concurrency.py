"""Optimistic concurrency for solutions, cases, providers and enterprise profiles.

Each of these rows carries a ``version`` that SQLAlchemy checks and raises on every ``UPDATE``
(``version_id_col``). Reads answer it as an ``ETag``; a write may send it back in ``If-Match``:
a stale tag is a 412 before anything changes, and a write that loses a race at commit is a 412
(with ``If-Match``) or a 409 (without), never a 500. A write without ``If-Match`` still works:
the last writer wins, as before, unless two writes meet in the same instant.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from marketplace.errors import Conflict, PreconditionFailed
from marketplace.extensions import db
from marketplace.models import utcnow

STALE_MESSAGE = "该记录已被他人修改，请刷新后重试"


def version_tag(row) -> str:
    """The entity tag of a row's stored version (unquoted), e.g. ``12.3`` for id 12 at version 3."""
    return f"{row.id}.{row.version}"


def begin_write(row, if_match: frozenset[str] | None) -> None:
    """Check ``If-Match`` against the row's version, and make the coming flush bump that version.

    The row is touched (``updated_at``) so that an edit of its labels or scenarios alone still
    updates, and checks, its own version.

    :param if_match: the strong tags the request sent, or None if it sent no ``If-Match`` (or ``*``).
    :raises PreconditionFailed: if the request's tags do not name the stored version.
    """
    if if_match is not None and version_tag(row) not in if_match:
        raise PreconditionFailed(STALE_MESSAGE)
    row.updated_at = utcnow()


def commit_write(if_match: frozenset[str] | None) -> None:
    """Commit a write; one that lost a race answers 412 (it sent ``If-Match``) or 409, and changes nothing.

    :raises PreconditionFailed: if the row changed since it was read and the request sent ``If-Match``.
    :raises Conflict: if it changed without ``If-Match``, or a uniqueness rule was raced.
    """
    try:
        db.session.commit()
    except StaleDataError as error:
        db.session.rollback()
        raise (PreconditionFailed if if_match is not None else Conflict)(STALE_MESSAGE) from error
    except IntegrityError as error:
        db.session.rollback()
        raise Conflict("数据冲突（可能已被他人同时提交），请刷新后重试") from error
