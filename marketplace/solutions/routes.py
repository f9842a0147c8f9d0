"""Solution endpoints: listing, editing and the review lifecycle."""

from __future__ import annotations

from flask.views import MethodView

from marketplace.auth.security import authenticated, current_user, optionally_authenticated
from marketplace.common.routes import Blueprint, versioned
from marketplace.listings.routes import add_lifecycle_routes
from marketplace.models import Role
from marketplace.solutions import service
from marketplace.solutions.schemas import (
    SolutionPageSchema,
    SolutionQueryArgsSchema,
    SolutionSchema,
)

blp = Blueprint("solutions", __name__, url_prefix="/api/v1/solutions", description="数字化方案")


@blp.route("")
class Solutions(MethodView):
    """The solution catalog."""

    @optionally_authenticated(blp)
    @blp.arguments(SolutionQueryArgsSchema, location="query")
    @blp.response(200, SolutionPageSchema)
    def get(self, args):
        """List solutions: published ones, plus the caller's own in any state."""
        return service.list_solutions(current_user(), args)

    @authenticated(blp, Role.PROVIDER)
    @blp.arguments(SolutionSchema)
    @blp.response(201, SolutionSchema)
    def post(self, data):
        """Create a draft solution (provider accounts with a company profile)."""
        return service.create_solution(current_user(), data)


@blp.route("/<int:solution_id>")
class SolutionById(MethodView):
    """One solution."""

    @optionally_authenticated(blp)
    @blp.response(200, SolutionSchema)
    @versioned(blp)
    def get(self, solution_id):
        """Get a solution, with its version as ETag."""
        return service.get_solution(current_user(), solution_id)

    @authenticated(blp, Role.PROVIDER)
    @blp.arguments(SolutionSchema(partial=True))
    @blp.response(200, SolutionSchema)
    @versioned(blp, write=True)
    def patch(self, data, solution_id, if_match):
        """Edit an own solution; a published one goes back to review. ``If-Match`` prevents lost updates."""
        return service.update_solution(current_user(), solution_id, data, if_match)


@blp.route("/<int:solution_id>/outcome-claims/<int:index>/accept")
class AcceptClaim(MethodView):
    """City acceptance of one outcome claim."""

    @authenticated(blp)
    @blp.response(200, SolutionSchema)
    @versioned(blp, write=True)
    def post(self, solution_id, index, if_match):
        """Mark outcome claim ``index`` (from 0) city_accepted, recording who and when.

        Admins, and the office of a city where a published case used the solution.
        """
        return service.accept_claim(current_user(), solution_id, index, if_match)


add_lifecycle_routes(blp, SolutionSchema, service.transition_solution, "solution")
