"""Elasticsearch request bodies as data: pure functions from requests to JSON bodies and back.

Nothing here performs I/O; :mod:`indexing.elasticsearch_backend` sends what these functions build.
Documents and queries are analysed by :mod:`indexing.documents`, the same code the embedded backend
uses, so both engines index identical tokens. Each kind lives in its own index, laid out from
:data:`indexing.vocabulary.FIELDS` by :data:`FIELD_MAPPINGS`:

- tokens (``title_words``, ``text_words``, ``bigrams``): whitespace-analysed text holding
  space-joined tokens (queried with boosts 3, 1 and 0.1);
- keywords and references (``industries`` … ``provider_id``) and ``suggest_terms``: for filters,
  facets and completion;
- ``id``, numbers and ``created_ts``: for ranges and sorts;
- ``promotions``: a ``date_range`` per promotion window, both ends inclusive;
- ``title``, ``summary``: kept in ``_source`` only, for highlighting in Python;
- ``embedding``, when the backend stores vectors: a ``dense_vector`` (cosine, indexed for kNN).

``hybrid`` searches fuse the BM25 query and a kNN search with Elasticsearch's ``rrf`` retriever;
``semantic`` searches are a kNN retriever alone (:func:`search_body`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    WEIGHT_FIELDS,
    AnalysedDocument,
    AnalyzerLike,
    analyse_query,
    document_values,
)
from indexing.plan import SearchPlan, TermClause, search_plan
from indexing.vocabulary import (
    FACET_SIZE,
    FIELDS,
    FUSION_RANK_CONSTANT,
    HIGHLIGHTED,
    MAX_RESULT_WINDOW,
    VECTOR_FIELD,
    FieldSpec,
    FieldType,
    SortSpec,
    VectorSpec,
    layout_digest,
)

SUGGEST_TERM_MAX_CHARS = 256
SOURCE_FIELDS = tuple(spec.name for spec in FIELDS if spec.type in (FieldType.IDENTIFIER, FieldType.STORED))
"""What hits bring back from ``_source``: the id, and the text to highlight."""
SUGGEST_AGGREGATION = "suggestions"
HAS_VECTOR = {"exists": {"field": VECTOR_FIELD}}
"""Documents that hold a vector (counted by the index's stats)."""

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


def vector_mapping(vectors: VectorSpec) -> dict[str, Any]:
    """The mapping of the vector field: a ``dense_vector`` of the model's size, compared by cosine."""
    return {"type": "dense_vector", "dims": vectors.dimensions, "index": True, "similarity": "cosine"}


def _settings_and_layout(vectors: VectorSpec | None = None) -> dict[str, Any]:
    """The settings and the mapping of an index, without its ``_meta``: what :func:`layout` digests."""
    properties = {spec.name: dict(FIELD_MAPPINGS[spec.type]) for spec in FIELDS}
    if vectors is not None:
        properties[VECTOR_FIELD] = vector_mapping(vectors)
    return {
        "settings": {"number_of_shards": 1, "auto_expand_replicas": "0-1"},
        "mappings": {"dynamic": "strict", "properties": properties},
    }


def layout(vectors: VectorSpec | None = None) -> str:
    """The digest of the settings and mapping: it changes with any field, its mapping, or the vectors' model.

    The model's name is part of it although the mapping only holds the size: vectors of another
    model cannot be compared with a query's, so the index must be rebuilt.
    """
    if vectors is None:
        return layout_digest(_settings_and_layout())
    return layout_digest([_settings_and_layout(vectors), vectors.model_id])


LAYOUT = layout()
"""The layout of an index without vectors."""


def index_settings_and_mappings(analysis: str, vectors: VectorSpec | None = None) -> dict[str, Any]:
    """The ``settings`` and ``mappings`` of a physical index of either kind, built with ``analysis``.

    ``analysis`` (the analyser's version) and the :func:`layout` are kept in the mapping's ``_meta``
    (with the vectors' model when there are vectors), which Elasticsearch stores and returns but
    never interprets.

    One shard keeps BM25 statistics global, as in the embedded index, so both rank alike and
    facet counts are exact. ``auto_expand_replicas`` gives a single dev node a green index and a
    real cluster one replica. ``dynamic: strict`` turns a field missing here into an indexing error
    instead of a silently guessed mapping.
    """
    body = _settings_and_layout(vectors)
    meta = {"analysis": analysis, "layout": layout(vectors)}
    if vectors is not None:
        meta["vectors"] = vectors.model_id
    return {"settings": body["settings"], "mappings": {"_meta": meta, **body["mappings"]}}


def document_source(
    doc: IndexDocument, analysed: AnalysedDocument, vectors: VectorSpec | None = None
) -> dict[str, Any]:
    """The ``_source`` of one document: analysed token fields, keywords, numbers, windows, its vector.

    Absent optional values (``city``, ``price_min_cny`` …) are left out, so range filters and
    sorts treat them as missing rather than as zero; the optional values present come last. The
    vector (rounded to 6 decimals) comes last of all, and only if the index holds ``vectors`` and
    the document has one: a document without is found by its words only.
    """
    source: dict[str, Any] = {}
    optional: dict[str, Any] = {}
    for spec, value in document_values(doc, analysed):
        if not spec.optional:
            source[spec.name] = _source_value(spec, value)
        elif value is not None:
            optional[spec.name] = _source_value(spec, value)
    source.update(optional)
    if vectors is not None and doc.vector is not None:
        source[VECTOR_FIELD] = [round(float(value), 6) for value in doc.vector]
    return source


def _source_value(spec: FieldSpec, value: Any) -> Any:
    """A document's value as ``_source`` holds it: lists, references as strings, windows as ranges."""
    if spec.type is FieldType.WINDOWS:
        return [{"gte": start.isoformat(), "lte": end.isoformat()} for start, end in value]
    if spec.type is FieldType.REFERENCE:
        return str(value)
    return list(value) if isinstance(value, tuple) else value


def index_action(
    doc: IndexDocument, analysed: AnalysedDocument, index: str, vectors: VectorSpec | None = None
) -> dict[str, Any]:
    """A bulk-helper action that writes ``doc`` into ``index``, replacing any document with its id."""
    return {
        "_op_type": "index",
        "_index": index,
        "_id": str(doc.id),
        "_source": document_source(doc, analysed, vectors),
    }


def delete_action(index: str, doc_id: int) -> dict[str, Any]:
    """A bulk-helper action that removes the document ``doc_id`` from ``index``."""
    return {"_op_type": "delete", "_index": index, "_id": str(doc_id)}


def term_statistics_body(words: Sequence[str]) -> dict[str, Any]:
    """The ``_termvectors`` body that asks how many documents hold each of ``words`` in the weighing fields.

    An artificial document holding the words in each of :data:`~indexing.documents.WEIGHT_FIELDS`,
    analysed by those fields' whitespace analyser; only term and field statistics come back.
    """
    text = " ".join(words)
    return {
        "doc": {field: text for field in WEIGHT_FIELDS},
        "fields": list(WEIGHT_FIELDS),
        "term_statistics": True,
        "field_statistics": True,
        "positions": False,
        "offsets": False,
        "payloads": False,
    }


def parse_term_statistics(response: dict[str, Any]) -> tuple[dict[str, int], int]:
    """Document frequencies (the larger over the fields) and the document count, from ``_termvectors``."""
    doc_freq: dict[str, int] = {}
    documents = 0
    for statistics in response.get("term_vectors", {}).values():
        documents = max(documents, int(statistics.get("field_statistics", {}).get("doc_count", 0)))
        for term, info in statistics.get("terms", {}).items():
            doc_freq[term] = max(doc_freq.get(term, 0), int(info.get("doc_freq", 0)))
    return doc_freq, documents


def _text_query(q: str, analyzer: AnalyzerLike, weights: Mapping[str, float] | None = None) -> dict[str, Any]:
    """One boosted ``term`` clause per distinct token, any of which may match (as in the embedded index).

    Each word's boosts are multiplied by its weight (:func:`indexing.documents.word_weights`).
    """
    terms = analyse_query(q, analyzer)
    if terms.empty:
        return {"match_none": {}}
    weights = weights or {}
    should: list[dict[str, Any]] = []
    for word in terms.words:
        weight = weights.get(word, 1.0)
        should.append({"term": {"title_words": {"value": word, "boost": round(TITLE_BOOST * weight, 4)}}})
        should.append({"term": {"text_words": {"value": word, "boost": round(TEXT_BOOST * weight, 4)}}})
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


def search_body(
    request: SearchRequest, analyzer: AnalyzerLike, weights: Mapping[str, float] | None = None
) -> dict[str, Any]:
    """The ``_search`` body for ``request``, with disjunctive facets; ``weights`` weigh the query's words.

    The request is read by :func:`indexing.plan.search_plan`. Filters on a facet go to
    ``post_filter``, so they narrow the hits but not the aggregations; each facet's aggregation then
    re-applies every facet filter except its own. All other filters (tag, province, provider,
    ranges, promotion) go to the query and narrow both. An empty ``q`` lists everything the filters
    admit, newest first; a ``q`` that analyses to no tokens matches nothing. Pages past
    :data:`~indexing.vocabulary.MAX_RESULT_WINDOW` come back empty (with the total and facets)
    instead of failing in the engine.

    A ``hybrid`` or ``semantic`` search (see :attr:`indexing.plan.SearchPlan.mode`) has a
    ``retriever`` instead of ``query`` and ``sort`` (:func:`_dense_retriever`); ``post_filter`` and
    the aggregations stay as they are, and Elasticsearch counts them over every document that any
    of the retrievers matched, so facets count the union of the words' matches and the neighbours.

    :raises ValueError: for an unknown filter, facet, sort or mode.
    """
    plan = search_plan(request)
    query_filters = [_terms(clause) for clause in plan.query_terms]
    query_filters += [{"range": {r.field.name: {"lte": r.maximum}}} for r in plan.ranges]
    if request.promoted:
        query_filters.append(_promotion_running(request.today))
    query: dict[str, Any] = {
        "must": [_text_query(request.q, analyzer, weights) if plan.has_text else {"match_all": {}}],
        "filter": query_filters,
    }
    if request.promoted is False:
        query["must_not"] = [_promotion_running(request.today)]

    offset = (request.page - 1) * request.per_page
    size = request.per_page
    if offset + size > MAX_RESULT_WINDOW:
        offset, size = 0, 0
    body: dict[str, Any] = {}
    if plan.dense:
        body["retriever"] = _dense_retriever(request, plan, query)
    else:
        body["query"] = {"bool": query}
        body["sort"] = _sort_clauses(plan.sort)
    body.update({"from": offset, "size": size, "track_total_hits": True, "_source": list(SOURCE_FIELDS)})
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


def _dense_retriever(request: SearchRequest, plan: SearchPlan, query: dict[str, Any]) -> dict[str, Any]:
    """The retriever of a dense search: kNN alone (``semantic``) or fused with the BM25 query (``hybrid``).

    The kNN search applies the query's filters (``filter``: exact pre-filtering of the candidates,
    ``must_not`` for promotions turned off) and keeps neighbours from ``request.min_similarity`` up
    (``similarity`` is the raw cosine); the facet filters stay in ``post_filter``, as for a keyword
    search. The ``rrf`` retriever reads ``fusion_window`` hits of each (``rank_window_size``, so any
    page up to it can be served) with the conventional ``rank_constant`` of 60.
    """
    knn_filter = list(query["filter"])
    if "must_not" in query:
        knn_filter.append({"bool": {"must_not": query["must_not"]}})
    knn = {
        "field": VECTOR_FIELD,
        "query_vector": [round(float(value), 6) for value in request.vector],
        "k": plan.dense_candidates,
        "num_candidates": min(MAX_RESULT_WINDOW, 2 * plan.dense_candidates),
        "similarity": request.min_similarity,
        "filter": knn_filter,
    }
    if plan.mode == "semantic":
        return {"knn": knn}
    return {
        "rrf": {
            "retrievers": [{"standard": {"query": {"bool": query}}}, {"knn": knn}],
            "rank_window_size": plan.fusion_window,
            "rank_constant": FUSION_RANK_CONSTANT,
        }
    }


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


def parse_search_response(
    response: dict[str, Any], request: SearchRequest, analyzer: AnalyzerLike
) -> SearchResult:
    """Turn a ``_search`` response to :func:`search_body` into a :class:`SearchResult`.

    Highlights are made here, by the shared analyzer over the stored title and summary, so
    both backends mark the same words; a field appears in ``highlight`` only if it matched.
    Hits sorted by a field carry no score and get ``0.0``. A ``semantic`` hit's score is its cosine
    (Elasticsearch scores a cosine ``c`` as ``(1 + c) / 2``).
    """
    semantic = search_plan(request).mode == "semantic"
    terms = analyzer.highlight_terms(request.q) if request.q.strip() and request.highlight else set()
    hits = []
    for hit in response["hits"]["hits"]:
        source = hit.get("_source", {})
        highlight: dict[str, str] = {}
        for field in HIGHLIGHTED:
            fragment = analyzer.highlight(source.get(field) or "", terms) if terms else None
            if fragment:
                highlight[field] = fragment
        score = float(hit.get("_score") or 0.0)
        if semantic:
            score = 2.0 * score - 1.0
        hits.append(SearchHit(id=int(hit["_id"]), score=score, highlight=highlight))
    aggregations = response.get("aggregations", {})
    facets = {
        name: [
            FacetCount(value=str(bucket["key"]), count=int(bucket["doc_count"]))
            for bucket in aggregations.get(name, {}).get("values", {}).get("buckets", [])
        ]
        for name in request.facets
    }
    return SearchResult(total=int(response["hits"]["total"]["value"]), hits=hits, facets=facets)
