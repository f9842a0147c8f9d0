"""Schemas of recommendations and feedback events."""

from __future__ import annotations

from marshmallow import fields

from marketplace.common.schemas import BaseSchema, Id, Text, between, list_size, one_of, text
from marketplace.taxonomy.schemas import IndustryCode, Province, ScenarioCode

EVENT_TYPES = ("impression", "click", "favorite", "inquiry", "not_interested")
ITEM_TYPES = ("solution", "case")


class RecommendationRequestSchema(BaseSchema):
    """What an enterprise tells about itself and what it needs."""

    industry = IndustryCode(
        required=True, metadata={"description": "所属行业：GB/T 4754-2017 制造业行业代码，任一层级"}
    )
    needs = Text(
        required=True, multiline=True, validate=text(2, 1000), metadata={"description": "需求，用自己的话说"}
    )
    scenarios = fields.List(ScenarioCode(), load_default=list, validate=list_size(16))
    budget_max_cny = fields.Integer(validate=between(0, 100_000_000))
    city = Text(validate=text(2, 50))
    province = Province()
    digital_level = fields.Integer(validate=between(0, 4))
    limit = fields.Integer(load_default=10, validate=between(1, 50))


class LimitArgsSchema(BaseSchema):
    """How many items to return."""

    limit = fields.Integer(load_default=10, validate=between(1, 50))


class ProviderRefSchema(BaseSchema):
    """The provider of a recommended solution."""

    id = fields.Integer()
    name = fields.String()
    city = fields.String()


class RecommendedSolutionSchema(BaseSchema):
    """A recommended solution with the reasons behind it."""

    id = fields.Integer()
    title = fields.String()
    summary = fields.String()
    provider = fields.Nested(ProviderRefSchema)
    price_min_cny = fields.Integer()
    price_max_cny = fields.Integer()
    deploy_days = fields.Integer()
    score = fields.Float()
    reasons = fields.List(fields.String())


class RecommendedCaseSchema(BaseSchema):
    """A recommended benchmark case with the reasons behind it."""

    id = fields.Integer()
    title = fields.String()
    enterprise_name = fields.String()
    city = fields.String()
    industry = fields.String()
    level_before = fields.Integer()
    level_after = fields.Integer()
    promoted = fields.Boolean()
    score = fields.Float()
    reasons = fields.List(fields.String())


class PlanScenarioSchema(BaseSchema):
    """A scenario to lift."""

    code = fields.String()
    name = fields.String()
    constraint = fields.Boolean()


class LevelPlanSchema(BaseSchema):
    """What it takes to reach 二级."""

    target_level = fields.Integer()
    basis = fields.String(
        metadata={
            "description": ("规划依据：latest_assessment 最近一次评测、level_rule 等级规则（没有评测时）")
        }
    )
    min_scenarios = fields.Integer()
    min_constraint_scenarios = fields.Integer()
    scenarios = fields.List(fields.Nested(PlanScenarioSchema))


class RecommendationsSchema(BaseSchema):
    """Recommended solutions and cases, logged under ``request_id`` for feedback."""

    request_id = fields.String()
    model_version = fields.String()
    level_plan = fields.Nested(LevelPlanSchema, allow_none=True)
    solutions = fields.List(fields.Nested(RecommendedSolutionSchema))
    cases = fields.List(fields.Nested(RecommendedCaseSchema))


class EventSchema(BaseSchema):
    """What a user did with one item of a recommendation list."""

    id = fields.Integer(dump_only=True)
    request_id = Text(required=True, validate=text(36, 36))
    item_type = fields.String(required=True, validate=one_of(ITEM_TYPES))
    item_id = Id(required=True)
    type = fields.String(required=True, validate=one_of(EVENT_TYPES))
    position = fields.Integer(validate=between(0, 1000))
    created_at = fields.DateTime(dump_only=True)
