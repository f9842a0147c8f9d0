"""Recommendations: retrieve candidates from the search index, re-rank with the matcher, explain, log."""

from __future__ import annotations

import re
import uuid
from collections.abc import Hashable
from dataclasses import replace
from datetime import date
from functools import partial

import numpy as np

from indexing.base import SearchRequest
from marketplace.assessments.service import indicator, latest_assessment, target_gap
from marketplace.enterprises.service import get_enterprise
from marketplace.errors import NotFound, Unprocessable
from marketplace.extensions import db
from marketplace.models import (
    BenchmarkCase,
    FeedbackEvent,
    ListingStatus,
    RecommendationLog,
    Solution,
    User,
)
from marketplace.recommendations.candidates import case_candidates, solution_candidates
from marketplace.recommendations.models_store import active_matcher
from marketplace.search import engine, vectors
from marketplace.search.documents import published_stamps
from marketplace.taxonomy.service import taxonomy
from matching.features import Profile
from matching.matcher import Match, diversify
from matching.reasons import Names, explain

RETRIEVE = 100
NEIGHBOURS = 50
SCENARIO_HINTS = 2
MIN_SCENARIO_HINT = 0.2
CLAUSE = re.compile(r"[^。；;！？!?\n]+")


def target_level() -> int:
    """The level recommendations plan towards: the indicator's pilot target (二级)."""
    return indicator().targets.target_level


def names() -> Names:
    """Taxonomy lookups and the indicator's level names and target level, for reasons."""
    tax = taxonomy()
    return Names(
        industry=lambda code: tax.industries[code].name if code in tax.industries else code,
        scenario=lambda code: tax.scenarios[code].name if code in tax.scenarios else code,
        is_constraint=lambda code: tax.scenarios[code].constraint if code in tax.scenarios else False,
        level=indicator().level_name,
        target_level=target_level(),
    )


def retrieve(kind: str, profile: Profile, hints: list[str]) -> dict[int, float]:
    """Candidate ids with their BM25 scores: by the needs text, by the likely scenarios, and the
    index's nearest neighbours of the needs by embedding (score 0 unless words matched too), so an
    item that shares no word with the need can still be found.
    """
    scores: dict[int, float] = {}
    plain = SearchRequest(
        kind=kind, q=profile.needs, per_page=RETRIEVE, facets=(), today=date.today(), highlight=False
    )
    for hit in engine.search(plain).hits:
        scores[hit.id] = max(scores.get(hit.id, 0.0), hit.score)
    if hints:
        tax = taxonomy()
        industry = tax.industries.get(profile.industry)
        words = [tax.scenarios[s].name for s in hints] + ([industry.name] if industry else [])
        hinted = SearchRequest(
            kind=kind,
            q=" ".join(words),
            filters={"scenario": tuple(hints)},
            per_page=RETRIEVE,
            facets=(),
            today=date.today(),
            highlight=False,
        )
        for hit in engine.search(hinted).hits:
            scores.setdefault(hit.id, 0.0)
    for item_id in engine.dense_neighbours(kind, profile.needs, NEIGHBOURS):
        scores.setdefault(item_id, 0.0)
    return scores


def level_plan(profile: Profile, scenario_scores: dict[str, float], enterprise_id: int | None) -> dict | None:
    """Which scenarios must rise to the target level, from the latest assessment or, lacking one, the rule."""
    target = target_level()
    if profile.digital_level is not None and profile.digital_level >= target:
        return None
    ind = indicator()
    requirement = next(row for row in ind.level_rule if row.level == target)
    assessment = latest_assessment(enterprise_id) if enterprise_id else None
    if assessment is not None:
        gap = target_gap(assessment)
        if gap is None:
            return None
        scenarios = [raise_.code for raise_ in gap.scenarios_to_raise]
        basis = "latest_assessment"
    elif profile.digital_level is None:
        return None
    else:
        constraint = sorted(
            (code for code, flag in ind.scenarios.items() if flag),
            key=lambda code: -scenario_scores.get(code, 0.0),
        )
        scenarios = constraint[: requirement.min_constraint_scenarios]
        basis = "level_rule"
    return {
        "target_level": target,
        "basis": basis,
        "min_scenarios": requirement.min_scenarios,
        "min_constraint_scenarios": requirement.min_constraint_scenarios,
        "scenarios": [
            {"code": code, "name": names().scenario(code), "constraint": ind.scenarios.get(code, False)}
            for code in scenarios
        ],
    }


def scenario_hints(scenario_scores: dict[str, float]) -> list[str]:
    """The likeliest scenarios of a request, used to retrieve candidates beyond its words."""
    ranked = sorted(scenario_scores.items(), key=lambda kv: -kv[1])
    return [code for code, p in ranked if p >= MIN_SCENARIO_HINT][:SCENARIO_HINTS]


