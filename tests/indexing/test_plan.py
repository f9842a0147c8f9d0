"""The engine-independent reading of a request, and the vocabulary it reads: tested once for both backends."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from indexing.base import IndexDocument, SearchRequest
from indexing.documents import AnalysedDocument
from indexing.plan import search_plan
from indexing.vocabulary import FACETS, FIELDS, FIELDS_BY_NAME, FILTERS, RANGES, SORTS, FieldType


def request(**overrides: object) -> SearchRequest:
    """A solution search on a fixed day."""
    values: dict = {"kind": "solution", "today": date(2026, 11, 26)}
    values.update(overrides)
    return SearchRequest(**values)


def names(clauses) -> list[str]:
    return [clause.filter for clause in clauses]


# -- the vocabulary ---------------------------------------------------------------------------


def test_filters_facets_ranges_and_sorts_name_fields_of_a_fitting_type():
    assert {FIELDS_BY_NAME[spec.field].type for spec in FILTERS.values()} <= {
        FieldType.KEYWORD,
        FieldType.REFERENCE,
    }
    assert {FIELDS_BY_NAME[spec.field].type for spec in FACETS.values()} == {FieldType.KEYWORD}
    assert {FIELDS_BY_NAME[spec.field].type for spec in RANGES.values()} == {FieldType.NUMBER}
    keys = [key.field for spec in SORTS.values() for key in spec.keys if key.field is not None]
    assert {FIELDS_BY_NAME[field].type for field in keys} <= {FieldType.NUMBER, FieldType.TIMESTAMP}


def test_every_field_reads_an_attribute_of_the_document_or_its_analysis():
    documents = {field.name for field in dataclasses.fields(IndexDocument)}
    analysed = {field.name for field in dataclasses.fields(AnalysedDocument)}
    for spec in FIELDS:
        assert spec.source in (analysed if spec.type.analysed else documents), spec.name


def test_field_names_are_unique_and_ranges_are_request_attributes():
    assert len(FIELDS_BY_NAME) == len(FIELDS)
    attributes = {field.name for field in dataclasses.fields(SearchRequest)}
    assert set(RANGES) <= attributes


# -- the plan ---------------------------------------------------------------------------------


def test_filters_on_a_facet_are_post_filters_and_the_others_narrow_the_query():
    plan = search_plan(
        request(filters={"tag": ("AOI",), "scenario": ("quality", "energy"), "city": ("苏州市",)})
    )
    assert names(plan.terms) == ["tag", "scenario", "city"]
    assert names(plan.query_terms) == ["tag"]
    assert names(plan.post_terms) == ["scenario", "city"]
    assert plan.terms[1].values == ("quality", "energy")
    assert plan.terms[1].field.name == "scenarios"


def test_each_facet_ignores_only_its_own_filter():
    plan = search_plan(
        request(filters={"scenario": ("quality",), "city": ("苏州市",), "province": ("江苏省",)})
    )
    assert names(plan.terms_for_facet("scenario")) == ["city", "province"]
    assert names(plan.terms_for_facet("city")) == ["scenario", "province"]
    assert names(plan.terms_for_facet("industry")) == ["scenario", "city", "province"]


def test_the_industry_filter_and_facet_read_different_fields():
    """The filter matches any ancestor code; the facet counts 大类 only."""
    plan = search_plan(request(filters={"industry": ("C29",)}, facets=("industry",)))
    assert plan.terms[0].field.name == "industries"
    assert [facet.field for facet in plan.facets] == ["industry_divisions"]


def test_filters_without_values_are_left_out_and_values_become_strings():
    plan = search_plan(request(filters={"city": (), "provider_id": (7, "8")}))
    assert names(plan.terms) == ["provider_id"]
    assert plan.terms[0].values == ("7", "8")
    assert plan.terms[0].field.type is FieldType.REFERENCE


def test_ranges_bound_their_fields_from_above():
    plan = search_plan(request(price_max_cny=50_000, deploy_days_max=30))
    assert [(bound.field.name, bound.maximum) for bound in plan.ranges] == [
        ("price_min_cny", 50_000),
        ("deploy_days", 30),
    ]
    assert search_plan(request(deploy_days_max=0)).ranges[0].maximum == 0
    assert search_plan(request()).ranges == ()


@pytest.mark.parametrize(
    ("q", "sort", "expected"),
    [
        ("视觉检测", "relevance", "relevance"),
        ("", "relevance", "newest"),
        ("   ", "relevance", "newest"),
        ("", "price_asc", "price_asc"),
        ("视觉检测", "deploy_days", "deploy_days"),
    ],
)
def test_a_search_without_words_is_ordered_newest_first_instead_of_by_relevance(q, sort, expected):
    plan = search_plan(request(q=q, sort=sort))
    assert plan.sort.name == expected
    assert plan.has_text is bool(q.strip())
    assert plan.sort.by_score is (expected == "relevance")


def test_facets_keep_the_requested_order():
    plan = search_plan(request(facets=("city", "industry")))
    assert [facet.name for facet in plan.facets] == ["city", "industry"]
    assert search_plan(request(facets=())).facets == ()


@pytest.mark.parametrize(
    "overrides",
    [
        {"sort": "cheapest"},
        {"facets": ("colour",)},
        {"filters": {"colour": ("red",)}},
        {"filters": {"colour": ()}},
    ],
    ids=["sort", "facet", "filter", "filter-without-values"],
)
def test_unknown_names_are_refused(overrides):
    with pytest.raises(ValueError, match="unknown"):
        search_plan(request(**overrides))
