"""Registered organisations (providers and enterprises): one profile per account, a unique code per kind."""

from __future__ import annotations

from marshmallow import Schema
from sqlalchemy import select

from marketplace.common.concurrency import begin_write, commit_write
from marketplace.common.schemas import load_merged
from marketplace.errors import Conflict
from marketplace.extensions import db
from marketplace.models import Enterprise, Provider, User


def ensure_credit_code_free(
    model: type[Provider | Enterprise], code: str, current: Provider | Enterprise | None = None
) -> None:
    """Refuse a credit code already registered by another profile of the same kind as ``model``.

    A provider and an enterprise may share a code (one company can be both); checking across kinds
    would also tell a provider that a private enterprise profile exists.

    :raises Conflict: naming the ``credit_code`` field.
    """
    row = db.session.scalar(select(model).where(model.credit_code == code))
    if row is not None and row is not current:
        raise Conflict("该统一社会信用代码已被登记", {"credit_code": ["该统一社会信用代码已被登记"]})


def create_profile(model: type[Provider | Enterprise], owner: User, data: dict, label: str):
    """Create the one profile of ``owner``'s account.

    :raises Conflict: if the account already has one, or the credit code is taken.
    """
    if db.session.scalar(select(model.id).where(model.owner_id == owner.id)) is not None:
        raise Conflict(f"该账号已创建{label}档案")
    ensure_credit_code_free(model, data["credit_code"])
    profile = model(owner=owner, **data)
    db.session.add(profile)
    db.session.commit()
    return profile


def update_profile(
    profile: Provider | Enterprise, data: dict, schema: Schema, if_match: frozenset[str] | None = None
):
    """Apply a partial update, checked as the whole profile by ``schema``, keeping the credit code unique.

    :raises ValidationError: if the updated profile would not pass ``schema``.
    :raises PreconditionFailed: if ``if_match`` names another version, or the profile changed meanwhile.
    """
    begin_write(profile, if_match)
    data = load_merged(schema, profile, data)
    if "credit_code" in data:
        ensure_credit_code_free(type(profile), data["credit_code"], profile)
    for key, value in data.items():
        setattr(profile, key, value)
    commit_write(if_match)
    return profile
