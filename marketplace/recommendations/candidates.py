"""Published solutions and cases as the matcher's candidates, read with a few Core queries.

A request ranks a couple of hundred candidates; loading them as ORM objects with their labels,
promotions and used solutions built some 1,800 objects per request. Plain rows keep it to a
handful of queries. The same loaders give the catalog texts the matcher is trained on, so the text
of an item is built one way at training and at request time.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import date

from sqlalchemy import and_, func, select

from marketplace.extensions import db
from marketplace.models import (
    BenchmarkCase,
    CasePromotion,
    CaseScenario,
    ListingStatus,
    Provider,
    Solution,
    SolutionLabel,
    case_solutions,
)
from matching.features import Candidate, Profile

SOLUTION_COLUMNS = (
    Solution.id,
    Solution.title,
    Solution.summary,
    Solution.description,
    Solution.price_min_cny,
    Solution.price_max_cny,
    Solution.deploy_days,
    Solution.level_uplifts,
    Solution.outcome_claims,
    Solution.provider_id,
    Provider.name.label("provider_name"),
    Provider.city.label("provider_city"),
    Provider.province.label("provider_province"),
)
CASE_COLUMNS = (
    BenchmarkCase.id,
    BenchmarkCase.title,
    BenchmarkCase.summary,
    BenchmarkCase.enterprise_name,
    BenchmarkCase.city,
    BenchmarkCase.province,
    BenchmarkCase.industry_code,
    BenchmarkCase.metrics,
    BenchmarkCase.level_before,
    BenchmarkCase.level_after,
    BenchmarkCase.provider_id,
)


def solution_text(title: str, summary: str, description: str, tags: Iterable[str]) -> str:
    """What the matcher reads of a solution: title, summary, description and tags."""
    return " ".join([title, summary, description, *tags])


def case_text(title: str, summary: str, used: Iterable[dict]) -> str:
    """What the matcher reads of a case: its story, and the title, summary and tags of each solution it used.

    A case's own story is short and told in outcomes ("合格率提升至99.8%"); what it did is
    described by the solutions it used, in the words an enterprise's need shares with them.
    """
    return " ".join([title, summary, *(" ".join([s["title"], s["summary"], *s["tags"]]) for s in used)])


def _where_published(model, ids: list[int] | None):
    published = model.status == ListingStatus.PUBLISHED
    return published if ids is None else and_(published, model.id.in_(ids))


def _labels(solution_ids, kinds: tuple[str, ...] | None = None) -> dict[int, dict[str, list[str]]]:
    """Labels by solution id and kind, in their order; ``solution_ids`` may be a subquery."""
    query = select(SolutionLabel.solution_id, SolutionLabel.kind, SolutionLabel.value).where(
        SolutionLabel.solution_id.in_(solution_ids)
    )
    if kinds:
        query = query.where(SolutionLabel.kind.in_(kinds))
    labels: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    order = (SolutionLabel.solution_id, SolutionLabel.kind, SolutionLabel.position)
    for solution_id, kind, value in db.session.execute(query.order_by(*order)):
        labels[solution_id][kind].append(value)
    return labels


def published_solutions(ids: list[int] | None = None) -> list[dict]:
    """Published solutions (those of ``ids``, or all) as rows with provider fields and labels."""
    where = _where_published(Solution, ids)
    rows = db.session.execute(
        select(*SOLUTION_COLUMNS).join(Provider, Provider.id == Solution.provider_id).where(where)
    ).mappings()
    labels = _labels(ids if ids is not None else select(Solution.id).where(where))
    return [
        {**row, **{kind: labels[row["id"]][kind] for kind in ("industries", "scenarios", "tags")}}
        for row in rows
    ]


def published_cases(ids: list[int] | None = None, today: date | None = None) -> list[dict]:
    """Published cases (those of ``ids``, or all) with scenarios, used solutions and promoting cities."""
    where = _where_published(BenchmarkCase, ids)
    rows = [dict(row) for row in db.session.execute(select(*CASE_COLUMNS).where(where)).mappings()]
    case_ids = [row["id"] for row in rows]
    scenarios, used, promoted = defaultdict(list), defaultdict(list), defaultdict(list)
    for case_id, scenario in db.session.execute(
        select(CaseScenario.case_id, CaseScenario.scenario).where(CaseScenario.case_id.in_(case_ids))
    ):
        scenarios[case_id].append(scenario)
    links = db.session.execute(
        select(case_solutions.c.case_id, Solution.id, Solution.title, Solution.summary)
        .join(Solution, Solution.id == case_solutions.c.solution_id)
        .where(case_solutions.c.case_id.in_(case_ids))
        .order_by(case_solutions.c.case_id, Solution.id)
    ).all()
    tags = _labels({solution_id for _, solution_id, _, _ in links}, ("tags",))
    for case_id, solution_id, title, summary in links:
        used[case_id].append(
            {"id": solution_id, "title": title, "summary": summary, "tags": tags[solution_id]["tags"]}
        )
    today = today or date.today()
    for case_id, city in db.session.execute(
        select(CasePromotion.case_id, CasePromotion.city).where(
            CasePromotion.case_id.in_(case_ids),
            CasePromotion.ended_at.is_(None),
            CasePromotion.starts_on <= today,
            CasePromotion.ends_on >= today,
        )
    ):
        promoted[case_id].append(city)
    for row in rows:
        row.update(scenarios=scenarios[row["id"]], used=used[row["id"]], promoted_cities=promoted[row["id"]])
    return rows


def solution_candidates(ids: dict[int, float], profile: Profile) -> list[Candidate]:
    """Published solutions among ``ids`` (id → retrieval score) as candidates, with their evidence."""
    used = db.session.execute(
        select(case_solutions.c.solution_id, BenchmarkCase.city, func.count())
        .join(BenchmarkCase, BenchmarkCase.id == case_solutions.c.case_id)
        .where(case_solutions.c.solution_id.in_(list(ids)), BenchmarkCase.status == ListingStatus.PUBLISHED)
        .group_by(case_solutions.c.solution_id, BenchmarkCase.city)
    ).all()
    evidence, local = Counter(), Counter()
    for solution_id, city, count in used:
        evidence[solution_id] += count
        if city == profile.city:
            local[solution_id] += count
    return [
        Candidate(
            kind="solution",
            id=s["id"],
            title=s["title"],
            text=solution_text(s["title"], s["summary"], s["description"], s["tags"]),
            industries=tuple(s["industries"]),
            scenarios=tuple(s["scenarios"]),
            tags=tuple(s["tags"]),
            price_min_cny=s["price_min_cny"],
            price_max_cny=s["price_max_cny"],
            deploy_days=s["deploy_days"],
            city=s["provider_city"],
            province=s["provider_province"],
            provider_id=s["provider_id"],
            uplifts=tuple((u["scenario"], u["from_level"], u["to_level"]) for u in s["level_uplifts"]),
            evidence_cases=evidence[s["id"]],
            local_cases=local[s["id"]],
            accepted_claims=sum(1 for c in s["outcome_claims"] if c["source_type"] == "city_accepted"),
            retrieval_score=ids[s["id"]],
            extra={"row": s},
        )
        for s in published_solutions(list(ids))
    ]


def case_candidates(ids: dict[int, float], profile: Profile) -> list[Candidate]:
    """Published cases among ``ids`` (id → retrieval score) as candidates."""
    return [
        Candidate(
            kind="case",
            id=c["id"],
            title=c["title"],
            text=case_text(c["title"], c["summary"], c["used"]),
            industries=(c["industry_code"],),
            scenarios=tuple(c["scenarios"]),
            city=c["city"],
            province=c["province"],
            provider_id=c["provider_id"],
            accepted_claims=sum(1 for m in c["metrics"] if m.get("source_type") == "city_accepted"),
            promoted_cities=tuple(c["promoted_cities"]),
            level_before=c["level_before"],
            level_after=c["level_after"],
            solution_ids=tuple(s["id"] for s in c["used"]),
            retrieval_score=ids[c["id"]],
            extra={
                "row": c,
                "metrics": c["metrics"],
                "solution_titles": {s["id"]: s["title"] for s in c["used"]},
            },
        )
        for c in published_cases(list(ids))
    ]
