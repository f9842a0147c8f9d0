"""Plain-Chinese reasons, each built from a real score component of the match."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from matching.constraints import NO_SERVER, ON_SITE
from matching.features import Candidate, Profile, deadline_fit, delivery_fit, lifts_to, local_cases

MAX_REASONS = 5
DELIVERY_REASONS = {
    ON_SITE: ("可本地部署，数据不出厂", "云端交付，数据须上传到服务商"),
    NO_SERVER: ("开通即用，不用自建服务器", "须在厂内部署服务器"),
}
"""For a place of the data the needs state: what an item that meets it says, and one that does not."""


@dataclass(frozen=True)
class Names:
    """What the reasons need from the taxonomy and the digital-level indicator.

    ``industry``, ``scenario`` and ``level`` name a code or a level; ``is_constraint`` tells a
    constraint scenario; ``target_level`` is the level the level-up plan aims at.
    """

    industry: Callable[[str], str]
    scenario: Callable[[str], str]
    is_constraint: Callable[[str], bool]
    level: Callable[[int], str]
    target_level: int


def _wan(cny: int) -> str:
    """An amount in 万 as people write it: ``9.9``, ``18``, ``12.5``, ``0.3``."""
    return f"{cny / 10_000:.2f}".rstrip("0").rstrip(".") or "0"


def price_band(candidate: Candidate) -> str:
    """``3–8 万元`` for a price band."""
    low, high = candidate.price_min_cny or 0, candidate.price_max_cny or 0
    return f"{_wan(low)} 万元" if low == high else f"{_wan(low)}–{_wan(high)} 万元"


def _matched_tag(candidate: Candidate, scenario: str | None, highlight_terms: set[str]) -> str | None:
    for tag in candidate.tags:
        if any(term and term in tag.lower() for term in highlight_terms):
            return tag
    return None if scenario is None else next(iter(candidate.tags), None)


def matched_terms(candidate: Candidate, highlight_terms: set[str]) -> list[str]:
    """The need's terms (words of two characters or more) that the item's text contains, longest first."""
    text = " ".join([candidate.title, candidate.text, *candidate.tags]).lower()
    found = sorted({t for t in highlight_terms if len(t) > 1 and t in text}, key=lambda t: (-len(t), t))
    return [t for n, t in enumerate(found) if not any(t in longer for longer in found[:n])][:3]


def need_reason(
    candidate: Candidate,
    components: dict,
    names: Names,
    highlight_terms: set[str],
    need_clause: str | None,
) -> str:
    """The first reason: what in the need the item addresses, in the item's words.

    The item's clause closest to the need (``need_clause``), or else the need's words it contains,
    followed by the matching tag or scenario in brackets.
    """
    terms = matched_terms(candidate, highlight_terms)
    scenario = components.get("matched_scenario")
    tag = _matched_tag(candidate, None, set(terms))
    area = names.scenario(scenario) if scenario and components.get("scenario", 0) >= 0.3 else None
    if need_clause:
        what, label = need_clause, tag or area
    else:
        what, label = tag or "、".join(terms) or candidate.title, area
    if label and label not in what:
        what = f"{what}（{label}）"
    return f"匹配您的需求：{what}"


def explain(
    profile: Profile,
    candidate: Candidate,
    components: dict,
    names: Names,
    highlight_terms: set[str] = frozenset(),
    need_clause: str | None = None,
) -> list[str]:
    """The reasons a candidate was recommended: first what in the need it matched, then the
    strongest other signals; never generic filler.

    :param need_clause: the item's own clause closest to the need (by the embedder), if known.
    """
    first = need_reason(candidate, components, names, highlight_terms, need_clause)
    reasons: list[tuple[float, str]] = []
    shared = components.get("shared_industry")
    if shared == "C" and components["industry"] > 0:
        reasons.append((components["industry"], "适用于各类制造业"))
    elif shared:
        reasons.append((components["industry"] + 0.5, f"同属{names.industry(shared)}（{shared}）"))
    if candidate.kind == "solution":
        reasons.extend(_solution_reasons(profile, candidate, components, names))
    else:
        reasons.extend(_case_reasons(profile, candidate, components, names))
    reasons.sort(key=lambda item: -item[0])
    return [first, *(text for _, text in reasons[: MAX_REASONS - 1])]


def _solution_reasons(profile: Profile, candidate: Candidate, components: dict, names: Names):
    if (budget := profile.budget_max_cny) is not None and candidate.price_min_cny is not None:
        high = candidate.price_max_cny if candidate.price_max_cny is not None else candidate.price_min_cny
        if high <= budget:
            yield 0.9, f"预算内（报价 {price_band(candidate)}）"
        elif candidate.price_min_cny <= budget:
            yield 0.7, f"起价在预算内（报价 {price_band(candidate)}）"
        else:
            yield 0.2, f"超出预算（报价 {price_band(candidate)}）"
    days, deadline = candidate.deploy_days, profile.deadline_days
    if days is not None and deadline is not None:
        if deadline_fit(deadline, days) == 1.0:
            yield 0.85, f"约 {days} 天可上线，赶得上您说的 {deadline} 天内"
        else:
            yield 0.25, f"上线约需 {days} 天，晚于您说的 {deadline} 天内"
    elif days is not None and days <= 30:
        yield 0.4, f"约 {days} 天可上线"
    if profile.delivery in DELIVERY_REASONS and candidate.delivery_modes:
        meets, misses = DELIVERY_REASONS[profile.delivery]
        if delivery_fit(profile.delivery, candidate.delivery_modes) == 1.0:
            yield 0.75, meets
        else:
            yield 0.25, misses
    lifted = [
        uplift
        for uplift in candidate.uplifts
        if uplift[0] in profile.gap_scenarios and lifts_to(uplift, names.target_level)
    ]
    for scenario, before, after in lifted[:2]:
        kind = "约束性" if names.is_constraint(scenario) else "指导性"
        yield (
            0.95,
            f"助力达{names.level(names.target_level)}：{names.scenario(scenario)}（{kind}场景）"
            f"{names.level(before)}→{names.level(after)}",
        )
    if local := local_cases(profile, candidate):
        yield 0.8, f"本市样板案例 {local} 个使用该方案"
    elif candidate.evidence_cases:
        yield 0.6, f"样板案例 {candidate.evidence_cases} 个使用该方案"
    if candidate.accepted_claims:
        yield 0.5, f"效果数据经城市验收（{candidate.accepted_claims} 项）"
    if components["locality"] >= 1.0:
        yield 0.3, "本市服务商"
    elif components["locality"] > 0:
        yield 0.2, "本省服务商"
    if components["promotion"] > 0:
        yield 0.7, f"{profile.city}主管部门推广"


def _case_reasons(profile: Profile, candidate: Candidate, components: dict, names: Names):
    used = candidate.solution_titles.get(components.get("used_solution"))
    if used and components["solution_fit"] >= 0.5:
        yield 0.5 + components["solution_fit"], f"用了与您需求相符的方案：{used}"
    if candidate.level_before is not None and candidate.level_after is not None:
        if candidate.level_after > candidate.level_before:
            yield (
                0.7,
                f"改造后由{names.level(candidate.level_before)}升至{names.level(candidate.level_after)}",
            )
    for metric in candidate.metrics[:1]:
        yield 0.6, f"{metric.name}：{metric.before:g}→{metric.after:g}{metric.unit}"
    if components["locality"] >= 1.0:
        yield 0.65, "本市样板，可就近参观学习"
    elif components["locality"] > 0:
        yield 0.3, "本省样板"
    if components["promotion"] > 0:
        yield 0.75, f"{profile.city}主管部门推广"
