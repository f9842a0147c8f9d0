"""What a search request means, whatever the engine: pure functions over :mod:`indexing.vocabulary`.

Both backends build their engine's query from the :class:`SearchPlan` of a request, so they agree
on which filters narrow the facet counts, which facet ignores which filter, and how a search
without words is ordered. Nothing here performs I/O or knows an engine.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from indexing.base import SearchRequest
from indexing.vocabulary import (
    DENSE_CANDIDATES,
    FACETS,
    FIELDS_BY_NAME,
    FILTERS,
    FUSION_RANK_CONSTANT,
    FUSION_WINDOW,
    RANGES,
    SEARCH_MODES,
    SORTS,
    UNRANKED_SORT,
    FacetSpec,
    FieldSpec,
    SortSpec,
)


@dataclass(frozen=True)
class TermClause:
    """One filter of a request: documents whose ``field`` holds any of ``values``.

    ``on_facet`` is true when a facet bears the filter's name: the filter then narrows the hits
    and the other facets' counts, but not its own facet's.
    """

    filter: str
    field: FieldSpec
    values: tuple[str, ...]
    on_facet: bool


@dataclass(frozen=True)
class RangeClause:
    """Documents whose ``field`` is at most ``maximum``."""

    field: FieldSpec
    maximum: int


@dataclass(frozen=True)
class SearchPlan:
    """A request read against the vocabulary.

    ``terms`` holds the filters with values, in the request's order. ``ranges`` and the promotion
    filter of the request narrow the hits and every facet. ``sort`` is the order to apply, after
    the fallback for a search without words. ``facets`` are the facets to count, in request order.

    ``mode`` is how the words match: the request's mode when it can apply, else ``keyword`` (dense
    retrieval needs words, a query vector and an order by relevance). ``dense_candidates`` is how
    many nearest neighbours to fetch and ``fusion_window`` how deep each ranking is read before
    fusion: enough for the page asked for, and at least :data:`~indexing.vocabulary.DENSE_CANDIDATES`
    and :data:`~indexing.vocabulary.FUSION_WINDOW`.
    """

    has_text: bool
    terms: tuple[TermClause, ...]
    ranges: tuple[RangeClause, ...]
    sort: SortSpec
    facets: tuple[FacetSpec, ...]
    mode: str = "keyword"
    dense_candidates: int = DENSE_CANDIDATES
    fusion_window: int = FUSION_WINDOW

    @property
    def dense(self) -> bool:
        """True if nearest neighbours of the query vector take part."""
        return self.mode != "keyword"

    @property
    def query_terms(self) -> tuple[TermClause, ...]:
        """The filters that narrow the hits and every facet's counts alike."""
        return tuple(clause for clause in self.terms if not clause.on_facet)

    @property
    def post_terms(self) -> tuple[TermClause, ...]:
        """The filters on a facet: they narrow the hits, and the counts of every other facet."""
        return tuple(clause for clause in self.terms if clause.on_facet)

    def terms_for_facet(self, facet: str) -> tuple[TermClause, ...]:
        """The filters that ``facet``'s counts apply: every one but the filter of its own name."""
        return tuple(clause for clause in self.terms if clause.filter != facet)


def search_plan(request: SearchRequest) -> SearchPlan:
    """Read ``request`` against the vocabulary.

    Filters without values are left out. An empty ``q`` (or only whitespace) has no relevance to
    order by, so an order by score falls back to :data:`~indexing.vocabulary.UNRANKED_SORT`.

    :raises ValueError: for an unknown sort, facet, filter or mode.
    """
    if request.mode not in SEARCH_MODES:
        raise ValueError(f"unknown mode {request.mode!r}; expected one of {', '.join(SEARCH_MODES)}")
    if request.sort not in SORTS:
        raise ValueError(f"unknown sort {request.sort!r}; expected one of {', '.join(SORTS)}")
    unknown_facets = [name for name in request.facets if name not in FACETS]
    if unknown_facets:
        raise ValueError(f"unknown facet {unknown_facets[0]!r}; expected one of {', '.join(FACETS)}")
    unknown_filters = [name for name in request.filters if name not in FILTERS]
    if unknown_filters:
        raise ValueError(f"unknown filter {unknown_filters[0]!r}; expected one of {', '.join(FILTERS)}")
    has_text = bool(request.q.strip())
    terms = tuple(
        TermClause(
            filter=name,
            field=FIELDS_BY_NAME[FILTERS[name].field],
            values=tuple(str(value) for value in values),
            on_facet=name in FACETS,
        )
        for name, values in request.filters.items()
        if values
    )
    ranges = tuple(
        RangeClause(field=FIELDS_BY_NAME[spec.field], maximum=maximum)
        for spec in RANGES.values()
        if (maximum := getattr(request, spec.name)) is not None
    )
    sort = SORTS[request.sort]
    if sort.by_score and not has_text:
        sort = SORTS[UNRANKED_SORT]
    dense = has_text and sort.by_score and request.vector is not None
    depth = request.page * request.per_page
    return SearchPlan(
        has_text=has_text,
        terms=terms,
        ranges=ranges,
        sort=sort,
        facets=tuple(FACETS[name] for name in request.facets),
        mode=request.mode if dense else "keyword",
        dense_candidates=max(DENSE_CANDIDATES, depth),
        fusion_window=max(FUSION_WINDOW, depth),
    )


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[Hashable]], rank_constant: int = FUSION_RANK_CONSTANT
) -> list[tuple[Hashable, float]]:
    """Fuse rankings: each item scores the sum of ``1 / (rank_constant + rank)`` over the rankings holding it.

    Ranks start at 1. Ties keep the order in which the items first appear, ranking by ranking, so
    the result is deterministic. This is what Elasticsearch's ``rrf`` retriever computes.

    :returns: ``(item, score)`` pairs, best first.
    """
    scores: dict[Hashable, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (rank_constant + rank)
    return sorted(scores.items(), key=lambda pair: -pair[1])
