"""Index maintenance: attach search to the app, drain the outbox, rebuild, and report status and health."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from filelock import FileLock, Timeout
from flask import Flask, current_app

from indexing.base import KINDS, IndexStats, SearchUnavailable
from marketplace.common.heap import frozen_heap
from marketplace.extensions import db
from marketplace.search import engine, outbox
from marketplace.search.documents import count_published, iter_published
from marketplace.taxonomy.service import taxonomy

log = logging.getLogger(__name__)


def init_search(app: Flask) -> None:
    """Attach search to the app and drain the outbox after every request that changed indexed data."""
    engine.init_engine(app)
    app.after_request(_apply_outbox)


def _apply_outbox(response):
    if outbox.has_pending():
        drain_outbox(timeout=current_app.config["INDEX_DRAIN_TIMEOUT"])
    return response


@contextmanager
def _drain_lock(timeout: float) -> Iterator[None]:
    """Serialise drains and rebuilds across the processes of this machine.

    :raises filelock.Timeout: if another process holds it longer than ``timeout``.
    """
    lock_path = engine.search_state().lock_path
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(lock_path), timeout=timeout):
        yield


def drain_outbox(timeout: float, progress=None) -> int | None:
    """Apply the outbox now; returns rows applied, or None if the index or the lock was unavailable.

    A failure never undoes the write that queued the rows: they wait for the next drain.
    """
    state = engine.search_state()
    try:
        with _drain_lock(timeout), frozen_heap():
            return outbox.drain(state.backend, taxonomy(), progress=progress)
    except (SearchUnavailable, Timeout) as error:
        db.session.rollback()
        log.warning("index not updated, outbox rows kept for later: %s", error)
        return None


def rebuild_index(progress_factory=None) -> dict[str, int]:
    """Rebuild the index from the store and switch to it at once; then drain what queued meanwhile.

    :raises SearchUnavailable: if the index cannot be written; the previous index keeps serving.
    """
    state = engine.search_state()
    tax = taxonomy()
    totals = {kind: count_published(kind) for kind in KINDS}
    bar = progress_factory(sum(totals.values())) if progress_factory else None

    def documents():
        for kind in KINDS:
            for document in iter_published(kind, tax):
                if bar is not None:
                    bar.update(1)
                yield document

    with _drain_lock(timeout=600), frozen_heap():
        # Rows committed before the rebuild reads the store are covered by it; only later ones need draining.
        covered = outbox.visible_ids()
        indexed = state.backend.rebuild(documents())
        if bar is not None:
            bar.close()
        outbox.discard(covered)
        outbox.drain(state.backend, tax)
    return {"indexed": indexed, **totals}


def _currency(stats: IndexStats) -> dict:
    """Whether the live index was built with the running analyser and the backend's field layout."""
    state = engine.search_state()
    return {
        "analysis_current": stats.analysis == state.analyzer.version,
        "layout_current": stats.layout == state.backend.layout,
    }


def index_status() -> dict:
    """Documents in the store and in the index, the outbox lag, and whether the index is current.

    ``analysis_current`` is false when the live index was built with another analyser version
    (the lexicon, the synonyms or the analysis rules changed since), ``layout_current`` when it
    was built with another field layout (a field of :mod:`indexing.vocabulary` or its engine
    mapping changed since, or the index predates layout records): a rebuild brings either in line.
    """
    state = engine.search_state()
    status = {
        "backend": state.config["SEARCH_BACKEND"],
        "store": {kind: count_published(kind) for kind in KINDS},
        "lag": outbox.lag(),
        "analyzer": state.analyzer.version,
        "layout": state.backend.layout,
    }
    try:
        stats = state.backend.stats()
        currency = _currency(stats)
        status.update(
            index=stats.documents,
            version=stats.version,
            index_analyzer=stats.analysis,
            analysis_current=currency["analysis_current"],
            index_layout=stats.layout,
            layout_current=currency["layout_current"],
            available=True,
        )
    except SearchUnavailable as error:
        status.update(
            index=None,
            version=None,
            index_analyzer=None,
            analysis_current=None,
            index_layout=None,
            layout_current=None,
            available=False,
            error=str(error),
        )
    return status


def index_health() -> dict | None:
    """What readiness needs of the index: documents per kind, and whether analysis and layout are current.

    :returns: ``{documents, analysis_current, layout_current}``, or ``None`` if the index does not answer.
    """
    try:
        stats = engine.search_state().backend.stats()
    except SearchUnavailable:
        return None
    return {"documents": stats.documents, **_currency(stats)}
