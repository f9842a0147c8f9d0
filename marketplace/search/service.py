"""Search over the index, hydrated from the store; the outbox drain; index maintenance."""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from datetime import date
from functools import cache
from pathlib import Path

from filelock import FileLock, Timeout
from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.orm import lazyload

from indexing.base import KINDS, SearchHit, SearchRequest, SearchUnavailable
from indexing.registry import create_backend
from indexing.vocabulary import FILTERS, RANGES
from marketplace.common.heap import frozen_heap
from marketplace.errors import ServiceUnavailable
from marketplace.extensions import db
from marketplace.models import BenchmarkCase, ListingStatus, Role, Solution, User
from marketplace.search import outbox
from marketplace.search.cache import cache_key, store_cache
from marketplace.search.documents import count_published, iter_published, load_solutions
from marketplace.search.schemas import CaseHitSchema, SolutionHitSchema
from marketplace.taxonomy.service import load_taxonomy, taxonomy

log = logging.getLogger(__name__)

DELIVERY_MODE_NAMES = {
    "saas": "SaaS 订阅",
    "on_premise": "本地部署",
    "edge": "边缘部署",
    "hardware_bundle": "软硬一体",
}


@cache
def load_analyzer(seed_dir: str):
    """The shared analysis chain (:class:`indexing.analysis.Analyzer`), built once per process."""
    from indexing.analysis import Analyzer

    return Analyzer.from_seed_data(seed_dir)


class SearchState:
    """Per-app search settings and the per-process backend, created after any fork."""

    def __init__(self, app: Flask):
        self.config = {
            key: app.config[key]
            for key in (
                "SEARCH_BACKEND",
                "INDEX_DIR",
                "ELASTICSEARCH_URL",
                "ELASTICSEARCH_INDEX_PREFIX",
                "INDEX_PROCESSES",
                "SEED_DATA_DIR",
            )
        }
        self.lock_path = Path(app.instance_path) / "index-drain.lock"
        self._backend = None
        self._pid = None

    @property
    def analyzer(self):
        """The analysis chain."""
        return load_analyzer(self.config["SEED_DATA_DIR"])

    @property
    def backend(self):
        """This process's backend; a forked worker creates its own."""
        if self._backend is None or self._pid != os.getpid():
            self._backend = create_backend(
                self.config["SEARCH_BACKEND"],
                self.analyzer,
                index_dir=self.config["INDEX_DIR"],
                elasticsearch_url=self.config["ELASTICSEARCH_URL"],
                index_prefix=self.config["ELASTICSEARCH_INDEX_PREFIX"],
                analysis_processes=self.config["INDEX_PROCESSES"],
            )
            self._pid = os.getpid()
        return self._backend

    @contextmanager
    def drain_lock(self, timeout: float):
        """Serialise drains and rebuilds across the processes of this machine.

        :raises filelock.Timeout: if another process holds it longer than ``timeout``.
        """
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.lock_path), timeout=timeout):
            yield


def search_state() -> SearchState:
    """The search state of the current app."""
    return current_app.extensions["search"]


def init_search(app: Flask) -> None:
    """Attach search to the app and drain the outbox after every request that changed indexed data."""
    app.extensions["search"] = SearchState(app)
    app.after_request(_apply_outbox)


def _apply_outbox(response):
    if outbox.has_pending():
        drain_outbox(timeout=current_app.config["INDEX_DRAIN_TIMEOUT"])
    return response


def drain_outbox(timeout: float, progress=None) -> int | None:
    """Apply the outbox now; returns rows applied, or None if the index or the lock was unavailable.

    A failure never undoes the write that queued the rows: they wait for the next drain.
    """
    state = search_state()
    try:
        with state.drain_lock(timeout), frozen_heap():
            return outbox.drain(state.backend, taxonomy(), progress=progress)
    except (SearchUnavailable, Timeout) as error:
        db.session.rollback()
        log.warning("index not updated, outbox rows kept for later: %s", error)
        return None


def rebuild_index(progress_factory=None) -> dict[str, int]:
    """Rebuild the index from the store and switch to it at once; then drain what queued meanwhile.

    :raises SearchUnavailable: if the index cannot be written; the previous index keeps serving.
    """
    state = search_state()
    tax = taxonomy()
    totals = {kind: count_published(kind) for kind in KINDS}
    bar = progress_factory(sum(totals.values())) if progress_factory else None

    def documents():
        for kind in KINDS:
            for document in iter_published(kind, tax):
                if bar is not None:
                    bar.update(1)
                yield document

    with state.drain_lock(timeout=600), frozen_heap():
        # Rows committed before the rebuild reads the store are covered by it; only later ones need draining.
        covered = outbox.visible_ids()
        indexed = state.backend.rebuild(documents())
        if bar is not None:
            bar.close()
        outbox.discard(covered)
        outbox.drain(state.backend, tax)
    return {"indexed": indexed, **totals}


