"""The Elasticsearch backend without a cluster: golden request bodies, and its I/O against a fake cluster.

Golden files live in ``tests/indexing/golden``. After an intended change to a body, regenerate
them with ``UPDATE_GOLDEN=1 .venv/bin/pytest tests/indexing/test_elasticsearch_golden.py`` and
review the diff; otherwise each body must match its file byte for byte.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from elastic_transport import ConnectionError as TransportConnectionError
from elasticsearch.helpers import actions as bulk_helpers

from indexing import queries
from indexing.base import FacetCount, IndexDocument, IndexMissing, SearchHit, SearchRequest, SearchUnavailable
from indexing.documents import analyse_document
from indexing.elasticsearch_backend import BulkFailed, ElasticsearchBackend
from indexing.vocabulary import VectorSpec, layout_digest
from tests.indexing.contract import IndexLifecycleContract
from tests.indexing.elasticsearch_fakes import FakeCluster, StandInAnalyzer

GOLDEN_DIR = Path(__file__).parent / "golden"
UPDATE_GOLDEN = os.environ.get("UPDATE_GOLDEN") == "1"
TODAY = date(2026, 11, 26)
ANALYZER = StandInAnalyzer()


def assert_golden(name: str, data: object) -> None:
    """Compare ``data``, serialised, with ``golden/<name>.json``; rewrite the file under UPDATE_GOLDEN=1."""
    path = GOLDEN_DIR / f"{name}.json"
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    if UPDATE_GOLDEN:
        GOLDEN_DIR.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"{path.name} is missing; run with UPDATE_GOLDEN=1 and review it"
    assert text == path.read_text(encoding="utf-8")


def request(**overrides: object) -> SearchRequest:
    """A solution search on a fixed day."""
    values: dict = {"kind": "solution", "today": TODAY}
    values.update(overrides)
    return SearchRequest(**values)


def make_doc(doc_id: int, kind: str = "solution", **overrides: object) -> IndexDocument:
    """A complete document; tests override what matters to them."""
    values: dict = {
        "kind": kind,
        "id": doc_id,
        "title": "注塑件视觉检测 AOI",
        "summary": "黑点、缩水在线检测",
        "body": "工业相机+边缘盒，两周上线",
        "tags": ("视觉质检", "AOI"),
        "industries": ("C", "C29", "C292", "C2929"),
        "industry_divisions": ("C29",),
        "scenarios": ("quality",),
        "delivery_modes": ("edge",),
        "city": "苏州市",
        "province": "江苏省",
        "provider_id": 7,
        "price_min_cny": 30_000,
        "deploy_days": 14,
        "created_ts": 1_700_000_000 + doc_id,
    }
    values.update(overrides)
    return IndexDocument(**values)


# -- golden bodies --------------------------------------------------------------------------

VECTORS = VectorSpec("test-model/1", 4)
QUERY_VECTOR = np.array([0.5, 0.5, 0.5, 0.5], dtype=np.float32)

SEARCH_CASES = {
    "hybrid_query": request(
        q="视觉检测",
        mode="hybrid",
        vector=QUERY_VECTOR,
        min_similarity=0.18,
        filters={"scenario": ("quality",), "tag": ("AOI",)},
        price_max_cny=50_000,
        promoted=False,
    ),
    "semantic_query": request(
        q="视觉检测", mode="semantic", vector=QUERY_VECTOR, min_similarity=0.18, filters={"city": ("苏州市",)}
    ),
    "hybrid_page_9_per_page_20": request(q="视觉检测", mode="hybrid", vector=QUERY_VECTOR, page=9),
    "hybrid_sorted_by_price_is_keyword": request(
        q="视觉检测", mode="hybrid", vector=QUERY_VECTOR, sort="price_asc"
    ),
    "empty_query": request(),
    "keyword_query": request(q="注塑件 视觉检测 AOI"),
    "keyword_facet_filters": request(
        q="视觉检测", filters={"scenario": ("quality", "energy"), "city": ("苏州市",)}
    ),
    "ranges": request(price_max_cny=50_000, deploy_days_max=30),
    "promoted": request(kind="case", promoted=True),
    "not_promoted": request(kind="case", promoted=False),
    "sort_relevance": request(q="视觉检测", sort="relevance"),
    "sort_newest": request(q="视觉检测", sort="newest"),
    "sort_price_asc": request(q="视觉检测", sort="price_asc"),
    "sort_deploy_days": request(q="视觉检测", sort="deploy_days"),
    "page_3_per_page_50": request(page=3, per_page=50),
}


def test_mapping_matches_golden():
    assert_golden("mapping", queries.index_settings_and_mappings(ANALYZER.version))


def test_mapping_with_vectors_matches_golden():
    """A dense_vector of the model's size, compared by cosine; the model is in ``_meta`` and the layout."""
    body = queries.index_settings_and_mappings(ANALYZER.version, VECTORS)
    assert_golden("mapping_with_vectors", body)
    assert body["mappings"]["_meta"]["layout"] == queries.layout(VECTORS) != queries.LAYOUT
    assert queries.layout(VectorSpec("test-model/2", 4)) != queries.layout(VECTORS)


