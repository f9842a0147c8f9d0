"""The pilot dashboard of a city: each 细分行业 and the total against the 90%/100% targets."""

from __future__ import annotations

from collections import defaultdict

from marketplace.assessments.service import indicator
from marketplace.models import User, utcnow
from marketplace.pilots import targets
from marketplace.pilots.access import check_city_staff
from marketplace.pilots.enrolment import list_sub_industries
from marketplace.pilots.labels import SIZE_NAMES, STATUS_NAMES, TIER_NAMES, UNVERIFIED
from marketplace.pilots.models import RetrofitProject
from marketplace.pilots.projects import STAGES, Outcome, project_outcome
from marketplace.pilots.showcase import candidates, promoted_cases
from marketplace.pilots.standings import Standing, city_standings, enterprise_row

CLOSEST_SHOWN = 5


def _share(value) -> float | None:
    return None if value is None else round(float(value), 4)


def _rule(latest: targets.RuleProgress, first: targets.RuleProgress, with_target: bool = True) -> dict:
    row = {
        "members": latest.members,
        "achieved": latest.achieved,
        "unassessed": latest.unassessed,
        "share": _share(latest.share),
        "achieved_at_first": first.achieved,
        "share_at_first": _share(first.share),
    }
    if with_target:
        row |= {
            "target_share": _share(latest.target_share),
            "required": latest.required,
            "needed": latest.needed,
            "status": latest.status,
        }
    return row


def _distribution(levels: list[int | None]) -> list[dict]:
    ind = indicator()
    return [
        {"level": level, "level_name": ind.level_name(level), "count": sum(1 for x in levels if x == level)}
        for level in (None, *sorted(ind.level_names))
    ]


def _block(
    standings: list[Standing], projects: list[RetrofitProject], latest, first, target_count: int
) -> dict:
    enterprises = [s.enterprise for s in standings]
    statuses = {status.value: sum(1 for p in projects if p.status is status) for status in STAGES}
    return {
        "enrolled": {
            "total": len(enterprises),
            "by_size": {size: sum(1 for e in enterprises if e.size == size) for size in SIZE_NAMES},
            "by_scale": {
                "above": sum(1 for e in enterprises if e.above_scale),
                "below": sum(1 for e in enterprises if not e.above_scale),
            },
            "by_tier": {
                tier: sum(1 for s in standings if s.tier_bucket == tier) for tier in (*TIER_NAMES, UNVERIFIED)
            },
        },
        "levels_first": _distribution([s.member("first").level for s in standings]),
        "levels_latest": _distribution([s.member().level for s in standings]),
        "main_group": _rule(latest.main, first.main),
        "little_giant": _rule(latest.little_giant, first.little_giant),
        "below_scale": _rule(latest.below_scale, first.below_scale, with_target=False),
        "status": latest.status,
        "retrofit": {"target_count": target_count, "total": len(projects), **statuses},
    }


def closest(standings: list[Standing]) -> list[Standing]:
    """Assessed enterprises of either target group still below the target, smallest gap first."""
    short = [s for s in standings if s.in_groups and s.latest is not None and not s.at_target]
    return sorted(short, key=lambda s: (s.gap.order, s.enterprise.id))[:CLOSEST_SHOWN]


def _providers(projects: list[RetrofitProject], outcomes: dict[int, Outcome]) -> list[dict]:
    target = indicator().targets.target_level
    grouped: dict[int, list[RetrofitProject]] = defaultdict(list)
    for project in projects:
        grouped[project.provider_id].append(project)
    rows = []
    for own in grouped.values():
        uplifts = [outcomes[p.id].level_uplift for p in own if outcomes[p.id].level_uplift is not None]
        rows.append(
            {
                "provider_id": own[0].provider_id,
                "name": own[0].provider.name,
                "city": own[0].provider.city,
                "projects_total": len(own),
                "by_status": {status.value: sum(1 for p in own if p.status is status) for status in STAGES},
                "mean_level_uplift": round(sum(uplifts) / len(uplifts), 2) if uplifts else None,
                "reached_target": sum(
                    1
                    for p in own
                    if outcomes[p.id].level_uplift is not None
                    and outcomes[p.id].before.level < target <= outcomes[p.id].after.level
                ),
                "projects": [
                    {
                        "id": p.id,
                        "title": p.title,
                        "enterprise_id": p.enterprise_id,
                        "enterprise_name": p.enterprise.name,
                        "sub_industry_id": p.sub_industry_id,
                        "status": p.status.value,
                        "status_name": STATUS_NAMES[p.status],
                        "level_before": outcomes[p.id].before.level if outcomes[p.id].before else None,
                        "level_after": outcomes[p.id].after.level if outcomes[p.id].after else None,
                        "level_uplift": outcomes[p.id].level_uplift,
                    }
                    for p in own
                ],
            }
        )
    return sorted(rows, key=lambda r: (-r["by_status"]["accepted"], -r["projects_total"], r["provider_id"]))


def dashboard(actor: User, city: str, basis: str = "onsite") -> dict:
    """Where the city's pilot stands, per 细分行业 and in total (see :mod:`marketplace.pilots.targets`).

    By default (``basis=onsite``) it counts what the city verified: on-site assessments only, as
    the final acceptance will, and tiers as the city confirmed them (:attr:`Standing.counted_tier`).
    ``basis=all`` adds the enterprises' self-assessments.
    """
    check_city_staff(actor, city)
    ind = indicator()
    sub_industries = list_sub_industries(actor, city)
    standings = city_standings(city, basis)
    projects = [p for s in standings for p in s.projects]
    history = {s.enterprise.id: s.history for s in standings}
    outcomes = {p.id: project_outcome(p, history[p.enterprise_id]) for p in projects}
    rows, latest_parts, first_parts = [], [], []
    for sub in sub_industries:
        own = [s for s in standings if s.sub_industry.id == sub.id]
        own_projects = [p for p in projects if p.sub_industry_id == sub.id]
        latest = targets.pilot_progress((s.member() for s in own), ind.targets)
        first = targets.pilot_progress((s.member("first") for s in own), ind.targets)
        latest_parts.append(latest)
        first_parts.append(first)
        rows.append(
            {
                "id": sub.id,
                "name": sub.name,
                "industry_codes": sub.industry_codes,
                **_block(own, own_projects, latest, first, sub.target_count),
                "closest": [enterprise_row(s) for s in closest(own)],
                "candidates": candidates(own_projects, outcomes),
            }
        )
    return {
        "city": city,
        "basis": basis,
        "indicator_version": ind.version,
        "target_level": ind.targets.target_level,
        "target_level_name": ind.level_name(ind.targets.target_level),
        "generated_at": utcnow(),
        "total": _block(
            standings,
            projects,
            targets.combine_progress(latest_parts, ind.targets),
            targets.combine_progress(first_parts, ind.targets),
            sum(sub.target_count for sub in sub_industries),
        ),
        "sub_industries": rows,
        "providers": _providers(projects, outcomes),
        "promoted_cases": promoted_cases(city, sub_industries),
    }
