"""The matching package's estimators, features, metrics and reasons, without Flask."""

from __future__ import annotations

import json
import pickle
from dataclasses import asdict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse

from marketplace.config import default_config
from matching import matcher as matcher_module
from matching.evaluation import ndcg_at_k, recall_at_k, reciprocal_rank, summarise
from matching.features import (
    FEATURES,
    NEED_FIT,
    STRUCTURE,
    Candidate,
    Profile,
    budget_fit,
    industry_affinity,
    solution_fit,
    uplift_fit,
)
from matching.matcher import (
    DENSE_CONSENSUS_FLOOR,
    Match,
    Matcher,
    consensus_scores,
    dense_consensus,
    diversify,
    relative_scores,
)
from matching.ranker import PRIOR_WEIGHTS, LinearRanker, PriorRanker
from matching.reasons import Names, explain
from tests.matching.test_estimators import LABELS, TEXTS

SEED_DIR = default_config(".")["SEED_DATA_DIR"]
LEVELS = {0: "未达一级", 1: "一级", 2: "二级", 3: "三级", 4: "四级"}


def test_ndcg_mrr_recall_by_hand():
    """The relevance floors and the rule that activates a new model both trust these figures."""
    grades = {"a": 3, "b": 1, "c": 2}
    assert ndcg_at_k(["a", "c", "b"], grades) == pytest.approx(1.0)
    worst = ndcg_at_k(["x", "b", "c", "a"], grades)
    ideal = 7 + 3 / np.log2(3) + 1 / 2
    actual = 1 / np.log2(3) + 3 / 2 + 7 / np.log2(5)
    assert worst == pytest.approx(actual / ideal)
    assert reciprocal_rank(["x", "b", "c"], grades) == pytest.approx(1 / 3)
    assert recall_at_k(["c", "x"], grades, k=2) == 0.5
    assert summarise([(["a"], {"a": 0})])["queries"] == 0


@pytest.mark.parametrize(
    ("requested", "tagged", "expected"),
    [
        ("C3670", ("C3670",), (1.0, "C3670")),
        ("C3670", ("C36",), (0.9, "C36")),
        ("C36", ("C3670",), (0.9, "C36")),
        ("C3670", ("C",), (0.8, "C")),
        ("C3670", ("C3660",), (0.1, "C36")),
        ("C2929", ("C2921",), (0.3, "C292")),
        ("C3670", ("C17",), (0.0, None)),
    ],
)
def test_industry_affinity(requested, tagged, expected):
    """A sibling industry makes another product, so it must score far below ancestors and generic items."""
    assert industry_affinity(requested, tagged) == expected


def test_a_profile_survives_its_json_round_trip():
    """Requests, judged queries and logged requests all arrive as JSON, with tuples as lists.

    Feedback training relearns from logged profiles, so each must come back as the profile served.
    """
    profile = Profile(
        industry="C3670",
        needs="外观缺陷",
        scenarios=("quality",),
        budget_max_cny=100_000,
        city="苏州市",
        digital_level=1,
        gap_scenarios=("quality", "energy"),
    )
    assert Profile.from_mapping(json.loads(json.dumps(asdict(profile)))) == profile
    assert Profile.from_mapping({"industry": "C36", "needs": "质检"}) == Profile("C36", "质检")
    with pytest.raises(TypeError, match="limit"):
        Profile.from_mapping({"industry": "C36", "needs": "质检", "limit": 10})


def test_budget_and_uplift_fit():
    """A quote fades out by twice the budget; an uplift counts only if it reaches the target level.

    The gap is measured against the indicator's target, so an uplift that stops short closes nothing.
    """
    assert budget_fit(50_000, 30_000) == 1.0 and budget_fit(50_000, 100_000) == 0.0
    assert budget_fit(None, 30_000) == 0.5
    profile = Profile(industry="C2929", needs="x", gap_scenarios=("quality", "energy"))
    candidate = Candidate(
        kind="solution",
        id=1,
        title="t",
        text="t",
        industries=("C",),
        scenarios=("quality",),
        uplifts=(("quality", 1, 2),),
    )
    assert uplift_fit(profile, candidate, target_level=2) == 0.5
    assert uplift_fit(profile, candidate, target_level=3) == 0.0


def test_ranker_follows_sklearn_conventions():
    """With no prior to hold it back, fitting must find the one feature that decides the grade."""
    ranker = LinearRanker(prior_strength=0.0)
    assert not hasattr(ranker, "weights_")
    rng = np.random.default_rng(0)
    X = rng.random((200, len(FEATURES)))
    y = (X[:, 5] > 0.5).astype(int) * 3
    assert ranker.fit(X, y) is ranker
    assert np.argmax(ranker.weights_) == 5


