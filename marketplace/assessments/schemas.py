"""Schemas of assessments, their gaps, and the indicator they follow."""

from __future__ import annotations

from datetime import date

from marshmallow import fields, validate

from marketplace.assessments.models import AssessmentKind
from marketplace.assessments.service import indicator
from marketplace.common.schemas import BaseSchema, PageArgsSchema, Text, between, one_of, page_schema, text
from marketplace.taxonomy.service import taxonomy

MAX_MEASURE = 1e12


def level_name(level: int | None) -> str:
    """The Chinese name of a digital level (未评测 for None)."""
    return indicator().level_name(level)


class MeasureValuesSchema(BaseSchema):
    """A 成效 measure before (改造前或上年同期) and after (本期)."""

    before = fields.Float(required=True, allow_nan=False, validate=between(0, MAX_MEASURE))
    after = fields.Float(required=True, allow_nan=False, validate=between(0, MAX_MEASURE))


class ScenarioRaiseSchema(BaseSchema):
    """A scenario that must rise."""

    code = fields.String()
    name = fields.Function(lambda raise_: taxonomy().scenarios[raise_.code].name)
    constraint = fields.Boolean(metadata={"description": "约束性场景"})
    current_level = fields.Integer()
    target_level = fields.Integer()


class GapSchema(BaseSchema):
    """What stands between an assessment and a level."""

    target_level = fields.Integer()
    target_level_name = fields.Function(lambda gap: level_name(gap.target_level))
    points_missing = fields.Integer(metadata={"description": "距该等级分数线还差的分数"})
    scenarios_missing = fields.Integer(metadata={"description": "还需达到该等级的场景数"})
    constraint_scenarios_missing = fields.Integer(
        metadata={"description": "其中还需达到该等级的约束性场景数"}
    )
    scenarios_to_raise = fields.List(fields.Nested(ScenarioRaiseSchema))


class ScoresSchema(BaseSchema):
    """Points per part, out of 50 / 30 / 20, and the total out of 100."""

    foundation = fields.Integer(attribute="foundation_score", metadata={"description": "数字化基础"})
    management = fields.Integer(attribute="management_score", metadata={"description": "数字化管理"})
    effectiveness = fields.Integer(attribute="effectiveness_score", metadata={"description": "数字化成效"})
    total = fields.Integer(attribute="total_score")


class AssessmentSchema(BaseSchema):
    """A digital-level assessment: answers in, level, scores and gaps out.

    The service sets the two gaps on the assessments it returns
    (:func:`marketplace.assessments.service.with_gaps`); the level names come from the indicator.
    """

    id = fields.Integer(dump_only=True)
    enterprise_id = fields.Integer(dump_only=True)
    kind = fields.String(
        required=True,
        validate=one_of(AssessmentKind),
        metadata={"description": "self 自评 | onsite 现场评定"},
    )
    assessed_on = fields.Date(
        load_default=date.today,
        validate=validate.Range(min=date(2000, 1, 1), error="评测日期不能早于 2000-01-01"),
        metadata={"pattern": r"^[2-9]\d{3}-", "description": "评测日期，不早于 2000-01-01；不填为今天"},
    )
    answers = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        required=True,
        metadata={"description": "题目代码 → 选项代码（数字化基础、数字化管理）"},
    )
    measures = fields.Dict(
        keys=fields.String(),
        values=fields.Nested(MeasureValuesSchema),
        load_default=dict,
        metadata={"description": "成效指标代码 → 改造前/本期数值；未知可不填（计 0 分）"},
    )
    scenario_levels = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(required=True, validate=between(0, 4)),
        required=True,
        metadata={"description": "16 个场景各自的等级，0 = 未达一级"},
    )
    note = Text(load_default="", multiline=True, validate=text(0, 500))
    indicator_version = fields.String(dump_only=True)
    level = fields.Integer(dump_only=True)
    level_name = fields.Function(lambda a: level_name(a.level), dump_only=True)
    scores = fields.Function(lambda a: ScoresSchema().dump(a), dump_only=True)
    next_level_gap = fields.Function(
        lambda a: _dump_gap(a.next_level_gap),
        dump_only=True,
        metadata={"description": "距下一等级的差距；四级时为 null"},
    )
    target_gap = fields.Function(
        lambda a: _dump_gap(a.target_gap),
        dump_only=True,
        metadata={"description": "距试点目标等级（二级）的差距；已达到时为 null"},
    )
    recorded_by_role = fields.Function(lambda a: a.recorded_by.role.value, dump_only=True)
    is_demo = fields.Boolean(dump_only=True)
    created_at = fields.DateTime(dump_only=True)


def _dump_gap(gap) -> dict | None:
    return None if gap is None else GapSchema().dump(gap)


class AssessmentQueryArgsSchema(PageArgsSchema):
    """Filters of an enterprise's assessment history."""

    kind = fields.String(validate=one_of(AssessmentKind))


AssessmentPageSchema = page_schema(AssessmentSchema)


class OptionSchema(BaseSchema):
    """An answer option of a scored question."""

    code = fields.String()
    label = fields.String()
    points = fields.Integer()


class BandSchema(BaseSchema):
    """An improvement band of a 成效 measure."""

    min = fields.Float(metadata={"description": "改善幅度下限（按比例为小数，按差值为原单位）"})
    points = fields.Integer()


class MeasureSchema(BaseSchema):
    """How a 成效 measure is compared."""

    unit = fields.String()
    better = fields.String(metadata={"description": "哪个方向为改善：lower 越低越好、higher 越高越好"})
    compare = fields.String(metadata={"description": "ratio 按比例 | points 按差值"})
    bands = fields.List(fields.Nested(BandSchema))


class ItemSchema(BaseSchema):
    """A scored question."""

    code = fields.String()
    part = fields.String()
    name = fields.String()
    short_name = fields.String()
    question = fields.String()
    max_points = fields.Integer()
    options = fields.List(fields.Nested(OptionSchema))
    measure = fields.Nested(MeasureSchema, allow_none=True)


class PartSchema(BaseSchema):
    """A scored part with its points."""

    code = fields.String()
    name = fields.String()
    max_points = fields.Integer()


class LevelRequirementSchema(BaseSchema):
    """One row of the level rule."""

    level = fields.Integer()
    min_score = fields.Integer()
    min_scenarios = fields.Integer()
    min_constraint_scenarios = fields.Integer()


class PilotTargetsSchema(BaseSchema):
    """The pilot targets per 细分行业."""

    target_level = fields.Integer()
    main_group_share = fields.Float(metadata={"description": "规上及专精特新企业达标比例"})
    little_giant_share = fields.Float(metadata={"description": "小巨人企业达标比例"})


class IndicatorSchema(BaseSchema):
    """The digital-level indicator the assessments follow."""

    name = fields.String()
    version = fields.String()
    source = fields.String()
    level_names = fields.Dict(keys=fields.String(), values=fields.String())
    parts = fields.List(fields.Nested(PartSchema))
    items = fields.List(fields.Nested(ItemSchema))
    scenarios = fields.Function(
        lambda ind: [
            {"code": code, "name": taxonomy().scenarios[code].name, "constraint": constraint}
            for code, constraint in ind.scenarios.items()
        ]
    )
    scenario_level_meaning = fields.Dict(keys=fields.String(), values=fields.String())
    level_rule = fields.List(fields.Nested(LevelRequirementSchema))
    targets = fields.Nested(PilotTargetsSchema)
