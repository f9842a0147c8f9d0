"""Schemas of provider companies."""

from __future__ import annotations

from marshmallow import fields

from marketplace.common.schemas import BaseSchema, CreditCode, PageArgsSchema, Phone, Text, page_schema, text
from marketplace.taxonomy.schemas import Province


class ProviderSchema(BaseSchema):
    """A service provider's public company profile."""

    id = fields.Integer(dump_only=True)
    name = Text(required=True, validate=text(2, 100))
    credit_code = CreditCode(required=True, metadata={"description": "统一社会信用代码 (GB 32100-2015)"})
    province = Province(required=True)
    city = Text(required=True, validate=text(2, 50))
    description = Text(required=True, multiline=True, validate=text(0, 5000))
    contact_email = fields.Email(allow_none=True, validate=text(3, 254))
    contact_phone = Phone(allow_none=True)
    owner_id = fields.Integer(dump_only=True)
    is_demo = fields.Boolean(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class ProviderQueryArgsSchema(PageArgsSchema):
    """Filters of the provider list."""

    province = fields.String()
    city = fields.String()
    name = Text(validate=text(1, 100), metadata={"description": "part of the company name"})


ProviderPageSchema = page_schema(ProviderSchema)
