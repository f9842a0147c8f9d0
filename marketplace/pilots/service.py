"""City pilots: 细分行业 set-up and enrolment, retrofit projects, the dashboard and the showcase.

A city office acts only within its own city. Another city's pilot, sub-industries, enterprises
and projects answer 404, as private things the caller may not see do elsewhere
(:mod:`marketplace.enterprises.service`); providers and enterprises get 403 for city-wide views.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import false, select
from sqlalchemy.orm import contains_eager

from marketplace.assessments.service import history_order, indicator, target_gap
from marketplace.cases import service as cases
from marketplace.common.lifecycle import get_or_404
from marketplace.common.pagination import paginate
from marketplace.common.schemas import load_merged
from marketplace.errors import Conflict, Forbidden, NotFound, Unprocessable
from marketplace.extensions import db
from marketplace.models import (
    BenchmarkCase,
    Enterprise,
    ListingStatus,
    Provider,
    Role,
    Solution,
    User,
    utcnow,
)
from marketplace.pilots import rules
from marketplace.pilots.models import (
    Assessment,
    AssessmentKind,
    PilotEnrolment,
    PilotSubIndustry,
    ProjectStatus,
    RetrofitProject,
)

CLOSEST_SHOWN = 5
CANDIDATES_SHOWN = 3
STATUS_NAMES = {
    ProjectStatus.DIAGNOSIS: "诊断评估",
    ProjectStatus.FILING: "备案审核",
    ProjectStatus.IMPLEMENTATION: "改造实施",
    ProjectStatus.ACCEPTED: "竣工验收",
}
STAGES = tuple(ProjectStatus)
STAGE_TIMESTAMPS = {
    ProjectStatus.FILING: "filed_at",
    ProjectStatus.IMPLEMENTATION: "implementing_at",
    ProjectStatus.ACCEPTED: "accepted_at",
}
SIZE_NAMES = {"micro": "微型", "small": "小型", "medium": "中型"}
TIER_NAMES = {
    "none": "无",
    "innovative": "创新型中小企业",
    "specialized": "专精特新中小企业",
    "little_giant": "专精特新“小巨人”",
}
BASES = ("all", "onsite")


# -- Access --------------------------------------------------------------------------------


def is_city_staff(actor: User, city: str) -> bool:
    """Admins, and the office of ``city``, act on that city's pilot."""
    return actor.role is Role.ADMIN or (actor.role is Role.CITY_OFFICE and actor.city == city)


def check_city_staff(actor: User, city: str) -> None:
    """Let only ``city``'s office and admins through.

    :raises Forbidden: for providers and enterprises.
    :raises NotFound: for another city's office.
    """
    if actor.role not in (Role.CITY_OFFICE, Role.ADMIN):
        raise Forbidden("试点数据仅限城市主管部门和平台管理员")
    if not 2 <= len(city) <= 50 or not is_city_staff(actor, city):
        raise NotFound("该城市的试点不存在")


# -- 细分行业 and enrolment ------------------------------------------------------------------


def list_sub_industries(actor: User, city: str) -> list[PilotSubIndustry]:
    """The 细分行业 of a city's pilot."""
    check_city_staff(actor, city)
    return db.session.scalars(
        select(PilotSubIndustry).where(PilotSubIndustry.city == city).order_by(PilotSubIndustry.id)
    ).all()


def _sub_industry(actor: User, city: str, sub_industry_id: int) -> PilotSubIndustry:
    check_city_staff(actor, city)
    sub_industry = db.session.get(PilotSubIndustry, sub_industry_id)
    if sub_industry is None or sub_industry.city != city:
        raise NotFound("细分行业不存在")
    return sub_industry


def get_sub_industry(actor: User, city: str, sub_industry_id: int) -> PilotSubIndustry:
    """One 细分行业 of a city's pilot.

    :raises NotFound: if it does not exist in ``city``.
    """
    return _sub_industry(actor, city, sub_industry_id)


