"""Schemas of the city pilot: 细分行业, enrolment, projects, the dashboard and the export."""

from __future__ import annotations

from datetime import date

from flask_smorest.fields import Upload
from marshmallow import fields

from marketplace.assessments.schemas import GapSchema
from marketplace.cases.schemas import PromotionSchema
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
from marketplace.pilots.labels import STATUS_NAMES
from marketplace.pilots.models import ProjectStatus
from marketplace.pilots.standings import BASES
from marketplace.solutions.schemas import MAX_PRICE_CNY
from marketplace.taxonomy.schemas import IndustryCode

EXPORT_FORMATS = ("csv", "xlsx")
MAX_TARGET_COUNT = 100_000


class SubIndustrySchema(BaseSchema):
    """A 细分行业 of a city's pilot."""

    id = fields.Integer(dump_only=True)
    city = fields.String(dump_only=True)
    name = Text(
        required=True,
        validate=text(2, 100),
        metadata={"description": "城市自己的表述，如「针织或钩针编织物及其制造」"},
    )
    industry_codes = fields.List(
        IndustryCode(),
        required=True,
        validate=list_size(20, 1),
        metadata={"description": "GB/T 4754-2017 代码"},
    )
    target_count = fields.Integer(
        required=True, validate=between(0, MAX_TARGET_COUNT), metadata={"description": "改造目标企业数"}
    )
    enrolled = fields.Function(lambda s: len(s.enrolments), dump_only=True)
    enterprise_ids = fields.Function(lambda s: [row.enterprise_id for row in s.enrolments], dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class EnrolmentSchema(BaseSchema):
    """Enterprises of the city to enrol in a 细分行业."""

    enterprise_ids = fields.List(Id(), required=True, validate=list_size(500, 1))


class BasisArgsSchema(BaseSchema):
    """Which assessments count."""

    basis = fields.String(
        load_default="onsite",
        validate=one_of(BASES),
        metadata={"description": "onsite 仅现场评定（默认，城市核实的等级）| all 全部评测（含企业自评）"},
    )


class ExportArgsSchema(BasisArgsSchema):
    """The file format of the export."""

    format = fields.String(load_default="csv", validate=one_of(EXPORT_FORMATS))


class PilotEnterpriseQueryArgsSchema(PageArgsSchema, BasisArgsSchema):
    """Filters of the pilot's enterprise list."""

    sub_industry_id = fields.List(Id())
    below_target = fields.Boolean(metadata={"description": "true: 未达二级（含未评测）"})
    in_groups = fields.Boolean(metadata={"description": "true: 仅计入 90% 或小巨人考核的企业"})


class AssessmentBriefSchema(BaseSchema):
    """The essentials of one assessment."""

    id = fields.Integer()
    level = fields.Integer()
    level_name = fields.String()
    total_score = fields.Integer()
    foundation_score = fields.Integer()
    management_score = fields.Integer()
    effectiveness_score = fields.Integer()
    kind = fields.String()
    assessed_on = fields.Date()
    constraint_scenarios_at_target = fields.Integer(metadata={"description": "二级及以上的约束性场景数"})
    guidance_scenarios_at_target = fields.Integer(metadata={"description": "二级及以上的指导性场景数"})


class ProjectBriefSchema(BaseSchema):
    """The latest retrofit project of an enterprise."""

    id = fields.Integer()
    status = fields.String()
    status_name = fields.String()
    provider_name = fields.String()


class PilotEnterpriseSchema(BaseSchema):
    """An enrolled enterprise with its first and latest levels and its gap to the target."""

    enterprise_id = fields.Integer()
    name = fields.String()
    credit_code = fields.String()
    city = fields.String()
    sub_industry_id = fields.Integer()
    sub_industry_name = fields.String()
    industry_code = fields.String()
    size = fields.String()
    above_scale = fields.Boolean()
    tier = fields.String(metadata={"description": "企业自报梯度（declared）"})
    verified_tier = fields.String(allow_none=True, metadata={"description": "城市核实的梯度；null = 待核实"})
    tier_status = fields.String(
        metadata={"description": "verified 已核实 | unverified 待核实 | differs 不一致"}
    )
    tier_status_name = fields.String()
    in_main_group = fields.Boolean(metadata={"description": "计入 90% 考核（规上，或经核实的专精特新）"})
    in_little_giant_group = fields.Boolean(metadata={"description": "计入 100% 考核（经核实的小巨人）"})
    first = fields.Nested(AssessmentBriefSchema, allow_none=True)
    latest = fields.Nested(AssessmentBriefSchema, allow_none=True)
    at_target = fields.Boolean()
    gap = fields.Nested(
        GapSchema, allow_none=True, metadata={"description": "距二级的差距；已达到或未评测时为 null"}
    )
    project = fields.Nested(ProjectBriefSchema, allow_none=True)


PilotEnterprisePageSchema = page_schema(PilotEnterpriseSchema)


class ProjectSchema(BaseSchema):
    """A retrofit project (改造项目)."""

    id = fields.Integer(dump_only=True)
    city = fields.String(dump_only=True)
    enterprise_id = Id(required=True)
    enterprise_name = fields.Function(lambda p: p.enterprise.name, dump_only=True)
    provider_id = Id(required=True)
    provider_name = fields.Function(lambda p: p.provider.name, dump_only=True)
    solution_id = Id(load_default=None, allow_none=True)
    sub_industry_id = fields.Integer(dump_only=True)
    sub_industry_name = fields.Function(lambda p: p.sub_industry.name, dump_only=True)
    title = Text(required=True, validate=text(2, 120))
    contract_amount_cny = fields.Integer(
        load_default=None, allow_none=True, validate=between(0, MAX_PRICE_CNY)
    )
    started_on = fields.Date(load_default=date.today)
    note = Text(load_default="", multiline=True, validate=text(0, 2000))
    status = fields.String(dump_only=True)
    status_name = fields.Function(lambda p: STATUS_NAMES[p.status], dump_only=True)
    filed_at = fields.DateTime(dump_only=True, allow_none=True)
    implementing_at = fields.DateTime(dump_only=True, allow_none=True)
    accepted_at = fields.DateTime(dump_only=True, allow_none=True)
    case_id = fields.Integer(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class OutcomeSchema(BaseSchema):
    """A project's level before it started and its latest level after; levels only, no scores or gaps.

    The provider involved sees these two levels, the result of its own project that acceptance
    reports to it; the assessment history, scores and gaps stay with the enterprise and the city.
    """

    level_before = fields.Function(lambda o: o.before.level if o.before else None, allow_none=True)
    level_after = fields.Function(lambda o: o.after.level if o.after else None, allow_none=True)
    level_uplift = fields.Integer(allow_none=True)


class ProjectOutcomeSchema(ProjectSchema):
    """A project with its outcome: levels before and after, from the enterprise's assessments.

    The service sets ``outcome`` on the project it returns (:func:`marketplace.pilots.projects.with_outcome`).
    """

    outcome = fields.Function(lambda p: OutcomeSchema().dump(p.outcome), dump_only=True)


class ProjectQueryArgsSchema(PageArgsSchema):
    """Filters of the project list."""

    city = fields.List(fields.String())
    status = fields.List(fields.String(validate=one_of(ProjectStatus)))
    sub_industry_id = fields.List(Id())
    provider_id = fields.List(Id())
    enterprise_id = fields.List(Id())


ProjectPageSchema = page_schema(ProjectSchema)


class AdvanceSchema(BaseSchema):
    """An optional note for the stage a project enters."""

    note = Text(load_default="", multiline=True, validate=text(0, 500))


class ShowcaseSchema(PromotionSchema):
    """Promote an accepted project as a 样板: the promotion window, and optional wording of its case."""

    title = Text(load_default=None, validate=text(2, 120))
    summary = Text(load_default=None, multiline=True, validate=text(2, 5000))


class MeasureRowSchema(BaseSchema):
    """A 成效 measure before and after."""

    code = fields.String()
    name = fields.String()
    unit = fields.String()
    before = fields.Float()
    after = fields.Float()
    better = fields.String(metadata={"description": "哪个方向为改善：lower 越低越好、higher 越高越好"})
    improvement = fields.Float(allow_none=True, metadata={"description": "改善幅度，正数为改善"})


class ShowcaseCardSchema(BaseSchema):
    """A case or an accepted project as the dashboard shows it."""

    case_id = fields.Integer(allow_none=True)
    project_id = fields.Integer(allow_none=True)
    title = fields.String()
    enterprise_name = fields.String()
    provider_name = fields.String(allow_none=True)
    industry_code = fields.String()
    sub_industry_ids = fields.List(fields.Integer())
    level_before = fields.Integer()
    level_after = fields.Integer()
    level_uplift = fields.Integer()
    score_before = fields.Integer(allow_none=True)
    score_after = fields.Integer(allow_none=True)
    measures = fields.List(fields.Nested(MeasureRowSchema))
    promoted = fields.Boolean()
    promotion = fields.Nested(PromotionSchema, allow_none=True)


class TallySchema(BaseSchema):
    """A group's enterprises at the target level, at first and at latest assessment."""

    members = fields.Integer()
    achieved = fields.Integer()
    unassessed = fields.Integer(metadata={"description": "未评测（按未达标计）"})
    share = fields.Float(allow_none=True)
    achieved_at_first = fields.Integer()
    share_at_first = fields.Float(allow_none=True)


class RuleSchema(TallySchema):
    """A group against its share target."""

    target_share = fields.Float()
    required = fields.Integer(metadata={"description": "按目标需达标的企业数"})
    needed = fields.Integer(metadata={"description": "还需达到二级的企业数"})
    status = fields.String(
        metadata={
            "description": ("目标状态：met 已达标、not_met 未达标、not_applicable 不适用（范围内没有企业）")
        }
    )


class LevelCountSchema(BaseSchema):
    """How many enterprises are at one level."""

    level = fields.Integer(allow_none=True, metadata={"description": "null = 未评测"})
    level_name = fields.String()
    count = fields.Integer()


class EnrolledSchema(BaseSchema):
    """Enrolled enterprises by size, scale and tier."""

    total = fields.Integer()
    by_size = fields.Dict(keys=fields.String(), values=fields.Integer())
    by_scale = fields.Dict(keys=fields.String(), values=fields.Integer())
    by_tier = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        metadata={
            "description": "按城市核实的梯度计数；自报了梯度而未经核实的计入 unverified（待核实），"
            "且不计入专精特新与小巨人考核"
        },
    )


class RetrofitCountsSchema(BaseSchema):
    """Retrofit projects by stage, against the target count."""

    target_count = fields.Integer()
    total = fields.Integer()
    diagnosis = fields.Integer()
    filing = fields.Integer()
    implementation = fields.Integer()
    accepted = fields.Integer()


class ProgressSchema(BaseSchema):
    """Where a 细分行业, or the whole pilot, stands."""

    enrolled = fields.Nested(EnrolledSchema)
    levels_first = fields.List(fields.Nested(LevelCountSchema))
    levels_latest = fields.List(fields.Nested(LevelCountSchema))
    main_group = fields.Nested(RuleSchema, metadata={"description": "规上及专精特新（含小巨人），目标 90%"})
    little_giant = fields.Nested(RuleSchema, metadata={"description": "专精特新“小巨人”，目标 100%"})
    below_scale = fields.Nested(TallySchema, metadata={"description": "规下企业，目标为“明显提升”"})
    status = fields.String(
        metadata={
            "description": ("目标状态：met 已达标、not_met 未达标、not_applicable 不适用（范围内没有企业）")
        }
    )
    retrofit = fields.Nested(RetrofitCountsSchema)


class SubIndustryProgressSchema(ProgressSchema):
    """One 细分行业 with the enterprises closest to the target and candidate 样板."""

    id = fields.Integer()
    name = fields.String()
    industry_codes = fields.List(fields.String())
    closest = fields.List(fields.Nested(PilotEnterpriseSchema))
    candidates = fields.List(fields.Nested(ShowcaseCardSchema))


class ProviderProjectSchema(BaseSchema):
    """A provider's project in the city with its level uplift."""

    id = fields.Integer()
    title = fields.String()
    enterprise_id = fields.Integer()
    enterprise_name = fields.String()
    sub_industry_id = fields.Integer()
    status = fields.String()
    status_name = fields.String()
    level_before = fields.Integer(allow_none=True)
    level_after = fields.Integer(allow_none=True)
    level_uplift = fields.Integer(allow_none=True)


class ProviderActivitySchema(BaseSchema):
    """A provider active in the city."""

    provider_id = fields.Integer()
    name = fields.String()
    city = fields.String()
    projects_total = fields.Integer()
    by_status = fields.Dict(keys=fields.String(), values=fields.Integer())
    mean_level_uplift = fields.Float(allow_none=True)
    reached_target = fields.Integer(metadata={"description": "由二级以下升至二级及以上的项目数"})
    projects = fields.List(fields.Nested(ProviderProjectSchema))


class DashboardSchema(BaseSchema):
    """The pilot dashboard of one city."""

    city = fields.String()
    basis = fields.String()
    indicator_version = fields.String()
    target_level = fields.Integer()
    target_level_name = fields.String()
    generated_at = fields.DateTime()
    total = fields.Nested(ProgressSchema)
    sub_industries = fields.List(fields.Nested(SubIndustryProgressSchema))
    providers = fields.List(fields.Nested(ProviderActivitySchema))
    promoted_cases = fields.List(fields.Nested(ShowcaseCardSchema))


SHEET_FORMATS = ("xlsx", "csv")


class SheetTemplateArgsSchema(BaseSchema):
    """The file format of the enrolment template."""

    format = fields.String(load_default="xlsx", validate=one_of(SHEET_FORMATS))


class EnrolmentSheetUploadSchema(BaseSchema):
    """A list of enterprises to enrol, as a multipart upload."""

    file = Upload(
        required=True,
        metadata={
            "description": "XLSX（读取第一个工作表）或 CSV（UTF-8 含或不含 BOM、GBK）；"
            "表头含 统一社会信用代码、企业名称，可选 细分行业"
        },
    )


class SheetProblemSchema(BaseSchema):
    """One problem of one row."""

    field = fields.String(
        metadata={
            "description": (
                "出问题的字段：credit_code 统一社会信用代码、name 企业名称、sub_industry 细分行业"
            )
        }
    )
    column = fields.String(
        metadata={"description": "the template's header of that field, e.g. 统一社会信用代码"}
    )
    message = fields.String()


class EnrolmentSheetRowSchema(BaseSchema):
    """One data row as read and judged."""

    row = fields.Integer(metadata={"description": "行号，与表格软件中显示的一致"})
    credit_code = fields.String()
    name = fields.String()
    sub_industry = fields.String(
        metadata={"description": "the 细分行业 as written; empty: chosen by industry"}
    )
    enterprise_id = fields.Integer(allow_none=True)
    enterprise_name = fields.String(allow_none=True)
    sub_industry_id = fields.Integer(allow_none=True)
    sub_industry_name = fields.String(allow_none=True)
    action = fields.String(
        allow_none=True, metadata={"description": "enrol 将纳入 | unchanged 已纳入，不变 | null 有问题"}
    )
    problems = fields.List(fields.Nested(SheetProblemSchema))


class EnrolmentSheetReportSchema(BaseSchema):
    """What an enrolment sheet holds and what importing it does."""

    file_format = fields.String(metadata={"description": "文件格式：xlsx 或 csv"})
    encoding = fields.String(
        allow_none=True, metadata={"description": "CSV 的编码：utf-8、gb18030 或 utf-16；XLSX 为 null"}
    )
    total = fields.Integer()
    valid = fields.Integer()
    invalid = fields.Integer()
    to_enrol = fields.Integer()
    unchanged = fields.Integer()
    can_import = fields.Boolean(metadata={"description": "true：所有行都没有问题，可以导入"})
    imported = fields.Boolean(metadata={"description": "是否已导入；预览为 false"})
    rows = fields.List(fields.Nested(EnrolmentSheetRowSchema))
