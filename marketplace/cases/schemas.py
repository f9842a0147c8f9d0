"""Schemas of benchmark cases and their promotions."""

from __future__ import annotations

from datetime import date

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
from marketplace.solutions.schemas import MAX_PRICE_CNY
from marketplace.taxonomy.schemas import City, IndustryCode, Province, ScenarioCode, check_city_in_province

MAX_PROMOTION_DAYS = 366


class MetricSchema(BaseSchema):
    """A measured outcome, before and after the retrofit."""

    name = Text(required=True, validate=text(1, 50))
    before = fields.Float(required=True, allow_nan=False)
    after = fields.Float(required=True, allow_nan=False)
    unit = Text(required=True, validate=text(0, 20))
    source_type = fields.String(
        load_default="vendor_claimed",
        validate=one_of(SOURCE_TYPES),
        metadata={
            "description": (
                "数字来源：vendor_claimed 服务商自述、third_party 第三方检测、"
                "city_accepted 城市验收（只有案例所在城市的主管部门或管理员能标记）"
            )
        },
    )
    accepted_by = fields.Integer(dump_only=True, metadata={"description": "标记城市验收的账号编号"})
    accepted_by_name = fields.String(dump_only=True)
    accepted_at = fields.String(dump_only=True, metadata={"format": "date-time"})


class PromotionSchema(BaseSchema):
    """A city office's bounded-time promotion of a case."""

    id = fields.Integer(dump_only=True)
    city = fields.String(dump_only=True)
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True)
    note = Text(load_default="", multiline=True, validate=text(0, 500))
    active = fields.Boolean(dump_only=True)
    label = fields.String(dump_only=True)
    ended_at = fields.DateTime(dump_only=True, allow_none=True)

    @validates_schema
    def bounded(self, data, **kwargs):
        """A promotion has not ended yet, ends after it starts, and lasts at most a year."""
        starts, ends = data.get("starts_on"), data.get("ends_on")
        if ends and ends < date.today():
            raise ValidationError("结束日期已过", field_name="ends_on")
        if starts and ends:
            if ends < starts:
                raise ValidationError("结束日期不能早于开始日期", field_name="ends_on")
            if (ends - starts).days > MAX_PROMOTION_DAYS:
                raise ValidationError(f"推广期不能超过 {MAX_PROMOTION_DAYS} 天", field_name="ends_on")


class CaseSchema(BaseSchema):
    """A benchmark case (转型样板)."""

    id = fields.Integer(dump_only=True)
    title = Text(required=True, validate=text(2, 120))
    enterprise_name = Text(required=True, validate=text(2, 100))
    city = City(required=True)
    province = Province(load_default=None, allow_none=True)
    industry = IndustryCode(required=True, attribute="industry_code")
    scenarios = fields.List(ScenarioCode(), required=True, validate=list_size(16, 1))
    solution_ids = fields.List(Id(), load_default=list, validate=list_size(20))
    summary = Text(required=True, multiline=True, validate=text(2, 5000))
    metrics = fields.List(fields.Nested(MetricSchema), load_default=list, validate=list_size(20))
    level_before = fields.Integer(required=True, validate=between(0, 4))
    level_after = fields.Integer(required=True, validate=between(0, 4))
    investment_cny = fields.Integer(allow_none=True, validate=between(0, MAX_PRICE_CNY))
    status = fields.String(dump_only=True)
    review_note = fields.String(dump_only=True, allow_none=True)
    provider_id = fields.Integer(dump_only=True, allow_none=True)
    author_role = fields.Function(lambda c: c.author.role.value, dump_only=True)
    promoted = fields.Boolean(attribute="is_promoted", dump_only=True)
    active_promotion = fields.Nested(
        PromotionSchema, attribute="current_promotion", dump_only=True, allow_none=True
    )
    promotions = fields.List(fields.Nested(PromotionSchema), dump_only=True)
    is_demo = fields.Boolean(dump_only=True)
    published_at = fields.DateTime(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)

    @validates_schema
    def city_in_province(self, data, **kwargs):
        """The city lies in the province, if one is given."""
        check_city_in_province(data)


class CaseQueryArgsSchema(PageArgsSchema):
    """Filters of the case list; repeated values are ORed, different filters ANDed."""

    city = fields.List(City())
    province = fields.List(Province())
    industry = fields.List(
        IndustryCode(),
        metadata={"description": ("行业代码，可重复；上级代码包含其下各级（C29 包含 C292、C2929）")},
    )
    scenario = fields.List(ScenarioCode())
    solution_id = fields.List(Id())
    provider_id = fields.List(Id())
    status = fields.List(fields.String(validate=one_of(ListingStatus)))
    promoted = fields.Boolean(metadata={"description": "true：只列出正在城市推广中的案例"})
    level_after_min = fields.Integer(validate=between(0, 4))


CasePageSchema = page_schema(CaseSchema)
