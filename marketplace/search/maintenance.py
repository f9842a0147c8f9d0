"""Index maintenance: attach search to the app, drain the outbox, embed in the background, rebuild, report.

Writes never wait long for the index. After a request that changed indexed data, its process
drains the outbox at once if it gets the drain lock and the index's writer within
``INDEX_WRITE_WAIT`` seconds in all (a drain takes milliseconds, so a write is normally in the
index when it answers); if it does not (a rebuild runs, another process holds the writer), the
request answers anyway and the rows wait. Every serving process also drains on a timer, in a
background thread, every ``INDEX_DRAIN_INTERVAL`` seconds, so rows that waited reach the index
without another write.

Vectors are never made on a request's path. A serving process starts, on its first request, a
daemon thread (:class:`BackgroundTask`) that embeds the rows waiting for the model whenever a
drain marked some (and every ``EMBEDDINGS_INTERVAL`` seconds), under a machine-wide lock of its own,
then queues those items and drains the outbox under the drain lock. Both threads live in the
worker, after gunicorn's fork, so the model is loaded per worker and never in the master.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial

from filelock import FileLock, Timeout
from flask import Flask, current_app

from indexing.base import KINDS, IndexDocument, IndexMissing, IndexStats, SearchUnavailable
from indexing.embeddings import EmbeddingUnavailable
from marketplace.common.heap import frozen_heap
from marketplace.extensions import db
from marketplace.search import engine, outbox, vectors
from marketplace.search.documents import count_published, iter_published
from marketplace.taxonomy.service import taxonomy

log = logging.getLogger(__name__)
REBUILD_VECTOR_BATCH = 500
"""Documents whose stored vectors a rebuild looks up at once."""


class BackgroundTask:
    """One daemon thread per process that runs ``work`` every ``app.config[interval_key]`` seconds.

    It starts with the first request a process serves (so after gunicorn forks, never in the
    master; a forked child starts its own), runs ``work`` at once and then after each interval or
    :meth:`wake`, and stops when the interval is set to 0 or :meth:`stop` is called. ``work`` runs
    in an app context; a failure is logged and the thread goes on.
    """

    def __init__(self, name: str, interval_key: str, work: Callable[[], object]) -> None:
        self.name = name
        self.interval_key = interval_key
        self.work = work
        self._pid: int | None = None
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def ensure_running(self, app: Flask) -> None:
        """Start this process's thread unless it runs, was stopped, or the interval is 0."""
        if not app.config[self.interval_key] or self._pid == os.getpid() or self._stopping.is_set():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._run, args=(app,), name=self.name, daemon=True)
            self._thread.start()

    def wake(self) -> None:
        """Run the work now rather than at the next interval."""
        if self._pid == os.getpid():
            self._wake.set()

    def stop(self, timeout: float = 10) -> None:
        """Stop this process's thread and wait for it to finish its work."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None and self._pid == os.getpid():
            self._thread.join(timeout)

    def _run(self, app: Flask) -> None:
        while not self._stopping.is_set() and (interval := app.config[self.interval_key]):
            with app.app_context():
                try:
                    self.work()
                except Exception:  # the thread must outlive a store outage or a model failure
                    log.exception("background %s failed", self.name)
                finally:
                    db.session.remove()
            self._wake.wait(interval)
            self._wake.clear()
        with self._lock:
            self._pid = None


def _drain_if_lagging() -> None:
    if outbox.lag():
        drain_outbox(timeout=current_app.config["INDEX_DRAIN_INTERVAL"])


def init_search(app: Flask) -> None:
    """Attach search to the app; drain after requests that changed indexed data, and on a timer.

    With embeddings on and ``EMBEDDINGS_BACKGROUND`` set, each process also embeds waiting rows in
    the background.
    """
    engine.init_engine(app)
    tasks = [BackgroundTask("index-drain", "INDEX_DRAIN_INTERVAL", _drain_if_lagging)]
    if app.config["EMBEDDINGS_BACKGROUND"] and app.extensions["vectors"].enabled:
        embed = partial(embed_backlog, lock_timeout=0)
        tasks.append(BackgroundTask("embedding", "EMBEDDINGS_INTERVAL", embed))
    app.extensions["background_tasks"] = {task.name: task for task in tasks}
    app.before_request(_start_background_tasks)
    app.after_request(_apply_outbox)


def _start_background_tasks() -> None:
    app = current_app._get_current_object()
    for task in app.extensions["background_tasks"].values():
        task.ensure_running(app)


def _apply_outbox(response):
    if outbox.has_pending():
        budget = current_app.config["INDEX_WRITE_WAIT"]
        started = time.monotonic()
        drain_outbox(timeout=budget, wait=lambda: max(0.0, budget - (time.monotonic() - started)))
        embedding = current_app.extensions["background_tasks"].get("embedding")
        if embedding is not None:
            embedding.wake()
    return response


@contextmanager
def _embedding_lock(timeout: float) -> Iterator[None]:
    """Let one process of this machine at a time run the model over waiting rows.

    :raises filelock.Timeout: if another process holds it longer than ``timeout``.
    """
    lock_path = engine.search_state().embed_lock_path
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(lock_path), timeout=timeout):
        yield


def embed_backlog(lock_timeout: float = 0, drain_timeout: float = 60) -> int:
    """Embed every row waiting for the model, batch by batch, queueing each batch for the index.

    Returns how many items were embedded; 0 if another process holds the embedding lock, or if the
    model does not answer (the rows keep waiting, and the failure is logged).
    """
    if vectors.waiting_count() == 0:
        db.session.rollback()
        return 0
    embedded = 0
    try:
        with _embedding_lock(lock_timeout), frozen_heap():
            while True:
                done = vectors.embed_waiting(taxonomy())
                if not any(done.values()):
                    break
                for kind, ids in done.items():
                    if ids:
                        outbox.enqueue(kind, ids)
                db.session.commit()
                embedded += sum(len(ids) for ids in done.values())
                drain_outbox(timeout=drain_timeout)
    except Timeout:
        db.session.rollback()
    except EmbeddingUnavailable as error:
        db.session.rollback()
        log.warning("embeddings unavailable, rows keep waiting: %s", error)
    return embedded


def sync_embeddings(progress_factory=None) -> dict[str, int]:
    """Embed every published item lacking a current vector (``flask embeddings sync``), then queue them.

    :returns: how many items of each kind were embedded.
    :raises EmbeddingUnavailable: if the model cannot answer; what was stored so far stays.
    """
    if not vectors.state().enabled:
        return {kind: 0 for kind in KINDS}
    tax = taxonomy()
    totals = {kind: count_published(kind) for kind in KINDS}
    bar = progress_factory(sum(totals.values())) if progress_factory else None
    try:
        with _embedding_lock(timeout=600), frozen_heap():
            done = vectors.sync(lambda kind: iter_published(kind, tax), progress=bar)
            for kind, ids in done.items():
                if ids:
                    outbox.enqueue(kind, ids)
            db.session.commit()
    finally:
        if bar is not None:
            bar.close()
    return {kind: len(ids) for kind, ids in done.items()}


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

    Documents carry their stored vectors where the digest of their text matches (nothing is
    embedded here: ``flask index rebuild`` embeds first, :func:`sync_embeddings`); the others are
    indexed by their words and marked as waiting for the model.

    :raises SearchUnavailable: if the index cannot be written; the previous index keeps serving.
    """
    state = engine.search_state()
    tax = taxonomy()
    totals = store_counts()
    bar = progress_factory(sum(totals.values())) if progress_factory else None

    waiting: list[dict] = []

    def with_stored_vectors(batch: list[IndexDocument]) -> list[IndexDocument]:
        documents, missing = vectors.with_vectors(batch)
        waiting.extend(missing)
        if bar is not None:
            bar.update(len(batch))
        return documents

    def documents():
        for kind in KINDS:
            batch: list[IndexDocument] = []
            for document in iter_published(kind, tax):
                batch.append(document)
                if len(batch) >= REBUILD_VECTOR_BATCH:
                    yield from with_stored_vectors(batch)
                    batch = []
            yield from with_stored_vectors(batch)

    with _drain_lock(timeout=600), frozen_heap():
        # Rows committed before the rebuild reads the store are covered by it; only later ones need draining.
        covered = outbox.visible_ids()
        indexed = state.backend.rebuild(documents())
        if bar is not None:
            bar.close()
        vectors.mark_waiting(waiting)
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
    mapping changed since, the embedding model changed, or the index predates layout records): a
    rebuild brings either in line. ``vectors_missing`` counts the published items per kind without a
    vector of the current model (``None`` without embeddings): they are found by their words only
    until embedded; ``vectors_waiting`` the rows marked for background embedding.
    ``leftovers`` names what interrupted rebuilds left (a running rebuild's version is listed
    too); ``flask index clean`` removes them.
    """
    state = engine.search_state()
    spec = state.embeddings.spec
    status = {
        "backend": state.config["SEARCH_BACKEND"],
        "store": store_counts(),
        "lag": outbox.lag(),
        "lag_seconds": outbox.oldest_age_seconds(),
        "analyzer": state.analyzer.version,
        "layout": state.backend.layout,
        "embeddings": state.embeddings.name,
        "embedding_model": None if spec is None else spec.model_id,
        "vectors_missing": vectors.missing_count(),
        "vectors_waiting": vectors.waiting_count(),
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
            index_vectors=stats.vectors,
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
            index_vectors=None,
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