def _ensure_name_free(city: str, name: str, own_id: int | None = None) -> None:
    clash = db.session.scalar(
        select(PilotSubIndustry.id).where(PilotSubIndustry.city == city, PilotSubIndustry.name == name)
    )
    if clash is not None and clash != own_id:
        raise Conflict("本市已有同名细分行业", {"name": ["本市已有同名细分行业"]})


def create_sub_industry(actor: User, city: str, data: dict) -> PilotSubIndustry:
    """Define a 细分行业 of the city's pilot: its label, GB/T codes and retrofit target.

    :raises Conflict: if the city already has one of that name.
    """
    check_city_staff(actor, city)
    _ensure_name_free(city, data["name"])
    sub_industry = PilotSubIndustry(city=city, created_by_id=actor.id, **data)
    db.session.add(sub_industry)
    db.session.commit()
    return sub_industry


def update_sub_industry(actor: User, city: str, sub_industry_id: int, data: dict) -> PilotSubIndustry:
    """Change a 细分行业's label, codes or retrofit target.

    :raises Conflict: if the new label is taken in the city.
    """
    from marketplace.pilots.schemas import SubIndustrySchema

    sub_industry = _sub_industry(actor, city, sub_industry_id)
    data = load_merged(SubIndustrySchema(), sub_industry, data)
    if "name" in data:
        _ensure_name_free(city, data["name"], sub_industry.id)
    for key, value in data.items():
        setattr(sub_industry, key, value)
    db.session.commit()
    return sub_industry


def industry_matches(enterprise_code: str, codes: list[str]) -> bool:
    """An enterprise fits a 细分行业 when its code and one of the codes lie on one branch of GB/T 4754."""
    return any(enterprise_code.startswith(code) or code.startswith(enterprise_code) for code in codes)


def enrol(actor: User, city: str, sub_industry_id: int, enterprise_ids: list[int]) -> PilotSubIndustry:
    """Enrol enterprises of the city in a 细分行业; enrolling one already there changes nothing.

    :raises Unprocessable: for enterprises not in the city or outside the 细分行业's codes.
    :raises Conflict: for enterprises enrolled in another 细分行业.
    """
    sub_industry = _sub_industry(actor, city, sub_industry_id)
    wanted = list(dict.fromkeys(enterprise_ids))
    found = {
        e.id: e
        for e in db.session.scalars(
            select(Enterprise).where(Enterprise.id.in_(wanted), Enterprise.city == city)
        )
    }
    enrolled = {
        row.enterprise_id: row
        for row in db.session.scalars(select(PilotEnrolment).where(PilotEnrolment.enterprise_id.in_(wanted)))
    }
    missing = [i for i in wanted if i not in found]
    if missing:
        listed = "、".join(map(str, missing))
        raise Unprocessable(errors={"enterprise_ids": [f"企业不存在或不在{city}：{listed}"]})
    outside = [i for i in wanted if not industry_matches(found[i].industry_code, sub_industry.industry_codes)]
    if outside:
        listed = "、".join(f"{found[i].name}（{found[i].industry_code}）" for i in outside)
        raise Unprocessable(
            errors={"enterprise_ids": [f"企业所属行业不在该细分行业的行业代码范围内：{listed}"]}
        )
    elsewhere = [i for i in wanted if i in enrolled and enrolled[i].sub_industry_id != sub_industry.id]
    if elsewhere:
        listed = "、".join(found[i].name for i in elsewhere)
        raise Conflict("企业已纳入其他细分行业", {"enterprise_ids": [f"已纳入其他细分行业：{listed}"]})
    for enterprise_id in wanted:
        if enterprise_id not in enrolled:
            db.session.add(
                PilotEnrolment(
                    sub_industry=sub_industry, enterprise=found[enterprise_id], enrolled_by_id=actor.id
                )
            )
    db.session.commit()
    return sub_industry


