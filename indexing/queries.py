"""Elasticsearch request bodies as data: pure functions from requests to JSON bodies and back.

Nothing here performs I/O; :mod:`indexing.elasticsearch_backend` sends what these functions build.
Documents and queries are analysed by :mod:`indexing.documents`, the same code the embedded backend
uses, so both engines index identical tokens. Each kind lives in its own index, laid out from
:data:`indexing.vocabulary.FIELDS` by :data:`FIELD_MAPPINGS`:

- tokens (``title_words``, ``text_words``, ``bigrams``): whitespace-analysed text holding
  space-joined tokens (queried with boosts 3, 1 and 0.3);
- keywords and references (``industries`` … ``provider_id``) and ``suggest_terms``: for filters,
  facets and completion;
- ``id``, numbers and ``created_ts``: for ranges and sorts;
- ``promotions``: a ``date_range`` per promotion window, both ends inclusive;
- ``title``, ``summary``: kept in ``_source`` only, for highlighting in Python.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from indexing.base import (
    FacetCount,
    IndexDocument,
    SearchHit,
    SearchRequest,
    SearchResult,
)
from indexing.documents import (
    BIGRAM_BOOST,
    TEXT_BOOST,
    TITLE_BOOST,
    AnalysedDocument,
    AnalyzerLike,
    analyse_query,
    document_values,
)
from indexing.plan import TermClause, search_plan
from indexing.vocabulary import (
    FACET_SIZE,
    FIELDS,
    HIGHLIGHTED,
    MAX_RESULT_WINDOW,
    FieldSpec,
    FieldType,
    SortSpec,
    layout_digest,
)

SUGGEST_TERM_MAX_CHARS = 256
SOURCE_FIELDS = tuple(spec.name for spec in FIELDS if spec.type in (FieldType.IDENTIFIER, FieldType.STORED))
"""What hits bring back from ``_source``: the id, and the text to highlight."""
SUGGEST_AGGREGATION = "suggestions"

FIELD_MAPPINGS: dict[FieldType, dict[str, Any]] = {
    FieldType.IDENTIFIER: {"type": "long"},
    FieldType.TOKENS: {"type": "text", "analyzer": "whitespace", "index_options": "freqs"},
    FieldType.STORED: {"type": "text", "index": False},
    FieldType.COMPLETIONS: {"type": "keyword", "ignore_above": SUGGEST_TERM_MAX_CHARS},
    FieldType.KEYWORD: {"type": "keyword"},
    FieldType.REFERENCE: {"type": "keyword"},
    FieldType.NUMBER: {"type": "integer"},
    FieldType.TIMESTAMP: {"type": "long"},
    FieldType.WINDOWS: {"type": "date_range", "format": "strict_date"},
}
"""How each :class:`~indexing.vocabulary.FieldType` is mapped. References are keywords: they are
only ever matched exactly, which keywords serve best."""


def _settings_and_layout() -> dict[str, Any]:
    """The settings and the mapping of an index, without its ``_meta``: what :data:`LAYOUT` digests."""
    return {
        "settings": {"number_of_shards": 1, "auto_expand_replicas": "0-1"},
        "mappings": {
            "dynamic": "strict",
            "properties": {spec.name: dict(FIELD_MAPPINGS[spec.type]) for spec in FIELDS},
        },
    }


LAYOUT = layout_digest(_settings_and_layout())
"""The digest of the settings and mapping: it changes with any field of the vocabulary or its mapping."""


def index_settings_and_mappings(analysis: str) -> dict[str, Any]:
    """The ``settings`` and ``mappings`` of a physical index of either kind, built with ``analysis``.

    ``analysis`` (the analyser's version) and :data:`LAYOUT` are kept in the mapping's ``_meta``,
    which Elasticsearch stores and returns but never interprets.

    One shard keeps BM25 statistics global, as in the embedded index, so both rank alike and
    facet counts are exact. ``auto_expand_replicas`` gives a single dev node a green index and a
    real cluster one replica. ``dynamic: strict`` turns a field missing here into an indexing error
    instead of a silently guessed mapping.
    """
    layout = _settings_and_layout()
    return {
        "settings": layout["settings"],
        "mappings": {"_meta": {"analysis": analysis, "layout": LAYOUT}, **layout["mappings"]},
    }


def document_source(doc: IndexDocument, analysed: AnalysedDocument) -> dict[str, Any]:
    """The ``_source`` of one document: analysed token fields, keywords, numbers and windows.

    Absent optional values (``city``, ``price_min_cny`` …) are left out, so range filters and
    sorts treat them as missing rather than as zero; the optional values present come last.
    """
    source: dict[str, Any] = {}
    optional: dict[str, Any] = {}
    for spec, value in document_values(doc, analysed):
        if not spec.optional:
            source[spec.name] = _source_value(spec, value)
        elif value is not None:
            optional[spec.name] = _source_value(spec, value)
    source.update(optional)
    return source


def _source_value(spec: FieldSpec, value: Any) -> Any:
    """A document's value as ``_source`` holds it: lists, references as strings, windows as ranges."""
    if spec.type is FieldType.WINDOWS:
        return [{"gte": start.isoformat(), "lte": end.isoformat()} for start, end in value]
    if spec.type is FieldType.REFERENCE:
        return str(value)
    return list(value) if isinstance(value, tuple) else value


def index_action(doc: IndexDocument, analysed: AnalysedDocument, index: str) -> dict[str, Any]:
    """A bulk-helper action that writes ``doc`` into ``index``, replacing any document with its id."""
    return {
        "_op_type": "index",
        "_index": index,
        "_id": str(doc.id),
        "_source": document_source(doc, analysed),
    }


def delete_action(index: str, doc_id: int) -> dict[str, Any]:
    """A bulk-helper action that removes the document ``doc_id`` from ``index``."""
    return {"_op_type": "delete", "_index": index, "_id": str(doc_id)}


def _text_query(q: str, analyzer: AnalyzerLike) -> dict[str, Any]:
    """One boosted ``term`` clause per distinct token, any of which may match (as in the embedded index)."""
    terms = analyse_query(q, analyzer)
    if terms.empty:
        return {"match_none": {}}
    should: list[dict[str, Any]] = []
    for word in terms.words:
        should.append({"term": {"title_words": {"value": word, "boost": TITLE_BOOST}}})
        should.append({"term": {"text_words": {"value": word, "boost": TEXT_BOOST}}})
    for bigram in terms.bigrams:
        should.append({"term": {"bigrams": {"value": bigram, "boost": BIGRAM_BOOST}}})
    return {"bool": {"should": should, "minimum_should_match": 1}}


def _sort_clauses(sort: SortSpec) -> list[dict[str, Any]]:
    """The ``sort`` of a search: the named order, then ascending id to break ties.

    Documents without the sort field go last. Ties are broken on the ``id`` field, not ``_id``,
    because sorting on ``_id`` needs fielddata that Elasticsearch 8+ disables by default.
    """
    clauses: list[dict[str, Any]] = []
    for key in sort.keys:
        clause: dict[str, Any] = {"order": "desc" if key.descending else "asc"}
        if key.field is not None:
            clause["missing"] = "_last"
        clauses.append({key.field or "_score": clause})
    clauses.append({"id": {"order": "asc"}})
    return clauses


def _terms(clause: TermClause) -> dict[str, Any]:
    """One ``terms`` clause: the filter's values ORed."""
    return {"terms": {clause.field.name: list(clause.values)}}


def _promotion_running(today: date) -> dict[str, Any]:
    """Documents with a promotion window containing ``today``."""
    return {"term": {"promotions": today.isoformat()}}


def _all_of(clauses: list[dict[str, Any]]) -> dict[str, Any]:
    """A filter matching documents that match every clause; ``match_all`` when there are none."""
    return {"bool": {"filter": clauses}} if clauses else {"match_all": {}}


def search_body(request: SearchRequest, analyzer: AnalyzerLike) -> dict[str, Any]:
    """The ``_search`` body for ``request``, with disjunctive facets.

    The request is read by :func:`indexing.plan.search_plan`. Filters on a facet go to
    ``post_filter``, so they narrow the hits but not the aggregations; each facet's aggregation then
    re-applies every facet filter except its own. All other filters (tag, province, provider,
    ranges, promotion) go to the query and narrow both. An empty ``q`` lists everything the filters
    admit, newest first; a ``q`` that analyses to no tokens matches nothing. Pages past
    :data:`~indexing.vocabulary.MAX_RESULT_WINDOW` come back empty (with the total and facets)
    instead of failing in the engine.

    :raises ValueError: for an unknown filter, facet or sort.
    """
    plan = search_plan(request)
    query_filters = [_terms(clause) for clause in plan.query_terms]
    query_filters += [{"range": {r.field.name: {"lte": r.maximum}}} for r in plan.ranges]
    if request.promoted:
        query_filters.append(_promotion_running(request.today))
    query: dict[str, Any] = {
        "must": [_text_query(request.q, analyzer) if plan.has_text else {"match_all": {}}],
        "filter": query_filters,
    }
    if request.promoted is False:
        query["must_not"] = [_promotion_running(request.today)]

    offset = (request.page - 1) * request.per_page
    size = request.per_page
    if offset + size > MAX_RESULT_WINDOW:
        offset, size = 0, 0
    body: dict[str, Any] = {
        "query": {"bool": query},
        "sort": _sort_clauses(plan.sort),
        "from": offset,
        "size": size,
        "track_total_hits": True,
        "_source": list(SOURCE_FIELDS),
    }
    if plan.post_terms:
        body["post_filter"] = _all_of([_terms(clause) for clause in plan.post_terms])
    if plan.facets:
        body["aggs"] = {
            facet.name: {
                "filter": _all_of(
                    [_terms(clause) for clause in plan.terms_for_facet(facet.name) if clause.on_facet]
                ),
                "aggs": {
                    "values": {
                        "terms": {
                            "field": facet.field,
                            "size": FACET_SIZE,
                            "order": [{"_count": "desc"}, {"_key": "asc"}],
                        }
                    }
                },
            }
            for facet in plan.facets
        }
    return body


def _lucene_regex_literal(text: str) -> str:
    """Escape ``text`` for Lucene's regular expressions (a backslash makes any symbol literal)."""
    return "".join(char if char.isalnum() else "\\" + char for char in text)


def suggest_body(prefix: str, limit: int) -> dict[str, Any]:
    """The ``_search`` body completing ``prefix`` from titles and tags, most frequent first.

    It uses a ``prefix`` query on the keyword field ``suggest_terms`` (each document's normalised
    title and tags) and a ``terms`` aggregation on the same field, restricted by ``include`` to the
    values that start with ``prefix``. The completion suggester was not chosen: it returns
    documents ranked by a static weight, so "most frequent first" would need a second counting pass
    and a de-duplication step, and it adds an in-memory FST per index; a terms aggregation counts
    documents per completion directly, exactly (one shard), on the data already indexed, matching
    the embedded backend's term-dictionary walk.
    """
    return {
        "size": 0,
        "track_total_hits": False,
        "query": {"prefix": {"suggest_terms": {"value": prefix}}},
        "aggs": {
            SUGGEST_AGGREGATION: {
                "terms": {
                    "field": "suggest_terms",
                    "include": _lucene_regex_literal(prefix) + ".*",
                    "size": limit,
                    "order": [{"_count": "desc"}, {"_key": "asc"}],
                }
            }
        },
    }


def parse_suggest_response(response: dict[str, Any]) -> list[str]:
    """The completions in a response to :func:`suggest_body`, most frequent first."""
    aggregation = response.get("aggregations", {}).get(SUGGEST_AGGREGATION, {})
    return [str(bucket["key"]) for bucket in aggregation.get("buckets", [])]


def empty_result(request: SearchRequest) -> SearchResult:
    """What a search over an index that does not exist yet finds: nothing."""
    return SearchResult(total=0, hits=[], facets={name: [] for name in request.facets})


def parse_search_response(
    response: dict[str, Any], request: SearchRequest, analyzer: AnalyzerLike
) -> SearchResult:
    """Turn a ``_search`` response to :func:`search_body` into a :class:`SearchResult`.

    Highlights are made here, by the shared analyzer over the stored title and summary, so
    both backends mark the same words; a field appears in ``highlight`` only if it matched.
    Hits sorted by a field carry no score and get ``0.0``.
    """
    terms = analyzer.highlight_terms(request.q) if request.q.strip() and request.highlight else set()
    hits = []
    for hit in response["hits"]["hits"]:
        source = hit.get("_source", {})
        highlight: dict[str, str] = {}
        for field in HIGHLIGHTED:
            fragment = analyzer.highlight(source.get(field) or "", terms) if terms else None
            if fragment:
                highlight[field] = fragment
        score = hit.get("_score")
        hits.append(SearchHit(id=int(hit["_id"]), score=float(score or 0.0), highlight=highlight))
    aggregations = response.get("aggregations", {})
    facets = {
        name: [
            FacetCount(value=str(bucket["key"]), count=int(bucket["doc_count"]))
            for bucket in aggregations.get(name, {}).get("values", {}).get("buckets", [])
        ]
        for name in request.facets
    }
    return SearchResult(total=int(response["hits"]["total"]["value"]), hits=hits, facets=facets)
