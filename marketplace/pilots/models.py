"""Models of the city pilots: digital-level assessments, 细分行业, enrolments and retrofit projects."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.extensions import db
from marketplace.models import (
    BenchmarkCase,
    Enterprise,
    Provider,
    Solution,
    TimestampMixin,
    User,
    UTCDateTime,
    _enum_column,
    utcnow,
)


class AssessmentKind(enum.StrEnum):
    """Who assessed: the enterprise itself, or an on-site assessment (现场评定)."""

    SELF = "self"
    ONSITE = "onsite"


class ProjectStatus(enum.StrEnum):
    """Stages of a retrofit project (DOMAIN §5), in order."""

    DIAGNOSIS = "diagnosis"
    FILING = "filing"
    IMPLEMENTATION = "implementation"
    ACCEPTED = "accepted"


class Assessment(db.Model):
    """One digital-level assessment of an enterprise; the history is kept, never edited."""

    __tablename__ = "assessments"
    __table_args__ = (
        CheckConstraint("level BETWEEN 0 AND 4", name="level_range"),
        CheckConstraint("total_score BETWEEN 0 AND 100", name="score_range"),
        Index("ix_assessments_enterprise_date", "enterprise_id", "assessed_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    kind: Mapped[AssessmentKind] = _enum_column(AssessmentKind)
    assessed_on: Mapped[date] = mapped_column(Date)
    indicator_version: Mapped[str] = mapped_column(String(32))
    level: Mapped[int] = mapped_column(Integer)
    total_score: Mapped[int] = mapped_column(Integer)
    foundation_score: Mapped[int] = mapped_column(Integer)
    management_score: Mapped[int] = mapped_column(Integer)
    effectiveness_score: Mapped[int] = mapped_column(Integer)
    scenario_levels: Mapped[dict] = mapped_column(JSON)
    answers: Mapped[dict] = mapped_column(JSON)
    measures: Mapped[dict] = mapped_column(JSON, default=dict)
    note: Mapped[str] = mapped_column(String(500), default="")
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    seed_key: Mapped[str | None] = mapped_column(String(32), unique=True)

    enterprise: Mapped[Enterprise] = relationship()
    recorded_by: Mapped[User] = relationship()


class PilotSubIndustry(TimestampMixin, db.Model):
    """A 细分行业 a pilot city chose: the city's own label, its GB/T codes and a retrofit target."""

    __tablename__ = "pilot_sub_industries"
    __table_args__ = (UniqueConstraint("city", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    city: Mapped[str] = mapped_column(String(50), index=True)
    name: Mapped[str] = mapped_column(String(100))
    industry_codes: Mapped[list] = mapped_column(JSON)
    target_count: Mapped[int] = mapped_column(Integer)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)

    enrolments: Mapped[list[PilotEnrolment]] = relationship(
        back_populates="sub_industry", cascade="all, delete-orphan", order_by="PilotEnrolment.id"
    )


class PilotEnrolment(db.Model):
    """An enterprise enrolled in one 细分行业 of its city (at most one)."""

    __tablename__ = "pilot_enrolments"

    id: Mapped[int] = mapped_column(primary_key=True)
    sub_industry_id: Mapped[int] = mapped_column(
        ForeignKey("pilot_sub_industries.id", ondelete="CASCADE"), index=True
    )
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"), unique=True)
    enrolled_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    sub_industry: Mapped[PilotSubIndustry] = relationship(back_populates="enrolments")
    enterprise: Mapped[Enterprise] = relationship(lazy="joined")


class RetrofitProject(TimestampMixin, db.Model):
    """A retrofit project (改造项目) of an enrolled enterprise with a provider."""

    __tablename__ = "retrofit_projects"
    __table_args__ = (
        CheckConstraint("contract_amount_cny IS NULL OR contract_amount_cny >= 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    city: Mapped[str] = mapped_column(String(50), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    solution_id: Mapped[int | None] = mapped_column(ForeignKey("solutions.id"))
    sub_industry_id: Mapped[int] = mapped_column(ForeignKey("pilot_sub_industries.id"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    contract_amount_cny: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[ProjectStatus] = _enum_column(ProjectStatus, default=ProjectStatus.DIAGNOSIS, index=True)
    started_on: Mapped[date] = mapped_column(Date)
    filed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    implementing_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str] = mapped_column(Text, default="")
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    seed_key: Mapped[str | None] = mapped_column(String(32), unique=True)

    enterprise: Mapped[Enterprise] = relationship(lazy="joined")
    provider: Mapped[Provider] = relationship(lazy="joined")
    solution: Mapped[Solution | None] = relationship()
    sub_industry: Mapped[PilotSubIndustry] = relationship()
    case: Mapped[BenchmarkCase | None] = relationship()
