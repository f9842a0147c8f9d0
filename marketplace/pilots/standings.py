"""Where each enrolled enterprise stands: its assessments, its gap to the target and its projects.

The same rows make the pilot's enterprise list and its export.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from marketplace.assessments import rules
from marketplace.assessments.models import Assessment, AssessmentKind
from marketplace.assessments.service import histories, indicator, target_gap
from marketplace.enterprises.schemas import tier_status
from marketplace.extensions import db
from marketplace.models import Enterprise, User
from marketplace.pilots import targets
from marketplace.pilots.access import check_city_staff
from marketplace.pilots.labels import STATUS_NAMES, TIER_STATUS_NAMES, UNVERIFIED
from marketplace.pilots.models import PilotEnrolment, PilotSubIndustry, RetrofitProject
from marketplace.pilots.projects import city_projects

BASIS_KINDS: dict[str, AssessmentKind | None] = {"onsite": AssessmentKind.ONSITE, "all": None}
BASES = tuple(BASIS_KINDS)


@dataclass
class Standing:
    """An enrolled enterprise with its assessment history (on the chosen basis) and projects."""

    enterprise: Enterprise
    sub_industry: PilotSubIndustry
    history: list[Assessment] = field(default_factory=list)
    projects: list[RetrofitProject] = field(default_factory=list)

    @property
    def first(self) -> Assessment | None:
        """The first assessment, the "before"."""
        return self.history[0] if self.history else None

    @property
    def latest(self) -> Assessment | None:
        """The latest assessment, which the targets count."""
        return self.history[-1] if self.history else None

    @property
    def counted_tier(self) -> str:
        """The tier the targets count: the one the city verified; a declared tier alone counts as none."""
        return self.enterprise.verified_tier or "none"

    @property
    def tier_bucket(self) -> str:
        """The dashboard's tier column: the verified tier, or ``unverified`` (待核实) if unchecked."""
        if self.enterprise.verified_tier is not None:
            return self.enterprise.verified_tier
        return "none" if self.enterprise.tier == "none" else UNVERIFIED

    def member(self, at: str = "latest") -> targets.Member:
        """The enterprise as the targets see it, at its first or latest assessment."""
        assessment = self.first if at == "first" else self.latest
        level = assessment.level if assessment is not None else None
        return targets.Member(self.enterprise.above_scale, self.counted_tier, level)

    @property
    def in_groups(self) -> bool:
        """Whether it counts towards either target."""
        above_scale, tier = self.enterprise.above_scale, self.counted_tier
        return targets.in_main_group(above_scale, tier) or targets.in_little_giant_group(tier)

    @property
    def gap(self) -> rules.Gap | None:
        """The gap of the latest assessment to the target level (None if there, or unassessed)."""
        return target_gap(self.latest) if self.latest is not None else None

    @property
    def at_target(self) -> bool:
        """Latest assessment at the target level or above; no assessment counts as below."""
        return self.latest is not None and self.latest.level >= indicator().targets.target_level

    @property
    def project(self) -> RetrofitProject | None:
        """The most recent retrofit project."""
        return self.projects[-1] if self.projects else None


def city_standings(city: str, basis: str = "onsite") -> list[Standing]:
    """Every enterprise enrolled in the city's pilot, by 细分行业 then enterprise."""
    enrolments = db.session.scalars(
        select(PilotEnrolment)
        .join(PilotEnrolment.sub_industry)
        .join(PilotEnrolment.enterprise)
        .where(PilotSubIndustry.city == city, Enterprise.city == city)
        .options(contains_eager(PilotEnrolment.sub_industry), contains_eager(PilotEnrolment.enterprise))
        .order_by(PilotSubIndustry.id, Enterprise.id)
    ).all()
    standings = {row.enterprise_id: Standing(row.enterprise, row.sub_industry) for row in enrolments}
    for enterprise_id, history in histories(list(standings), BASIS_KINDS.get(basis)).items():
        standings[enterprise_id].history = history
    for project in city_projects(city):
        if project.enterprise_id in standings:
            standings[project.enterprise_id].projects.append(project)
    return list(standings.values())


def _assessment_brief(assessment: Assessment | None) -> dict | None:
    if assessment is None:
        return None
    ind = indicator()
    reached, constraint = rules.scenarios_at(
        assessment.scenario_levels, ind.scenarios, ind.targets.target_level
    )
    return {
        "id": assessment.id,
        "level": assessment.level,
        "level_name": ind.level_name(assessment.level),
        "total_score": assessment.total_score,
        "foundation_score": assessment.foundation_score,
        "management_score": assessment.management_score,
        "effectiveness_score": assessment.effectiveness_score,
        "kind": assessment.kind.value,
        "assessed_on": assessment.assessed_on,
        "constraint_scenarios_at_target": constraint,
        "guidance_scenarios_at_target": reached - constraint,
    }


def enterprise_row(standing: Standing) -> dict:
    """One enrolled enterprise with its levels, gap to the target and latest project."""
    enterprise, project = standing.enterprise, standing.project
    return {
        "enterprise_id": enterprise.id,
        "name": enterprise.name,
        "credit_code": enterprise.credit_code,
        "city": enterprise.city,
        "sub_industry_id": standing.sub_industry.id,
        "sub_industry_name": standing.sub_industry.name,
        "industry_code": enterprise.industry_code,
        "size": enterprise.size,
        "above_scale": enterprise.above_scale,
        "tier": enterprise.tier,
        "verified_tier": enterprise.verified_tier,
        "tier_status": tier_status(enterprise),
        "tier_status_name": TIER_STATUS_NAMES[tier_status(enterprise)],
        "in_main_group": targets.in_main_group(enterprise.above_scale, standing.counted_tier),
        "in_little_giant_group": targets.in_little_giant_group(standing.counted_tier),
        "first": _assessment_brief(standing.first),
        "latest": _assessment_brief(standing.latest),
        "at_target": standing.at_target,
        "gap": standing.gap,
        "project": None
        if project is None
        else {
            "id": project.id,
            "status": project.status.value,
            "status_name": STATUS_NAMES[project.status],
            "provider_name": project.provider.name,
        },
    }


def pilot_enterprises(actor: User, city: str, args: dict) -> dict:
    """The city's enrolled enterprises with levels and gaps, filtered, one page at a time."""
    check_city_staff(actor, city)
    standings = city_standings(city, args.get("basis", "onsite"))
    if args.get("sub_industry_id"):
        standings = [s for s in standings if s.sub_industry.id in args["sub_industry_id"]]
    if args.get("below_target") is not None:
        standings = [s for s in standings if s.at_target != args["below_target"]]
    if args.get("in_groups"):
        standings = [s for s in standings if s.in_groups]
    page, per_page = args["page"], args["per_page"]
    chosen = standings[(page - 1) * per_page : page * per_page]
    return {
        "items": [enterprise_row(s) for s in chosen],
        "total": len(standings),
        "page": page,
        "per_page": per_page,
    }


def export_rows(actor: User, city: str, basis: str = "onsite") -> list[dict]:
    """Every enrolled enterprise of the city as :func:`enterprise_row` rows, for the export."""
    check_city_staff(actor, city)
    return [enterprise_row(s) for s in city_standings(city, basis)]
