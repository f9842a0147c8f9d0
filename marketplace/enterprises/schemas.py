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
TIER_STATUSES = ("verified", "unverified", "differs")


def tier_status(enterprise) -> str:
    """Whether the declared tier is the one the city verified: verified, unverified or differs."""
    if enterprise.verified_tier is None:
        return "unverified"
    return "verified" if enterprise.verified_tier == enterprise.tier else "differs"


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
        required=True,
        validate=one_of(TIERS),
        metadata={"description": "企业自报梯度：无/创新型/专精特新/小巨人（declared, not verified）"},
    )
    digital_level = fields.Integer(
        required=True,
        validate=between(0, 4),
        metadata={
            "description": "企业自报数字化水平，0 = 未评测（declared; the verified one is verified_level）"
        },
    )
    needs = Text(required=True, multiline=True, validate=text(0, 5000))
    verified_tier = fields.String(
        dump_only=True, allow_none=True, metadata={"description": "城市主管部门核实的梯度；null = 待核实"}
    )
    tier_verified_by = fields.Integer(attribute="tier_verified_by_id", dump_only=True, allow_none=True)
    tier_verified_at = fields.DateTime(dump_only=True, allow_none=True)
    tier_status = fields.Function(
        tier_status,
        dump_only=True,
        metadata={"description": "verified 已核实 | unverified 待核实 | differs 自报与核实不一致"},
    )
    verified_level = fields.Integer(
        dump_only=True, allow_none=True, metadata={"description": "最近一次现场评定的等级；null = 无现场评定"}
    )
    level_verified_on = fields.Date(
        dump_only=True, allow_none=True, metadata={"description": "该现场评定的日期"}
    )
    owner_id = fields.Integer(dump_only=True)
    is_demo = fields.Boolean(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)

    @validates_schema
    def city_in_province(self, data, **kwargs):
        """The city lies in the province."""
        check_city_in_province(data)


class TierVerificationSchema(BaseSchema):
    """The tier a city office confirmed for an enterprise of its city."""

    tier = fields.String(required=True, validate=one_of(TIERS), metadata={"description": "核实的梯度"})


class EnterpriseQueryArgsSchema(PageArgsSchema):
    """Filters of the enterprise list (admins and city offices)."""

    city = fields.List(City())
    industry = fields.List(
        IndustryCode(),
        metadata={"description": ("行业代码，可重复；上级代码包含其下各级（C29 包含 C292、C2929）")},
    )
    size = fields.List(fields.String(validate=one_of(SIZES)))
    tier = fields.List(fields.String(validate=one_of(TIERS)))
    above_scale = fields.Boolean()
    digital_level = fields.List(fields.Integer(validate=between(0, 4)))


EnterprisePageSchema = page_schema(EnterpriseSchema)
