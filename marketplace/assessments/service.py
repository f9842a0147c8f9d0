"""Digital-level assessments: scoring by the indicator, the level rule, gaps and the history."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from functools import cache

from flask import current_app
from sqlalchemy import select

from marketplace.assessments import rules
from marketplace.assessments.indicator import Indicator, load_indicator
from marketplace.assessments.models import Assessment, AssessmentKind
from marketplace.common.pagination import paginate
from marketplace.enterprises.service import get_enterprise
from marketplace.errors import Forbidden, Unprocessable
from marketplace.extensions import db
from marketplace.models import Enterprise, Role, User
from marketplace.taxonomy.service import load_taxonomy


@cache
def _checked_indicator(seed_dir: str) -> Indicator:
    indicator = load_indicator(seed_dir)
    taxonomy_flags = {code: s.constraint for code, s in load_taxonomy(seed_dir).scenarios.items()}
    if indicator.scenarios != taxonomy_flags:
        raise ValueError("indicator scenarios and their constraint flags must match the scenario taxonomy")
    return indicator


def indicator() -> Indicator:
    """The digital-level indicator of the current app, checked against the scenario taxonomy."""
    return _checked_indicator(current_app.config["SEED_DATA_DIR"])


def decimal_measures(measures: dict) -> dict[str, dict[str, Decimal]]:
    """Measures as exact decimals (``0.9`` stays 9/10), for scoring."""
    return {
        code: {key: Decimal(str(values[key])) for key in ("before", "after")}
        for code, values in measures.items()
    }


def build_assessment(enterprise: Enterprise, recorded_by: User, data: dict) -> Assessment:
    """Score ``data`` and add the assessment to the session.

    The enterprise's ``digital_level`` follows its latest assessment of any kind; its
    ``verified_level`` follows its latest on-site one (by date), which only its city records.

    :raises Unprocessable: if an answer is missing or unknown, or the date lies in the future.
    """
    ind = indicator()
    measures = data.get("measures", {})
    problems = rules.answer_problems(
        ind, data["answers"], decimal_measures(measures), data["scenario_levels"]
    )
    if data["assessed_on"] > date.today():
        problems["assessed_on"] = ["评测日期不能晚于今天"]
    if problems:
        raise Unprocessable(errors=problems)
    scores = rules.score_answers(ind, data["answers"], decimal_measures(measures))
    assessment = Assessment(
        enterprise=enterprise,
        recorded_by=recorded_by,
        kind=AssessmentKind(data["kind"]),
        assessed_on=data["assessed_on"],
        indicator_version=ind.version,
        level=rules.digital_level(scores.total, data["scenario_levels"], ind.scenarios, ind.level_rule),
        total_score=scores.total,
        foundation_score=scores.foundation,
        management_score=scores.management,
        effectiveness_score=scores.effectiveness,
        scenario_levels=dict(data["scenario_levels"]),
        answers=dict(data["answers"]),
        measures={code: {"before": v["before"], "after": v["after"]} for code, v in measures.items()},
        note=data.get("note", ""),
        is_demo=data.get("is_demo", False),
        seed_key=data.get("seed_key"),
    )
    db.session.add(assessment)
    db.session.flush()
    enterprise.digital_level = latest_assessment(enterprise.id).level
    onsite = latest_assessment(enterprise.id, AssessmentKind.ONSITE)
    if onsite is not None:
        enterprise.verified_level, enterprise.level_verified_on = onsite.level, onsite.assessed_on
    return assessment


def record_assessment(actor: User, enterprise_id: int, data: dict) -> Assessment:
    """Record an assessment: an enterprise self-assesses; its city's office or an admin records any kind.

    :raises NotFound: if the caller may not see the enterprise (providers never do).
    :raises Forbidden: if an enterprise records an on-site assessment.
    """
    enterprise = get_enterprise(actor, enterprise_id)
    if actor.role not in (Role.CITY_OFFICE, Role.ADMIN) and data["kind"] != AssessmentKind.SELF:
        raise Forbidden("现场评测只能由企业所在城市的主管部门录入")
    assessment = build_assessment(enterprise, actor, data)
    db.session.commit()
    return with_gaps(assessment)


def history_order():
    """Assessments in the order they happened: by date, then as recorded."""
    return Assessment.assessed_on, Assessment.id


def latest_assessment(enterprise_id: int, kind: AssessmentKind | None = None) -> Assessment | None:
    """The enterprise's most recent assessment (of ``kind``, if given), if any."""
    query = select(Assessment).where(Assessment.enterprise_id == enterprise_id)
    if kind is not None:
        query = query.where(Assessment.kind == kind)
    return db.session.scalars(query.order_by(*(column.desc() for column in history_order())).limit(1)).first()


def histories(enterprise_ids: list[int], kind: AssessmentKind | None = None) -> dict[int, list[Assessment]]:
    """Assessments of the enterprises in the order they happened: all of them, or those of ``kind``."""
    if not enterprise_ids:
        return {}
    query = select(Assessment).where(Assessment.enterprise_id.in_(enterprise_ids))
    if kind is not None:
        query = query.where(Assessment.kind == kind)
    found: dict[int, list[Assessment]] = defaultdict(list)
    for assessment in db.session.scalars(query.order_by(Assessment.enterprise_id, *history_order())):
        found[assessment.enterprise_id].append(assessment)
    return found


def list_assessments(actor: User, enterprise_id: int, args: dict) -> dict:
    """The assessment history of an enterprise the caller may see, newest first.

    :raises NotFound: if the caller may not see the enterprise.
    """
    get_enterprise(actor, enterprise_id)
    query = select(Assessment).where(Assessment.enterprise_id == enterprise_id)
    if args.get("kind"):
        query = query.where(Assessment.kind == args["kind"])
    query = query.order_by(*(column.desc() for column in history_order()))
    page = paginate(query, args["page"], args["per_page"])
    for assessment in page["items"]:
        with_gaps(assessment)
    return page


def gap_to(assessment: Assessment, target_level: int) -> rules.Gap | None:
    """What stands between ``assessment`` and ``target_level`` (None if it is there already)."""
    ind = indicator()
    return rules.level_gap(
        assessment.total_score, assessment.scenario_levels, ind.scenarios, ind.level_rule, target_level
    )


def next_level_gap(assessment: Assessment) -> rules.Gap | None:
    """The gap to the level above the assessed one; None at the top level."""
    top = max(row.level for row in indicator().level_rule)
    return gap_to(assessment, assessment.level + 1) if assessment.level < top else None


def target_gap(assessment: Assessment) -> rules.Gap | None:
    """The gap to the pilot target level (二级)."""
    return gap_to(assessment, indicator().targets.target_level)


def with_gaps(assessment: Assessment) -> Assessment:
    """Set ``next_level_gap`` and ``target_gap`` on the assessment, which its views show; returns it."""
    assessment.next_level_gap = next_level_gap(assessment)
    assessment.target_gap = target_gap(assessment)
    return assessment
