"""SQLAlchemy models: the store is the source of truth."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    type_coerce,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql import text

from marketplace.evidence import well_formed
from marketplace.extensions import db


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC timestamp on every backend (SQLite drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        """Store aware values in UTC."""
        return value.astimezone(UTC) if value is not None and value.tzinfo else value

    def process_result_value(self, value, dialect):
        """Read naive values back as UTC."""
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


class EvidenceJSON(TypeDecorator):
    """A JSON list of evidence entries, read back with only the entries readers can rely on.

    ``column`` names the check in :data:`marketplace.evidence.CHECKS`. Backups read the
    raw JSON (:func:`raw_column`), so that nothing is lost on the way out.
    """

    impl = JSON
    cache_ok = True

    def __init__(self, column: str):
        super().__init__()
        self.column = column

    def process_result_value(self, value, dialect):
        """Leave out, and log, the entries of the wrong shape."""
        return well_formed(self.column, value)


def raw_column(column):
    """``column`` as stored: evidence JSON without the read-time check, other columns unchanged."""
    if isinstance(column.type, EvidenceJSON):
        return type_coerce(column, JSON).label(column.name)
    return column


def utcnow() -> datetime:
    """Return the current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class Role(enum.StrEnum):
    """Account roles."""

    ADMIN = "admin"
    CITY_OFFICE = "city_office"
    PROVIDER = "provider"
    ENTERPRISE = "enterprise"


class ListingStatus(enum.StrEnum):
    """Review lifecycle shared by solutions and benchmark cases."""

    DRAFT = "draft"
    PENDING_REVIEW = "pending_review"
    PUBLISHED = "published"
    REJECTED = "rejected"
    ARCHIVED = "archived"


class InquiryStatus(enum.StrEnum):
    """Where an inquiry (对接) stands, as the provider records it."""

    NEW = "new"
    CONTACTED = "contacted"
    WON = "won"
    LOST = "lost"


def enum_column(enum_cls: type[enum.StrEnum], **kwargs) -> Mapped:
    """Store an enum as its string value, checked by the database."""
    return mapped_column(
        db.Enum(
            enum_cls,
            values_callable=lambda e: [m.value for m in e],
            native_enum=False,
            length=32,
            validate_strings=True,
        ),
        **kwargs,
    )


class TimestampMixin:
    """Creation and update times."""

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class User(TimestampMixin, db.Model):
    """An account; its role decides what it may do."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = enum_column(Role)
    name: Mapped[str] = mapped_column(String(100))
    city: Mapped[str | None] = mapped_column(String(50))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Named in every token; raising it revokes every token issued before."""
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """When the holder deleted the account; the row stays as an anonymous tombstone."""

    provider: Mapped[Provider | None] = relationship(back_populates="owner", uselist=False)
    enterprise: Mapped[Enterprise | None] = relationship(
        back_populates="owner", uselist=False, foreign_keys="Enterprise.owner_id"
    )


