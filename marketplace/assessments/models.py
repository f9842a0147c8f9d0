"""The model of digital-level assessments: one row per assessment, the history kept."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.extensions import db
from marketplace.models import Enterprise, User, UTCDateTime, enum_column, utcnow


class AssessmentKind(enum.StrEnum):
    """Who assessed: the enterprise itself, or an on-site assessment (现场评定)."""

    SELF = "self"
    ONSITE = "onsite"


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
    kind: Mapped[AssessmentKind] = enum_column(AssessmentKind)
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
