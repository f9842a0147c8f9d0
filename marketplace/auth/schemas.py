"""Schemas of accounts and tokens."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validates_schema

from marketplace.common.schemas import BaseSchema, Text, one_of, text
from marketplace.models import Role
from marketplace.taxonomy.schemas import City


class RegisterSchema(BaseSchema):
    """Self-service sign-up of a provider or enterprise account."""

    email = fields.Email(required=True, validate=text(3, 254))
    password = fields.String(required=True, load_only=True, validate=text(8, 128))
    role = fields.String(required=True, validate=one_of([Role.PROVIDER, Role.ENTERPRISE]))
    name = Text(required=True, validate=text(1, 100))


class StaffAccountSchema(BaseSchema):
    """An admin's creation of a city-office or admin account."""

    email = fields.Email(required=True, validate=text(3, 254))
    password = fields.String(required=True, load_only=True, validate=text(8, 128))
    role = fields.String(required=True, validate=one_of([Role.CITY_OFFICE, Role.ADMIN]))
    name = Text(required=True, validate=text(1, 100))
    city = City(load_default=None)

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
    password = fields.String(required=True, load_only=True, validate=text(1, 128))


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
    created_at = fields.DateTime(dump_only=True)
