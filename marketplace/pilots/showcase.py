"""看样学样: cases and accepted projects as cards, candidate 样板, and promoting a project as a 样板."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from marketplace.assessments.models import AssessmentKind
from marketplace.assessments.service import indicator
from marketplace.cases import service as cases
from marketplace.errors import Conflict, Forbidden
from marketplace.extensions import db
from marketplace.models import BenchmarkCase, ListingStatus, Role, User
from marketplace.pilots.enrolment import industry_matches
from marketplace.pilots.models import PilotSubIndustry, ProjectStatus, RetrofitProject
from marketplace.pilots.projects import Outcome, get_project, outcome_of

CANDIDATES_SHOWN = 3


def measure_rows(pairs: dict[str, dict]) -> list[dict]:
    """The four 成效 measures known in ``pairs`` (item code → before/after/unit), in indicator order."""
    rows = []
    for item in indicator().measure_items:
        values = pairs.get(item.code)
        if values is None:
            continue
        before, after = (Decimal(str(values[key])) for key in ("before", "after"))
        gain = item.measure.improvement(before, after) if before or item.measure.compare == "points" else None
        rows.append(
            {
                "code": item.code,
                "name": item.short_name,
                "unit": values.get("unit") or item.measure.unit,
                "before": values["before"],
                "after": values["after"],
                "better": item.measure.better,
                "improvement": None if gain is None else round(float(gain), 4),
            }
        )
    return rows


def case_measures(case: BenchmarkCase) -> list[dict]:
    """The four 成效 measures among a case's metrics, matched by name."""
    by_name = {name: item.code for item in indicator().measure_items for name in (item.name, item.short_name)}
    return measure_rows({by_name[m["name"]]: m for m in case.metrics if m["name"] in by_name})


def _matching_sub_industries(industry_code: str, sub_industries: list[PilotSubIndustry]) -> list[int]:
    return [s.id for s in sub_industries if industry_matches(industry_code, s.industry_codes)]


def case_card(case: BenchmarkCase, sub_industries: list[PilotSubIndustry]) -> dict:
    """A benchmark case as the dashboard shows it: levels before and after, the 成效 measures."""
    promotion = case.current_promotion
    return {
        "case_id": case.id,
        "project_id": None,
        "title": case.title,
        "enterprise_name": case.enterprise_name,
        "provider_name": case.provider.name if case.provider else None,
        "industry_code": case.industry_code,
        "sub_industry_ids": _matching_sub_industries(case.industry_code, sub_industries),
        "level_before": case.level_before,
        "level_after": case.level_after,
        "level_uplift": case.level_after - case.level_before,
        "score_before": None,
        "score_after": None,
        "measures": case_measures(case),
        "promoted": promotion is not None,
        "promotion": promotion,
    }


def project_card(project: RetrofitProject, outcome: Outcome) -> dict:
    """An accepted project as a candidate 样板, with its measured gains."""
    case = project.case
    promotion = case.current_promotion if case else None
    return {
        "case_id": case.id if case else None,
        "project_id": project.id,
        "title": project.title,
        "enterprise_name": project.enterprise.name,
        "provider_name": project.provider.name,
        "industry_code": project.enterprise.industry_code,
        "sub_industry_ids": [project.sub_industry_id],
        "level_before": outcome.before.level,
        "level_after": outcome.after.level,
        "level_uplift": outcome.level_uplift,
        "score_before": outcome.before.total_score,
        "score_after": outcome.after.total_score,
        "measures": measure_rows(outcome.after.measures),
        "promoted": promotion is not None,
        "promotion": promotion,
    }


def candidates(projects: list[RetrofitProject], outcomes: dict[int, Outcome]) -> list[dict]:
    """Accepted projects whose level rose and that are not promoted yet, largest gains first.

    Gains are ranked by levels gained, then points gained, then how many 成效 measures improved.
    """
    ranked = []
    for project in projects:
        outcome = outcomes[project.id]
        if (
            project.status is not ProjectStatus.ACCEPTED
            or not outcome.level_uplift
            or outcome.level_uplift < 1
        ):
            continue
        card = project_card(project, outcome)
        if card["promoted"]:
            continue
        improved = sum(1 for row in card["measures"] if (row["improvement"] or 0) > 0)
        ranked.append(((-outcome.level_uplift, -outcome.score_gain, -improved, project.id), card))
    return [card for _, card in sorted(ranked, key=lambda pair: pair[0])][:CANDIDATES_SHOWN]


