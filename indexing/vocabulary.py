"""The search vocabulary, declared once: the index's fields, and the filters, facets and sorts over them.

Everything else is derived from these tables: the tantivy schema and the Elasticsearch mapping
(each backend turns a :class:`FieldType` into its engine's field), the documents both backends
write (:func:`indexing.documents.document_values`), the engine-independent reading of a request
(:mod:`indexing.plan`), and the API's choices of sorts. Each backend records a digest of the layout
it derives (:func:`layout_digest`) in every index it builds, beside the analysis version, so that an
index built on an older layout is noticed and rebuilt.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from enum import Enum


class FieldType(Enum):
    """What a field holds, and so how each engine stores it."""

    IDENTIFIER = "identifier"
    """The item's id: stored, and the last tie-break of every order."""
    TOKENS = "tokens"
    """Analysed tokens joined by spaces, scored by term frequency."""
    STORED = "stored"
    """Text kept to highlight hits, never searched."""
    COMPLETIONS = "completions"
    """Normalised titles and tags, completed by prefix."""
    KEYWORD = "keyword"
    """Exact values, for filters and facets."""
    REFERENCE = "reference"
    """The integer id of a related record, filtered by exact value."""
    NUMBER = "number"
    """An integer, for ranges and orders."""
    TIMESTAMP = "timestamp"
    """Seconds since the epoch, for orders."""
    WINDOWS = "windows"
    """Date windows, both ends inclusive, matched by the day that falls in one."""

    @property
    def analysed(self) -> bool:
        """True if the value comes from the analysis chain rather than straight from the document."""
        return self in (FieldType.TOKENS, FieldType.COMPLETIONS)


@dataclass(frozen=True)
class FieldSpec:
    """One field of the index.

    :param name: the field's name in the index and in the plan.
    :param type: what it holds.
    :param optional: the value may be absent (``None``); an absent value is left out of the
        document, so ranges and orders treat it as missing rather than as zero.
    :param attribute: the attribute of :class:`indexing.base.IndexDocument` (or, for analysed
        types, of :class:`indexing.documents.AnalysedDocument`) holding the value; ``name`` if empty.
    """

    name: str
    type: FieldType
    optional: bool = False
    attribute: str = ""

    @property
    def source(self) -> str:
        """The attribute the value is read from."""
        return self.attribute or self.name


@dataclass(frozen=True)
class FilterSpec:
    """A repeatable filter: documents whose ``field`` holds any of the values asked for.

    ``name`` is the query argument and the key of :attr:`indexing.base.SearchRequest.filters`.
    """

    name: str
    field: str


@dataclass(frozen=True)
class FacetSpec:
    """Counts of the values of ``field`` among the matches.

    A facet's counts ignore the filter of the same name (disjunctive counting), so the user sees
    what choosing another value of that filter would find.
    """

    name: str
    field: str


@dataclass(frozen=True)
class RangeSpec:
    """An upper bound on a number field; documents without the field never match.

    ``name`` is the query argument and the attribute of :class:`indexing.base.SearchRequest`.
    """

    name: str
    field: str


@dataclass(frozen=True)
class SortKey:
    """One key of an order: ``field``, or the relevance score when ``field`` is ``None``."""

    field: str | None
    descending: bool


@dataclass(frozen=True)
class SortSpec:
    """A named order: its keys, most significant first; documents without a key's field go last."""

    name: str
    keys: tuple[SortKey, ...]

    @property
    def by_score(self) -> bool:
        """True if hits are ordered by relevance first (and so carry their scores)."""
        return self.keys[0].field is None


FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("id", FieldType.IDENTIFIER),
    FieldSpec("title_words", FieldType.TOKENS),
    FieldSpec("text_words", FieldType.TOKENS),
    FieldSpec("bigrams", FieldType.TOKENS),
    FieldSpec("title", FieldType.STORED),
    FieldSpec("summary", FieldType.STORED),
    FieldSpec("suggest_terms", FieldType.COMPLETIONS),
    FieldSpec("industries", FieldType.KEYWORD),
    FieldSpec("industry_divisions", FieldType.KEYWORD),
    FieldSpec("scenarios", FieldType.KEYWORD),
    FieldSpec("tags", FieldType.KEYWORD),
    FieldSpec("delivery_modes", FieldType.KEYWORD),
    FieldSpec("city", FieldType.KEYWORD, optional=True),
    FieldSpec("province", FieldType.KEYWORD, optional=True),
    FieldSpec("provider_id", FieldType.REFERENCE, optional=True),
    FieldSpec("price_min_cny", FieldType.NUMBER, optional=True),
    FieldSpec("deploy_days", FieldType.NUMBER, optional=True),
    FieldSpec("created_ts", FieldType.TIMESTAMP),
    FieldSpec("promotions", FieldType.WINDOWS, attribute="promotion_windows"),
)
"""Every field, in the order the engines lay them out."""

FIELDS_BY_NAME: dict[str, FieldSpec] = {spec.name: spec for spec in FIELDS}

FILTERS: dict[str, FilterSpec] = {
    spec.name: spec
    for spec in (
        FilterSpec("industry", "industries"),
        FilterSpec("scenario", "scenarios"),
        FilterSpec("tag", "tags"),
        FilterSpec("delivery_mode", "delivery_modes"),
        FilterSpec("city", "city"),
        FilterSpec("province", "province"),
        FilterSpec("provider_id", "provider_id"),
    )
}
"""``industry`` matches ``industries``, which holds every tagged code with its ancestors."""

FACETS: dict[str, FacetSpec] = {
    spec.name: spec
    for spec in (
        FacetSpec("industry", "industry_divisions"),
        FacetSpec("scenario", "scenarios"),
        FacetSpec("delivery_mode", "delivery_modes"),
        FacetSpec("city", "city"),
    )
}
"""The industry facet counts 大类 codes (``industry_divisions``), not every ancestor."""

RANGES: dict[str, RangeSpec] = {
    spec.name: spec
    for spec in (RangeSpec("price_max_cny", "price_min_cny"), RangeSpec("deploy_days_max", "deploy_days"))
}

SORTS: dict[str, SortSpec] = {
    spec.name: spec
    for spec in (
        SortSpec("relevance", (SortKey(None, descending=True), SortKey("created_ts", descending=True))),
        SortSpec("newest", (SortKey("created_ts", descending=True),)),
        SortSpec("price_asc", (SortKey("price_min_cny", descending=False),)),
        SortSpec("deploy_days", (SortKey("deploy_days", descending=False),)),
    )
}

HIGHLIGHTED: tuple[str, ...] = tuple(spec.name for spec in FIELDS if spec.type is FieldType.STORED)
"""The fields whose matches hits mark."""

UNRANKED_SORT = "newest"
"""The order of a search without words, which has no relevance to order by."""
FACET_SIZE = 100
"""The most values a facet counts."""
MAX_RESULT_WINDOW = 10_000
"""Hits past this position are never served: a deeper page finds nothing (the API refuses it)."""


SEARCH_MODES: tuple[str, ...] = ("keyword", "hybrid", "semantic")
"""How words are matched: ``keyword`` by their tokens (BM25), ``semantic`` by the cosine of their
embedding with each document's vector, ``hybrid`` by both, fused by reciprocal rank."""
VECTOR_FIELD = "embedding"
"""The field holding a document's vector, where the engine keeps it (Elasticsearch: a ``dense_vector``)."""
DENSE_CANDIDATES = 100
"""How many nearest neighbours dense retrieval brings to a search (more if the page asks for more)."""
FUSION_RANK_CONSTANT = 60
"""The ``k`` of reciprocal rank fusion: a hit at rank ``r`` of a ranking adds ``1 / (k + r)``."""
FUSION_WINDOW = 100
"""How deep each ranking is read before fusion (more if the page asks for more)."""


@dataclass(frozen=True)
class VectorSpec:
    """The vectors an index holds: the model that made them and how many values each has.

    Part of the layout: an index built for another model or size is noticed and rebuilt, since its
    vectors cannot be compared with a query's.
    """

    model_id: str
    dimensions: int


def layout_digest(layout: object) -> str:
    """A short digest of an engine's field layout (any JSON-serialisable description of it).

    Keys are sorted, so only what the layout says counts, not the order a mapping was written in;
    list order (a schema's field order) counts.
    """
    text = json.dumps(layout, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:8]
