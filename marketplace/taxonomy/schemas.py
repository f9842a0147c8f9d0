"""Schemas of the taxonomies, and fields that validate codes against them."""

from __future__ import annotations

from marshmallow import ValidationError, fields

from marketplace.common.schemas import BaseSchema, Text, between, one_of, text
from marketplace.taxonomy.service import LEVELS, SEARCH_PAGE_SIZE, taxonomy


def _known_industry(code: str) -> None:
    if code not in taxonomy().industries:
        raise ValidationError(f"未知的行业代码：{code}（应为 GB/T 4754-2017 门类 C 的代码，如 C3670）")


def _known_scenario(code: str) -> None:
    if code not in taxonomy().scenarios:
        raise ValidationError(f"未知的场景代码：{code}")


class IndustryCode(fields.String):
    """A GB/T 4754-2017 code of any level, e.g. ``C36`` or ``C3670``."""

    def __init__(self, **kwargs):
        super().__init__(validate=_known_industry, **kwargs)


class ScenarioCode(fields.String):
    """One of the 16 scenario codes."""

    def __init__(self, **kwargs):
        super().__init__(validate=_known_scenario, **kwargs)


class Province(Text):
    """A provincial-level division, stored by its full name; short forms are accepted (浙江 → 浙江省)."""

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        name = super()._deserialize(value, attr, data, **kwargs)
        full = taxonomy().regions.province(name)
        if full is None:
            raise ValidationError(f"未知的省级行政区：{name}（如 江苏省）")
        return full


class City(Text):
    """A prefecture-level city (or municipality), stored by its full name; 苏州 is read as 苏州市."""

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        name = super()._deserialize(value, attr, data, **kwargs)
        full = taxonomy().regions.city(name)
        if full is None:
            raise ValidationError(f"未知的城市：{name}（请用地级市全称，如 苏州市）")
        return full


def check_city_in_province(data: dict) -> None:
    """Refuse a city outside the province given with it (either may be absent).

    :raises ValidationError: on ``city``.
    """
    city, province = data.get("city"), data.get("province")
    if city and province and taxonomy().regions.province_of_city[city] != province:
        raise ValidationError(f"{city}不属于{province}", field_name="city")


class IndustrySchema(BaseSchema):
    """One industry entry."""

    code = fields.String()
    name = fields.String()
    level = fields.String(
        metadata={"description": ("层级：section 门类、division 大类、group 中类、class 小类")}
    )
    level_name = fields.String(metadata={"description": "门类|大类|中类|小类"})
    parent = fields.String(allow_none=True)
    standard = fields.String()
    version = fields.String()


class IndustryMatchSchema(BaseSchema):
    """Why a search found an entry."""

    how = fields.String(metadata={"description": "exact 完全一致 | prefix 开头一致 | contains 包含"})
    by = fields.String(
        metadata={
            "description": "code 行业代码 | name 行业名称 | alias 行业俗称（如 注塑） | pinyin 拼音或首字母"
        }
    )
    text = fields.String(metadata={"description": "命中的代码、名称或俗称"})


class IndustryHitSchema(IndustrySchema):
    """An entry of the list or of a search."""

    match = fields.Nested(
        IndustryMatchSchema,
        allow_none=True,
        metadata={"description": "为什么与 q 匹配；没有 q 时为 null"},
    )


class IndustryQueryArgsSchema(BaseSchema):
    """Filters, search and paging of the industry list."""

    q = Text(
        validate=text(1, 50),
        metadata={
            "description": "name, code, common name or pinyin: 塑料, 注塑, 汽车零部件, C367, 3670, slzp",
            "example": "注塑",
        },
    )
    under = IndustryCode(metadata={"description": "只列出该代码及其下各级"})
    level = fields.String(validate=one_of(LEVELS))
    page = fields.Integer(load_default=1, validate=between(1, 10_000))
    per_page = fields.Integer(
        validate=between(1, 100),
        metadata={"description": f"每页条数；不填时列表全部返回，搜索（q）每页 {SEARCH_PAGE_SIZE} 条"},
    )


class IndustryListSchema(BaseSchema):
    """The industry list with the standard it follows."""

    standard = fields.String()
    amendment = fields.String()
    version = fields.String()
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer(allow_none=True, metadata={"description": "每页条数；null = 整个列表在一页中"})
    items = fields.List(fields.Nested(IndustryHitSchema))


class ScenarioSchema(BaseSchema):
    """One scenario with its group and sub-scenario tags."""

    code = fields.String()
    name = fields.String()
    constraint = fields.Boolean(metadata={"description": "约束性 (true) or 指导性 (false)"})
    group = fields.String()
    group_name = fields.String()
    sub_scenarios = fields.List(fields.String())


class ScenarioListSchema(BaseSchema):
    """The 16 scenarios with the indicator version."""

    name = fields.String()
    version = fields.String()
    source = fields.String()
    items = fields.List(fields.Nested(ScenarioSchema))
