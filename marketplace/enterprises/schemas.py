"""Schemas of enterprise profiles."""

from __future__ import annotations

from marshmallow import fields, validates_schema

from marketplace.common.schemas import (
    BaseSchema,
    CreditCode,
    PageArgsSchema,
    Text,
    between,
    one_of,
    page_schema,
    text,
)
from marketplace.taxonomy.schemas import City, IndustryCode, Province, check_city_in_province

SIZES = ("micro", "small", "medium")
TIERS = ("none", "innovative", "specialized", "little_giant")


class EnterpriseSchema(BaseSchema):
    """An SME's private profile."""

    id = fields.Integer(dump_only=True)
    name = Text(required=True, validate=text(2, 100))
    credit_code = CreditCode(required=True, metadata={"description": "统一社会信用代码 (GB 32100-2015)"})
    province = Province(required=True)
    city = City(required=True)
    industry = IndustryCode(required=True, attribute="industry_code")
    size = fields.String(required=True, validate=one_of(SIZES), metadata={"description": "微/小/中"})
    above_scale = fields.Boolean(required=True, metadata={"description": "规上工业企业"})
    tier = fields.String(
        required=True, validate=one_of(TIERS), metadata={"description": "无/创新型/专精特新/小巨人"}
    )
    digital_level = fields.Integer(
        required=True, validate=between(0, 4), metadata={"description": "0 = 未评测"}
    )
    needs = Text(required=True, multiline=True, validate=text(0, 5000))
    owner_id = fields.Integer(dump_only=True)
    is_demo = fields.Boolean(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)

    @validates_schema
    def city_in_province(self, data, **kwargs):
        """The city lies in the province."""
        check_city_in_province(data)


class EnterpriseQueryArgsSchema(PageArgsSchema):
    """Filters of the enterprise list (admins and city offices)."""

    city = fields.List(City())
    industry = fields.List(IndustryCode(), metadata={"description": "a code includes its children"})
    size = fields.List(fields.String(validate=one_of(SIZES)))
    tier = fields.List(fields.String(validate=one_of(TIERS)))
    above_scale = fields.Boolean()
    digital_level = fields.List(fields.Integer(validate=between(0, 4)))


EnterprisePageSchema = page_schema(EnterpriseSchema)
