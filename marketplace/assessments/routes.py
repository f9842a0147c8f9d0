"""Assessment endpoints: the indicator, and an enterprise's assessments."""

from __future__ import annotations

from flask.views import MethodView

from marketplace.assessments import service
from marketplace.assessments.schemas import (
    AssessmentPageSchema,
    AssessmentQueryArgsSchema,
    AssessmentSchema,
    IndicatorSchema,
)
from marketplace.auth.security import authenticated, current_user
from marketplace.common.routes import Blueprint

blp = Blueprint("assessments", __name__, url_prefix="/api/v1", description="数字化水平评测")


@blp.route("/indicators/digital-level")
class Indicator(MethodView):
    """The indicator the assessments follow."""

    @blp.response(200, IndicatorSchema)
    def get(self):
        """Get the scored items, the 16 scenarios, the level rule and the pilot targets."""
        return service.indicator()


@blp.route("/enterprises/<int:enterprise_id>/assessments")
class Assessments(MethodView):
    """The assessment history of one enterprise."""

    @authenticated(blp)
    @blp.arguments(AssessmentQueryArgsSchema, location="query")
    @blp.response(200, AssessmentPageSchema)
    def get(self, args, enterprise_id):
        """List the assessments, newest first (the enterprise, its city's office, admins)."""
        return service.list_assessments(current_user(), enterprise_id, args)

    @authenticated(blp)
    @blp.arguments(AssessmentSchema)
    @blp.response(201, AssessmentSchema)
    def post(self, data, enterprise_id):
        """Record an assessment and get the level and the gap to the next level.

        The enterprise records its own self-assessments; only its city's office or an admin records
        on-site assessments (现场评定).
        """
        return service.record_assessment(current_user(), enterprise_id, data)