@pytest.mark.parametrize(
    ("prior", "named"),
    [
        ({name: 1.0 for name in FEATURES if name != "consensus"}, r"missing \['consensus'\]"),
        ({**PRIOR_WEIGHTS, "popularity": 1.0}, r"unknown \['popularity'\]"),
    ],
    ids=["missing", "unknown"],
)
def test_a_prior_that_does_not_weigh_every_feature_is_refused(prior, named):
    """A feature left out of the prior (a misspelt key is enough) would weigh 0 and never count."""
    X, y = np.eye(2, len(FEATURES)), np.array([0, 3])
    with pytest.raises(ValueError, match=named):
        LinearRanker(prior=prior).fit(X, y)
    with pytest.raises(ValueError, match=named):
        LinearRanker(prior=prior).decision_function(X)
    with pytest.raises(ValueError, match=named):
        Matcher(SEED_DIR, learner=LinearRanker(prior=prior)).fit(["视觉检测"], [["quality"]])


def test_matcher_fits_pickles_and_maps_needs_to_scenarios():
    """Enterprises name symptoms (电费越来越高), not scenarios; saved models go through pickling."""
    matcher = Matcher(SEED_DIR).fit(TEXTS, LABELS)
    assert matcher.text_model_ and matcher.scenario_model_ and set(matcher.rankers_) == {"solution", "case"}
    restored = pickle.loads(pickle.dumps(matcher))
    scores = restored.scenario_scores(Profile(industry="C2929", needs="每个月电费越来越高"))
    assert max(scores, key=scores.get) == "energy"


def test_diversify_caps_a_provider_in_the_top():
    """One provider must not fill the first page; with too few others, the page shrinks instead."""

    def match(i, provider):
        return Match(
            Candidate(
                kind="solution", id=i, title="", text="", industries=(), scenarios=(), provider_id=provider
            ),
            1.0 - i / 100,
            {},
        )

    ranked = diversify([match(1, 7), match(2, 7), match(3, 7), match(4, 8), match(5, 9)], window=4)
    assert [m.candidate.id for m in ranked] == [1, 2, 4, 5, 3]
    short = diversify([match(1, 7), match(2, 7), match(3, 7), match(4, 8)], window=10)
    assert [m.candidate.id for m in short] == [1, 2, 4]


def test_reasons_come_from_components():
    """Users act on reasons, so each must come from a score component that is really there."""
    names = Names(
        industry=lambda c: {"C3670": "汽车零部件及配件制造"}.get(c, c),
        scenario=lambda c: {"quality": "质量管理"}.get(c, c),
        is_constraint=lambda c: True,
        level=LEVELS.__getitem__,
        target_level=2,
    )
    profile = Profile(
        industry="C3670", needs="外观缺陷", budget_max_cny=100_000, city="苏州市", gap_scenarios=("quality",)
    )
    candidate = Candidate(
        kind="solution",
        id=1,
        title="t",
        text="t",
        industries=("C3670",),
        scenarios=("quality",),
        tags=("外观缺陷检测",),
        price_min_cny=30_000,
        price_max_cny=80_000,
        deploy_days=14,
        uplifts=(("quality", 1, 2),),
        cases_by_city={"苏州市": 2},
        evidence_cases=2,
    )
    components = {
        "industry": 1.0,
        "shared_industry": "C3670",
        "scenario": 0.9,
        "matched_scenario": "quality",
        "text": 0.5,
        "locality": 0.0,
        "promotion": 0.0,
    }
    reasons = explain(profile, candidate, components, names, {"外观缺陷"})
    assert "同属汽车零部件及配件制造（C3670）" in reasons
    assert reasons[0] == "匹配您的需求：外观缺陷检测（质量管理）"
    assert "预算内（报价 3–8 万元）" in reasons
    assert "助力达二级：质量管理（约束性场景）一级→二级" in reasons
    assert "本市样板案例 2 个使用该方案" in reasons
    assert len(reasons) <= 5


