"""Schemas of provider companies."""

from __future__ import annotations

from marshmallow import fields, validates_schema

from marketplace.common.schemas import BaseSchema, CreditCode, PageArgsSchema, Phone, Text, page_schema, text
from marketplace.taxonomy.schemas import City, Province, check_city_in_province


class ProviderSchema(BaseSchema):
    """A service provider's public company profile."""

    id = fields.Integer(dump_only=True)
    name = Text(required=True, validate=text(2, 100))
    credit_code = CreditCode(required=True, metadata={"description": "统一社会信用代码 (GB 32100-2015)"})
    province = Province(required=True)
    city = City(required=True)
    description = Text(required=True, multiline=True, validate=text(0, 5000))
    contact_email = fields.Email(allow_none=True, validate=text(3, 254))
    contact_phone = Phone(allow_none=True)
    owner_id = fields.Integer(dump_only=True)
    is_demo = fields.Boolean(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)

    @validates_schema
    def city_in_province(self, data, **kwargs):
        """The city lies in the province."""
        check_city_in_province(data)


class ProviderQueryArgsSchema(PageArgsSchema):
    """Filters of the provider list."""

    province = Province()
    city = City()
    name = Text(validate=text(1, 100), metadata={"description": "公司名称中的一段文字"})


ProviderPageSchema = page_schema(ProviderSchema)