def index_status() -> dict:
    """Documents in the store and in the index, the outbox lag, and whether the index is current.

    ``analysis_current`` is false when the live index was built with another analyser version
    (the lexicon, the synonyms or the analysis rules changed since), ``layout_current`` when it
    was built with another field layout (a field of :mod:`indexing.vocabulary` or its engine
    mapping changed since, or the index predates layout records): a rebuild brings either in line.
    """
    state = search_state()
    status = {
        "backend": state.config["SEARCH_BACKEND"],
        "store": {kind: count_published(kind) for kind in KINDS},
        "lag": outbox.lag(),
        "analyzer": state.analyzer.version,
        "layout": state.backend.layout,
    }
    try:
        stats = state.backend.stats()
        status.update(
            index=stats.documents,
            version=stats.version,
            index_analyzer=stats.analysis,
            analysis_current=stats.analysis == state.analyzer.version,
            index_layout=stats.layout,
            layout_current=stats.layout == state.backend.layout,
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


def _request(kind: str, args: dict) -> SearchRequest:
    filters = {name: tuple(str(v) for v in args[name]) for name in FILTERS if args.get(name)}
    return SearchRequest(
        kind=kind,
        q=args.get("q", ""),
        filters=filters,
        **{name: args.get(name) for name in RANGES},
        promoted=args.get("promoted"),
        today=date.today(),
        sort=args["sort"],
        page=args["page"],
        per_page=args["per_page"],
    )


def call_index(call):
    """``call(backend)``, with an unavailable index answered as 503."""
    try:
        return call(search_state().backend)
    except SearchUnavailable as error:
        log.error("search unavailable: %s", error)
        raise ServiceUnavailable("搜索服务暂不可用，请稍后再试") from error


def _run(request: SearchRequest):
    return call_index(lambda backend: backend.search(request))


def _facet_labels(facets) -> dict:
    tax = taxonomy()
    labels = {
        "industry": lambda v: tax.industries[v].name if v in tax.industries else v,
        "scenario": lambda v: tax.scenarios[v].name if v in tax.scenarios else v,
        "delivery_mode": lambda v: DELIVERY_MODE_NAMES.get(v, v),
        "city": lambda v: v,
    }
    return {
        name: [{"value": c.value, "label": labels[name](c.value), "count": c.count} for c in counts]
        for name, counts in facets.items()
    }


SOLUTION_HIT, CASE_HIT = SolutionHitSchema(), CaseHitSchema()


def _hit(item: dict, hit: SearchHit, **extra) -> dict:
    """A hit as the API shows it: the item's dumped fields, with the index's score and highlight."""
    return {**item, "score": hit.score, "highlight": hit.highlight, **extra}


def _case_rows(ids: list[int]) -> dict[int, BenchmarkCase]:
    """The published cases among ``ids``, with their scenarios and promotions (not their solutions)."""
    cases = db.session.scalars(
        select(BenchmarkCase)
        .where(BenchmarkCase.id.in_(ids), BenchmarkCase.status == ListingStatus.PUBLISHED)
        .options(lazyload(BenchmarkCase.solutions))
    )
    return {case.id: case for case in cases}


def _in_hit_order(hits, rows: dict) -> list:
    """Pair hits with their rows, in hit order, dropping any no longer published."""
    return [(hit, rows[hit.id]) for hit in hits if hit.id in rows]


def _page(request: SearchRequest, result, items: list[dict]) -> dict:
    return {
        "total": result.total,
        "page": request.page,
        "per_page": request.per_page,
        "items": items,
        "facets": _facet_labels(result.facets),
    }


def _solution_items(ids: list[int]) -> dict[int, dict]:
    """The published solutions among ``ids``, dumped as hits (without score and highlight)."""
    published = load_solutions(Solution.id.in_(ids), Solution.status == ListingStatus.PUBLISHED)
    return {row.id: SOLUTION_HIT.dump(row) for row in published}


def search_solutions(args: dict) -> dict:
    """Search published solutions; their dumped rows are cached for the index generation."""
    request = _request("solution", args)
    result = _run(request)
    key = cache_key(result.generation)  # read by the search, before the store is
    items = store_cache().get(key, "solution hit", [hit.id for hit in result.hits], _solution_items)
    return _page(request, result, [_hit(item, hit) for hit, item in _in_hit_order(result.hits, items)])


def search_cases(actor: User | None, args: dict) -> dict:
    """Search published cases; promotions running in an enterprise's own city are labelled for it."""
    request = _request("case", args)
    result = _run(request)
    home_city = (
        actor.enterprise.city
        if actor is not None and actor.role is Role.ENTERPRISE and actor.enterprise
        else None
    )
    items = []
    for hit, case in _in_hit_order(result.hits, _case_rows([hit.id for hit in result.hits])):
        local = home_city is not None and case.city == home_city and case.is_promoted
        items.append(_hit(CASE_HIT.dump(case), hit, promoted_in_your_city=local))
    return _page(request, result, items)


def suggest(prefix: str, limit: int) -> list[str]:
    """Completions for a typed prefix, from indexed titles and tags, then lexicon terms."""
    state = search_state()
    normalised = state.analyzer.normalise(prefix).strip()
    found = call_index(lambda backend: backend.suggest(normalised, limit))
    lexicon = [term for term in state.analyzer.lexicon_terms(normalised) if term not in found]
    return (found + lexicon)[:limit]


def warm_up(seed_dir: str) -> None:
    """Load the taxonomy and the analysis chain before workers fork, so they share the memory."""
    load_taxonomy(seed_dir)
    load_analyzer(seed_dir)
