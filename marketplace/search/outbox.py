"""The transactional outbox: changes reach the search index without ever being lost.

Whenever a flush touches a solution, a case, a promotion or a provider's place or name, an
``index_outbox`` row naming the affected item is inserted in the same transaction. After the
transaction commits, :func:`drain` re-reads each named item from the store and upserts or deletes
its document. If the index is down, the rows wait for the next drain or ``flask index sync``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from itertools import chain

from flask_sqlalchemy.session import Session
from sqlalchemy import delete, event, insert, inspect, literal, select

from indexing.base import SearchBackend
from marketplace.extensions import db
from marketplace.models import (
    BenchmarkCase,
    CasePromotion,
    CaseScenario,
    IndexOutbox,
    Provider,
    Solution,
    SolutionLabel,
    case_solutions,
)
from marketplace.search import vectors
from marketplace.search.documents import build_documents
from marketplace.taxonomy.service import Taxonomy

log = logging.getLogger(__name__)
PENDING = "index_outbox_pending"
PROVIDER_FIELDS_IN_DOCUMENTS = ("name", "city", "province")
DRAIN_BATCH = 2_000
"""Outbox rows applied per index commit. Each commit opens tantivy's writer and waits for its
merges; on a 30k backlog, 2,000 rows per commit drained 3,560-4,130 docs/s against 2,840-2,900
with 500 (5,000 gave no more)."""


def _affected(obj) -> tuple[str, int] | None:
    if isinstance(obj, Solution):
        return "solution", obj.id
    if isinstance(obj, SolutionLabel):
        return "solution", obj.solution_id
    if isinstance(obj, BenchmarkCase):
        return "case", obj.id
    if isinstance(obj, CasePromotion | CaseScenario):
        return "case", obj.case_id
    return None


def _provider_changed(provider: Provider) -> bool:
    state = inspect(provider)
    return any(state.attrs[name].history.has_changes() for name in PROVIDER_FIELDS_IN_DOCUMENTS)


@event.listens_for(Session, "after_flush")
def record_changes(session, flush_context) -> None:
    """Insert outbox rows, in the flushing transaction, for every indexed item it touched."""
    keys = {key for obj in chain(session.new, session.dirty, session.deleted) if (key := _affected(obj))}
    rows = [{"kind": kind, "entity_id": entity_id} for kind, entity_id in keys if entity_id is not None]
    providers = [obj for obj in session.dirty if isinstance(obj, Provider) and _provider_changed(obj)]
    moved = [
        obj.id
        for obj in session.dirty
        if isinstance(obj, Solution) and inspect(obj).attrs["status"].history.has_changes()
    ]
    if not rows and not providers and not moved:
        return
    connection = session.connection()
    if rows:
        connection.execute(insert(IndexOutbox), rows)
    if moved:
        # A case's document holds the tags of its published solutions only (search.documents).
        connection.execute(
            insert(IndexOutbox).from_select(
                ["kind", "entity_id"],
                select(literal("case"), case_solutions.c.case_id).where(
                    case_solutions.c.solution_id.in_(moved)
                ),
            )
        )
    for provider in providers:
        connection.execute(
            insert(IndexOutbox).from_select(
                ["kind", "entity_id"],
                select(literal("solution"), Solution.id).where(Solution.provider_id == provider.id),
            )
        )
    session.info[PENDING] = True


def enqueue(kind: str, ids: list[int]) -> None:
    """Name items for re-indexing explicitly, for writes that bypass the ORM (bulk inserts)."""
    db.session.execute(insert(IndexOutbox), [{"kind": kind, "entity_id": entity_id} for entity_id in ids])


def has_pending() -> bool:
    """True if this session committed changes that have not been drained yet."""
    return bool(db.session.info.get(PENDING))


def lag() -> int:
    """How many outbox rows wait to be applied."""
    return db.session.scalar(select(db.func.count(IndexOutbox.id)))


def visible_ids() -> list[int]:
    """The ids of the outbox rows committed so far."""
    return list(db.session.scalars(select(IndexOutbox.id)))


def discard(ids: list[int], batch: int = 1_000) -> int:
    """Delete the outbox rows ``ids``, already covered by a rebuild; return how many.

    Exactly these rows, not every row up to the highest: on PostgreSQL a transaction can hold a
    lower id yet commit after the rebuild read the store, and its row must still be drained.
    """
    deleted = 0
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        deleted += db.session.execute(delete(IndexOutbox).where(IndexOutbox.id.in_(chunk))).rowcount
    db.session.commit()
    return deleted


def oldest_age_seconds() -> float | None:
    """Seconds since the oldest waiting outbox row was written; ``None`` if none waits."""
    oldest = db.session.scalar(select(db.func.min(IndexOutbox.created_at)))
    if oldest is None:
        return None
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    return max(0.0, (datetime.now(UTC) - oldest).total_seconds())


def drain(
    backend: SearchBackend,
    taxonomy: Taxonomy,
    batch: int = DRAIN_BATCH,
    progress=None,
    wait: float | None = None,
) -> int:
    """Apply outbox rows to the index in id order until none are left; return how many were applied.

    Rows are deleted only after the index has acknowledged their documents in its live version,
    so a failure (no index, a writer held elsewhere, a rebuild switching versions) leaves them for
    the next drain. Re-applying a row is harmless: the document is rebuilt from the store.
    Documents carry their stored vectors; one whose text has no vector yet is indexed without and
    marked as waiting for the model (:mod:`marketplace.search.vectors`), never embedded here.

    :param wait: seconds to wait for the index's write lock (see :meth:`SearchBackend.index`).
    :raises indexing.base.SearchUnavailable: if the index is down or missing (the rows stay).
    """
    db.session.info.pop(PENDING, None)
    applied = 0
    while True:
        rows = db.session.execute(
            select(IndexOutbox.id, IndexOutbox.kind, IndexOutbox.entity_id)
            .order_by(IndexOutbox.id)
            .limit(batch)
        ).all()
        if not rows:
            return applied
        for kind in ("solution", "case"):
            ids = list(dict.fromkeys(row.entity_id for row in rows if row.kind == kind))
            if ids:
                documents, gone = build_documents(kind, ids, taxonomy)
                documents, waiting = vectors.with_vectors(documents)
                vectors.mark_waiting(waiting)
                if documents:
                    backend.index(documents, wait=wait)
                if gone:
                    backend.delete(kind, gone, wait=wait)
        db.session.execute(delete(IndexOutbox).where(IndexOutbox.id.in_([row.id for row in rows])))
        db.session.commit()
        db.session.info.pop(PENDING, None)
        applied += len(rows)
        if progress is not None:
            progress.update(len(rows))
