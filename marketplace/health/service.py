"""Readiness: whether the store and the search index answer, and how far the index lags behind."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from marketplace.errors import ServiceUnavailable
from marketplace.extensions import db
from marketplace.search import maintenance, outbox, vectors


def readiness() -> dict:
    """The readiness report: the store and the index answer; the index lag, documents and currency.

    The store is asked a round trip and the outbox lag; the index, through
    :func:`marketplace.search.maintenance.index_health`. ``index_analysis_current`` is false when
    the index was built with another analysis or another field layout: either way, a rebuild is
    due (the documented answer has no separate field for the layout). ``vectors_missing`` counts the
    published items without a vector of the current model: they are still served by their words,
    so the service stays ready.

    :raises ServiceUnavailable: naming the store, the index, or both, if either does not answer.
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