def test_bulk_actions_with_vectors_match_golden():
    """A document's vector goes last in its source; one without a vector has none."""
    with_vector = make_doc(1, vector=np.array([0.1, 0.2, 0.3, 0.4], dtype=np.float32))
    actions = [
        queries.index_action(doc, analyse_document(doc, ANALYZER), "test-solution-v1", VECTORS)
        for doc in (with_vector, make_doc(2))
    ]
    assert_golden("bulk_actions_with_vectors", actions)
    assert "embedding" not in actions[1]["_source"]


@pytest.mark.parametrize("name", sorted(SEARCH_CASES))
def test_search_body_matches_golden(name):
    assert_golden(f"search_{name}", queries.search_body(SEARCH_CASES[name], ANALYZER))


def test_suggest_body_matches_golden():
    assert_golden("suggest", queries.suggest_body("视觉", 10))


def test_bulk_actions_match_golden():
    documents = [
        make_doc(1),
        make_doc(
            2,
            kind="case",
            title="能耗监测 <b>样板</b>",
            tags=(),
            city=None,
            provider_id=None,
            price_min_cny=None,
            deploy_days=None,
            promotion_windows=(
                (date(2026, 11, 1), date(2026, 11, 30)),
                (date(2027, 1, 1), date(2027, 1, 15)),
            ),
        ),
    ]
    actions = [
        queries.index_action(doc, analyse_document(doc, ANALYZER), f"marketplace-{doc.kind}")
        for doc in documents
    ]
    assert_golden("bulk_actions", actions)


# -- what the bodies mean ---------------------------------------------------------------------


def test_facet_filters_are_post_filters_and_each_facet_ignores_only_its_own():
    body = queries.search_body(
        request(
            q="视觉检测", filters={"scenario": ("quality", "energy"), "city": ("苏州市",), "tag": ("AOI",)}
        ),
        ANALYZER,
    )
    scenario = {"terms": {"scenarios": ["quality", "energy"]}}
    city = {"terms": {"city": ["苏州市"]}}
    assert body["post_filter"] == {"bool": {"filter": [scenario, city]}}
    assert body["query"]["bool"]["filter"] == [{"terms": {"tags": ["AOI"]}}]
    assert body["aggs"]["scenario"]["filter"] == {"bool": {"filter": [city]}}
    assert body["aggs"]["city"]["filter"] == {"bool": {"filter": [scenario]}}
    assert body["aggs"]["industry"]["filter"] == {"bool": {"filter": [scenario, city]}}
    assert body["aggs"]["industry"]["aggs"]["values"]["terms"]["field"] == "industry_divisions"


def test_empty_filter_values_are_ignored():
    body = queries.search_body(request(filters={"city": (), "tag": ()}), ANALYZER)
    assert "post_filter" not in body and body["query"]["bool"]["filter"] == []


def test_query_words_and_bigrams_are_boosted_should_clauses():
    should = queries.search_body(request(q="视觉检测 视觉检测"), ANALYZER)["query"]["bool"]["must"][0]["bool"]
    assert should["minimum_should_match"] == 1
    assert should["should"] == [
        {"term": {"title_words": {"value": "视觉检测", "boost": 3.0}}},
        {"term": {"text_words": {"value": "视觉检测", "boost": 1.0}}},
        {"term": {"bigrams": {"value": "视觉", "boost": 0.1}}},
        {"term": {"bigrams": {"value": "觉检", "boost": 0.1}}},
        {"term": {"bigrams": {"value": "检测", "boost": 0.1}}},
    ]


def test_word_weights_scale_each_words_boosts():
    """A generic word's clauses carry its weight (its IDF over the best word's), bigrams keep theirs."""
    should = queries.search_body(request(q="客户 划痕"), ANALYZER, {"客户": 0.25, "划痕": 1.0})["query"]
    clauses = should["bool"]["must"][0]["bool"]["should"]
    assert clauses[:4] == [
        {"term": {"title_words": {"value": "客户", "boost": 0.75}}},
        {"term": {"text_words": {"value": "客户", "boost": 0.25}}},
        {"term": {"title_words": {"value": "划痕", "boost": 3.0}}},
        {"term": {"text_words": {"value": "划痕", "boost": 1.0}}},
    ]


def test_term_statistics_are_read_from_every_weighing_field():
    """The larger document frequency over title and text words counts; the documents are the fields' most."""
    response = {
        "term_vectors": {
            "title_words": {"field_statistics": {"doc_count": 9}, "terms": {"客户": {"doc_freq": 1}}},
            "text_words": {"field_statistics": {"doc_count": 10}, "terms": {"客户": {"doc_freq": 7}}},
        }
    }
    assert queries.parse_term_statistics(response) == ({"客户": 7}, 10)
    assert queries.term_statistics_body(["客户", "划痕"])["doc"] == {
        "title_words": "客户 划痕",
        "text_words": "客户 划痕",
    }


def test_a_query_without_tokens_matches_nothing():
    body = queries.search_body(request(q="？！"), ANALYZER)
    assert body["query"]["bool"]["must"] == [{"match_none": {}}]


def test_empty_query_sorts_newest_first_even_for_relevance():
    body = queries.search_body(request(sort="relevance"), ANALYZER)
    assert body["sort"][0] == {"created_ts": {"order": "desc", "missing": "_last"}}
    assert body["sort"][-1] == {"id": {"order": "asc"}}


