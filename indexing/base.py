"""The search backend interface and the small value types it speaks.

A backend stores documents of two kinds, ``solution`` and ``case``, each in its own index.
Documents arrive already built from the SQL store (the source of truth) and are analysed by the
shared Chinese analysis chain (:mod:`indexing.analysis`) before they reach the engine, so every
backend indexes the same tokens and ranks alike. Backends never import Flask.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from indexing.vocabulary import FACETS, VectorSpec

KINDS = ("solution", "case")


class SearchUnavailable(Exception):
    """The engine cannot be reached or refused the request; the API answers 503."""


class IndexMissing(SearchUnavailable):
    """No index exists where the backend looks: it was never built, or it was moved or deleted.

    Backends never create an index as a side effect of a read or a write, so that an empty index
    cannot silently take the place of a real one that is away; :meth:`SearchBackend.create` and
    :meth:`SearchBackend.rebuild` (the maintenance commands) are the only ways to make one.
    """


@dataclass(frozen=True)
class IndexDocument:
    """One searchable solution or case, flattened from the store.

    ``industries`` holds every code the item is tagged with *and all their ancestors*
    (``C3670`` brings ``C367``, ``C36`` and ``C``), so a filter on a parent code matches its
    children with one term lookup. ``industry_divisions`` holds the 大类 codes used for the
    industry facet. For a solution ``city``/``province`` are its provider's; for a case, the case's.
    ``vector`` is the item's embedding (unit length, ``float32``) made by the model the backend's
    :attr:`SearchBackend.vectors` names, or ``None`` if the item has none yet: it is then found by
    its words only.
    """

    kind: str
    id: int
    title: str
    summary: str
    body: str
    tags: tuple[str, ...] = ()
    industries: tuple[str, ...] = ()
    industry_divisions: tuple[str, ...] = ()
    scenarios: tuple[str, ...] = ()
    delivery_modes: tuple[str, ...] = ()
    city: str | None = None
    province: str | None = None
    provider_id: int | None = None
    price_min_cny: int | None = None
    deploy_days: int | None = None
    created_ts: int = 0
    promotion_windows: tuple[tuple[date, date], ...] = ()
    vector: np.ndarray | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class SearchRequest:
    """A search over one kind.

    ``filters`` maps a name of :data:`indexing.vocabulary.FILTERS` to the values to OR together;
    different names are ANDed. ``facets`` lists names of :data:`indexing.vocabulary.FACETS` to
    count; each facet's counts ignore that facet's own filter (disjunctive counting). ``sort`` names
    one of :data:`indexing.vocabulary.SORTS`. ``today`` decides which promotions are running.
    ``highlight`` marks the query's words in each hit; candidate retrieval turns it off.

    ``mode`` (one of :data:`indexing.vocabulary.SEARCH_MODES`) says how ``q`` matches; ``hybrid`` and
    ``semantic`` need ``vector``, the query's embedding by the model of the backend's
    :attr:`SearchBackend.vectors`, and take neighbours only from ``min_similarity`` up. Dense
    retrieval orders by relevance: with another sort, or without words, or without a vector, a
    search matches by keywords (see :attr:`indexing.plan.SearchPlan.mode`). Filters, ranges and
    facets apply alike in every mode.
    """

    kind: str
    q: str = ""
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    price_max_cny: int | None = None
    deploy_days_max: int | None = None
    promoted: bool | None = None
    today: date = field(default_factory=date.today)
    sort: str = "relevance"
    page: int = 1
    per_page: int = 20
    facets: tuple[str, ...] = tuple(FACETS)
    highlight: bool = True
    mode: str = "keyword"
    vector: np.ndarray | None = field(default=None, compare=False, repr=False)
    min_similarity: float = 0.0


@dataclass(frozen=True)
class SearchHit:
    """One matching document: its id, its score, and highlighted fragments by field name.

    The score is BM25 in ``keyword`` mode, the cosine similarity in ``semantic`` mode, and the fused
    reciprocal-rank score in ``hybrid`` mode; hits ordered by a field score ``0.0``.
    """

    id: int
    score: float
    highlight: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FacetCount:
    """How many matching documents carry one facet value."""

    value: str
    count: int


@dataclass(frozen=True)
class SearchResult:
    """A page of hits, the total number of matches, and facet counts.

    ``generation`` is the index generation the search read (see :meth:`SearchBackend.generation`),
    if the backend knows one; it is read before the search, so it can key what callers cache.
    """

    total: int
    hits: list[SearchHit]
    facets: dict[str, list[FacetCount]] = field(default_factory=dict)
    generation: Hashable | None = field(default=None, compare=False)


@dataclass(frozen=True)
class IndexStats:
    """Document counts per kind, the version of the live index, and what it was built with.

    ``analysis`` is the analyser's version recorded when the live index was created (by a rebuild,
    or by the first write), and ``layout`` the backend's :attr:`SearchBackend.layout` then; each is
    ``None`` if none was recorded. When ``analysis`` differs from the running analyser's, documents
    and queries may be tokenised differently; when ``layout`` differs from the backend's, the index
    lacks or misreads fields. Both last until the next rebuild. ``vectors`` counts the documents
    per kind that carry a vector, if the backend stores vectors.
    """

    documents: dict[str, int]
    version: str
    analysis: str | None = None
    layout: str | None = None
    vectors: dict[str, int] | None = None


class SearchBackend(ABC):
    """What the service needs from a search engine: index, delete, search, clear, stats.

    ``layout`` is a digest of the field layout the backend derives from
    :data:`indexing.vocabulary.FIELDS` (see :func:`indexing.vocabulary.layout_digest`); every index
    records the one it was built with (:attr:`IndexStats.layout`). ``vectors`` names the model and
    size of the vectors the backend stores and searches (part of the layout), or ``None`` if it
    stores none: documents' vectors are then ignored and every search matches by keywords.
    """

    layout: str
    vectors: VectorSpec | None = None

    @abstractmethod
    def create(self) -> None:
        """Create an empty index if none exists; an existing one is left as it is.

        Only the maintenance commands (and tests) call this: reads and writes never create one.

        :raises SearchUnavailable: if the engine is down.
        """

    @abstractmethod
    def index(self, documents: Sequence[IndexDocument], wait: float | None = None) -> None:
        """Add or replace documents, durably, in the live index, visible to searches when this returns.

        :param documents: documents of any kinds; a document replaces the one with its kind and id.
        :param wait: seconds to wait for a write lock held elsewhere; ``None``: the backend's default.
        :raises IndexMissing: if there is no index.
        :raises SearchUnavailable: if the engine is down or the live index changed during the write;
            nothing is then guaranteed written.
        """

    @abstractmethod
    def delete(self, kind: str, ids: Sequence[int], wait: float | None = None) -> None:
        """Remove documents from the live index; unknown ids are ignored.

        :param kind: ``solution`` or ``case``.
        :param ids: the ids to remove.
        :param wait: as for :meth:`index`.
        :raises IndexMissing: if there is no index.
        :raises SearchUnavailable: if the engine is down.
        """

    @abstractmethod
    def search(self, request: SearchRequest) -> SearchResult:
        """Run a search.

        :param request: the query, filters, sort, page and facets.
        :returns: the requested page of hits with total and facet counts.
        :raises SearchUnavailable: if the engine is down.
        """

    @abstractmethod
    def suggest(self, prefix: str, limit: int = 10) -> list[str]:
        """Complete a prefix from indexed titles and tags.

        :param prefix: what the user has typed so far (normalised by the caller).
        :param limit: the most completions to return.
        :returns: completions, most frequent first.
        :raises SearchUnavailable: if the engine is down.
        """

    @abstractmethod
    def rebuild(self, documents: Iterable[IndexDocument]) -> int:
        """Build a fresh index from ``documents`` and make it live in one step.

        Until the switch the previous index keeps serving; a crash part-way leaves it serving.

        :returns: how many documents were indexed.
        :raises SearchUnavailable: if the engine is down.
        """

    @abstractmethod
    def clear(self) -> None:
        """Remove every document of every kind.

        :raises SearchUnavailable: if the engine is down.
        """

    @abstractmethod
    def stats(self) -> IndexStats:
        """Count the documents per kind; name the live index and the analysis and layout it was built with.

        :raises SearchUnavailable: if the engine is down.
        """

    def generation(self) -> Hashable | None:
        """A token that changes whenever the index's content changes; ``None`` if unknown.

        Callers may cache what they derived from indexed items for as long as it stays the same.
        The default knows none, so nothing is cached.

        :raises SearchUnavailable: if the engine is down.
        """
        return None

    def leftovers(self) -> list[str]:
        """Names of what interrupted rebuilds left behind (partial versions); the default knows none.

        :raises SearchUnavailable: if the engine is down.
        """
        return []

    def remove_leftovers(self) -> list[str]:
        """Remove what :meth:`leftovers` lists; returns the names removed. Never touches the live index.

        Call it only while no rebuild runs: a running rebuild's version looks the same.

        :raises SearchUnavailable: if the engine is down.
        """
        return []

    def close(self) -> None:  # noqa: B027 - optional hook with a no-op default
        """Release files, locks or connections; the default holds none."""
