"""Read-only taxonomy endpoints."""

from __future__ import annotations

from flask.views import MethodView

from marketplace.common.routes import Blueprint
from marketplace.errors import NotFound
from marketplace.taxonomy.schemas import (
    IndustryListSchema,
    IndustryQueryArgsSchema,
    IndustrySchema,
    ScenarioListSchema,
)
from marketplace.taxonomy.service import search_industries, taxonomy

blp = Blueprint("taxonomy", __name__, url_prefix="/api/v1", description="行业分类与业务场景（只读）")


@blp.route("/industries")
class Industries(MethodView):
    """The manufacturing section of GB/T 4754-2017."""

    @blp.doc(
        summary="查找行业：按名称、代码、俗称或拼音首字母（如 塑料、注塑、汽车零部件、C3670、slzp）",
        description="不带 q 时按标准顺序列出 GB/T 4754-2017 制造业（门类 C）的行业；带 q 时最匹配的在前："
        "完全一致优先于开头一致，开头一致优先于包含。under 只列出某代码及其下各级，level 只列出某一层级。"
        "俗称（如 注塑）来自平台维护的行业俗称表。不需要登录。",
    )
    @blp.arguments(IndustryQueryArgsSchema, location="query")
    @blp.response(200, IndustryListSchema)
    def get(self, args):
        """List industries, or find them with ``q``: best match first, exact before prefix before contains.

        ``under`` keeps a code and everything below it, ``level`` one level. Common names that no
        entry's name contains (注塑) come from the versioned table in ``seed_data/taxonomy``.
        """
        return search_industries(**args)


@blp.route("/industries/<string:code>")
class IndustryByCode(MethodView):
    """One industry entry."""

    @blp.response(200, IndustrySchema)
    def get(self, code):
        """按代码查看一个行业

        返回行业代码、名称、层级和上级代码。代码为 GB/T 4754-2017 制造业（门类 C）任一层级。不需要登录。

        ---

        Get an industry by its code.
        """
        entry = taxonomy().industries.get(code)
        if entry is None:
            raise NotFound(f"未知的行业代码：{code}")
        return entry


@blp.route("/scenarios")
class Scenarios(MethodView):
    """The 16 scenarios of the 2024 digital-level indicator."""

    @blp.response(200, ScenarioListSchema)
    def get(self):
        """列出 16 个数字化场景

        每个场景含分组、是否为约束性场景和子场景标签。方案、案例、评测和推荐中的场景代码都取自这里。
        不需要登录。

        ---

        List the scenarios with their groups and sub-scenario tags.
        """
        tax = taxonomy()
        return {**tax.scenario_meta, "items": list(tax.scenarios.values())}