def test_pages_past_the_result_window_ask_for_no_hits():
    body = queries.search_body(request(page=101, per_page=100), ANALYZER)
    assert (body["from"], body["size"]) == (0, 0)
    assert queries.search_body(request(page=100, per_page=100), ANALYZER)["from"] == 9_900


@pytest.mark.parametrize(
    "overrides",
    [{"sort": "cheapest"}, {"facets": ("colour",)}, {"filters": {"colour": ("red",)}}],
    ids=["sort", "facet", "filter"],
)
def test_unknown_names_are_refused(overrides):
    with pytest.raises(ValueError):
        queries.search_body(request(**overrides), ANALYZER)


def test_suggest_prefix_is_a_literal_in_the_include_regex():
    body = queries.suggest_body("c++ (mes)", 5)
    assert body["aggs"]["suggestions"]["terms"]["include"] == "c\\+\\+\\ \\(mes\\).*"
    assert body["query"] == {"prefix": {"suggest_terms": {"value": "c++ (mes)"}}}


def test_document_source_leaves_out_absent_values_and_stores_provider_as_keyword():
    document = make_doc(1, city=None, price_min_cny=None)
    source = queries.document_source(document, analyse_document(document, ANALYZER))
    assert "city" not in source and "price_min_cny" not in source
    assert source["provider_id"] == "7"
    assert source["suggest_terms"] == ["注塑件视觉检测 aoi", "视觉质检", "aoi"]


def test_every_field_of_a_document_is_mapped():
    """The mapping is strict, so an unmapped field would be refused at indexing time."""
    properties = queries.index_settings_and_mappings(ANALYZER.version)["mappings"]["properties"]
    document = make_doc(1, promotion_windows=((date(2026, 1, 1), date(2026, 1, 2)),))
    assert set(queries.document_source(document, analyse_document(document, ANALYZER))) == set(properties)


def test_parse_search_response_reads_hits_highlights_and_facets():
    response = {
        "took": 3,
        "timed_out": False,
        "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
        "hits": {
            "total": {"value": 42, "relation": "eq"},
            "max_score": 7.25,
            "hits": [
                {
                    "_index": "marketplace-solution-v3",
                    "_id": "12",
                    "_score": 7.25,
                    "_source": {"id": 12, "title": "注塑件<视觉检测>", "summary": "黑点在线检测"},
                    "sort": [7.25, 1700000012, 12],
                },
                {
                    "_index": "marketplace-solution-v3",
                    "_id": "5",
                    "_score": 1.5,
                    "_source": {"id": 5, "title": "车间管理", "summary": "可对接视觉检测设备"},
                    "sort": [1.5, 1700000005, 5],
                },
            ],
        },
        "aggregations": {
            "industry": {
                "doc_count": 42,
                "values": {
                    "doc_count_error_upper_bound": 0,
                    "sum_other_doc_count": 0,
                    "buckets": [{"key": "C29", "doc_count": 30}, {"key": "C36", "doc_count": 12}],
                },
            },
            "scenario": {"doc_count": 50, "values": {"buckets": [{"key": "quality", "doc_count": 50}]}},
            "delivery_mode": {"doc_count": 0, "values": {"buckets": []}},
            "city": {"doc_count": 42, "values": {"buckets": [{"key": "苏州市", "doc_count": 42}]}},
        },
    }
    result = queries.parse_search_response(response, request(q="视觉检测"), ANALYZER)
    assert result.total == 42
    assert result.hits == [
        SearchHit(
            id=12,
            score=7.25,
            highlight={"title": "注塑件&lt;<em>视觉检测</em>&gt;"},
        ),
        SearchHit(id=5, score=1.5, highlight={"summary": "可对接<em>视觉检测</em>设备"}),
    ]
    assert result.facets == {
        "industry": [FacetCount("C29", 30), FacetCount("C36", 12)],
        "scenario": [FacetCount("quality", 50)],
        "delivery_mode": [],
        "city": [FacetCount("苏州市", 42)],
    }


def test_parse_search_response_gives_field_sorted_hits_zero_score_and_no_highlight_without_query():
    response = {
        "hits": {
            "total": {"value": 1, "relation": "eq"},
            "hits": [{"_id": "3", "_score": None, "_source": {"id": 3, "title": "视觉检测", "summary": ""}}],
        },
        "aggregations": {},
    }
    result = queries.parse_search_response(response, request(sort="price_asc", facets=("city",)), ANALYZER)
    assert result.hits == [SearchHit(id=3, score=0.0, highlight={})]
    assert result.facets == {"city": []}


# -- the backend against a fake cluster ------------------------------------------------------


@pytest.fixture
def cluster():
    return FakeCluster()


@pytest.fixture
def sleeps():
    """Waits the backend asked for between connection retries."""
    return []


@pytest.fixture
def bulk_helper_sleeps(monkeypatch):
    """Waits ``streaming_bulk`` asked for between 429 retries (it calls ``time.sleep`` itself)."""
    recorded: list[float] = []
    monkeypatch.setattr(bulk_helpers, "time", SimpleNamespace(sleep=recorded.append))
    return recorded