def test_cases_score_by_the_solutions_they_used():
    """A case's story is short and told in outcomes; what it did is told by the solutions it used."""
    ranked = [
        Match(Candidate(kind="solution", id=i, title="", text="", industries=(), scenarios=()), score, {})
        for i, score in ((1, 2.0), (2, 1.0), (3, -0.5))
    ]
    scores = relative_scores(ranked)
    assert scores == {1: 1.0, 2: 0.5, 3: 0.0}
    assert relative_scores([]) == {}
    case = Candidate(
        kind="case",
        id=9,
        title="c",
        text="c",
        industries=("C3670",),
        scenarios=("quality",),
        solution_ids=(3, 2, 7),
        solution_titles={2: "AI视觉质检一体机", 3: "x", 7: "y"},
    )
    assert solution_fit(case, scores) == (0.5, 2)
    assert solution_fit(case, {}) == (0.0, None)
    names = Names(
        industry=str, scenario=str, is_constraint=lambda c: False, level=LEVELS.__getitem__, target_level=2
    )
    components = {"industry": 0.0, "scenario": 0.0, "text": 0.0, "locality": 0.0, "promotion": 0.0}
    fitted = {**components, "solution_fit": 0.9, "used_solution": 2}
    profile = Profile("C3670", "质检")
    assert "用了与您需求相符的方案：AI视觉质检一体机" in explain(profile, case, fitted, names)
    weak = {**components, "solution_fit": 0.2, "used_solution": 2}
    assert not any("方案" in r for r in explain(profile, case, weak, names))


def test_consensus_is_the_cosine_to_the_centroid_of_the_surest_matches():
    """With no sure match there is nothing to resemble, so the feedback must add nothing."""
    vectors = sparse.csr_matrix(np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]]))
    scores = consensus_scores(vectors, vectors[[0]])
    assert scores == pytest.approx([1.0, 0.0, 0.6])
    assert consensus_scores(vectors, vectors[[]]).tolist() == [0.0, 0.0, 0.0]


def test_dense_consensus_is_the_excess_cosine_to_the_centroid_of_the_surest_matches_embeddings():
    """By hand: a listing like the surest match scores 1, an unrelated one 0, one without a vector 0."""
    items = [
        Candidate(kind="solution", id=i, title="", text="", industries=(), scenarios=()) for i in range(4)
    ]
    embeddings = {0: np.array([1.0, 0.0]), 1: np.array([0.0, 1.0]), 2: np.array([0.6, 0.8])}
    scores = dense_consensus(items, items[:1], embeddings)
    assert scores == pytest.approx(
        [1.0, 0.0, (0.6 - DENSE_CONSENSUS_FLOOR) / (1 - DENSE_CONSENSUS_FLOOR), 0.0]
    )
    assert dense_consensus(items, items[3:], embeddings).tolist() == [0.0] * 4
    assert dense_consensus(items, [], embeddings).tolist() == [0.0] * 4


def test_a_solution_that_means_what_the_surest_match_means_ranks_above_one_that_does_not():
    """Two listings share no word with the need and meet it equally by embedding; the one whose
    stored embedding resembles the surest match's comes first, and only because of its embedding."""
    matcher = Matcher(SEED_DIR).fit(TEXTS, LABELS)
    profile = Profile(industry="C2929", needs="外观缺陷 视觉检测")

    def solution(i, text):
        return Candidate(kind="solution", id=i, title=text, text=text, industries=("C",), scenarios=())

    sure, unlike, alike = solution(1, "视觉检测 外观缺陷"), solution(2, "甲乙丙"), solution(3, "丁戊己")
    dense = {1: 0.6, 2: 0.35, 3: 0.35}
    embeddings = {1: np.array([1.0, 0.0]), 2: np.array([0.0, 1.0]), 3: np.array([0.95, 0.312])}
    words_only = matcher.rank(profile, [sure, unlike, alike], dense=dense, target_level=2)
    assert [m.candidate.id for m in words_only] == [1, 2, 3]
    meaning = matcher.rank(profile, [sure, unlike, alike], dense=dense, embeddings=embeddings, target_level=2)
    assert [m.candidate.id for m in meaning] == [1, 3, 2]
    assert meaning[1].components["consensus"] > meaning[2].components["consensus"]


def test_only_the_shortlist_by_every_other_feature_is_vectorised_and_the_first_places_do_not_move(
    monkeypatch,
):
    """Past ``TEXT_DEPTH`` candidates, those best by every other feature get the TF-IDF features and
    the rest keep 0 for both; the first places are those of scoring every candidate."""
    matcher = Matcher(SEED_DIR).fit(TEXTS, LABELS)
    profile = Profile(industry="C2929", needs="外观缺陷 视觉检测 漏检，顺带看看电费和排产")
    candidates = [
        Candidate(kind="solution", id=i, title=text, text=text, industries=("C2929",), scenarios=())
        for i, text in enumerate(TEXTS)
    ]
    retrieval = {c.id: float(len(candidates) - c.id) for c in candidates}  # earlier ids found first
    monkeypatch.setattr(matcher_module, "TEXT_DEPTH", len(candidates))
    every = matcher.rank(profile, candidates, retrieval=retrieval, target_level=2)
    _, full = matcher.features(profile, candidates, retrieval=retrieval, target_level=2)
    monkeypatch.setattr(matcher_module, "TEXT_DEPTH", 4)
    _, short = matcher.features(profile, candidates, retrieval=retrieval, target_level=2)
    for i, (whole, cut) in enumerate(zip(full, short, strict=True)):  # the four found first
        assert cut["text"] == (pytest.approx(whole["text"]) if i < 4 else 0.0)
        assert cut["consensus"] > 0 if i < 4 else cut["consensus"] == 0.0
    assert all(whole["text"] > 0 for whole in full[4:])
    shortlisted = matcher.rank(profile, candidates, retrieval=retrieval, target_level=2)
    assert [m.candidate.id for m in shortlisted[:2]] == [m.candidate.id for m in every[:2]]


