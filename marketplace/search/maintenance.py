"""Index maintenance: attach search to the app, drain the outbox, rebuild, and report status and health.

Writes never wait long for the index. After a request that changed indexed data, its process
drains the outbox at once if it gets the drain lock and the index's writer within
``INDEX_WRITE_WAIT`` seconds in all (a drain takes milliseconds, so a write is normally in the
index when it answers); if it does not (a rebuild runs, another process holds the writer), the
request answers anyway and the rows wait. Every serving process also drains on a timer, in a
background thread, every ``INDEX_DRAIN_INTERVAL`` seconds, so rows that waited reach the index
without another write.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from filelock import FileLock, Timeout
from flask import Flask, current_app

from indexing.base import KINDS, IndexMissing, IndexStats, SearchUnavailable
from marketplace.common.heap import frozen_heap
from marketplace.extensions import db
from marketplace.search import engine, outbox
from marketplace.search.documents import count_published, iter_published
from marketplace.taxonomy.service import taxonomy

log = logging.getLogger(__name__)


class BackgroundDrain:
    """One daemon thread per process that drains the outbox every ``INDEX_DRAIN_INTERVAL`` seconds.

    It starts with the first request a process serves (so after gunicorn forks, never in the
    master) and stops when the interval is set to 0 or :meth:`stop` is called.
    """

    def __init__(self) -> None:
        self._pid: int | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def ensure_running(self, app: Flask) -> None:
        """Start this process's thread unless it runs, was stopped, or the interval is 0."""
        if not app.config["INDEX_DRAIN_INTERVAL"] or self._pid == os.getpid() or self._stopping.is_set():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._run, args=(app,), name="index-drain", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10) -> None:
        """Stop this process's thread and wait for it to finish its drain."""
        self._stopping.set()
        if self._thread is not None and self._pid == os.getpid():
            self._thread.join(timeout)

    def _run(self, app: Flask) -> None:
        while (interval := app.config["INDEX_DRAIN_INTERVAL"]) and not self._stopping.wait(interval):
            with app.app_context():
                try:
                    if outbox.lag():
                        drain_outbox(timeout=interval)
                except Exception:  # the thread must outlive a store outage
                    log.exception("background outbox drain failed")
                finally:
                    db.session.remove()
        with self._lock:
            self._pid = None


def init_search(app: Flask) -> None:
    """Attach search to the app; drain after requests that changed indexed data, and on a timer."""
    engine.init_engine(app)
    app.extensions["index_drain"] = BackgroundDrain()
    app.after_request(_apply_outbox)


def _apply_outbox(response):
    current_app.extensions["index_drain"].ensure_running(current_app._get_current_object())
    if outbox.has_pending():
        budget = current_app.config["INDEX_WRITE_WAIT"]
        started = time.monotonic()
        drain_outbox(timeout=budget, wait=lambda: max(0.0, budget - (time.monotonic() - started)))
    return response


@contextmanager
def _drain_lock(timeout: float) -> Iterator[None]:
    """Serialise drains, rebuilds and cleaning across the processes of this machine.

    :raises filelock.Timeout: if another process holds it longer than ``timeout``.
    """
    lock_path = engine.search_state().lock_path
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(lock_path), timeout=timeout):
        yield


def drain_outbox(
    timeout: float, progress=None, wait: float | Callable[[], float] | None = None
) -> int | None:
    """Apply the outbox now; returns rows applied, or None if the index or the lock was unavailable.

    A failure never undoes the write that queued the rows: they wait for the next drain.

    :param timeout: seconds to wait for the drain lock (0: try once).
    :param wait: seconds to wait for the index's writer, or a function giving them once the lock
        is held; ``None``: the backend's default.
    """
    state = engine.search_state()
    try:
        with _drain_lock(timeout), frozen_heap():
            writer_wait = wait() if callable(wait) else wait
            return outbox.drain(state.backend, taxonomy(), progress=progress, wait=writer_wait)
    except (SearchUnavailable, Timeout) as error:
        db.session.rollback()
        log.warning("index not updated, outbox rows kept for later: %s", error)
        return None


def index_missing() -> bool:
    """Whether no index exists at all (as opposed to one that is down): only a rebuild can make it."""
    try:
        engine.search_state().backend.stats()
    except IndexMissing:
        return True
    except SearchUnavailable:
        return False
    return False


def rebuild_index(progress_factory=None) -> dict[str, int]:
    """Rebuild the index from the store and switch to it at once; then drain what queued meanwhile.

    :raises SearchUnavailable: if the index cannot be written; the previous index keeps serving.
    """
    state = engine.search_state()
    tax = taxonomy()
    totals = store_counts()
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
    """Documents in the store and in the index, the outbox lag, whether the index is current, leftovers.

    ``analysis_current`` is false when the live index was built with another analyser version
    (the lexicon, the synonyms or the analysis rules changed since), ``layout_current`` when it
    was built with another field layout (a field of :mod:`indexing.vocabulary` or its engine
    mapping changed since, or the index predates layout records): a rebuild brings either in line.
    ``leftovers`` names what interrupted rebuilds left (a running rebuild's version is listed
    too); ``flask index clean`` removes them.
    """
    state = engine.search_state()
    status = {
        "backend": state.config["SEARCH_BACKEND"],
        "store": store_counts(),
        "lag": outbox.lag(),
        "lag_seconds": outbox.oldest_age_seconds(),
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
            leftovers=state.backend.leftovers(),
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
            leftovers=None,
            available=False,
            missing=isinstance(error, IndexMissing),
            error=str(error),
        )
    return status


def clean_index(timeout: float = 10) -> list[str]:
    """Remove what interrupted rebuilds left behind; never the live index, never a running rebuild's.

    :returns: the names removed.
    :raises filelock.Timeout: if a drain or a rebuild holds the lock longer than ``timeout``.
    :raises SearchUnavailable: if the index is down or missing.
    """
    with _drain_lock(timeout):
        return engine.search_state().backend.remove_leftovers()


def index_health() -> dict | None:
    """What readiness needs of the index: documents per kind, and whether analysis and layout are current.

    :returns: ``{documents, analysis_current, layout_current}``, or ``None`` if the index does not answer.
    """
    try:
        stats = engine.search_state().backend.stats()
    except SearchUnavailable:
        return None
    return {"documents": stats.documents, **_currency(stats)}


def store_counts() -> dict[str, int]:
    """How many items of each kind are published in the store, i.e. belong in the index."""
    return {kind: count_published(kind) for kind in KINDS}