@pytest.fixture
def bare_backend(cluster, sleeps):
    """A backend on a cluster with no index, as before ``flask index ensure``."""
    backend = ElasticsearchBackend(
        client=cluster.client(max_retries=0),
        analyzer=ANALYZER,
        index_prefix="test",
        max_retries=3,
        initial_backoff=0.5,
        sleep=sleeps.append,
    )
    yield backend
    backend.close()


@pytest.fixture
def backend(bare_backend, cluster):
    """A backend on newly created empty indexes; the requests that created them are forgotten."""
    bare_backend.create()
    cluster.requests.clear()
    return bare_backend


class TestIndexLifecycleOnAFakeCluster(IndexLifecycleContract):
    """The shared contract's index lifecycle, on the fake cluster (the whole contract needs a real one)."""


def test_create_makes_v1_with_its_alias_in_one_call_per_kind(bare_backend, cluster):
    bare_backend.create()
    assert cluster.lines() == [
        "HEAD /_alias/test-solution",
        "GET /test-solution-v*",
        "PUT /test-solution-v1",
        "GET /test-solution-v*",
        "HEAD /_alias/test-case",
        "GET /test-case-v*",
        "PUT /test-case-v1",
        "GET /test-case-v*",
    ]
    (create,) = cluster.requests_to("PUT", "/test-solution-v1")
    assert create.body["aliases"] == {"test-solution": {}}
    assert create.body["mappings"] == queries.index_settings_and_mappings(ANALYZER.version)["mappings"]
    assert cluster.aliases() == {"test-case": ["test-case-v1"], "test-solution": ["test-solution-v1"]}
    assert bare_backend.stats().version == "test-solution-v1"
    assert bare_backend.stats().analysis == ANALYZER.version

    cluster.requests.clear()
    bare_backend.create()
    assert cluster.lines() == ["HEAD /_alias/test-solution", "HEAD /_alias/test-case"]


def test_writes_go_through_the_alias_and_require_it(backend, cluster):
    backend.index([make_doc(1), make_doc(2)])
    assert cluster.lines() == ["PUT /_bulk"]
    (bulk,) = cluster.requests_to("PUT", "/_bulk")
    assert bulk.params == {"refresh": "wait_for", "require_alias": "true"}
    assert sorted(cluster.docs("test-solution")) == ["1", "2"]


def test_create_numbers_past_leftovers(bare_backend, cluster):
    """A rebuild killed before its switch leaves ``v1`` without an alias: create makes ``v2``."""
    cluster.client().indices.create(index="test-solution-v1")
    bare_backend.create()
    assert cluster.aliases()["test-solution"] == ["test-solution-v2"]
    assert bare_backend.leftovers() == ["test-solution-v1"]


def test_losing_the_create_race_to_another_process_is_fine(bare_backend, cluster):
    """Both looked before either created: the loser's ``v1`` already exists, and so does the alias."""
    other = ElasticsearchBackend(client=cluster.client(), analyzer=ANALYZER, index_prefix="test")
    other.create()
    cluster.fail("HEAD", "/_alias/test-solution", 404)
    cluster.fail("GET", "/test-solution-v\\*", 200)  # an answer naming no index, as before other's create
    bare_backend.create()
    assert cluster.lines().count("PUT /test-solution-v1") == 2
    assert cluster.aliases() == {"test-case": ["test-case-v1"], "test-solution": ["test-solution-v1"]}


def test_a_create_that_numbered_past_another_processs_fresh_index_deletes_its_own(bare_backend, cluster):
    """Both found no alias; the other created ``v1`` with the alias first, so this one numbered past
    it and created ``v2`` with the alias too. It sees the alias name both and deletes ``v2``."""
    other = ElasticsearchBackend(client=cluster.client(), analyzer=ANALYZER, index_prefix="test")
    other.create()
    cluster.fail("HEAD", "/_alias/test-solution", 404)  # as it looked before other's create
    bare_backend.create()
    assert cluster.lines().count("PUT /test-solution-v2") == 1
    assert "DELETE /test-solution-v2" in cluster.lines()
    assert cluster.aliases() == {"test-case": ["test-case-v1"], "test-solution": ["test-solution-v1"]}
    assert "test-solution-v2" not in cluster.indices
    other.index([make_doc(1)])  # writes through the alias have one index again
    assert sorted(cluster.docs("test-solution")) == ["1"]


def test_without_an_index_the_calls_leave_the_cluster_empty(bare_backend, cluster):
    """What the shared contract checks through the backend, checked in the cluster: no index, no PUT."""
    for call in IndexLifecycleContract.MISSING_CALLS.values():
        with pytest.raises(IndexMissing):
            call(bare_backend)
    assert cluster.indices == {}
    assert [r for r in cluster.requests if r.method == "PUT" and r.path != "/_bulk"] == []


def test_writes_after_the_alias_vanished_raise_index_missing_and_recreate_nothing(backend, cluster):
    """A deleted index is not replaced by a write, and a deletion is not taken as done."""
    backend.index([make_doc(1)])
    cluster.client().indices.delete(index="test-solution-v1")
    with pytest.raises(IndexMissing):
        backend.index([make_doc(2)])
    with pytest.raises(IndexMissing):
        backend.delete("solution", [1])
    assert sorted(cluster.indices) == ["test-case-v1"]
    (deletion,) = [r for r in cluster.requests_to("PUT", "/_bulk") if "delete" in r.body[0]]
    assert deletion.params == {"refresh": "wait_for", "require_alias": "true"}


