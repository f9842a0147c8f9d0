"""Benchmark case endpoints, with review and promotions."""

from __future__ import annotations

from flask.views import MethodView

from marketplace.auth.security import authenticated, current_user, optionally_authenticated
from marketplace.cases import service
from marketplace.cases.schemas import CasePageSchema, CaseQueryArgsSchema, CaseSchema, PromotionSchema
from marketplace.common.routes import Blueprint, versioned
from marketplace.listings.routes import add_lifecycle_routes

blp = Blueprint("cases", __name__, url_prefix="/api/v1/cases", description="转型样板案例")


@blp.route("")
class Cases(MethodView):
    """The benchmark cases."""

    @optionally_authenticated(blp)
    @blp.arguments(CaseQueryArgsSchema, location="query")
    @blp.response(200, CasePageSchema)
    def get(self, args):
        """List cases: published ones, plus those the caller authors or reviews."""
        return service.list_cases(current_user(), args)

    @authenticated(blp)
    @blp.arguments(CaseSchema)
    @blp.response(201, CaseSchema)
    def post(self, data):
        """Create a case; a city office's or admin's is published at once, a provider's is a draft."""
        return service.create_case(current_user(), data)


@blp.route("/<int:case_id>")
class CaseById(MethodView):
    """One case."""

    @optionally_authenticated(blp)
    @blp.response(200, CaseSchema)
    @versioned(blp)
    def get(self, case_id):
        """Get a case, with its version as ETag."""
        return service.get_case(current_user(), case_id)

    @authenticated(blp)
    @blp.arguments(CaseSchema(partial=True))
    @blp.response(200, CaseSchema)
    @versioned(blp, write=True)
    def patch(self, data, case_id, if_match):
        """Edit a case (its author, its city office or an admin); ``If-Match`` guards against lost updates."""
        return service.update_case(current_user(), case_id, data, if_match)


@blp.route("/<int:case_id>/promotions")
class Promotions(MethodView):
    """Promotions of one case."""

    @authenticated(blp)
    @blp.arguments(PromotionSchema)
    @blp.response(201, PromotionSchema)
    def post(self, data, case_id):
        """Promote a published case of the caller's city for a bounded time."""
        return service.promote_case(current_user(), case_id, data)


@blp.route("/<int:case_id>/promotions/<int:promotion_id>/end")
class EndPromotion(MethodView):
    """End a promotion early."""

    @authenticated(blp)
    @blp.response(200, PromotionSchema)
    def post(self, case_id, promotion_id):
        """End a running promotion before its end date."""
        return service.end_promotion(current_user(), case_id, promotion_id)


@blp.route("/<int:case_id>/metrics/<int:index>/accept")
class AcceptMetric(MethodView):
    """City acceptance of one metric."""

    @authenticated(blp)
    @blp.response(200, CaseSchema)
    @versioned(blp, write=True)
    def post(self, case_id, index, if_match):
        """Mark metric ``index`` (from 0) city_accepted, recording who and when (its city office, admins)."""
        return service.accept_metric(current_user(), case_id, index, if_match)


add_lifecycle_routes(blp, CaseSchema, service.transition_case, "case")
