"""Recommendation, similar-item and feedback endpoints."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from marketplace.auth.limits import limiter
from marketplace.auth.security import authenticated, current_user, optionally_authenticated
from marketplace.common.routes import Blueprint
from marketplace.errors import may_answer
from marketplace.recommendations import service
from marketplace.recommendations.schemas import (
    EventSchema,
    LimitArgsSchema,
    RecommendationRequestSchema,
    RecommendationsSchema,
)

blp = Blueprint("recommendations", __name__, url_prefix="/api/v1", description="方案与样板推荐")


@blp.route("/recommendations")
class Recommendations(MethodView):
    """Recommendations for a described need (public, rate-limited)."""

    @optionally_authenticated(blp)
    @limiter.limit(lambda: current_app.config["RECOMMENDATION_RATE_LIMIT"])
    @may_answer(blp, 429, 503)
    @blp.arguments(RecommendationRequestSchema)
    @blp.response(200, RecommendationsSchema)
    def post(self, data):
        """Recommend solutions and benchmark cases, each with plain reasons."""
        limit = data.pop("limit")
        return service.recommend(service.profile_from_args(data), limit, current_user())


@blp.route("/enterprises/<int:enterprise_id>/recommendations")
class EnterpriseRecommendations(MethodView):
    """Recommendations for a stored enterprise profile."""

    @authenticated(blp)
    @may_answer(blp, 503)
    @blp.arguments(LimitArgsSchema, location="query")
    @blp.response(200, RecommendationsSchema)
    def get(self, args, enterprise_id):
        """Recommend for a profile (its owner, admins, and its city's office)."""
        return service.recommend_for_enterprise(current_user(), enterprise_id, args["limit"])


@blp.route("/solutions/<int:solution_id>/similar")
class SimilarSolutions(MethodView):
    """Items similar to a solution."""

    @optionally_authenticated(blp)
    @may_answer(blp, 503)
    @blp.arguments(LimitArgsSchema, location="query")
    @blp.response(200, RecommendationsSchema)
    def get(self, args, solution_id):
        """Solutions and cases like this published solution."""
        return service.similar("solution", solution_id, current_user(), args["limit"])


@blp.route("/cases/<int:case_id>/similar")
class SimilarCases(MethodView):
    """Items similar to a case."""

    @optionally_authenticated(blp)
    @may_answer(blp, 503)
    @blp.arguments(LimitArgsSchema, location="query")
    @blp.response(200, RecommendationsSchema)
    def get(self, args, case_id):
        """Solutions and cases like this published case."""
        return service.similar("case", case_id, current_user(), args["limit"])


@blp.route("/events")
class Events(MethodView):
    """Feedback on recommendation lists."""

    @optionally_authenticated(blp)
    @limiter.limit(lambda: current_app.config["EVENT_RATE_LIMIT"])
    @may_answer(blp, 429)
    @blp.arguments(EventSchema)
    @blp.response(201, EventSchema)
    def post(self, data):
        """Log an impression, click, favourite, inquiry or not-interested on a served item."""
        return service.log_event(current_user(), data)
