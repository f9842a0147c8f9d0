"""What a search request means, whatever the engine: pure functions over :mod:`indexing.vocabulary`.

Both backends build their engine's query from the :class:`SearchPlan` of a request, so they agree
on which filters narrow the facet counts, which facet ignores which filter, and how a search
without words is ordered. Nothing here performs I/O or knows an engine.
"""

from __future__ import annotations

from dataclasses import dataclass

from indexing.base import SearchRequest
from indexing.vocabulary import (
    FACETS,
    FIELDS_BY_NAME,
    FILTERS,
    RANGES,
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
    """

    has_text: bool
    terms: tuple[TermClause, ...]
    ranges: tuple[RangeClause, ...]
    sort: SortSpec
    facets: tuple[FacetSpec, ...]

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

    :raises ValueError: for an unknown sort, facet or filter.
    """
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
    return SearchPlan(
        has_text=has_text,
        terms=terms,
        ranges=ranges,
        sort=sort,
        facets=tuple(FACETS[name] for name in request.facets),
    )