def test_a_deletion_into_a_missing_index_is_not_mistaken_for_a_missing_document(bare_backend, cluster):
    """Without ``require_alias`` too, 404 ``index_not_found_exception`` is IndexMissing, not done."""
    cluster.client().indices.create(index="test-solution-v1", aliases={"test-solution": {}})
    cluster.client().indices.delete(index="test-solution-v1")
    with pytest.raises(IndexMissing):
        bare_backend._bulk([queries.delete_action("test-solution", 1)], refresh="wait_for")


def test_leftovers_are_the_unaliased_versions_of_this_prefix_and_clean_removes_only_them(backend, cluster):
    backend.index([make_doc(1)])
    for name in ("test-solution-v4", "test-case-v2", "other-solution-v1", "test-solution-archive"):
        cluster.client().indices.create(index=name)
    assert backend.leftovers() == ["test-case-v2", "test-solution-v4"]
    assert backend.remove_leftovers() == ["test-case-v2", "test-solution-v4"]
    assert sorted(cluster.indices) == [
        "other-solution-v1",
        "test-case-v1",
        "test-solution-archive",
        "test-solution-v1",
    ]
    assert backend.leftovers() == [] and backend.remove_leftovers() == []
    assert sorted(cluster.docs("test-solution")) == ["1"]


def test_a_rebuild_that_cannot_delete_the_old_indexes_leaves_them_as_leftovers(backend, cluster):
    backend.index([make_doc(1)])
    cluster.fail("DELETE", "/test-solution-v1,test-case-v1", 500)
    backend.rebuild([make_doc(2)])
    assert backend.leftovers() == ["test-case-v1", "test-solution-v1"]
    backend.remove_leftovers()
    assert sorted(cluster.indices) == ["test-case-v2", "test-solution-v2"]


def test_rebuild_swaps_both_aliases_in_one_call_then_drops_the_old_indexes(backend, cluster):
    backend.index([make_doc(1), make_doc(1, kind="case")])
    assert backend.rebuild(iter([make_doc(3), make_doc(4), make_doc(5, kind="case")])) == 3

    (swap,) = cluster.requests_to("POST", "/_aliases")
    assert swap.body["actions"] == [
        {"remove": {"index": "test-solution-v1", "alias": "test-solution"}},
        {"remove": {"index": "test-case-v1", "alias": "test-case"}},
        {"add": {"index": "test-solution-v2", "alias": "test-solution"}},
        {"add": {"index": "test-case-v2", "alias": "test-case"}},
    ]
    lines = cluster.lines()
    assert lines.index("POST /test-solution-v2,test-case-v2/_refresh") < lines.index("POST /_aliases")
    assert lines.index("POST /_aliases") < lines.index("DELETE /test-solution-v1,test-case-v1")
    assert sorted(cluster.indices) == ["test-case-v2", "test-solution-v2"]
    assert sorted(cluster.docs("test-solution")) == ["3", "4"]
    assert backend.stats().version == "test-solution-v2"
    assert backend.stats().documents == {"solution": 2, "case": 1}


def test_the_index_keeps_the_analysis_it_was_built_with_until_a_rebuild(backend, cluster):
    """A newer analyser reads the version the live index recorded, and records its own by rebuilding."""
    backend.index([make_doc(1)])
    newer = type("NewerAnalyzer", (StandInAnalyzer,), {"version": "stand-in-2"})()
    upgraded = ElasticsearchBackend(client=cluster.client(), analyzer=newer, index_prefix="test")
    assert upgraded.stats().analysis == "stand-in-1"
    upgraded.rebuild(iter([make_doc(1)]))
    assert upgraded.stats().analysis == backend.stats().analysis == "stand-in-2"
    assert cluster.lines()[-1] == "GET /test-solution-v2/_mapping"


def test_an_index_of_another_layout_says_so_until_a_rebuild(backend, cluster):
    """The layout comes from the live index's ``_meta``; a rebuild records the backend's own."""
    backend.index([make_doc(1)])
    assert backend.stats().layout == backend.layout == queries.LAYOUT
    cluster.indices["test-solution-v1"].mappings["_meta"]["layout"] = "older"
    assert backend.stats().layout == "older"
    backend.rebuild(iter([make_doc(1)]))
    assert backend.stats().layout == queries.LAYOUT


def test_the_recorded_layout_digests_the_rest_of_the_mapping():
    """Any change to the settings or the mapping, such as a new field, changes the recorded layout."""
    body = queries.index_settings_and_mappings(ANALYZER.version)
    meta = body["mappings"].pop("_meta")
    assert meta == {"analysis": ANALYZER.version, "layout": queries.LAYOUT}
    assert meta["layout"] == layout_digest(body)


def test_first_rebuild_on_an_empty_cluster_creates_v1_and_the_aliases(bare_backend, cluster):
    assert bare_backend.rebuild([make_doc(1)]) == 1
    assert cluster.aliases() == {"test-case": ["test-case-v1"], "test-solution": ["test-solution-v1"]}
    bare_backend.index([make_doc(2)])
    assert cluster.requests_to("HEAD", "/_alias/.*") == []
    assert sorted(cluster.docs("test-solution")) == ["1", "2"]