NEED_COLUMNS = [FEATURES.index(name) for name in NEED_FIT]
STRUCTURE_COLUMNS = [FEATURES.index(name) for name in STRUCTURE]
unit = st.floats(0.0, 1.0, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(st.lists(unit, min_size=len(FEATURES), max_size=len(FEATURES)), min_size=2, max_size=30),
    tiers=st.integers(1, 8),
    structure_weight=st.floats(0.0, 10.0),
)
def test_structured_fit_never_lifts_a_worse_need_fit_band_above_a_better_one(rows, tiers, structure_weight):
    """Whatever the industry, budget, place or evidence say, an item of a higher band of need fit
    ranks above every item of a lower band; and within a band, more need fit and equal structure
    ranks higher."""
    ranker = PriorRanker(tiers=tiers, structure_weight=structure_weight)
    X = np.array(rows)
    scores, bands = ranker.decision_function(X), ranker.tier(X)
    for a in range(len(X)):
        for b in range(len(X)):
            if bands[a] > bands[b]:
                assert scores[a] > scores[b]
    best = np.argmax(ranker.need_fit(X))
    lifted = X.copy()
    lifted[:, STRUCTURE_COLUMNS] = 1.0
    lifted[best, STRUCTURE_COLUMNS] = 0.0
    scores = ranker.decision_function(lifted)
    assert all(scores[best] > scores[i] for i in range(len(X)) if bands[i] < bands[best])


def test_prior_ranks_the_item_that_fits_the_need_above_a_well_placed_one_that_does_not():
    """The remote-O&M solution for "equipment at customers nationwide" outranks a same-industry,
    in-budget, quick, local, promoted item that does not address the need."""
    fits, placed = np.zeros(len(FEATURES)), np.ones(len(FEATURES))
    fits[NEED_COLUMNS] = 0.8
    placed[NEED_COLUMNS] = 0.1
    scores = PriorRanker().decision_function(np.array([placed, fits]))
    assert scores[1] > scores[0]


@pytest.mark.parametrize(
    ("low", "high", "said"),
    [
        (99_000, 180_000, "起价在预算内（报价 9.9–18 万元）"),
        (30_000, 80_000, "预算内（报价 3–8 万元）"),
        (125_000, 300_000, "超出预算（报价 12.5–30 万元）"),
    ],
)
def test_the_budget_reason_is_true_and_reads_as_people_write_amounts(low, high, said):
    """A 9.9–18 万 quote against a 10 万 budget only starts within it; amounts keep their decimals."""
    names = Names(str, str, lambda code: False, str, 2)
    profile = Profile(industry="C2929", needs="视觉检测", budget_max_cny=100_000)
    candidate = Candidate(
        kind="solution",
        id=1,
        title="视觉检测",
        text="视觉检测",
        industries=("C",),
        scenarios=(),
        price_min_cny=low,
        price_max_cny=high,
    )
    components = {"industry": 0.0, "scenario": 0.0, "text": 0.0, "locality": 0.0, "promotion": 0.0}
    assert said in explain(profile, candidate, components, names, {"视觉检测"})


def test_scenario_probabilities_are_the_one_vs_rest_models_own():
    """The direct computation gives the one-vs-rest model's figures, and falls back to it when a
    scenario has no logistic regression (every training text had it)."""
    texts = ["仓库找货难，账实不符", "电费太高 哪台机器费电", "外观划痕 漏检", "插单 交期"]
    classifier = Matcher(SEED_DIR).fit(TEXTS, LABELS).scenario_model_
    X = classifier.vectorizer_.transform(texts)
    assert classifier.predict_proba(texts) == pytest.approx(classifier.model_.predict_proba(X), abs=1e-9)
    with pytest.warns(UserWarning, match="present in all training examples"):
        constant = Matcher(SEED_DIR).fit(TEXTS, [[*labels, "energy"] for labels in LABELS]).scenario_model_
    X = constant.vectorizer_.transform(texts)
    assert constant.predict_proba(texts) == pytest.approx(constant.model_.predict_proba(X), abs=1e-9)
