"""Offline ranking metrics over graded judgments."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence


def dcg(gains: Sequence[float]) -> float:
    """Discounted cumulative gain with the exponential gain 2^g − 1."""
    return sum((2**gain - 1) / math.log2(rank + 2) for rank, gain in enumerate(gains))


def ndcg_at_k(ranked: Sequence, grades: Mapping, k: int = 10) -> float:
    """NDCG@k of ``ranked`` ids against ``grades`` (unlisted ids grade 0); 0 when nothing is relevant."""
    ideal = dcg(sorted(grades.values(), reverse=True)[:k])
    if ideal == 0:
        return 0.0
    return dcg([grades.get(item, 0) for item in ranked[:k]]) / ideal


def reciprocal_rank(ranked: Sequence, grades: Mapping, relevant: int = 2) -> float:
    """1/rank of the first item graded ``relevant`` or more; 0 if none is ranked."""
    for rank, item in enumerate(ranked, start=1):
        if grades.get(item, 0) >= relevant:
            return 1.0 / rank
    return 0.0


def recall_at_k(ranked: Sequence, grades: Mapping, k: int = 10, relevant: int = 2) -> float:
    """Share of the items graded ``relevant`` or more that appear in the top ``k``."""
    wanted = {item for item, grade in grades.items() if grade >= relevant}
    if not wanted:
        return 0.0
    return len(wanted & set(ranked[:k])) / len(wanted)


def summarise(runs: Sequence[tuple[Sequence, Mapping]], k: int = 10) -> dict[str, float]:
    """Mean NDCG@k, MRR and recall@k over ``(ranked, grades)`` pairs, skipping queries with no grades."""
    scored = [(ranked, grades) for ranked, grades in runs if any(g > 0 for g in grades.values())]
    if not scored:
        return {"ndcg@10": 0.0, "mrr": 0.0, "recall@10": 0.0, "queries": 0}
    n = len(scored)
    return {
        "ndcg@10": sum(ndcg_at_k(r, g, k) for r, g in scored) / n,
        "mrr": sum(reciprocal_rank(r, g) for r, g in scored) / n,
        "recall@10": sum(recall_at_k(r, g, k) for r, g in scored) / n,
        "queries": n,
    }


def reciprocal_rank_fusion(rankings: Sequence[Sequence], k: int = 60, depth: int = 10) -> list:
    """Ids ordered by the sum of 1/(k + rank) over ``rankings`` (ties: first seen first), top ``depth``."""
    scores: dict = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores, key=lambda item: -scores[item])[:depth]
