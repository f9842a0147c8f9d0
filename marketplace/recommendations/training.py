"""Train, evaluate and activate matcher versions from judgments and logged feedback."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path

import numpy as np
from flask import current_app
from sklearn.model_selection import GroupKFold, KFold
from sqlalchemy import select
from tqdm import tqdm

from indexing.base import SearchRequest
from marketplace.extensions import db
from marketplace.models import BenchmarkCase, FeedbackEvent, ListingStatus, RecommendationLog, Solution
from marketplace.recommendations import models_store
from marketplace.recommendations.service import rank_lists, scenario_hints
from marketplace.search import engine
from matching.evaluation import ndcg_at_k, summarise
from matching.features import FEATURES, Profile
from matching.matcher import Match, Matcher, diversify
from matching.ranker import LinearRanker, PriorRanker

EVENT_GRADES = {"inquiry": 3, "favorite": 2, "click": 1, "impression": 0, "not_interested": 0}
KINDS = ("solution", "case")
FOLDS = 5
Labelled = list[tuple[Profile, str, dict[int, int]]]  # (request, kind, grade by item id)


def judgments_path() -> Path:
    """The judgment list: ``JUDGMENTS_PATH``, by default ``tests/relevance/judgments.json``."""
    return Path(current_app.config["JUDGMENTS_PATH"])


def judged_queries() -> list[tuple[Profile, dict[str, dict[int, int]]]]:
    """The judged queries as profiles, with grades by kind and store id (mapped from seed keys).

    Grades of items that are not published are dropped: they can never be served, so they would
    only lower every ranker's attainable score alike.
    """
    document = json.loads(judgments_path().read_text(encoding="utf-8"))
    ids = {
        kind: dict(
            db.session.execute(
                select(model.seed_key, model.id).where(model.status == ListingStatus.PUBLISHED)
            ).all()
        )
        for kind, model in (("solution", Solution), ("case", BenchmarkCase))
    }
    queries = []
    for query in document["queries"]:
        profile = Profile.from_mapping(query["profile"])
        grades = {
            kind: {ids[kind][key]: grade for key, grade in query[f"{kind}s"].items() if key in ids[kind]}
            for kind in KINDS
        }
        queries.append((profile, grades))
    return queries


def ranked_lists(matcher: Matcher, profile: Profile) -> dict[str, list[Match]]:
    """Both ranked lists of ``profile`` by kind, undiversified."""
    solutions, cases = rank_lists(profile, matcher, scenario_hints(matcher.scenario_scores(profile)))
    return {"solution": solutions, "case": cases}


def matcher_rankings(matcher: Matcher, profile: Profile) -> dict[str, list[int]]:
    """Ids the matcher ranks first for ``profile`` by kind, as the API would serve them."""
    lists = ranked_lists(matcher, profile)
    lists["solution"] = diversify(lists["solution"])
    return {kind: [match.candidate.id for match in matches] for kind, matches in lists.items()}


def baseline_ranking(profile: Profile, kind: str) -> list[int]:
    """Plain BM25 over the same index: the needs text as the query."""
    request = SearchRequest(kind=kind, q=profile.needs, per_page=10, facets=(), today=date.today())
    return [hit.id for hit in engine.search(request).hits]


def evaluate(matcher: Matcher, queries=None) -> dict:
    """NDCG@10, MRR and recall@10 of the matcher and of the BM25 baseline, per kind, on the judgments."""
    queries = queries if queries is not None else judged_queries()
    rankings = [matcher_rankings(matcher, p) for p, _ in queries]
    report = {}
    for kind in KINDS:
        report[kind] = {
            "matcher": summarise([(r[kind], g[kind]) for r, (_, g) in zip(rankings, queries, strict=True)]),
            "baseline": summarise([(baseline_ranking(p, kind), g[kind]) for p, g in queries]),
        }
        baseline = report[kind]["baseline"]["ndcg@10"]
        report[kind]["target_ndcg@10"] = baseline + (1.0 - baseline) / 2.0
    return report


def _rows(matcher: Matcher, kind: str, labelled: list[tuple[Profile, dict[int, int]]], progress=False):
    """Feature rows of every retrieved candidate of ``kind``, graded by judgments or events (unlisted: 0)."""
    X, y, groups, ids = [], [], [], []
    lists = tqdm(labelled, desc=f"training lists ({kind})", unit="个", disable=not progress)
    for group, (profile, grades) in enumerate(lists):
        for match in ranked_lists(matcher, profile)[kind]:
            X.append([match.components[name] for name in FEATURES])
            y.append(grades.get(match.candidate.id, 0))
            groups.append(group)
            ids.append(match.candidate.id)
    return np.array(X), np.array(y), np.array(groups), np.array(ids)


def feedback_labels() -> Labelled:
    """Logged lists with their best event per item as a grade."""
    labelled = []
    for log in db.session.scalars(
        select(RecommendationLog).where(
            RecommendationLog.request_id.in_(
                select(FeedbackEvent.request_id).where(FeedbackEvent.request_id.is_not(None))
            )
        )
    ):
        profile = Profile.from_mapping(log.profile)
        events = db.session.scalars(select(FeedbackEvent).where(FeedbackEvent.request_id == log.request_id))
        for kind in KINDS:
            grades: dict[int, int] = {}
            for event in events:
                if event.item_type == kind:
                    grades[event.item_id] = max(grades.get(event.item_id, 0), EVENT_GRADES[event.type])
            if grades:
                labelled.append((profile, kind, grades))
    return labelled


def grouped_ndcg(predicted: np.ndarray, y: np.ndarray, groups: np.ndarray, ids: np.ndarray) -> float:
    """Mean NDCG@10 of ranking each query group's rows by ``predicted``."""
    scores = []
    for group in np.unique(groups):
        mask = groups == group
        order = np.argsort(-predicted[mask], kind="stable")
        grades = {i: g for i, g in zip(ids[mask], y[mask], strict=True) if g > 0}
        if grades:
            scores.append(ndcg_at_k(list(ids[mask][order]), grades))
    return float(np.mean(scores)) if scores else 0.0