def rank_lists(
    profile: Profile, matcher, hints: list[str], skip: dict[str, int] | None = None
) -> tuple[list[Match], list[Match]]:
    """Ranked solutions (not yet diversified) and cases, each case scored by the solutions it used.

    :param skip: an item id per kind to leave out (the item a "similar" list is about).
    """
    skip = skip or {}
    key = engine.cache_key()  # before the store is read
    ranked = {}
    for kind, build in (("solution", solution_candidates), ("case", case_candidates)):
        ids = retrieve(kind, profile, hints)
        ids.pop(skip.get(kind), None)
        stamps = partial(_among, published_stamps(kind, sorted(ids)))  # for the candidates and their vectors
        candidates = build(ids, key, stamps)
        embedded = vectors.stored_vectors(kind, [c.id for c in candidates], key, stamps)
        ranked[kind] = matcher.rank(
            profile,
            candidates,
            ranked.get("solution"),
            ids,
            vectors.similarities(embedded, profile.needs),
            embedded,
            target_level=target_level(),
        )
    return ranked["solution"], ranked["case"]


def _among(published: dict[int, Hashable], asked: list[int]) -> dict[int, Hashable]:
    """The stamps of ``published`` (read once per request) of the ids ``asked``."""
    return {i: published[i] for i in asked if i in published}


def recommend(
    profile: Profile,
    limit: int,
    actor: User | None,
    enterprise_id: int | None = None,
    exclude: tuple[str, int] | None = None,
) -> dict:
    """Rank solutions and cases for ``profile``, explain each, and log the list for feedback."""
    version, matcher = active_matcher()
    scenario_scores = matcher.scenario_scores(profile)
    plan = level_plan(profile, scenario_scores, enterprise_id)
    if plan:
        profile = replace(profile, gap_scenarios=tuple(s["code"] for s in plan["scenarios"]))
    solutions, cases = rank_lists(
        profile, matcher, scenario_hints(scenario_scores), dict([exclude]) if exclude else None
    )
    solutions, cases = diversify(solutions)[:limit], cases[:limit]
    terms = engine.analyzer().highlight_terms(profile.needs)
    lookups = names()
    shown = [*solutions, *cases]
    clauses = closest_clauses(profile.needs, [m.candidate.text for m in shown], terms)
    reasons = [
        explain(profile, m.candidate, m.components, lookups, terms, clause)
        for m, clause in zip(shown, clauses, strict=True)
    ]
    solution_reasons, case_reasons = reasons[: len(solutions)], reasons[len(solutions) :]
    answer = {
        "request_id": str(uuid.uuid4()),
        "model_version": version,
        "level_plan": plan,
        "solutions": [_solution_item(m, why) for m, why in zip(solutions, solution_reasons, strict=True)],
        "cases": [_case_item(m, why) for m, why in zip(cases, case_reasons, strict=True)],
    }
    db.session.add(
        RecommendationLog(
            request_id=answer["request_id"],
            user_id=actor.id if actor else None,
            profile=_profile_json(profile),
            model_version=version,
            items=[
                {"item_type": m.candidate.kind, "item_id": m.candidate.id, "position": i}
                for group in (solutions, cases)
                for i, m in enumerate(group)
            ],
        )
    )
    db.session.commit()
    return answer


def _profile_json(profile: Profile) -> dict:
    return {
        key: list(value) if isinstance(value, tuple) else value for key, value in profile.__dict__.items()
    }


def _solution_item(match: Match, reasons: list[str]) -> dict:
    candidate = match.candidate
    return {
        "id": candidate.id,
        "title": candidate.title,
        "summary": candidate.summary,
        "provider": {
            "id": candidate.provider_id,
            "name": candidate.provider_name,
            "city": candidate.city,
        },
        "price_min_cny": candidate.price_min_cny,
        "price_max_cny": candidate.price_max_cny,
        "deploy_days": candidate.deploy_days,
        "score": round(match.score, 4),
        "reasons": reasons,
    }


def _case_item(match: Match, reasons: list[str]) -> dict:
    candidate = match.candidate
    return {
        "id": candidate.id,
        "title": candidate.title,
        "enterprise_name": candidate.enterprise_name,
        "city": candidate.city,
        "industry": candidate.industries[0],
        "level_before": candidate.level_before,
        "level_after": candidate.level_after,
        "promoted": bool(candidate.promoted_cities),
        "score": round(match.score, 4),
        "reasons": reasons,
    }