def test_refused_document_in_a_rebuild_keeps_the_old_index_serving(backend, cluster):
    backend.index([make_doc(1)])
    cluster.refuse_item("4")
    with pytest.raises(BulkFailed) as raised:
        backend.rebuild([make_doc(3), make_doc(4)])
    assert [failure["index"]["_id"] for failure in raised.value.failures] == ["4"]
    assert cluster.requests_to("POST", "/_aliases") == []
    assert sorted(cluster.indices) == ["test-case-v1", "test-solution-v1"]
    assert cluster.aliases() == {"test-case": ["test-case-v1"], "test-solution": ["test-solution-v1"]}
    assert sorted(cluster.docs("test-solution")) == ["1"]


def test_crash_of_the_document_source_mid_rebuild_cleans_up_and_propagates(backend, cluster):
    backend.index([make_doc(1)])

    def broken():
        yield make_doc(3)
        raise RuntimeError("crash mid-rebuild")

    with pytest.raises(RuntimeError, match="crash mid-rebuild"):
        backend.rebuild(broken())
    assert sorted(cluster.indices) == ["test-case-v1", "test-solution-v1"]
    backend.index([make_doc(5)])
    assert sorted(cluster.docs("test-solution")) == ["1", "5"]


def test_failed_alias_swap_deletes_the_new_indexes(backend, cluster):
    backend.index([make_doc(1)])
    cluster.fail("POST", "/_aliases", 500)
    with pytest.raises(SearchUnavailable):
        backend.rebuild([make_doc(3)])
    assert sorted(cluster.indices) == ["test-case-v1", "test-solution-v1"]
    assert cluster.aliases() == {"test-case": ["test-case-v1"], "test-solution": ["test-solution-v1"]}


def test_rebuild_numbers_past_leftover_indexes(backend, cluster):
    backend.index([make_doc(1)])
    cluster.client().indices.create(index="test-solution-v7")
    backend.rebuild([make_doc(2)])
    assert cluster.aliases()["test-solution"] == ["test-solution-v8"]


def test_refused_documents_raise_with_every_failure_and_nothing_swallowed(backend, cluster):
    cluster.refuse_item("2")
    cluster.refuse_item("4", status=409, error_type="version_conflict_engine_exception")
    with pytest.raises(BulkFailed) as raised:
        backend.index([make_doc(n) for n in range(1, 6)])
    assert isinstance(raised.value, SearchUnavailable)
    failed = {failure["index"]["_id"]: failure["index"]["status"] for failure in raised.value.failures}
    assert failed == {"2": 400, "4": 409}
    assert "2 of 5 bulk actions failed" in str(raised.value) and "mapper_parsing_exception" in str(
        raised.value
    )
    assert sorted(cluster.docs("test-solution")) == ["1", "3", "5"]


def test_failures_in_every_chunk_are_collected(cluster, sleeps):
    backend = ElasticsearchBackend(
        client=cluster.client(), analyzer=ANALYZER, index_prefix="test", chunk_size=2
    )
    backend.create()
    cluster.refuse_item("1")
    cluster.refuse_item("5")
    with pytest.raises(BulkFailed) as raised:
        backend.index([make_doc(n) for n in range(1, 6)])
    assert sorted(failure["index"]["_id"] for failure in raised.value.failures) == ["1", "5"]
    assert len(cluster.requests_to("PUT", "/_bulk")) == 3
    assert not isinstance(raised.value, IndexMissing)


def test_items_rejected_with_429_are_retried_with_backoff(backend, cluster, bulk_helper_sleeps):
    cluster.reject_item("2", 429, 429)
    backend.index([make_doc(1), make_doc(2)])
    bulks = cluster.requests_to("PUT", "/_bulk")
    assert len(bulks) == 3
    assert [line["index"]["_id"] for line in bulks[1].body[::2]] == ["2"]
    assert bulk_helper_sleeps == [0.5, 1.0]
    assert sorted(cluster.docs("test-solution")) == ["1", "2"]


def test_items_still_rejected_after_the_last_retry_are_failures(backend, cluster, bulk_helper_sleeps):
    cluster.reject_item("2", 429, 429, 429, 429)
    with pytest.raises(BulkFailed) as raised:
        backend.index([make_doc(1), make_doc(2)])
    assert [(f["index"]["_id"], f["index"]["status"]) for f in raised.value.failures] == [("2", 429)]
    assert bulk_helper_sleeps == [0.5, 1.0, 2.0]


def test_a_whole_bulk_request_rejected_with_429_is_retried(backend, cluster, bulk_helper_sleeps):
    backend.index([make_doc(1)])
    cluster.fail("PUT", "/_bulk", 429)
    backend.index([make_doc(2)])
    assert len(cluster.requests_to("PUT", "/_bulk")) == 3
    assert sorted(cluster.docs("test-solution")) == ["1", "2"]


def test_connection_error_during_bulk_is_retried_with_exponential_backoff(backend, cluster, sleeps):
    backend.index([make_doc(1)])
    cluster.fail("PUT", "/_bulk", TransportConnectionError("connection refused"), times=2)
    backend.index([make_doc(2)])
    assert sleeps == [0.5, 1.0]
    assert sorted(cluster.docs("test-solution")) == ["1", "2"]


