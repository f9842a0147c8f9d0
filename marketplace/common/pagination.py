"""Run a filtered select one page at a time."""

from __future__ import annotations

from sqlalchemy import Select, func, select

from marketplace.extensions import db


def paginate(query: Select, page: int, per_page: int) -> dict:
    """Return ``{items, total, page, per_page}`` for ``query``, which must be ordered."""
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    items = db.session.scalars(query.limit(per_page).offset((page - 1) * per_page)).all()
    return {"items": items, "total": total, "page": page, "per_page": per_page}