def unenrol(actor: User, city: str, sub_industry_id: int, enterprise_id: int) -> None:
    """Take an enterprise out of a 细分行业.

    :raises NotFound: if it is not enrolled there.
    :raises Conflict: if it has a retrofit project in the pilot.
    """
    sub_industry = _sub_industry(actor, city, sub_industry_id)
    enrolment = db.session.scalar(
        select(PilotEnrolment).where(
            PilotEnrolment.sub_industry_id == sub_industry.id, PilotEnrolment.enterprise_id == enterprise_id
        )
    )
    if enrolment is None:
        raise NotFound("该企业未纳入此细分行业")
    if db.session.scalar(select(RetrofitProject.id).where(RetrofitProject.enterprise_id == enterprise_id)):
        raise Conflict("该企业已有改造项目，不能退出试点")
    db.session.delete(enrolment)
    db.session.commit()


# -- Where each enrolled enterprise stands --------------------------------------------------


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

    def member(self, at: str = "latest") -> rules.Member:
        """The enterprise as the targets see it, at its first or latest assessment."""
        assessment = self.first if at == "first" else self.latest
        level = assessment.level if assessment is not None else None
        return rules.Member(self.enterprise.above_scale, self.enterprise.tier, level)

    @property
    def in_groups(self) -> bool:
        """Whether it counts towards either target."""
        above_scale, tier = self.enterprise.above_scale, self.enterprise.tier
        return rules.in_main_group(above_scale, tier) or rules.in_little_giant_group(tier)

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


def histories(enterprise_ids: list[int], basis: str = "all") -> dict[int, list[Assessment]]:
    """Assessments of the enterprises in the order they happened; ``onsite`` keeps on-site ones only."""
    if not enterprise_ids:
        return {}
    query = select(Assessment).where(Assessment.enterprise_id.in_(enterprise_ids))
    if basis == "onsite":
        query = query.where(Assessment.kind == AssessmentKind.ONSITE)
    found: dict[int, list[Assessment]] = defaultdict(list)
    for assessment in db.session.scalars(query.order_by(Assessment.enterprise_id, *history_order())):
        found[assessment.enterprise_id].append(assessment)
    return found


def city_standings(city: str, basis: str = "all") -> list[Standing]:
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
    for enterprise_id, history in histories(list(standings), basis).items():
        standings[enterprise_id].history = history
    for project in city_projects(city):
        if project.enterprise_id in standings:
            standings[project.enterprise_id].projects.append(project)
    return list(standings.values())


def city_projects(city: str) -> list[RetrofitProject]:
    """The city's retrofit projects, oldest first."""
    return db.session.scalars(
        select(RetrofitProject)
        .where(RetrofitProject.city == city)
        .order_by(RetrofitProject.started_on, RetrofitProject.id)
    ).all()


# -- Retrofit projects ---------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """A project's assessments: the last one up to its start, and the latest one after it."""

    before: Assessment | None
    after: Assessment | None

    @property
    def level_uplift(self) -> int | None:
        """Levels gained, when both assessments exist."""
        return self.after.level - self.before.level if self.before and self.after else None

    @property
    def score_gain(self) -> int | None:
        """Points gained, when both assessments exist."""
        return self.after.total_score - self.before.total_score if self.before and self.after else None


def project_outcome(project: RetrofitProject, history: list[Assessment]) -> Outcome:
    """Level uplift of a project: the latest assessment against the last one before it started.

    An assessment dated on the start day counts as "before" (the diagnosis); "after" is the latest
    assessment dated after the start.
    """
    before = [a for a in history if a.assessed_on <= project.started_on]
    after = [a for a in history if a.assessed_on > project.started_on]
    return Outcome(before[-1] if before else None, after[-1] if after else None)


def outcome_of(project: RetrofitProject) -> Outcome:
    """The outcome of one project, from every assessment of its enterprise."""
    return project_outcome(project, histories([project.enterprise_id]).get(project.enterprise_id, []))


def can_see_project(actor: User, project: RetrofitProject) -> bool:
    """Its city's office, admins, and the provider and enterprise involved see a project."""
    return (
        is_city_staff(actor, project.city)
        or project.provider.owner_id == actor.id
        or project.enterprise.owner_id == actor.id
    )