def test_connection_error_that_persists_becomes_search_unavailable(backend, cluster, sleeps):
    backend.index([make_doc(1)])
    cluster.fail("PUT", "/_bulk", TransportConnectionError("connection refused"), times=None)
    with pytest.raises(SearchUnavailable, match="could not index documents"):
        backend.index([make_doc(2)])
    assert sleeps == [0.5, 1.0, 2.0]
    assert len(cluster.requests_to("PUT", "/_bulk")) == 1 + 4


@pytest.mark.parametrize(
    "call",
    [
        lambda b: b.search(request(q="视觉")),
        lambda b: b.suggest("视觉"),
        lambda b: b.stats(),
        lambda b: b.clear(),
        lambda b: b.index([make_doc(9)]),
        lambda b: b.delete("solution", [9]),
        lambda b: b.rebuild([make_doc(9)]),
        lambda b: b.create(),
        lambda b: b.leftovers(),
    ],
    ids=["search", "suggest", "stats", "clear", "index", "delete", "rebuild", "create", "leftovers"],
)
def test_unreachable_cluster_is_search_unavailable(backend, cluster, call):
    cluster.fail(".*", ".*", TransportConnectionError("connection refused"), times=None)
    with pytest.raises(SearchUnavailable):
        call(backend)


def test_server_errors_are_search_unavailable(backend, cluster):
    backend.index([make_doc(1)])
    cluster.fail("POST", "/test-solution/_search", 503)
    with pytest.raises(SearchUnavailable, match="503"):
        backend.search(request())


def test_search_sends_the_pure_body_to_the_alias_and_parses_the_answer(backend, cluster):
    backend.index([make_doc(1)])
    cluster.search_response = {
        "hits": {
            "total": {"value": 1, "relation": "eq"},
            "hits": [
                {"_id": "1", "_score": 2.0, "_source": {"id": 1, "title": "注塑件视觉检测", "summary": ""}}
            ],
        },
        "aggregations": {
            "city": {"doc_count": 1, "values": {"buckets": [{"key": "苏州市", "doc_count": 1}]}}
        },
    }
    search = request(q="视觉检测", filters={"city": ("苏州市",)}, facets=("city",))
    result = backend.search(search)
    (sent,) = cluster.requests_to("POST", "/test-solution/_search")
    assert sent.body == queries.search_body(search, ANALYZER)
    assert result.hits == [SearchHit(id=1, score=2.0, highlight={"title": "注塑件<em>视觉检测</em>"})]
    assert result.facets == {"city": [FacetCount("苏州市", 1)]}


def test_suggest_searches_both_aliases(backend, cluster):
    backend.index([make_doc(1), make_doc(2, kind="case")])
    cluster.search_response = {
        "hits": {"total": {"value": 0, "relation": "eq"}, "hits": []},
        "aggregations": {
            "suggestions": {
                "buckets": [{"key": "视觉质检", "doc_count": 2}, {"key": "视觉检测", "doc_count": 1}]
            }
        },
    }
    assert backend.suggest("视觉", limit=2) == ["视觉质检", "视觉检测"]
    (sent,) = cluster.requests_to("POST", "/test-solution,test-case/_search")
    assert sent.body == queries.suggest_body("视觉", 2)
    assert sent.params == {}


def test_delete_ignores_unknown_ids_and_waits_for_refresh(backend, cluster):
    backend.index([make_doc(1), make_doc(2)])
    backend.delete("solution", [1, 999])
    assert sorted(cluster.docs("test-solution")) == ["2"]
    assert cluster.requests_to("PUT", "/_bulk")[-1].params == {"refresh": "wait_for", "require_alias": "true"}


def test_clear_empties_both_kinds_and_keeps_the_indexes(backend, cluster):
    backend.index([make_doc(1), make_doc(2), make_doc(1, kind="case")])
    backend.clear()
    assert backend.stats().documents == {"solution": 0, "case": 0}
    assert sorted(cluster.indices) == ["test-case-v1", "test-solution-v1"]
    assert cluster.requests_to("POST", "/test-solution/_delete_by_query")[0].params == {
        "conflicts": "proceed",
        "refresh": "true",
    }


def test_drop_indexes_names_every_index_of_the_prefix(backend, cluster):
    backend.index([make_doc(1), make_doc(1, kind="case")])
    cluster.client().indices.create(index="other-solution-v1")
    backend.drop_indexes()
    assert sorted(cluster.indices) == ["other-solution-v1"]
    assert cluster.requests_to("DELETE", ".*")[-1].path == "/test-case-v1,test-solution-v1"
    with pytest.raises(IndexMissing):
        backend.index([make_doc(2)])
    assert sorted(cluster.indices) == ["other-solution-v1"]


def test_unknown_kind_is_refused_before_any_request(backend, cluster):
    with pytest.raises(ValueError):
        backend.index([make_doc(1, kind="product")])
    with pytest.raises(ValueError):
        backend.delete("product", [1])
    assert cluster.requests == []


