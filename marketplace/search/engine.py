"""The search engine's one door: the app's search state, this process's backend, the analyser, the warm-up.

Other packages reach the index only through these functions (and :mod:`marketplace.search.maintenance`
for the outbox, rebuilds and status). An engine that does not answer becomes
:class:`~marketplace.errors.ServiceUnavailable` here, so callers answer 503.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import TypeVar

from flask import Flask, current_app

from indexing.base import SearchBackend, SearchRequest, SearchResult, SearchUnavailable
from indexing.registry import create_backend
from marketplace.errors import ServiceUnavailable
from marketplace.search import cache, vectors
from marketplace.taxonomy.service import load_taxonomy

log = logging.getLogger(__name__)
T = TypeVar("T")


@functools.cache
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
        self.embed_lock_path = Path(app.instance_path) / "embeddings.lock"
        self.embeddings: vectors.EmbeddingState = app.extensions["vectors"]
        self._backend = None
        self._pid = None

    @property
    def analyzer(self):
        """The analysis chain."""
        return load_analyzer(self.config["SEED_DATA_DIR"])

    @property
    def backend(self) -> SearchBackend:
        """This process's backend, keeping vectors of the configured model; a forked worker makes its own."""
        if self._backend is None or self._pid != os.getpid():
            self._backend = create_backend(
                self.config["SEARCH_BACKEND"],
                self.analyzer,
                index_dir=self.config["INDEX_DIR"],
                elasticsearch_url=self.config["ELASTICSEARCH_URL"],
                index_prefix=self.config["ELASTICSEARCH_INDEX_PREFIX"],
                analysis_processes=self.config["INDEX_PROCESSES"],
                vectors=self.embeddings.spec,
            )
            self._pid = os.getpid()
        return self._backend


def init_engine(app: Flask) -> None:
    """Attach the embedding and search states to the app; backend and embedder are made on first use."""
    vectors.init_vectors(app)
    app.extensions["search"] = SearchState(app)


def search_state() -> SearchState:
    """The search state of the current app."""
    return current_app.extensions["search"]


def analyzer():
    """The current app's analysis chain (:class:`indexing.analysis.Analyzer`)."""
    return search_state().analyzer


def _answered(call: Callable[[SearchBackend], T]) -> T:
    """``call(backend)``, with an unavailable index answered as 503."""
    try:
        return call(search_state().backend)
    except SearchUnavailable as error:
        log.error("search unavailable: %s", error)
        raise ServiceUnavailable("搜索服务暂不可用，请稍后再试") from error


def search(request: SearchRequest) -> SearchResult:
    """Run ``request`` on the index.

    :raises ServiceUnavailable: if the index does not answer.
    """
    return _answered(lambda backend: backend.search(request))


def dense_neighbours(
    kind: str, query_text: str, k: int, filters: dict[str, tuple[str, ...]] | None = None
) -> dict[int, float]:
    """The published items of ``kind`` nearest to ``query_text`` by embedding, with their cosine.

    At most ``k``, from the model's minimum similarity up, under ``filters`` (names of
    :data:`indexing.vocabulary.FILTERS`); empty without embeddings or words. For candidate
    generation: union them with the words' hits.

    :raises ServiceUnavailable: if the index or the embedder does not answer.
    """
    embeddings = search_state().embeddings
    if not embeddings.enabled or not query_text.strip() or k <= 0:
        return {}
    request = SearchRequest(
        kind=kind,
        q=query_text,
        filters=dict(filters or {}),
        per_page=k,
        facets=(),
        highlight=False,
        mode="semantic",
        vector=vectors.query_vector(query_text),
        min_similarity=embeddings.min_similarity,
    )
    return {hit.id: hit.score for hit in search(request).hits}


def suggest(prefix: str, limit: int) -> list[str]:
    """Completions of an already normalised ``prefix`` from indexed titles and tags, most frequent first.

    :raises ServiceUnavailable: if the index does not answer.
    """
    return _answered(lambda backend: backend.suggest(prefix, limit))


def cache_key() -> Hashable | None:
    """The key under which what is read from the store now may be cached: the index generation and the day.

    It reads the generation, so call it before reading the store (see :mod:`marketplace.search.cache`).

    :raises ServiceUnavailable: if the index does not answer.
    """
    return cache.cache_key(_answered(lambda backend: backend.generation()))


def warm_up(seed_dir: str) -> None:
    """Load the taxonomy and the analysis chain before workers fork, so they share the memory."""
    load_taxonomy(seed_dir)
    load_analyzer(seed_dir)
