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
        """推荐方案和样板案例

        根据行业、需求描述、场景、预算和所在城市推荐，每条附中文推荐理由，并给出达到目标等级的场景规划。
        不需要登录；返回的 `request_id` 用于关联后续咨询和行为事件。有频率限制。

        ---

        Recommend solutions and benchmark cases, each with plain reasons.
        """
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
        """为一家企业推荐

        按企业资料和最近一次评测推荐方案和样板案例。本企业、本市主管部门和管理员可调用。

        ---

        Recommend for a profile (its owner, admins, and its city's office).
        """
        return service.recommend_for_enterprise(current_user(), enterprise_id, args["limit"])


@blp.route("/solutions/<int:solution_id>/similar")
class SimilarSolutions(MethodView):
    """Items similar to a solution."""

    @optionally_authenticated(blp)
    @may_answer(blp, 503)
    @blp.arguments(LimitArgsSchema, location="query")
    @blp.response(200, RecommendationsSchema)
    def get(self, args, solution_id):
        """与该方案相似的方案和案例

        只对已发布的方案可用。

        ---

        Solutions and cases like this published solution.
        """
        return service.similar("solution", solution_id, current_user(), args["limit"])


@blp.route("/cases/<int:case_id>/similar")
class SimilarCases(MethodView):
    """Items similar to a case."""

    @optionally_authenticated(blp)
    @may_answer(blp, 503)
    @blp.arguments(LimitArgsSchema, location="query")
    @blp.response(200, RecommendationsSchema)
    def get(self, args, case_id):
        """与该案例相似的方案和案例

        只对已发布的案例可用。

        ---

        Solutions and cases like this published case.
        """
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
        """上报推荐条目上的用户行为

        曝光、点击、收藏、咨询或不感兴趣，用于改进推荐。须带推荐返回的 `request_id`。不需要登录；
        有频率限制。

        ---

        Log an impression, click, favourite, inquiry or not-interested on a served item.
        """
        return service.log_event(current_user(), data)
