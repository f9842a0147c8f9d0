"""Load the demo pilots: 细分行业, enrolments, assessment histories, retrofit projects and 样板.

Reads ``pilots.json``, ``enrolments.json``, ``assessments.json`` and ``projects.json`` from
``seed_data/demo`` (the last three made by ``build_pilots.py``), keyed by the demo catalog's
enterprise, provider and solution keys. Records already present are left alone, so loading twice
adds nothing.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from pathlib import Path

from sqlalchemy import select
from tqdm import tqdm

from marketplace.assessments.models import Assessment
from marketplace.assessments.service import build_assessment
from marketplace.extensions import db
from marketplace.models import (
    BenchmarkCase,
    CasePromotion,
    Enterprise,
    ListingStatus,
    Provider,
    Solution,
    User,
    utcnow,
)
from marketplace.pilots.enrolment import industry_matches
from marketplace.pilots.models import (
    PilotEnrolment,
    PilotSubIndustry,
    ProjectStatus,
    RetrofitProject,
)
from marketplace.pilots.projects import acceptance_evidence, outcome_of
from marketplace.pilots.showcase import case_data_from_project

STALE = "the demo pilot files do not match the demo catalog; rebuild them with seed_data/demo/build_pilots.py"
STAGE_DATES = {"filed_on": "filed_at", "implementing_on": "implementing_at", "accepted_on": "accepted_at"}


def _read(demo_dir: Path, name: str) -> list[dict]:
    return json.loads((demo_dir / name).read_text(encoding="utf-8"))


def _moment(day: str | None) -> datetime | None:
    return None if day is None else datetime.combine(date.fromisoformat(day), time(9), tzinfo=UTC)


class PilotDemoLoader:
    """Loads the demo pilots into a store that already holds the demo catalog."""

    def __init__(self, demo_dir: Path, progress: bool):
        self.demo_dir = demo_dir
        self.progress = progress
        self.counts = dict.fromkeys(
            ("pilot_sub_industries", "pilot_enrolments", "assessments", "retrofit_projects", "pilot_cases"), 0
        )
        self.offices = {
            record["city"]: db.session.scalar(select(User).where(User.email == record["email"]))
            for record in _read(demo_dir, "city_offices.json")
        }
        self.enterprises = self._by_key("enterprises.json", Enterprise)
        self.providers = self._by_key("providers.json", Provider)

    def _by_key(self, name: str, model) -> dict:
        codes = {record["key"]: record["credit_code"] for record in _read(self.demo_dir, name)}
        rows = db.session.scalars(select(model).where(model.credit_code.in_(codes.values())))
        by_code = {row.credit_code: row for row in rows}
        return {key: by_code[code] for key, code in codes.items() if code in by_code}

    def _records(self, name: str) -> list[dict]:
        return tqdm(
            _read(self.demo_dir, name), desc=name.removesuffix(".json"), unit="条", disable=not self.progress
        )

    def _enterprise(self, key: str) -> Enterprise:
        if key not in self.enterprises:
            raise ValueError(f"{STALE}: unknown demo enterprise {key}")
        return self.enterprises[key]

    def load(self) -> dict[str, int]:
        """Load the four files and return how many records each kind added."""
        sub_industries = self._load_sub_industries()
        self._load_enrolments(sub_industries)
        self._load_assessments()
        self._load_projects()
        return self.counts

    def _load_sub_industries(self) -> dict[tuple[str, str], PilotSubIndustry]:
        found = {}
        for pilot in self._records("pilots.json"):
            for record in pilot["sub_industries"]:
                key = (pilot["city"], record["name"])
                sub = db.session.scalar(
                    select(PilotSubIndustry).where(
                        PilotSubIndustry.city == pilot["city"], PilotSubIndustry.name == record["name"]
                    )
                )
                if sub is None:
                    sub = PilotSubIndustry(
                        city=pilot["city"],
                        created_by_id=self.offices[pilot["city"]].id,
                        is_demo=True,
                        **record,
                    )
                    db.session.add(sub)
                    self.counts["pilot_sub_industries"] += 1
                found[key] = sub
        db.session.flush()
        return found

    def _load_enrolments(self, sub_industries: dict[tuple[str, str], PilotSubIndustry]) -> None:
        enrolled = set(db.session.scalars(select(PilotEnrolment.enterprise_id)))
        for record in self._records("enrolments.json"):
            enterprise = self._enterprise(record["enterprise_key"])
            sub = sub_industries[(record["city"], record["sub_industry"])]
            if enterprise.city != sub.city or not industry_matches(
                enterprise.industry_code, sub.industry_codes
            ):
                raise ValueError(f"{STALE}: {enterprise.name} does not belong to {sub.city} {sub.name}")
            if enterprise.id in enrolled:
                continue
            if enterprise.verified_tier is None:
                enterprise.verified_tier = enterprise.tier
                enterprise.tier_verified_by_id = self.offices[record["city"]].id
                enterprise.tier_verified_at = utcnow()
            db.session.add(
                PilotEnrolment(
                    sub_industry=sub,
                    enterprise=enterprise,
                    enrolled_by_id=self.offices[record["city"]].id,
                )
            )
            enrolled.add(enterprise.id)
            self.counts["pilot_enrolments"] += 1
        db.session.flush()

    def _load_assessments(self) -> None:
        present = set(db.session.scalars(select(Assessment.seed_key).where(Assessment.seed_key.is_not(None))))
        for record in self._records("assessments.json"):
            if record["key"] in present:
                continue
            enterprise = self._enterprise(record["enterprise_key"])
            recorded_by = self.offices[enterprise.city] if record["kind"] == "onsite" else enterprise.owner
            data = {
                **{k: record[k] for k in ("kind", "answers", "scenario_levels", "measures", "note")},
                "assessed_on": date.fromisoformat(record["assessed_on"]),
                "is_demo": True,
                "seed_key": record["key"],
            }
            build_assessment(enterprise, recorded_by, data)
            self.counts["assessments"] += 1

    def _load_projects(self) -> None:
        for record in self._records("projects.json"):
            if db.session.scalar(select(RetrofitProject.id).where(RetrofitProject.seed_key == record["key"])):
                continue
            enterprise = self._enterprise(record["enterprise_key"])
            enrolment = db.session.scalar(
                select(PilotEnrolment).where(PilotEnrolment.enterprise_id == enterprise.id)
            )
            office = self.offices[enterprise.city]
            project = RetrofitProject(
                city=enterprise.city,
                enterprise=enterprise,
                provider=self.providers[record["provider_key"]],
                solution=db.session.scalar(
                    select(Solution).where(Solution.seed_key == record["solution_key"])
                ),
                sub_industry_id=enrolment.sub_industry_id,
                title=record["title"],
                contract_amount_cny=record["contract_amount_cny"],
                status=ProjectStatus(record["status"]),
                started_on=date.fromisoformat(record["started_on"]),
                created_by_id=office.id,
                is_demo=True,
                seed_key=record["key"],
                **{column: _moment(record[field]) for field, column in STAGE_DATES.items()},
            )
            db.session.add(project)
            db.session.flush()
            if project.status is ProjectStatus.ACCEPTED:
                before, after = acceptance_evidence(project)
                if before is not None and after is not None:
                    project.before_assessment_id, project.after_assessment_id = before.id, after.id
            self.counts["retrofit_projects"] += 1
            if record["showcase"]:
                self._showcase(project, office, record["showcase"])

    def _showcase(self, project: RetrofitProject, office: User, promotion: dict) -> None:
        data = case_data_from_project(project, outcome_of(project))
        solutions = db.session.scalars(
            select(Solution).where(Solution.id.in_(data.pop("solution_ids")))
        ).all()
        case = BenchmarkCase(
            author=office,
            provider=project.provider,
            status=ListingStatus.PUBLISHED,
            published_at=utcnow(),
            is_demo=True,
            seed_key=f"pilot-{project.seed_key}",
            solutions=list(solutions),
            **data,
        )
        project.case = case
        db.session.add(
            CasePromotion(
                case=case,
                city=case.city,
                created_by_id=office.id,
                starts_on=date.fromisoformat(promotion["starts_on"]),
                ends_on=date.fromisoformat(promotion["ends_on"]),
                note=promotion["note"],
            )
        )
        self.counts["pilot_cases"] += 1


def load_pilot_demo(seed_dir: str | Path, progress: bool = False) -> dict[str, int]:
    """Load the demo pilots from ``seed_dir``/demo; running it again adds nothing.

    :raises ValueError: if the files name enterprises the demo catalog does not hold, or enrol
        them where they do not belong (the catalog was rebuilt and these files were not).
    """
    db.session.flush()
    return PilotDemoLoader(Path(seed_dir) / "demo", progress).load()