def get_project(actor: User, project_id: int) -> RetrofitProject:
    """A project the caller may see.

    :raises NotFound: if it does not exist or is not visible to the caller.
    """
    project = get_or_404(RetrofitProject, project_id, "改造项目")
    if not can_see_project(actor, project):
        raise NotFound("改造项目不存在")
    return project


def list_projects(actor: User, args: dict) -> dict:
    """Projects the caller may see: all (admins), its city's (offices), its own (providers, enterprises)."""
    query = select(RetrofitProject)
    if actor.role is Role.CITY_OFFICE:
        query = query.where(RetrofitProject.city == actor.city)
    elif actor.role is Role.PROVIDER:
        own = actor.provider.id if actor.provider else None
        query = query.where(RetrofitProject.provider_id == own) if own else query.where(false())
    elif actor.role is Role.ENTERPRISE:
        own = actor.enterprise.id if actor.enterprise else None
        query = query.where(RetrofitProject.enterprise_id == own) if own else query.where(false())
    for key, column in (
        ("city", RetrofitProject.city),
        ("status", RetrofitProject.status),
        ("sub_industry_id", RetrofitProject.sub_industry_id),
        ("provider_id", RetrofitProject.provider_id),
        ("enterprise_id", RetrofitProject.enterprise_id),
    ):
        if args.get(key):
            query = query.where(column.in_(args[key]))
    return paginate(query.order_by(RetrofitProject.id.desc()), args["page"], args["per_page"])


def _project_parties(actor: User, data: dict) -> tuple[Enterprise, PilotEnrolment, Provider, Solution | None]:
    errors: dict[str, list[str]] = {}
    enterprise = db.session.get(Enterprise, data["enterprise_id"])
    if enterprise is None or not is_city_staff(actor, enterprise.city):
        errors["enterprise_id"] = ["企业不存在或不在本市"]
    enrolment = db.session.scalar(
        select(PilotEnrolment).where(PilotEnrolment.enterprise_id == data["enterprise_id"])
    )
    if enterprise is not None and "enterprise_id" not in errors and enrolment is None:
        errors["enterprise_id"] = ["企业尚未纳入本市试点细分行业"]
    provider = db.session.get(Provider, data["provider_id"])
    if provider is None:
        errors["provider_id"] = ["服务商不存在"]
    solution = db.session.get(Solution, data["solution_id"]) if data.get("solution_id") else None
    if data.get("solution_id") and (
        solution is None
        or solution.status is not ListingStatus.PUBLISHED
        or solution.provider_id != data["provider_id"]
    ):
        errors["solution_id"] = ["方案不存在、未发布或不属于该服务商"]
    if data["started_on"] > date.today():
        errors["started_on"] = ["启动日期不能晚于今天"]
    if errors:
        raise Unprocessable(errors=errors)
    return enterprise, enrolment, provider, solution


def create_project(actor: User, data: dict) -> RetrofitProject:
    """Open a retrofit project, at 诊断评估, for an enrolled enterprise of the office's city.

    :raises Forbidden: unless the caller is a city office or an admin.
    :raises Unprocessable: for an enterprise outside the city or not enrolled, an unknown provider,
        or a solution that is unpublished or someone else's.
    :raises Conflict: if the enterprise already has a project under way.
    """
    if actor.role not in (Role.CITY_OFFICE, Role.ADMIN):
        raise Forbidden("改造项目由城市主管部门登记")
    enterprise, enrolment, provider, solution = _project_parties(actor, data)
    if db.session.scalar(
        select(RetrofitProject.id).where(
            RetrofitProject.enterprise_id == enterprise.id, RetrofitProject.status != ProjectStatus.ACCEPTED
        )
    ):
        raise Conflict("该企业已有进行中的改造项目")
    project = RetrofitProject(
        city=enterprise.city,
        enterprise=enterprise,
        provider=provider,
        solution=solution,
        sub_industry_id=enrolment.sub_industry_id,
        title=data["title"],
        contract_amount_cny=data.get("contract_amount_cny"),
        started_on=data["started_on"],
        note=data.get("note", ""),
        created_by_id=actor.id,
    )
    db.session.add(project)
    db.session.commit()
    return project


