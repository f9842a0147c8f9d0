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

    @blp.doc(summary="查找行业：按名称、代码、俗称或拼音首字母（如 塑料、注塑、汽车零部件、C3670、slzp）")
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
        """Get an industry by its code."""
        entry = taxonomy().industries.get(code)
        if entry is None:
            raise NotFound(f"未知的行业代码：{code}")
        return entry


@blp.route("/scenarios")
class Scenarios(MethodView):
    """The 16 scenarios of the 2024 digital-level indicator."""

    @blp.response(200, ScenarioListSchema)
    def get(self):
        """List the scenarios with their groups and sub-scenario tags."""
        tax = taxonomy()
        return {**tax.scenario_meta, "items": list(tax.scenarios.values())}