def closest_clauses(needs: str, texts: list[str], terms: set[str]) -> list[str | None]:
    """For each of ``texts`` (items' own words), its clause that best answers ``needs``.

    Clauses are ranked by the embedder's cosine to the need, plus a little for each need term they
    contain, so the one shown says in the item's own words what in the need it addresses. Without
    embeddings, the clause with the most need terms, if any has one. The clauses of all ``texts``
    not embedded before are embedded in one batch (half the cost per clause of one call each).
    """
    split = [[c.strip(" ，,：:、1234567890）)") for c in CLAUSE.findall(text)] for text in texts]
    split = [[c for c in clauses if 4 <= len(c) <= 60] for clauses in split]
    semantic = vectors.state().enabled and bool(needs.strip())
    if semantic:
        need = vectors.query_vector(needs)
        every = list(dict.fromkeys(c for clauses in split for c in clauses))
        cosine = dict(zip(every, (vectors.passage_vectors(every) @ need).tolist(), strict=True))
    chosen: list[str | None] = []
    for clauses in split:
        if not clauses:
            chosen.append(None)
            continue
        hits = np.array([sum(1 for t in terms if len(t) > 1 and t in c) for c in clauses], dtype=float)
        if semantic:
            scores = np.array([cosine[c] for c in clauses]) + 0.05 * np.minimum(hits, 3)
            chosen.append(clauses[int(np.argmax(scores))])
        else:
            chosen.append(clauses[int(np.argmax(hits))] if hits.max() > 0 else None)
    return chosen


def profile_from_args(args: dict) -> Profile:
    """A request body as a profile."""
    return Profile.from_mapping(args)


def recommend_for_enterprise(actor: User, enterprise_id: int, limit: int) -> dict:
    """Recommendations for a stored profile (its owner, admins, and its city's office)."""
    enterprise = get_enterprise(actor, enterprise_id)
    if not enterprise.needs.strip():
        raise Unprocessable("企业档案未填写改造需求", {"needs": ["请先在企业档案中填写改造需求"]})
    profile = Profile(
        industry=enterprise.industry_code,
        needs=enterprise.needs,
        city=enterprise.city,
        province=enterprise.province,
        digital_level=enterprise.digital_level,
    )
    return recommend(profile, limit, actor, enterprise_id=enterprise.id)


def similar(kind: str, item_id: int, actor: User | None, limit: int) -> dict:
    """Items like a published solution or case, ranked as if its text were a request."""
    model = Solution if kind == "solution" else BenchmarkCase
    row = db.session.get(model, item_id)
    if row is None or row.status is not ListingStatus.PUBLISHED:
        raise NotFound("方案不存在" if kind == "solution" else "案例不存在")
    industry = row.industries[0] if kind == "solution" else row.industry_code
    profile = Profile(
        industry=industry,
        needs=f"{row.title} {row.summary}",
        scenarios=tuple(row.scenarios),
        city=None if kind == "solution" else row.city,
    )
    return recommend(profile, limit, actor, exclude=(kind, item_id))


def served_list(actor: User | None, request_id: str) -> RecommendationLog:
    """The recommendation list served under ``request_id``, if it was served anonymously or to ``actor``.

    :raises Unprocessable: naming ``request_id`` if there is no such list for the caller.
    """
    log = db.session.get(RecommendationLog, request_id)
    if log is None or (log.user_id is not None and (actor is None or actor.id != log.user_id)):
        raise Unprocessable(errors={"request_id": ["推荐请求不存在"]})
    return log


def log_event(actor: User | None, data: dict) -> FeedbackEvent:
    """Record what a user did with an item of a served list; a signed-in user's list is only theirs.

    :raises Unprocessable: if the request id is unknown (or another user's) or the item was not in it.
    """
    log = served_list(actor, data["request_id"])
    served = {(item["item_type"], item["item_id"]): item["position"] for item in log.items}
    key = (data["item_type"], data["item_id"])
    if key not in served:
        raise Unprocessable(errors={"item_id": ["该条目不在此次推荐结果中"]})
    event = FeedbackEvent(
        request_id=log.request_id,
        user_id=actor.id if actor else None,
        item_type=data["item_type"],
        item_id=data["item_id"],
        type=data["type"],
        position=data.get("position", served[key]),
    )
    db.session.add(event)
    db.session.commit()
    return event


def log_inquiry(actor: User, solution_id: int, request_id: str | None) -> None:
    """Record an inquiry as feedback on the list it came from, if it came from one (caller commits).

    :raises Unprocessable: naming ``request_id``, as :func:`log_event` does, if no such list was served
        to the caller or the solution was not in it.
    """
    log = served_list(actor, request_id) if request_id else None
    position = None
    if log is not None:
        position = next(
            (
                i["position"]
                for i in log.items
                if i["item_type"] == "solution" and i["item_id"] == solution_id
            ),
            None,
        )
        if position is None:
            raise Unprocessable(errors={"request_id": ["该方案不在此次推荐结果中"]})
    db.session.add(
        FeedbackEvent(
            request_id=log.request_id if log is not None else None,
            user_id=actor.id,
            item_type="solution",
            item_id=solution_id,
            type="inquiry",
            position=position,
        )
    )
