"""Retrofit projects (改造项目): who sees them, their stages, and their outcome in levels."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import false, select

from marketplace.assessments.models import Assessment, AssessmentKind
from marketplace.assessments.service import histories, history_order
from marketplace.common.lifecycle import get_or_404
from marketplace.common.pagination import paginate
from marketplace.errors import Conflict, Forbidden, NotFound, Unprocessable
from marketplace.extensions import db
from marketplace.models import Enterprise, ListingStatus, Provider, Role, Solution, User, utcnow
from marketplace.pilots.access import is_city_staff
from marketplace.pilots.labels import STATUS_NAMES
from marketplace.pilots.models import PilotEnrolment, ProjectStatus, RetrofitProject

STAGES = tuple(ProjectStatus)
STAGE_TIMESTAMPS = {
    ProjectStatus.FILING: "filed_at",
    ProjectStatus.IMPLEMENTATION: "implementing_at",
    ProjectStatus.ACCEPTED: "accepted_at",
}


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
    assessment dated after the start. An accepted project keeps the evidence its acceptance
    checked (:func:`advance_project`), so an assessment recorded later, backdated or not, changes
    nothing.
    """
    if project.before_assessment_id is not None and project.after_assessment_id is not None:
        return Outcome(
            db.session.get(Assessment, project.before_assessment_id),
            db.session.get(Assessment, project.after_assessment_id),
        )
    before = [a for a in history if a.assessed_on <= project.started_on]
    after = [a for a in history if a.assessed_on > project.started_on]
    return Outcome(before[-1] if before else None, after[-1] if after else None)


def outcome_of(project: RetrofitProject) -> Outcome:
    """The outcome of one project, from every assessment of its enterprise."""
    return project_outcome(project, histories([project.enterprise_id]).get(project.enterprise_id, []))


def with_outcome(project: RetrofitProject) -> RetrofitProject:
    """Set ``project.outcome`` to its :class:`Outcome`, which the project views show; returns the project."""
    project.outcome = outcome_of(project)
    return project


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


def show_project(actor: User, project_id: int) -> RetrofitProject:
    """A project the caller may see, with its outcome (see :func:`with_outcome`).

    :raises NotFound: if it does not exist or is not visible to the caller.
    """
    return with_outcome(get_project(actor, project_id))


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
    return with_outcome(project)


def acceptance_evidence(project: RetrofitProject) -> tuple[Assessment | None, Assessment | None]:
    """The assessments an acceptance rests on: the last one dated up to the start (the "before"),
    and the latest on-site one dated after the start and no earlier than implementation began."""
    before = db.session.scalars(
        select(Assessment)
        .where(
            Assessment.enterprise_id == project.enterprise_id, Assessment.assessed_on <= project.started_on
        )
        .order_by(*(column.desc() for column in history_order()))
        .limit(1)
    ).first()
    implementing = (project.implementing_at or utcnow()).astimezone().date()
    after = db.session.scalars(
        select(Assessment)
        .where(
            Assessment.enterprise_id == project.enterprise_id,
            Assessment.kind == AssessmentKind.ONSITE,
            Assessment.assessed_on > project.started_on,
            Assessment.assessed_on >= implementing,
        )
        .order_by(*(column.desc() for column in history_order()))
        .limit(1)
    ).first()
    return before, after


def _check_acceptance(project: RetrofitProject) -> None:
    before, after = acceptance_evidence(project)
    missing = {}
    if before is None:
        missing["before"] = [
            f"缺少改造前评测：需有评测日期不晚于项目启动日（{project.started_on.isoformat()}）的评测"
        ]
    if after is None:
        missing["after"] = ["缺少改造后评测：需有改造实施开始后、项目启动日之后的现场评测"]
    if missing:
        raise Conflict("竣工验收前需录入改造前评测和改造实施后的现场评测", missing)
    project.before_assessment_id, project.after_assessment_id = before.id, after.id


def advance_project(actor: User, project_id: int, note: str = "") -> RetrofitProject:
    """Move a project to its next stage: 诊断评估 → 备案审核 → 改造实施 → 竣工验收.

    Acceptance needs a "before" assessment dated no later than the start, and an on-site
    assessment dated after the start and no earlier than the beginning of implementation (DOMAIN §5:
    acceptance includes an on-site level assessment); both are kept with the project as its evidence.

    :raises Forbidden: unless the caller is the office of the project's city or an admin.
    :raises Conflict: if the project is already accepted, or acceptance lacks either assessment
        (``errors.before`` / ``errors.after`` say which).
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
    return with_outcome(project)


def city_projects(city: str) -> list[RetrofitProject]:
    """The city's retrofit projects, oldest first."""
    return db.session.scalars(
        select(RetrofitProject)
        .where(RetrofitProject.city == city)
        .order_by(RetrofitProject.started_on, RetrofitProject.id)
    ).all()