def _check_acceptance(project: RetrofitProject) -> None:
    implementing = project.implementing_at.astimezone().date()
    onsite = db.session.scalar(
        select(Assessment.id).where(
            Assessment.enterprise_id == project.enterprise_id,
            Assessment.kind == AssessmentKind.ONSITE,
            Assessment.assessed_on > project.started_on,
            Assessment.assessed_on >= implementing,
        )
    )
    if onsite is None:
        raise Conflict("竣工验收前需录入改造实施后的现场评测")


def advance_project(actor: User, project_id: int, note: str = "") -> RetrofitProject:
    """Move a project to its next stage: 诊断评估 → 备案审核 → 改造实施 → 竣工验收.

    Acceptance needs an on-site assessment dated after the start and no earlier than the
    beginning of implementation (DOMAIN §5: acceptance includes an on-site level assessment).

    :raises Forbidden: unless the caller is the office of the project's city or an admin.
    :raises Conflict: if the project is already accepted, or acceptance lacks the on-site assessment.
    """
    project = get_project(actor, project_id)
    if not is_city_staff(actor, project.city):
        raise Forbidden("只有项目所在城市的主管部门可以推进改造项目")
    if project.status is ProjectStatus.ACCEPTED:
        raise Conflict("项目已竣工验收")
    target = STAGES[STAGES.index(project.status) + 1]
    if target is ProjectStatus.ACCEPTED:
        _check_acceptance(project)
    setattr(project, STAGE_TIMESTAMPS[target], utcnow())
    project.status = target
    if note:
        project.note = f"{project.note}\n{STATUS_NAMES[target]}：{note}".strip()
    db.session.commit()
    return project


# -- "看样学样": cards, candidates and the showcase ----------------------------------------------


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


# -- Dashboard -----------------------------------------------------------------------------


def _share(value) -> float | None:
    return None if value is None else round(float(value), 4)


def _rule(latest: rules.RuleProgress, first: rules.RuleProgress, with_target: bool = True) -> dict:
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
            "by_tier": {tier: sum(1 for e in enterprises if e.tier == tier) for tier in TIER_NAMES},
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


def promoted_cases(city: str, sub_industries: list[PilotSubIndustry]) -> list[dict]:
    """The city's published cases with a running promotion, as cards."""
    found = db.session.scalars(
        select(BenchmarkCase)
        .where(BenchmarkCase.city == city, BenchmarkCase.status == ListingStatus.PUBLISHED)
        .order_by(BenchmarkCase.id)
    ).all()
    return [case_card(case, sub_industries) for case in found if case.is_promoted]


def dashboard(actor: User, city: str, basis: str = "all") -> dict:
    """Where the city's pilot stands, per 细分行业 and in total (see :mod:`marketplace.pilots.rules`).

    ``basis=onsite`` counts on-site assessments only, as the final acceptance will.
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
        latest = rules.pilot_progress((s.member() for s in own), ind.targets)
        first = rules.pilot_progress((s.member("first") for s in own), ind.targets)
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
            rules.combine_progress(latest_parts, ind.targets),
            rules.combine_progress(first_parts, ind.targets),
            sum(sub.target_count for sub in sub_industries),
        ),
        "sub_industries": rows,
        "providers": _providers(projects, outcomes),
        "promoted_cases": promoted_cases(city, sub_industries),
    }


# -- The enterprise list and its export -----------------------------------------------------


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
        "in_main_group": rules.in_main_group(enterprise.above_scale, enterprise.tier),
        "in_little_giant_group": rules.in_little_giant_group(enterprise.tier),
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
    standings = city_standings(city, args.get("basis", "all"))
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


def export_rows(actor: User, city: str, basis: str = "all") -> list[dict]:
    """Every enrolled enterprise of the city as :func:`enterprise_row` rows, for the export."""
    check_city_staff(actor, city)
    return [enterprise_row(s) for s in city_standings(city, basis)]