def case_data_from_project(
    project: RetrofitProject, outcome: Outcome, title: str | None = None, summary: str | None = None
) -> dict:
    """The fields of a benchmark case drawn from an accepted project and its assessments.

    Measures of an on-site assessment are marked ``city_accepted``; self-reported ones as claims.

    :raises Conflict: if there is no assessment before and after the project.
    """
    if outcome.before is None or outcome.after is None:
        raise Conflict("项目缺少改造前或改造后的评测，无法生成样板案例")
    ind = indicator()
    before, after = outcome.before, outcome.after
    raised = [c for c, level in after.scenario_levels.items() if level > before.scenario_levels.get(c, 0)]
    solution = project.solution
    top = max(after.scenario_levels.values())
    scenarios = (
        raised
        or (solution.scenarios if solution else [])
        or [c for c, level in after.scenario_levels.items() if level == top]
    )
    source = "city_accepted" if after.kind is AssessmentKind.ONSITE else "vendor_claimed"
    items = {item.code: item for item in ind.measure_items}
    metrics = [
        {
            "name": items[code].short_name,
            "before": values["before"],
            "after": values["after"],
            "unit": items[code].measure.unit,
            "source_type": source,
        }
        for code, values in after.measures.items()
    ]
    levels = f"数字化水平评测由{ind.level_name(before.level)}升至{ind.level_name(after.level)}"
    generated = (
        f"{project.enterprise.name}是{project.city}“{project.sub_industry.name}”细分行业的试点企业。"
        f"{project.started_on.isoformat()}起由{project.provider.name}实施“{project.title}”改造，"
        f"{levels}，总分由{before.total_score}分提高到{after.total_score}分。"
    )
    return {
        "title": (title or f"{project.enterprise.name}{project.title}，{levels}")[:120],
        "enterprise_name": project.enterprise.name,
        "city": project.city,
        "province": project.enterprise.province,
        "industry_code": project.enterprise.industry_code,
        "scenarios": scenarios,
        "solution_ids": [solution.id] if solution and solution.status is ListingStatus.PUBLISHED else [],
        "summary": summary or generated,
        "metrics": metrics,
        "level_before": before.level,
        "level_after": after.level,
        "investment_cny": project.contract_amount_cny,
    }


def showcase_project(actor: User, project_id: int, data: dict) -> BenchmarkCase:
    """Promote an accepted project as a 样板 in one call: its case is made once, then promoted.

    The case is published at once (the city office authors it) and tied to the project, so a
    later call promotes the same case again; a running promotion reaches search at once.

    :raises Forbidden: unless the caller is the office of the project's city.
    :raises Conflict: if the project is not accepted, lacks before/after assessments, or a
        promotion overlaps.
    """
    project = get_project(actor, project_id)
    if actor.role is not Role.CITY_OFFICE or actor.city != project.city:
        raise Forbidden("只有项目所在城市的主管部门可以推广样板")
    if project.status is not ProjectStatus.ACCEPTED:
        raise Conflict("只有竣工验收的项目可以作为样板推广")
    if project.case is None:
        fields = case_data_from_project(project, outcome_of(project), data.get("title"), data.get("summary"))
        case = cases.create_case(actor, fields)
        case.provider_id = project.provider_id
        project.case = case
        db.session.commit()
    cases.promote_case(actor, project.case.id, {key: data[key] for key in ("starts_on", "ends_on", "note")})
    return project.case


def promoted_cases(city: str, sub_industries: list[PilotSubIndustry]) -> list[dict]:
    """The city's published cases with a running promotion, as cards."""
    found = db.session.scalars(
        select(BenchmarkCase)
        .where(BenchmarkCase.city == city, BenchmarkCase.status == ListingStatus.PUBLISHED)
        .order_by(BenchmarkCase.id)
    ).all()
    return [case_card(case, sub_industries) for case in found if case.is_promoted]
