"""Models of the city pilots: 细分行业, enrolments and retrofit projects."""

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
    UTCDateTime,
    enum_column,
    utcnow,
)


class ProjectStatus(enum.StrEnum):
    """Stages of a retrofit project (DOMAIN §5), in order."""

    DIAGNOSIS = "diagnosis"
    FILING = "filing"
    IMPLEMENTATION = "implementation"
    ACCEPTED = "accepted"


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
    status: Mapped[ProjectStatus] = enum_column(ProjectStatus, default=ProjectStatus.DIAGNOSIS, index=True)
    started_on: Mapped[date] = mapped_column(Date)
    filed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    implementing_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str] = mapped_column(Text, default="")
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"))
    before_assessment_id: Mapped[int | None] = mapped_column(
        ForeignKey("assessments.id", ondelete="SET NULL")
    )
    after_assessment_id: Mapped[int | None] = mapped_column(ForeignKey("assessments.id", ondelete="SET NULL"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    seed_key: Mapped[str | None] = mapped_column(String(32), unique=True)

    enterprise: Mapped[Enterprise] = relationship(lazy="joined")
    provider: Mapped[Provider] = relationship(lazy="joined")
    solution: Mapped[Solution | None] = relationship()
    sub_industry: Mapped[PilotSubIndustry] = relationship()
    case: Mapped[BenchmarkCase | None] = relationship()