def grouped_prior(X: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """The prior's scores of each query group's rows (the prior scores a list relative to its best)."""
    predicted = np.zeros(len(X))
    for group in np.unique(groups):
        mask = groups == group
        predicted[mask] = PriorRanker().decision_function(X[mask])
    return predicted


def cross_validated_ndcg(X: np.ndarray, y: np.ndarray, groups: np.ndarray, ids: np.ndarray) -> float:
    """NDCG@10 on held-out query groups, the ranker fitted on the other groups each time."""
    predicted = np.zeros(len(y))
    for train, test in GroupKFold(n_splits=min(FOLDS, len(np.unique(groups)))).split(X, y, groups):
        predicted[test] = LinearRanker().fit(X[train], y[train]).decision_function(X[test])
    return grouped_ndcg(predicted, y, groups, ids)


def fit_rankers(
    matcher: Matcher, labelled: list[tuple[Profile, str, dict[int, int]]], progress=False
) -> dict:
    """Fit each kind's ranker on graded lists where that beats the prior on held-out groups.

    :returns: per kind, the cross-validated and prior NDCG@10 of its candidate rows, and which won;
        ``ndcg@10`` is their mean (the figure a new model must beat to become active).
    """
    metrics: dict = {}
    chosen = []
    for kind in KINDS:  # solutions first: case rows depend on the fitted solution ranking
        lists = [(profile, grades) for profile, k, grades in labelled if k == kind]
        if not lists:
            continue
        X, y, groups, ids = _rows(matcher, kind, lists, progress)
        cv = cross_validated_ndcg(X, y, groups, ids)
        prior = grouped_ndcg(grouped_prior(X, groups), y, groups, ids)
        if cv > prior:
            matcher.fit_ranker(kind, X, y)
            # The consensus feature follows the ranker's own first pass: refit on the rows it gives.
            X, y, groups, ids = _rows(matcher, kind, lists, progress)
            matcher.fit_ranker(kind, X, y)
        ranker = "learned" if cv > prior else "prior"
        metrics[kind] = {"cv_ndcg@10": cv, "prior_ndcg@10": prior, "ranker": ranker}
        chosen.append(max(cv, prior))
    if chosen:
        metrics["ndcg@10"] = float(np.mean(chosen))
    return metrics


def _labelled(queries) -> Labelled:
    return [(p, kind, g[kind]) for p, g in queries for kind in KINDS if g[kind]]


def labelled_judgments() -> Labelled:
    """The judged queries as graded lists, one per query and kind that has grades."""
    return _labelled(judged_queries())


def held_out_evaluation(matcher: Matcher, folds: int = FOLDS, progress: bool = False) -> dict:
    """The matcher's figures on judged queries its rankers never saw: K-fold over the queries.

    For each fold the rankers are refitted from the prior on the other folds' judgments (the text
    models learn from the catalog only), then the fold's queries are ranked end to end as the API
    would. This estimates how the ranking generalises beyond the judgments it was tuned on.
    """
    queries = judged_queries()
    rankings: list = [None] * len(queries)
    splits = KFold(n_splits=folds, shuffle=True, random_state=matcher.random_state).split(queries)
    for train_index, test_index in tqdm(list(splits), desc="folds", unit="折", disable=not progress):
        fold = copy.deepcopy(matcher)
        fold.rankers_ = {kind: PriorRanker() for kind in KINDS}
        fit_rankers(fold, _labelled([queries[i] for i in train_index]))
        for i in test_index:
            rankings[i] = matcher_rankings(fold, queries[i][0])
    return {
        kind: summarise([(r[kind], g[kind]) for r, (_, g) in zip(rankings, queries, strict=True)])
        for kind in KINDS
    }


def train(force: bool = False, progress: bool = False) -> dict:
    """Fit a new matcher on the catalog, judgments and feedback; activate it only if it ranks better."""
    matcher = models_store.fit_matcher()
    labelled = labelled_judgments() + feedback_labels()
    metrics = {"training_lists": len(labelled), **fit_rankers(matcher, labelled, progress)}
    active = models_store.active_row()
    score, best = metrics.get("ndcg@10"), (active.metrics or {}).get("ndcg@10") if active else None
    outdated = models_store.needs_training()
    activate = force or outdated or (score is not None and (best is None or score > best))
    row = models_store.save(matcher, metrics, activate)
    return {
        "version": row.version,
        "activated": activate,
        "previous": active.version if active else None,
        **metrics,
    }
