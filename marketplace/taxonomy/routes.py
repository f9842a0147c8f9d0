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
from marketplace.taxonomy.service import list_industries, taxonomy

blp = Blueprint("taxonomy", __name__, url_prefix="/api/v1", description="行业分类与业务场景（只读）")


@blp.route("/industries")
class Industries(MethodView):
    """The manufacturing section of GB/T 4754-2017."""

    @blp.arguments(IndustryQueryArgsSchema, location="query")
    @blp.response(200, IndustryListSchema)
    def get(self, args):
        """List industries; ``under`` gives a code and everything below it."""
        items = list_industries(**args)
        meta = taxonomy().industry_meta
        return {**meta, "total": len(items), "items": items}


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