class SignInFailure(db.Model):
    """Consecutive failed sign-ins for one e-mail (registered or not), and the lockout they earned."""

    __tablename__ = "sign_in_failures"

    email: Mapped[str] = mapped_column(String(254), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class IdempotencyKey(db.Model):
    """A create made with an ``Idempotency-Key``: who sent it, what it sent, and what it was answered.

    ``status`` is None while the first request is in flight. Rows expire after
    ``IDEMPOTENCY_KEY_TTL_SECONDS`` and are deleted lazily (see :mod:`marketplace.idempotency`).
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("caller", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    caller: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class Provider(TimestampMixin, db.Model):
    """A digital-transformation service provider (数字化服务商)."""

    __tablename__ = "providers"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    province: Mapped[str] = mapped_column(String(20), index=True)
    city: Mapped[str] = mapped_column(String(50), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    contact_email: Mapped[str | None] = mapped_column(String(254))
    contact_phone: Mapped[str | None] = mapped_column(String(20))
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, server_default="1")

    __mapper_args__ = {"version_id_col": version}

    owner: Mapped[User] = relationship(back_populates="provider")
    solutions: Mapped[list[Solution]] = relationship(back_populates="provider")


class SolutionLabel(db.Model):
    """One multi-valued attribute of a solution: industry, scenario, tag or delivery mode."""

    __tablename__ = "solution_labels"
    __table_args__ = (Index("ix_solution_labels_kind_value", "kind", "value"),)

    solution_id: Mapped[int] = mapped_column(ForeignKey("solutions.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[str] = mapped_column(String(50), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


LABEL_KINDS = ("industries", "scenarios", "tags", "delivery_modes")


def _label_property(kind: str) -> property:
    """Expose the labels of one kind as an ordered list that can be assigned."""

    def getter(self: Solution) -> list[str]:
        labels = sorted((lb for lb in self.labels if lb.kind == kind), key=lambda lb: lb.position)
        return [lb.value for lb in labels]

    def setter(self: Solution, values: list[str]) -> None:
        kept = [lb for lb in self.labels if lb.kind != kind]
        unique = list(dict.fromkeys(values))
        self.labels = kept + [
            SolutionLabel(kind=kind, value=value, position=i) for i, value in enumerate(unique)
        ]

    return property(getter, setter)


class Solution(TimestampMixin, db.Model):
    """A "小快轻准" product or solution listed by a provider."""

    __tablename__ = "solutions"
    __table_args__ = (
        CheckConstraint("price_min_cny >= 0 AND price_min_cny <= price_max_cny", name="price_band"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    summary: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text)
    price_min_cny: Mapped[int] = mapped_column(BigInteger)
    price_max_cny: Mapped[int] = mapped_column(BigInteger)
    deploy_days: Mapped[int] = mapped_column(Integer)
    level_uplifts: Mapped[list] = mapped_column(EvidenceJSON("solutions.level_uplifts"), default=list)
    outcome_claims: Mapped[list] = mapped_column(EvidenceJSON("solutions.outcome_claims"), default=list)
    status: Mapped[ListingStatus] = enum_column(ListingStatus, default=ListingStatus.DRAFT, index=True)
    review_note: Mapped[str | None] = mapped_column(String(500))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    seed_key: Mapped[str | None] = mapped_column(String(32), unique=True)
    version: Mapped[int] = mapped_column(Integer, server_default="1")

    __mapper_args__ = {"version_id_col": version}

    provider: Mapped[Provider] = relationship(back_populates="solutions")
    labels: Mapped[list[SolutionLabel]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    industries = _label_property("industries")
    scenarios = _label_property("scenarios")
    tags = _label_property("tags")
    delivery_modes = _label_property("delivery_modes")


case_solutions = db.Table(
    "case_solutions",
    db.Column("case_id", ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True),
    db.Column("solution_id", ForeignKey("solutions.id", ondelete="CASCADE"), primary_key=True),
)


class CaseScenario(db.Model):
    """A scenario that a benchmark case covers."""

    __tablename__ = "case_scenarios"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    scenario: Mapped[str] = mapped_column(String(32), primary_key=True, index=True)


class BenchmarkCase(TimestampMixin, db.Model):
    """A benchmark case (转型样板) that peers can see and learn from."""

    __tablename__ = "cases"
    __table_args__ = (CheckConstraint("level_before <= level_after", name="level_order"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    enterprise_name: Mapped[str] = mapped_column(String(100))
    city: Mapped[str] = mapped_column(String(50), index=True)
    province: Mapped[str | None] = mapped_column(String(20))
    industry_code: Mapped[str] = mapped_column(String(8), index=True)
    summary: Mapped[str] = mapped_column(Text)
    metrics: Mapped[list] = mapped_column(EvidenceJSON("cases.metrics"), default=list)
    level_before: Mapped[int] = mapped_column(Integer)
    level_after: Mapped[int] = mapped_column(Integer)
    investment_cny: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[ListingStatus] = enum_column(ListingStatus, default=ListingStatus.DRAFT, index=True)
    review_note: Mapped[str | None] = mapped_column(String(500))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"), index=True)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    seed_key: Mapped[str | None] = mapped_column(String(32), unique=True)
    version: Mapped[int] = mapped_column(Integer, server_default="1")

    __mapper_args__ = {"version_id_col": version}

    author: Mapped[User] = relationship()
    provider: Mapped[Provider | None] = relationship()
    scenario_rows: Mapped[list[CaseScenario]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    solutions: Mapped[list[Solution]] = relationship(secondary=case_solutions, lazy="selectin")
    promotions: Mapped[list[CasePromotion]] = relationship(
        back_populates="case",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="CasePromotion.starts_on",
    )

    @property
    def scenarios(self) -> list[str]:
        """Scenario codes of the case."""
        return [row.scenario for row in self.scenario_rows]

    @scenarios.setter
    def scenarios(self, codes: list[str]) -> None:
        self.scenario_rows = [CaseScenario(scenario=code) for code in dict.fromkeys(codes)]

    @property
    def solution_ids(self) -> list[int]:
        """Ids of the solutions the case used."""
        return [solution.id for solution in self.solutions]

    def active_promotion(self, today: date) -> CasePromotion | None:
        """Return the promotion running on ``today``, if any."""
        for promotion in self.promotions:
            if promotion.is_active(today):
                return promotion
        return None

    @property
    def current_promotion(self) -> CasePromotion | None:
        """The promotion running today, if any."""
        return self.active_promotion(date.today())

    @property
    def is_promoted(self) -> bool:
        """True while a promotion runs."""
        return self.current_promotion is not None


class CasePromotion(db.Model):
    """A bounded-time promotion of a case by its city's office."""

    __tablename__ = "case_promotions"
    __table_args__ = (CheckConstraint("starts_on <= ends_on", name="date_order"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    city: Mapped[str] = mapped_column(String(50), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(500), default="")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    case: Mapped[BenchmarkCase] = relationship(back_populates="promotions")

    def is_active(self, today: date) -> bool:
        """True while the promotion runs and has not been ended early."""
        return self.ended_at is None and self.starts_on <= today <= self.ends_on

    @property
    def active(self) -> bool:
        """True if the promotion runs today."""
        return self.is_active(date.today())

    @property
    def label(self) -> str:
        """The label shown wherever the promoted case appears."""
        return f"{self.city}主管部门推广"


class Enterprise(TimestampMixin, db.Model):
    """An SME's private profile."""

    __tablename__ = "enterprises"
    __table_args__ = (CheckConstraint("digital_level BETWEEN 0 AND 4", name="digital_level_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    province: Mapped[str] = mapped_column(String(20), index=True)
    city: Mapped[str] = mapped_column(String(50), index=True)
    industry_code: Mapped[str] = mapped_column(String(8), index=True)
    size: Mapped[str] = mapped_column(String(16))
    above_scale: Mapped[bool] = mapped_column(Boolean)
    tier: Mapped[str] = mapped_column(String(16))
    digital_level: Mapped[int] = mapped_column(Integer, default=0)
    needs: Mapped[str] = mapped_column(Text, default="")
    verified_tier: Mapped[str | None] = mapped_column(String(16))
    tier_verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    tier_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    verified_level: Mapped[int | None] = mapped_column(Integer)
    level_verified_on: Mapped[date | None] = mapped_column(Date)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, server_default="1")

    __mapper_args__ = {"version_id_col": version}

    owner: Mapped[User] = relationship(back_populates="enterprise", foreign_keys=[owner_id])


class Inquiry(TimestampMixin, db.Model):
    """An enterprise's request for contact (对接) about a solution."""

    __tablename__ = "inquiries"

    id: Mapped[int] = mapped_column(primary_key=True)
    solution_id: Mapped[int] = mapped_column(ForeignKey("solutions.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    message: Mapped[str] = mapped_column(Text)
    status: Mapped[InquiryStatus] = enum_column(InquiryStatus, default=InquiryStatus.NEW)
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status_changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    duplicate_key: Mapped[str | None] = mapped_column(String(64), unique=True)

    solution: Mapped[Solution] = relationship()
    enterprise: Mapped[Enterprise] = relationship()
    replies: Mapped[list[InquiryReply]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="InquiryReply.id"
    )


class InquiryReply(db.Model):
    """One message in an inquiry's thread, from the provider or the enterprise."""

    __tablename__ = "inquiry_replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    inquiry_id: Mapped[int] = mapped_column(ForeignKey("inquiries.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    author_role: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class IndexOutbox(db.Model):
    """A solution or case changed in this transaction and must be re-read into the search index.

    Rows are written in the same transaction as the change (see :mod:`marketplace.search.outbox`)
    and deleted once the index has applied them; what to do (upsert or delete) is decided at
    drain time from the store, the source of truth.
    """

    __tablename__ = "index_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ItemEmbedding(db.Model):
    """The vector of one solution or case by one embedding model, and the digest of the text it came from.

    One row per item and model (``model_id`` names the model and its version). ``vector`` holds
    unit-length float16 values (see :func:`indexing.embeddings.vector_to_bytes`); it is ``None``
    while the row waits for the model, because the item is new or its text changed since
    (``content_digest`` is then the new text's): background embedding fills it in (see
    :mod:`marketplace.search.vectors`), and the partial index on waiting rows finds them at once.
    """

    __tablename__ = "item_embeddings"
    __table_args__ = (
        UniqueConstraint("kind", "item_id", "model_id", name="uq_item_embeddings_kind_item_model"),
        Index(
            "ix_item_embeddings_waiting",
            "model_id",
            sqlite_where=text("vector IS NULL"),
            postgresql_where=text("vector IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    item_id: Mapped[int] = mapped_column(Integer)
    model_id: Mapped[str] = mapped_column(String(200))
    content_digest: Mapped[str] = mapped_column(String(32))
    vector: Mapped[bytes | None] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class PassageEmbedding(db.Model):
    """The vector of a short passage embedded at request time (a clause a reason may quote), by model
    and digest of its text (see :func:`marketplace.search.vectors.passage_vectors`).

    A cache the workers share: a clause is embedded once for every worker and restart, not once per
    process. Rows of a model no longer used are deleted by ``flask embeddings sync``.
    """

    __tablename__ = "passage_embeddings"

    model_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    content_digest: Mapped[str] = mapped_column(String(32), primary_key=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary)


class RecommendationLog(db.Model):
    """One recommendation list as served: the request, the model and the items in order."""

    __tablename__ = "recommendation_logs"

    request_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    profile: Mapped[dict] = mapped_column(JSON)
    model_version: Mapped[str] = mapped_column(String(40))
    items: Mapped[list] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class FeedbackEvent(db.Model):
    """What a user did with an item of a recommendation list."""

    __tablename__ = "feedback_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[str | None] = mapped_column(ForeignKey("recommendation_logs.request_id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    item_type: Mapped[str] = mapped_column(String(16))
    item_id: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(16))
    position: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RankerModel(db.Model):
    """A trained matcher, saved under the instance folder; exactly one is active."""

    __tablename__ = "ranker_models"

    version: Mapped[str] = mapped_column(String(40), primary_key=True)
    path: Mapped[str] = mapped_column(String(500))
    metrics: Mapped[dict] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
