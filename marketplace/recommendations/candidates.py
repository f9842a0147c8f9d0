"""Published solutions and cases as the matcher's candidates, read with a few Core queries.

A request ranks a couple of hundred candidates; loading them as ORM objects with their labels,
promotions and used solutions built some 1,800 objects per request. Plain rows (solutions through
the search indexer's :func:`~marketplace.search.documents.load_solutions`) keep it to a handful of
queries, and :func:`~marketplace.search.cache.store_cache` keeps them for an index generation. The texts
the matcher is trained on are built by the same functions as at request time.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable
from datetime import date
from types import SimpleNamespace

from sqlalchemy import and_, func, select

from marketplace.extensions import db
from marketplace.models import (
    BenchmarkCase,
    CasePromotion,
    CaseScenario,
    ListingStatus,
    Solution,
    case_solutions,
)
from marketplace.search.cache import Stamps, store_cache
from marketplace.search.documents import load_solutions
from matching.features import Candidate, Metric

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


def solution_text(solution: SimpleNamespace) -> str:
    """What the matcher reads of a solution: title, summary, description and tags."""
    return " ".join([solution.title, solution.summary, solution.description, *solution.tags])


def case_text(case: SimpleNamespace) -> str:
    """What the matcher reads of a case: its story, and the title, summary and tags of each solution it used.

    A case's own story is short and told in outcomes ("合格率提升至99.8%"); what it did is
    described by the solutions it used, in the words an enterprise's need shares with them.
    """
    used = (" ".join([s.title, s.summary, *s.tags]) for s in case.used)
    return " ".join([case.title, case.summary, *used])


def published_solutions(ids: list[int]) -> list[SimpleNamespace]:
    """The published solutions among ``ids``, as :func:`~marketplace.search.documents.load_solutions` rows
    with their declared uplifts and outcome claims."""
    return load_solutions(Solution.id.in_(ids), Solution.status == ListingStatus.PUBLISHED, evidence=True)


def published_cases(ids: list[int] | None = None, today: date | None = None) -> list[SimpleNamespace]:
    """Published cases (those of ``ids``, or all) with scenarios, used solutions and promoting cities."""
    where = BenchmarkCase.status == ListingStatus.PUBLISHED
    if ids is not None:
        where = and_(where, BenchmarkCase.id.in_(ids))
    found = db.session.execute(select(*CASE_COLUMNS).where(where)).mappings()
    rows = [SimpleNamespace(**row) for row in found]
    case_ids = [row.id for row in rows]
    scenarios, used, promoted = defaultdict(list), defaultdict(list), defaultdict(list)
    for case_id, scenario in db.session.execute(
        select(CaseScenario.case_id, CaseScenario.scenario).where(CaseScenario.case_id.in_(case_ids))
    ):
        scenarios[case_id].append(scenario)
    links = db.session.execute(
        select(case_solutions.c.case_id, case_solutions.c.solution_id)
        .where(case_solutions.c.case_id.in_(case_ids))
        .order_by(case_solutions.c.case_id, case_solutions.c.solution_id)
    ).all()
    used_ids = {solution_id for _, solution_id in links}
    solutions = {
        s.id: s for s in load_solutions(Solution.id.in_(used_ids), Solution.status == ListingStatus.PUBLISHED)
    }
    for case_id, solution_id in links:
        if solution_id in solutions:
            used[case_id].append(solutions[solution_id])
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
        row.scenarios, row.used, row.promoted_cities = scenarios[row.id], used[row.id], promoted[row.id]
    return rows


def solution_candidates(ids: Iterable[int], key: Hashable | None, stamps: Stamps) -> list[Candidate]:
    """The published solutions among ``ids``, in id order, with their evidence.

    :param key: the store generation the candidates are cached under for this process.
    :param stamps: which of them are published now, with their stamps
        (:func:`~marketplace.search.documents.published_stamps`, read once per request by the caller).
    """
    return list(store_cache().get(key, "solution candidate", sorted(ids), _load_solutions, stamps).values())


def _load_solutions(ids: list[int]) -> dict[int, Candidate]:
    """Solutions as candidates, with their published cases counted per city."""
    used = db.session.execute(
        select(case_solutions.c.solution_id, BenchmarkCase.city, func.count())
        .join(BenchmarkCase, BenchmarkCase.id == case_solutions.c.case_id)
        .where(case_solutions.c.solution_id.in_(ids), BenchmarkCase.status == ListingStatus.PUBLISHED)
        .group_by(case_solutions.c.solution_id, BenchmarkCase.city)
    ).all()
    by_city: defaultdict[int, Counter] = defaultdict(Counter)
    for solution_id, city, count in used:
        by_city[solution_id][city] += count
    return {
        s.id: Candidate(
            kind="solution",
            id=s.id,
            title=s.title,
            text=solution_text(s),
            industries=tuple(s.industries),
            scenarios=tuple(s.scenarios),
            tags=tuple(s.tags),
            price_min_cny=s.price_min_cny,
            price_max_cny=s.price_max_cny,
            deploy_days=s.deploy_days,
            delivery_modes=tuple(s.delivery_modes),
            city=s.provider.city,
            province=s.provider.province,
            provider_id=s.provider_id,
            uplifts=tuple((u["scenario"], u["from_level"], u["to_level"]) for u in s.level_uplifts),
            evidence_cases=sum(by_city[s.id].values()),
            cases_by_city=by_city[s.id],
            accepted_claims=sum(1 for claim in s.outcome_claims if claim["source_type"] == "city_accepted"),
            summary=s.summary,
            provider_name=s.provider.name,
        )
        for s in published_solutions(ids)
    }


def case_candidates(ids: Iterable[int], key: Hashable | None, stamps: Stamps) -> list[Candidate]:
    """The published cases among ``ids``, in id order; parameters as for :func:`solution_candidates`."""
    return list(store_cache().get(key, "case candidate", sorted(ids), _load_cases, stamps).values())


def _load_cases(ids: list[int]) -> dict[int, Candidate]:
    """Cases as candidates."""
    return {
        c.id: Candidate(
            kind="case",
            id=c.id,
            title=c.title,
            text=case_text(c),
            industries=(c.industry_code,),
            scenarios=tuple(c.scenarios),
            city=c.city,
            province=c.province,
            provider_id=c.provider_id,
            accepted_claims=sum(1 for m in c.metrics if m.get("source_type") == "city_accepted"),
            promoted_cities=tuple(c.promoted_cities),
            level_before=c.level_before,
            level_after=c.level_after,
            solution_ids=tuple(s.id for s in c.used),
            solution_titles={s.id: s.title for s in c.used},
            metrics=tuple(Metric(m["name"], m["before"], m["after"], m["unit"]) for m in c.metrics),
            summary=c.summary,
            enterprise_name=c.enterprise_name,
        )
        for c in published_cases(ids)
    }