def test_url_or_client_but_not_both(cluster):
    with pytest.raises(ValueError):
        ElasticsearchBackend(analyzer=ANALYZER)
    with pytest.raises(ValueError):
        ElasticsearchBackend(url="http://localhost:9200", client=cluster.client(), analyzer=ANALYZER)


def test_client_from_url_is_created_on_first_use_and_closed_by_the_backend():
    backend = ElasticsearchBackend(url="http://search.internal:9200", analyzer=ANALYZER)
    assert backend._client is None
    client = backend.client
    assert client.transport.node_pool.all()[0].base_url == "http://search.internal:9200"
    backend.close()
    assert backend._client is None


@pytest.mark.parametrize("prefix", ["Marketplace", "-test", "test prefix", "a*b", ""])
def test_index_prefix_must_be_a_valid_index_name(cluster, prefix):
    with pytest.raises(ValueError):
        ElasticsearchBackend(client=cluster.client(), analyzer=ANALYZER, index_prefix=prefix)


def test_injected_client_is_left_open(cluster):
    client = cluster.client()
    backend = ElasticsearchBackend(client=client, analyzer=ANALYZER)
    backend.close()
    assert backend.client is client


def test_importing_the_backend_does_not_import_the_driver():
    code = (
        "import sys, indexing.elasticsearch_backend, indexing.queries; print('elasticsearch' in sys.modules)"
    )
    repository = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=repository
    )
    assert result.stdout.strip() == "False"


def test_missing_driver_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "elasticsearch", None)
    with pytest.raises(RuntimeError, match="needs the 'elasticsearch' package"):
        ElasticsearchBackend(url="http://localhost:9200", analyzer=ANALYZER)


def test_hybrid_body_fuses_bm25_and_knn_under_the_same_filters():
    """Query filters go into both retrievers (the knn's ``filter``); facet filters stay in ``post_filter``."""
    body = queries.search_body(SEARCH_CASES["hybrid_query"], ANALYZER)
    assert "query" not in body and "sort" not in body
    standard, knn = body["retriever"]["rrf"]["retrievers"]
    query_filters = standard["standard"]["query"]["bool"]["filter"]
    assert query_filters and knn["knn"]["filter"][: len(query_filters)] == query_filters
    assert knn["knn"]["filter"][-1] == {
        "bool": {"must_not": standard["standard"]["query"]["bool"]["must_not"]}
    }
    assert body["post_filter"] == {"bool": {"filter": [{"terms": {"scenarios": ["quality"]}}]}}
    assert body["retriever"]["rrf"]["rank_constant"] == 60 and knn["knn"]["similarity"] == 0.18


def test_deep_hybrid_pages_widen_the_fusion_window():
    """Page 9 of 20 needs 180 fused hits: each ranking is read that deep and the knn brings as many."""
    rrf = queries.search_body(SEARCH_CASES["hybrid_page_9_per_page_20"], ANALYZER)["retriever"]["rrf"]
    assert rrf["rank_window_size"] == 180 and rrf["retrievers"][1]["knn"]["k"] == 180


def test_semantic_scores_are_read_back_as_cosines():
    """Elasticsearch scores a cosine c as (1 + c) / 2; semantic hits carry c."""
    response = {
        "hits": {
            "total": {"value": 1, "relation": "eq"},
            "hits": [{"_id": "4", "_score": 0.8, "_source": {}}],
        }
    }
    result = queries.parse_search_response(response, SEARCH_CASES["semantic_query"], ANALYZER)
    assert result.hits[0].score == pytest.approx(0.6)


def test_a_backend_without_vectors_searches_by_keywords_and_maps_no_vector(backend, cluster):
    """Without a vector spec the query vector is ignored and the mapping has no ``embedding``."""
    backend.index([make_doc(1)])
    backend.search(SEARCH_CASES["hybrid_query"])
    (sent,) = cluster.requests_to("POST", "/test-solution/_search")
    assert "query" in sent.body and "retriever" not in sent.body
    assert "embedding" not in cluster.indices["test-solution-v1"].mappings["properties"]


def test_a_backend_with_vectors_writes_them_weighs_words_and_counts_vectors(cluster):
    """Vectors reach the source, the words are weighed from ``_termvectors``, stats count vectors."""
    backend = ElasticsearchBackend(
        client=cluster.client(), analyzer=ANALYZER, index_prefix="test", vectors=VECTORS
    )
    backend.create()
    vector = np.array([0.5, 0.5, 0.5, 0.5], dtype=np.float32)
    backend.index([make_doc(1, vector=vector), make_doc(2)])
    assert cluster.docs("test-solution")["1"]["embedding"] == [0.5, 0.5, 0.5, 0.5]
    assert "embedding" not in cluster.docs("test-solution")["2"]
    assert cluster.indices["test-solution-v1"].mappings["properties"]["embedding"]["dims"] == 4
    search = request(q="注塑件视觉检测 黑点", mode="hybrid", vector=vector)
    backend.search(search)
    (statistics,) = cluster.requests_to("POST", "/test-solution/_termvectors")
    assert statistics.body == queries.term_statistics_body(["注塑件视觉检测", "黑点"])
    (sent,) = cluster.requests_to("POST", "/test-solution/_search")
    assert "rrf" in sent.body["retriever"]
    assert backend.stats().vectors == {"solution": 1, "case": 0}
