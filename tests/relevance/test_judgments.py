"""Validate the recommender relevance judgments against the current demo catalog."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
JUDGMENTS_PATH = HERE / "judgments.json"

MIN_QUERIES = 60
MIN_DIVISIONS = 12
GRADES = {0, 1, 2, 3}
TOP_KEYS = {"version", "catalog", "rubric", "queries"}
QUERY_KEYS = {"id", "profile", "notes", "solutions", "cases"}
PROFILE_REQUIRED = {"industry", "needs"}
PROFILE_OPTIONAL = {"budget_max_cny", "city", "province", "digital_level", "scenarios"}
QUERY_ID = re.compile(r"^q\d{3}$")
SOLUTION_KEY = re.compile(r"^sol-\d{4}$")
CASE_KEY = re.compile(r"^case-\d{3}$")


def _load_json(path: Path):
    """Read a UTF-8 JSON file."""
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def judgments():
    """The judgment file."""
    return _load_json(JUDGMENTS_PATH)


@pytest.fixture(scope="module")
def queries(judgments):
    """The list of judged queries."""
    return judgments["queries"]


@pytest.fixture(scope="module")
def catalog_dir(judgments):
    """The catalog directory named by the judgment file."""
    return ROOT / judgments["catalog"]


@pytest.fixture(scope="module")
def solutions(catalog_dir):
    """Demo solutions by key."""
    return {item["key"]: item for item in _load_json(catalog_dir / "solutions.json")}


@pytest.fixture(scope="module")
def cases(catalog_dir):
    """Demo cases by key."""
    return {item["key"]: item for item in _load_json(catalog_dir / "cases.json")}


@pytest.fixture(scope="module")
def scenario_codes():
    """The 16 scenario codes of the 2024 taxonomy."""
    taxonomy = _load_json(ROOT / "seed_data" / "taxonomy" / "scenarios_2024.json")
    return {scenario["code"] for scenario in taxonomy["scenarios"]}


@pytest.fixture(scope="module")
def industry_codes():
    """All GB/T 4754-2017 codes in the product's industry table."""
    path = ROOT / "seed_data" / "taxonomy" / "industries_gbt4754_2017.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        return {row["code"] for row in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def catalog_industries(catalog_dir, solutions, cases):
    """Industry codes that occur anywhere in the demo catalog."""
    codes = {code for item in solutions.values() for code in item["industries"]}
    codes |= {item["industry"] for item in cases.values()}
    codes |= {item["industry"] for item in _load_json(catalog_dir / "enterprises.json")}
    return codes


def test_top_level_schema(judgments):
    """The file has exactly the agreed top-level fields and points at an existing rubric and catalog."""
    assert set(judgments) == TOP_KEYS
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", judgments["version"])
    assert (HERE / judgments["rubric"]).is_file()
    assert (ROOT / judgments["catalog"] / "solutions.json").is_file()
    assert isinstance(judgments["queries"], list)


def test_enough_queries(queries):
    """At least 60 queries are judged."""
    assert len(queries) >= MIN_QUERIES


def test_query_ids_unique_and_well_formed(queries):
    """Query ids match qNNN and are unique."""
    ids = [query["id"] for query in queries]
    assert all(QUERY_ID.fullmatch(query_id) for query_id in ids)
    assert len(ids) == len(set(ids))


def test_query_schema(queries):
    """Every query has exactly the agreed fields with the right types."""
    for query in queries:
        assert set(query) == QUERY_KEYS, query["id"]
        assert isinstance(query["notes"], str) and query["notes"].strip(), query["id"]
        assert isinstance(query["solutions"], dict), query["id"]
        assert isinstance(query["cases"], dict), query["id"]


def test_profile_schema(queries, industry_codes, scenario_codes):
    """Profiles carry a known industry code, non-empty needs and well-typed optional fields."""
    for query in queries:
        profile = query["profile"]
        assert PROFILE_REQUIRED <= set(profile) <= PROFILE_REQUIRED | PROFILE_OPTIONAL, query["id"]
        assert profile["industry"] in industry_codes, query["id"]
        assert isinstance(profile["needs"], str) and profile["needs"].strip(), query["id"]
        if "budget_max_cny" in profile:
            budget = profile["budget_max_cny"]
            assert isinstance(budget, int) and not isinstance(budget, bool) and budget > 0, query["id"]
        for field in ("city", "province"):
            if field in profile:
                assert isinstance(profile[field], str) and profile[field].strip(), query["id"]
        if "digital_level" in profile:
            assert profile["digital_level"] in {0, 1, 2, 3, 4}, query["id"]
        if "scenarios" in profile:
            assert profile["scenarios"] and set(profile["scenarios"]) <= scenario_codes, query["id"]


def test_industries_occur_in_demo_catalog(queries, catalog_industries):
    """Query industries are codes used by the demo catalog."""
    missing = {
        query["id"]: query["profile"]["industry"]
        for query in queries
        if query["profile"]["industry"] not in catalog_industries
    }
    assert not missing


def test_keys_exist_in_catalog(queries, solutions, cases):
    """Every judged key exists in the current seed_data/demo files."""
    for query in queries:
        for key in query["solutions"]:
            assert SOLUTION_KEY.fullmatch(key) and key in solutions, (query["id"], key)
        for key in query["cases"]:
            assert CASE_KEY.fullmatch(key) and key in cases, (query["id"], key)


def test_grades_in_range(queries):
    """Grades are integers 0..3."""
    for query in queries:
        for key, grade in {**query["solutions"], **query["cases"]}.items():
            assert isinstance(grade, int) and not isinstance(grade, bool), (query["id"], key)
            assert grade in GRADES, (query["id"], key)


def test_every_query_has_a_relevant_solution(queries):
    """Every query has at least one solution graded 2 or 3."""
    lacking = [query["id"] for query in queries if max(query["solutions"].values(), default=0) < 2]
    assert not lacking


def test_industry_spread(queries):
    """Queries span at least 12 distinct 大类 (two-digit divisions)."""
    divisions = {query["profile"]["industry"][:3] for query in queries}
    assert all(re.fullmatch(r"C\d{2}", division) for division in divisions)
    assert len(divisions) >= MIN_DIVISIONS


def test_grade_three_solutions_cover_all_scenarios(queries, solutions, scenario_codes):
    """The scenarios of grade-3 solutions cover all 16 taxonomy scenarios."""
    covered = {
        scenario
        for query in queries
        for key, grade in query["solutions"].items()
        if grade == 3
        for scenario in solutions[key]["scenarios"]
    }
    assert scenario_codes <= covered, sorted(scenario_codes - covered)
