"""Exporting an account's data and deleting the account (个人信息保护法: access, copy, deletion).

These reach into every package that holds data naming an account, so they live above them all,
apart from ``marketplace.auth``, which every package uses.
"""

from __future__ import annotations

import secrets

from sqlalchemy import delete, select

from marketplace.assessments.models import Assessment
from marketplace.assessments.service import with_gaps
from marketplace.auth.security import verify_password
from marketplace.auth.service import revoke_tokens
from marketplace.errors import Unprocessable
from marketplace.extensions import db
from marketplace.models import (
    BenchmarkCase,
    Enterprise,
    FeedbackEvent,
    Inquiry,
    ListingStatus,
    Provider,
    RecommendationLog,
    Solution,
    User,
    utcnow,
)


def export_account(user: User) -> dict:
    """Everything held about ``user``'s account, for its holder (个人信息保护法: access and copy)."""
    provider, enterprise = user.provider, user.enterprise
    logs = db.session.scalars(
        select(RecommendationLog)
        .where(RecommendationLog.user_id == user.id)
        .order_by(RecommendationLog.created_at)
    ).all()
    events = db.session.scalars(
        select(FeedbackEvent).where(FeedbackEvent.user_id == user.id).order_by(FeedbackEvent.id)
    ).all()
    return {
        "exported_at": utcnow(),
        "account": user,
        "provider": provider,
        "solutions": provider.solutions if provider else [],
        "cases": db.session.scalars(
            select(BenchmarkCase).where(BenchmarkCase.author_id == user.id).order_by(BenchmarkCase.id)
        ).all(),
        "enterprise": enterprise,
        "inquiries": _inquiries_of(user),
        "assessments": [
            with_gaps(assessment)
            for assessment in db.session.scalars(
                select(Assessment).where(Assessment.enterprise_id == enterprise.id).order_by(Assessment.id)
            )
        ]
        if enterprise
        else [],
        "recommendations": logs,
        "feedback": events,
    }


def _inquiries_of(user: User) -> list[Inquiry]:
    if user.enterprise is not None:
        condition = Inquiry.enterprise_id == user.enterprise.id
    elif user.provider is not None:
        condition = Inquiry.solution_id.in_(
            select(Solution.id).where(Solution.provider_id == user.provider.id)
        )
    else:
        return []
    return db.session.scalars(select(Inquiry).where(condition).order_by(Inquiry.id)).all()


ENTERPRISE_DEPENDENTS = {
    "inquiries": "deleted",
    "retrofit_projects": "deleted",
    "assessments": "cascade",
    "pilot_enrolments": "cascade",
}
"""What happens to the rows of each table that name an enterprise when its account is deleted:
``deleted`` by :func:`delete_account`, or ``cascade`` (removed by the database's ON DELETE CASCADE).
Its enrolments leave its 细分行业 and its assessments and retrofit projects go with it, so the
city's pilot figures no longer count it."""


def _delete_enterprise(enterprise: Enterprise) -> None:
    for name, handling in ENTERPRISE_DEPENDENTS.items():
        if handling == "deleted":
            table = db.metadata.tables[name]
            db.session.execute(table.delete().where(table.c.enterprise_id == enterprise.id))
    db.session.delete(enterprise)


def _retire_provider(provider: Provider) -> None:
    """A company profile is not personal data: it stays, without its contacts, its listings archived."""
    provider.contact_email = None
    provider.contact_phone = None
    for solution in provider.solutions:
        solution.status = ListingStatus.ARCHIVED


def delete_account(user: User, password: str) -> None:
    """Delete the caller's account, confirmed by its password (个人信息保护法: deletion).

    The enterprise profile goes with everything that names it (:data:`ENTERPRISE_DEPENDENTS`); a
    provider's company stays without contacts and with its listings archived; the account's
    recommendation logs and feedback are deleted. The account row stays as an anonymous tombstone
    (no e-mail, name or password; the ids in other parties' records still resolve), disabled, its
    tokens revoked; the e-mail address can register again.

    :raises Unprocessable: naming ``password`` if it is wrong.
    """
    if not verify_password(user.password_hash, password):
        raise Unprocessable("密码不正确", {"password": ["密码不正确"]})
    if user.enterprise is not None:
        _delete_enterprise(user.enterprise)
    if user.provider is not None:
        _retire_provider(user.provider)
    logs = select(RecommendationLog.request_id).where(RecommendationLog.user_id == user.id)
    db.session.execute(
        delete(FeedbackEvent).where((FeedbackEvent.user_id == user.id) | FeedbackEvent.request_id.in_(logs))
    )
    db.session.execute(delete(RecommendationLog).where(RecommendationLog.user_id == user.id))
    user.email = f"deleted-{user.id}-{secrets.token_hex(4)}@deleted.invalid"
    user.name = "已注销用户"
    user.city = None
    user.password_hash = "!"
    user.is_active = False
    user.deleted_at = utcnow()
    revoke_tokens(user)
    db.session.commit()
