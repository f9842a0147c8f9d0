"""Schemas of accounts and tokens."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validates_schema

from marketplace.auth.passwords import MAX_LENGTH, MIN_LENGTH, password_problems
from marketplace.common.schemas import BaseSchema, PageArgsSchema, Text, one_of, text
from marketplace.models import Role
from marketplace.taxonomy.schemas import City


def new_password(**kwargs) -> fields.String:
    """A password being chosen; :func:`check_new_password` applies the rules that need the account."""
    declared = {"minLength": MIN_LENGTH, "maxLength": MAX_LENGTH, "pattern": r"\S"}  # not all blank
    return fields.String(required=True, load_only=True, metadata=declared, **kwargs)


def check_new_password(data: dict, field: str = "password") -> None:
    """Refuse a password that breaks the rules of :mod:`marketplace.auth.passwords`.

    :raises ValidationError: naming ``field``.
    """
    if field in data:
        problems = password_problems(data[field], data.get("email"), data.get("name"))
        if problems:
            raise ValidationError(problems, field_name=field)


class RegisterSchema(BaseSchema):
    """Self-service sign-up of a provider or enterprise account.

    The password needs at least 10 characters, not all blank, and must not be a common password,
    the e-mail address (or contain its local part) or contain the name.
    """

    email = fields.Email(required=True, validate=text(3, 254))
    password = new_password()
    role = fields.String(required=True, validate=one_of([Role.PROVIDER, Role.ENTERPRISE]))
    name = Text(required=True, validate=text(1, 100))

    @validates_schema
    def password_rules(self, data, **kwargs):
        """Apply the password rules, which need the e-mail and the name."""
        check_new_password(data)


class StaffAccountSchema(BaseSchema):
    """An admin's creation of a city-office or admin account (the same password rules)."""

    email = fields.Email(required=True, validate=text(3, 254))
    password = new_password()
    role = fields.String(required=True, validate=one_of([Role.CITY_OFFICE, Role.ADMIN]))
    name = Text(required=True, validate=text(1, 100))
    city = City(load_default=None)

    @validates_schema
    def password_rules(self, data, **kwargs):
        """Apply the password rules, which need the e-mail and the name."""
        check_new_password(data)

    @validates_schema
    def city_for_offices(self, data, **kwargs):
        """A city office belongs to exactly one city; an admin to none."""
        if data.get("role") == Role.CITY_OFFICE and not data.get("city"):
            raise ValidationError("城市主管部门账号必须指定城市", field_name="city")
        if data.get("role") == Role.ADMIN and data.get("city"):
            raise ValidationError("管理员账号不属于某个城市", field_name="city")


class TokenRequestSchema(BaseSchema):
    """Credentials exchanged for a token."""

    email = Text(required=True, validate=text(1, 254))
    password = fields.String(required=True, load_only=True, validate=text(1, MAX_LENGTH))


class TokenSchema(BaseSchema):
    """A signed access token."""

    access_token = fields.String(required=True)
    token_type = fields.String(required=True)
    expires_in = fields.Integer(required=True)


class UserSchema(BaseSchema):
    """An account as its holder and admins see it."""

    id = fields.Integer(dump_only=True)
    email = fields.String()
    role = fields.String()
    name = fields.String()
    city = fields.String(allow_none=True)
    provider_id = fields.Function(lambda user: user.provider.id if user.provider else None)
    enterprise_id = fields.Function(lambda user: user.enterprise.id if user.enterprise else None)
    is_active = fields.Boolean(dump_only=True)
    deleted_at = fields.DateTime(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)


class AccountQueryArgsSchema(PageArgsSchema):
    """Filters of the admins' account list."""

    role = fields.String(validate=one_of(list(Role)))
    email = Text(validate=text(1, 254), metadata={"description": "邮箱中的一段文字"})


class PasswordChangeSchema(BaseSchema):
    """A new password, proven by the current one."""

    current_password = fields.String(required=True, load_only=True, validate=text(1, MAX_LENGTH))
    new_password = new_password()
