"""Readiness: whether the store and the search index answer, and how far the index lags behind."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from marketplace.errors import ServiceUnavailable
from marketplace.extensions import db
from marketplace.search import maintenance, outbox, vectors


def _index_problem(documents: dict[str, int], bound: float) -> str | None:
    """Why the index cannot be trusted now, or ``None``: it lags too long, or lost items.

    Counts that differ while outbox rows wait within ``bound`` are indexing that follows a write;
    differing counts with nothing waiting mean the index lost or kept items the outbox no longer
    names, which only a rebuild (``flask index ensure``) repairs.
    """
    age = outbox.oldest_age_seconds()
    if age is not None and age > bound:
        return f"搜索索引滞后 {age:.0f} 秒，超过上限 {bound:.0f} 秒"
    store = maintenance.store_counts()
    if age is None and store != documents:
        return f"搜索索引与数据库不一致（数据库 {store}，索引 {documents}），请运行 flask index ensure"
    return None


def readiness() -> dict:
    """The readiness report: the store and the index answer and agree; the index lag, documents and currency.

    The store is asked a round trip and the outbox lag; the index, through
    :func:`marketplace.search.maintenance.index_health`. The service is not ready when the
    oldest outbox row has waited longer than ``INDEX_LAG_BOUND_SECONDS``, or when nothing waits
    and yet the store's published items and the index's documents differ in number per kind.
    ``index_analysis_current`` is false when the index was built with another analysis or
    another field layout: either way, a rebuild is due (the documented answer has no separate
    field for the layout). ``vectors_missing`` counts the
    published items without a vector of the current model: they are still served by their words,
    so the service stays ready.

    :raises ServiceUnavailable: naming the store, the index, or both, if either does not answer
        or the index cannot be trusted.
    """
    problems = {}
    missing = None
    try:
        db.session.execute(text("SELECT 1"))
        lag = outbox.lag()
        missing = vectors.missing_count()
    except SQLAlchemyError as error:
        db.session.rollback()
        problems["store"] = [f"数据库不可用：{type(error).__name__}"]
        lag = None
    index = maintenance.index_health()
    if index is None:
        problems["index"] = ["搜索索引不可用"]
    elif "store" not in problems:
        bound = current_app.config["INDEX_LAG_BOUND_SECONDS"]
        problem = _index_problem(index["documents"], bound)
        if problem is not None:  # read again: a drain may have finished between the two reads
            index = maintenance.index_health() or index
            lag = outbox.lag()
            problem = _index_problem(index["documents"], bound)
        if problem is not None:
            problems["index"] = [problem]
    if problems:
        raise ServiceUnavailable("服务未就绪", problems)
    return {
        "status": "ready",
        "store": "ok",
        "index": "ok",
        "index_lag": lag,
        "index_documents": index["documents"],
        "index_analysis_current": index["analysis_current"] and index["layout_current"],
        "vectors_missing": None if missing is None else sum(missing.values()),
    }
