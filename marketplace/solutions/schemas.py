"""Schemas of solutions."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validates_schema

from marketplace.common.schemas import (
    BaseSchema,
    Id,
    PageArgsSchema,
    Text,
    between,
    list_size,
    one_of,
    page_schema,
    text,
)
from marketplace.evidence import SOURCE_TYPES
from marketplace.models import ListingStatus
from marketplace.taxonomy.schemas import IndustryCode, ScenarioCode

DELIVERY_MODES = ("saas", "on_premise", "edge", "hardware_bundle")
MAX_PRICE_CNY = 100_000_000


class LevelUpliftSchema(BaseSchema):
    """A declared lift of one scenario's level, e.g. quality from 一级 to 二级."""

    scenario = ScenarioCode(required=True)
    from_level = fields.Integer(required=True, validate=between(1, 4))
    to_level = fields.Integer(required=True, validate=between(1, 4))

    @validates_schema
    def rises(self, data, **kwargs):
        """An uplift must raise the level."""
        if data.get("to_level", 0) <= data.get("from_level", 0):
            raise ValidationError("目标等级应高于起始等级", field_name="to_level")


class OutcomeClaimSchema(BaseSchema):
    """A claimed outcome with where the number comes from."""

    metric = Text(required=True, validate=text(1, 50))
    value = fields.Float(required=True)
    unit = Text(required=True, validate=text(0, 20))
    source_type = fields.String(
        required=True,
        validate=one_of(SOURCE_TYPES),
        metadata={
            "description": (
                "数字来源：vendor_claimed 服务商自述、third_party 第三方检测、"
                "city_accepted 城市验收（只有城市主管部门或管理员能标记，"
                "见 accept 操作）"
            )
        },
    )
    note = Text(multiline=True, validate=text(0, 200))
    accepted_by = fields.Integer(dump_only=True, metadata={"description": "标记城市验收的账号编号"})
    accepted_by_name = fields.String(dump_only=True)
    accepted_at = fields.String(dump_only=True, metadata={"format": "date-time"})


class SolutionSchema(BaseSchema):
    """A solution as listed, with its review state."""

    id = fields.Integer(dump_only=True)
    provider_id = fields.Integer(dump_only=True)
    provider_name = fields.Function(lambda s: s.provider.name, dump_only=True)
    title = Text(required=True, validate=text(2, 120))
    summary = Text(required=True, validate=text(2, 300))
    description = Text(required=True, multiline=True, validate=text(2, 10_000))
    industries = fields.List(IndustryCode(), required=True, validate=list_size(20, 1))
    scenarios = fields.List(ScenarioCode(), required=True, validate=list_size(16, 1))
    tags = fields.List(Text(validate=text(1, 50)), load_default=list, validate=list_size(30))
    price_min_cny = fields.Integer(required=True, validate=between(0, MAX_PRICE_CNY))
    price_max_cny = fields.Integer(required=True, validate=between(0, MAX_PRICE_CNY))
    deploy_days = fields.Integer(required=True, validate=between(1, 730))
    delivery_modes = fields.List(
        fields.String(validate=one_of(DELIVERY_MODES)), required=True, validate=list_size(4, 1)
    )
    level_uplifts = fields.List(fields.Nested(LevelUpliftSchema), load_default=list, validate=list_size(16))
    outcome_claims = fields.List(fields.Nested(OutcomeClaimSchema), load_default=list, validate=list_size(20))
    status = fields.String(dump_only=True)
    review_note = fields.String(dump_only=True, allow_none=True)
    is_demo = fields.Boolean(dump_only=True)
    published_at = fields.DateTime(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class SolutionQueryArgsSchema(PageArgsSchema):
    """Filters of the solution list; repeated values are ORed, different filters ANDed."""

    industry = fields.List(
        IndustryCode(),
        metadata={"description": ("行业代码，可重复；上级代码包含其下各级（C29 包含 C292、C2929）")},
    )
    scenario = fields.List(ScenarioCode())
    tag = fields.List(Text(validate=text(1, 50)))
    delivery_mode = fields.List(fields.String(validate=one_of(DELIVERY_MODES)))
    provider_id = fields.List(Id())
    status = fields.List(fields.String(validate=one_of(ListingStatus)))
    price_max_cny = fields.Integer(
        validate=between(0, MAX_PRICE_CNY),
        metadata={
            "description": ("价格上限（元）：只列出最低报价 price_min_cny ≤ 该值的方案（不看最高报价）")
        },
    )
    deploy_days_max = fields.Integer(validate=between(1, 730))
    mine = fields.Boolean(
        load_default=False, metadata={"description": "true：只列出调用者自己的（任何状态）"}
    )


SolutionPageSchema = page_schema(SolutionSchema)
