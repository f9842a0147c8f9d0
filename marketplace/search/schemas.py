"""Schemas of search, facets and suggestions."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validates_schema

from indexing.vocabulary import MAX_RESULT_WINDOW, SEARCH_MODES, SORTS
from marketplace.cases.schemas import PromotionSchema
from marketplace.common.schemas import BaseSchema, Id, PageArgsSchema, Prebuilt, Text, between, one_of, text
from marketplace.solutions.schemas import DELIVERY_MODES, MAX_PRICE_CNY
from marketplace.taxonomy.schemas import IndustryCode, ScenarioCode


class SearchArgsSchema(PageArgsSchema):
    """Query, filters, sort and page; repeated values of one filter are ORed, filters are ANDed.

    Declares an argument, with its checks, for every filter and range of :mod:`indexing.vocabulary`;
    the sorts are the vocabulary's.
    """

    q = Text(
        load_default="", validate=text(0, 200), metadata={"description": "用户原话，如「注塑件 外观缺陷」"}
    )
    industry = fields.List(
        IndustryCode(),
        metadata={"description": ("行业代码，可重复；上级代码包含其下各级（C29 包含 C292、C2929）")},
    )
    scenario = fields.List(ScenarioCode())
    tag = fields.List(Text(validate=text(1, 50)))
    delivery_mode = fields.List(fields.String(validate=one_of(DELIVERY_MODES)))
    city = fields.List(Text(validate=text(1, 50)))
    province = fields.List(Text(validate=text(1, 20)))
    provider_id = fields.List(Id())
    price_max_cny = fields.Integer(validate=between(0, MAX_PRICE_CNY))
    deploy_days_max = fields.Integer(validate=between(1, 730))
    promoted = fields.Boolean()
    sort = fields.String(load_default="relevance", validate=one_of(SORTS))
    mode = fields.String(
        validate=one_of(SEARCH_MODES),
        metadata={
            "description": "keyword：按词匹配（BM25）；semantic：按语义向量的近邻；"
            "hybrid：两者按倒数排名融合。默认：有向量时为 hybrid，否则 keyword。"
            "仅在有检索词且按相关度排序时生效"
        },
    )

    @validates_schema
    def within_window(self, data, **kwargs):
        """Deep pages are refused: narrow the query instead."""
        if data.get("page", 1) * data.get("per_page", 20) > MAX_RESULT_WINDOW:
            raise ValidationError(
                f"最多可翻阅前 {MAX_RESULT_WINDOW} 条结果，请缩小查询范围", field_name="page"
            )


class FacetValueSchema(BaseSchema):
    """One facet value with its label and count."""

    value = fields.String()
    label = fields.String()
    count = fields.Integer()


class FacetsSchema(BaseSchema):
    """Facet counts, one per facet of :mod:`indexing.vocabulary`; each ignores its own filter."""

    industry = fields.List(fields.Nested(FacetValueSchema))
    scenario = fields.List(fields.Nested(FacetValueSchema))
    delivery_mode = fields.List(fields.Nested(FacetValueSchema))
    city = fields.List(fields.Nested(FacetValueSchema))


class HitSchema(BaseSchema):
    """What every hit carries."""

    id = fields.Integer()
    title = fields.String()
    summary = fields.String()
    score = fields.Float()
    highlight = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        metadata={"description": "标题、简介中命中关键词的片段，已做 HTML 转义，命中处以 <em> 包围"},
    )


class SolutionHitSchema(HitSchema):
    """A solution hit."""

    provider_id = fields.Integer()
    provider_name = fields.Function(lambda hit: hit.provider.name)
    city = fields.Function(lambda hit: hit.provider.city)
    industries = fields.List(fields.String())
    scenarios = fields.List(fields.String())
    tags = fields.List(fields.String())
    delivery_modes = fields.List(fields.String())
    price_min_cny = fields.Integer()
    price_max_cny = fields.Integer()
    deploy_days = fields.Integer()


class CaseHitSchema(HitSchema):
    """A case hit; promotions are labelled."""

    enterprise_name = fields.String()
    city = fields.String()
    province = fields.String(allow_none=True)
    industry = fields.String(attribute="industry_code")
    scenarios = fields.List(fields.String())
    level_before = fields.Integer()
    level_after = fields.Integer()
    promoted = fields.Boolean(attribute="is_promoted")
    active_promotion = fields.Nested(PromotionSchema, attribute="current_promotion", allow_none=True)
    promoted_in_your_city = fields.Boolean(metadata={"description": "推广中的本市样板（对企业用户）"})


class SolutionSearchSchema(BaseSchema):
    """A page of solution hits with facets."""

    mode = fields.String(
        metadata={"description": ("关键词匹配方式：keyword 关键词、hybrid 关键词与语义混合、semantic 语义")}
    )
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
    items = fields.List(Prebuilt(SolutionHitSchema))
    facets = Prebuilt(
        FacetsSchema,
        metadata={"description": "分面计数：每个筛选值下的结果数；某一分面的计数不受该分面自身筛选的影响"},
    )


class CaseSearchSchema(SolutionSearchSchema):
    """A page of case hits with facets."""

    items = fields.List(Prebuilt(CaseHitSchema))


class SuggestArgsSchema(BaseSchema):
    """A typed prefix."""

    prefix = Text(required=True, validate=text(1, 50))
    limit = fields.Integer(load_default=10, validate=between(1, 20))


class SuggestSchema(BaseSchema):
    """Completions."""

    items = fields.List(fields.String())
