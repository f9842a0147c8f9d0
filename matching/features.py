"""The request, the candidates, and the features that relate them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from matching.constraints import ON_SITE, stated_budget, stated_deadline_days, stated_delivery

FEATURES = (
    "retrieval",
    "text",
    "dense",
    "scenario",
    "industry",
    "budget",
    "deploy",
    "uplift",
    "locality",
    "evidence",
    "promotion",
    "constraints",
    "solution_fit",
    "consensus",
)
NEED_FIT = ("retrieval", "text", "dense", "scenario", "solution_fit", "consensus")
"""Features that say whether an item addresses the need; the prior ranks by them first."""
STRUCTURE = ("industry", "budget", "deploy", "uplift", "locality", "evidence", "promotion")
"""Features that say how well an item suits the enterprise; they reorder items that fit the need."""
CONSTRAINTS = "constraints"
"""Whether an item meets the deadline and the place of the data the needs state (1 when none is
stated): the prior multiplies the structured fit by it, so an item that misses them goes to the end
of its band of need fit, and a request that states none is ranked as if the feature did not exist."""
PROMOTION_CAP = 1.0


@dataclass(frozen=True)
class Profile:
    """An enterprise's request: its sub-industry, its needs in its own words, and its constraints.

    ``gap_scenarios`` are the scenarios it must lift to reach the target level (level-up planning,
    against the indicator's target, 二级), if known. Without ``budget_max_cny``, a budget the needs
    state in words ("五万以内", :func:`matching.constraints.stated_budget`) is the budget; likewise
    ``deadline_days`` ("一个月内必须能用") and ``delivery`` (:data:`~matching.constraints.ON_SITE`
    for "数据不能出厂", :data:`~matching.constraints.NO_SERVER` for "不想在厂里放服务器").
    """

    industry: str
    needs: str
    scenarios: tuple[str, ...] = ()
    budget_max_cny: int | None = None
    city: str | None = None
    province: str | None = None
    digital_level: int | None = None
    gap_scenarios: tuple[str, ...] = ()
    deadline_days: int | None = None
    delivery: str | None = None

    def __post_init__(self) -> None:
        for name, stated in (
            ("budget_max_cny", stated_budget),
            ("deadline_days", stated_deadline_days),
            ("delivery", stated_delivery),
        ):
            if getattr(self, name) is None:
                object.__setattr__(self, name, stated(self.needs))

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> Profile:
        """A profile from a request body, a judged query or a logged request.

        :param values: field name → value; lists become tuples, and missing fields take their
            defaults.
        :raises TypeError: if a key is not a field of :class:`Profile` or a required one is missing.
        """
        return cls(
            **{key: tuple(value) if isinstance(value, list) else value for key, value in values.items()}
        )


@dataclass(frozen=True)
class Metric:
    """An outcome a case measured: its value ``before`` and ``after`` the retrofit, in ``unit``."""

    name: str
    before: float
    after: float
    unit: str


@dataclass(frozen=True)
class Candidate:
    """A solution or case as the matcher sees it, flattened from the store, the same for every request.

    ``industries`` are the codes the item is tagged with (for a case, its one industry);
    ``uplifts`` are ``(scenario, from_level, to_level)``; ``evidence_cases`` counts published cases
    that used a solution and ``cases_by_city`` counts them per city; ``accepted_claims``
    counts outcome figures accepted by a city; ``promoted_cities`` lists the cities promoting it now;
    ``solution_ids`` are the solutions a case used and ``solution_titles`` their titles by id;
    ``metrics`` are the outcomes a case measured. ``summary``, ``provider_name`` (a solution's) and
    ``enterprise_name`` (a case's) are shown with the item and do not affect its score.
    """

    kind: str
    id: int
    title: str
    text: str
    industries: tuple[str, ...]
    scenarios: tuple[str, ...]
    tags: tuple[str, ...] = ()
    price_min_cny: int | None = None
    price_max_cny: int | None = None
    deploy_days: int | None = None
    delivery_modes: tuple[str, ...] = ()
    city: str | None = None
    province: str | None = None
    provider_id: int | None = None
    uplifts: tuple[tuple[str, int, int], ...] = ()
    evidence_cases: int = 0
    cases_by_city: Mapping[str, int] = field(default_factory=dict, compare=False)
    accepted_claims: int = 0
    promoted_cities: tuple[str, ...] = ()
    level_before: int | None = None
    level_after: int | None = None
    solution_ids: tuple[int, ...] = ()
    solution_titles: Mapping[int, str] = field(default_factory=dict, compare=False)
    metrics: tuple[Metric, ...] = ()
    summary: str = ""
    provider_name: str | None = None
    enterprise_name: str | None = None


ANCESTOR_SCORES = {5: 1.0, 4: 1.0, 3: 0.9}
SIBLING_SCORES = {4: 0.3, 3: 0.1}
GENERIC_SCORE = 0.8


def _common_prefix(a: str, b: str) -> str:
    length = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        length += 1
    return a[:length]


def industry_affinity(requested: str, tagged: tuple[str, ...]) -> tuple[float, str | None]:
    """How close the item's industries are to the requester's, and the closest shared code.

    Codes are GB/T 4754 with the letter prefix, so ``C3670`` is a 小类 (5 characters), ``C367`` a
    中类 (4), ``C36`` a 大类 (3). An item tagged with the requester's code or an ancestor of it
    applies directly (1, or .9 for a whole 大类); one inside a requested 大类 or 中类 scores .9;
    an item for all manufacturing (``C``) .8; a sibling is built for another product, so one in
    the same 中类 scores only .3 and in the same 大类 .1; anything else 0.
    """
    best: tuple[float, str | None] = (0.0, None)
    for code in tagged:
        if code == "C":
            score, shared = GENERIC_SCORE, "C"
        elif requested.startswith(code):
            score, shared = ANCESTOR_SCORES.get(len(code), 0.7), code
        elif code.startswith(requested):
            score, shared = 0.9, requested
        else:
            shared = _common_prefix(requested, code)
            score = SIBLING_SCORES.get(len(shared), 0.0) if len(shared) >= 3 else 0.0
            shared = shared if score else None
        if score > best[0]:
            best = (score, shared)
    return best


def budget_fit(budget: int | None, price_min: int | None) -> float:
    """1 within budget, falling to 0 at twice the budget; .5 when either is unknown."""
    if budget is None or price_min is None:
        return 0.5
    if price_min <= budget:
        return 1.0
    return max(0.0, 1.0 - (price_min - budget) / max(budget, 1))


def deploy_speed(days: int | None) -> float:
    """Faster deployment scores higher: 1 at a week or less, .5 at about two months."""
    if days is None:
        return 0.5
    return 1.0 / (1.0 + max(days - 7, 0) / 50.0)


def deadline_fit(deadline_days: int | None, days: int | None) -> float:
    """1 when the item is in use within the stated deadline, falling to 0 at twice it; 1 without one."""
    if deadline_days is None or days is None or days <= deadline_days:
        return 1.0
    return max(0.0, 1.0 - (days - deadline_days) / deadline_days)


def delivery_fit(delivery: str | None, modes: tuple[str, ...]) -> float:
    """1 when the item can be delivered as the needs require, else 0; 1 when nothing is required.

    Data that must stay on site needs an on-premise delivery, or an edge or hardware delivery
    without a cloud service (a SaaS platform with an edge box still sends the data out). No server
    of one's own rules out an item that is delivered on premise only.
    """
    if not modes or delivery is None:
        return 1.0
    if delivery == ON_SITE:
        return 1.0 if "on_premise" in modes or "saas" not in modes else 0.0
    return 0.0 if set(modes) == {"on_premise"} else 1.0  # NO_SERVER


def lifts_to(uplift: tuple[str, int, int], target_level: int) -> bool:
    """Whether a declared ``(scenario, from_level, to_level)`` uplift crosses ``target_level``."""
    _, before, after = uplift
    return before < target_level <= after


def uplift_fit(profile: Profile, candidate: Candidate, target_level: int) -> float:
    """Share of the requester's gap scenarios that the item's declared uplift lifts to ``target_level``.

    :param target_level: the level the gap is measured against (the indicator's target, 二级).
    """
    if not profile.gap_scenarios:
        return 0.0
    lifted = {uplift[0] for uplift in candidate.uplifts if lifts_to(uplift, target_level)}
    return len(lifted & set(profile.gap_scenarios)) / len(profile.gap_scenarios)


def locality(profile: Profile, candidate: Candidate) -> float:
    """1 in the requester's city, .5 in its province."""
    if profile.city and candidate.city == profile.city:
        return 1.0
    if profile.province and candidate.province == profile.province:
        return 0.5
    return 0.0


def local_cases(profile: Profile, candidate: Candidate) -> int:
    """Published cases in the requester's city that used the solution."""
    return candidate.cases_by_city.get(profile.city, 0) if profile.city else 0


def evidence(profile: Profile, candidate: Candidate) -> float:
    """Proof from practice: cases that used it (local ones count double) and city-accepted outcomes."""
    raw = candidate.evidence_cases + local_cases(profile, candidate) + 2 * candidate.accepted_claims
    if candidate.kind == "case" and candidate.level_after is not None and candidate.level_before is not None:
        raw += candidate.level_after - candidate.level_before
    return min(raw, 6) / 6.0


def promotion(profile: Profile, candidate: Candidate) -> float:
    """A running promotion in the requester's city; capped, so it can lift but not dominate."""
    return PROMOTION_CAP if profile.city and profile.city in candidate.promoted_cities else 0.0


def solution_fit(candidate: Candidate, solution_scores: dict[int, float]) -> tuple[float, int | None]:
    """How well the best solution a case used fits the request (its relative score), and which one.

    ``solution_scores`` maps the solutions ranked for the same request to their score relative to
    the best, 0–1. A case is worth learning from when what it did is what the requester needs.
    """
    best = max(candidate.solution_ids, key=lambda i: solution_scores.get(i, 0.0), default=None)
    score = solution_scores.get(best, 0.0) if best is not None else 0.0
    return (score, best) if score > 0 else (0.0, None)
