"""Search and suggestion endpoints."""

from __future__ import annotations

from flask.views import MethodView

from marketplace.auth.security import current_user, optionally_authenticated
from marketplace.common.routes import Blueprint
from marketplace.errors import may_answer
from marketplace.search import service
from marketplace.search.schemas import (
    CaseSearchSchema,
    SearchArgsSchema,
    SolutionSearchSchema,
    SuggestArgsSchema,
    SuggestSchema,
)

blp = Blueprint("search", __name__, url_prefix="/api/v1", description="全文检索与联想")


@blp.route("/search/solutions")
class SearchSolutions(MethodView):
    """Full-text search over published solutions."""

    @may_answer(blp, 503)
    @blp.arguments(SearchArgsSchema, location="query")
    @blp.response(200, SolutionSearchSchema)
    def get(self, args):
        """Search solutions with filters and disjunctive facet counts."""
        return service.search_solutions(args)


@blp.route("/search/cases")
class SearchCases(MethodView):
    """Full-text search over published benchmark cases."""

    @optionally_authenticated(blp)
    @may_answer(blp, 503)
    @blp.arguments(SearchArgsSchema, location="query")
    @blp.response(200, CaseSearchSchema)
    def get(self, args):
        """Search cases; running promotions are labelled."""
        return service.search_cases(current_user(), args)


@blp.route("/suggest")
class Suggest(MethodView):
    """Completions while typing."""

    @may_answer(blp, 503)
    @blp.arguments(SuggestArgsSchema, location="query")
    @blp.response(200, SuggestSchema)
    def get(self, args):
        """Complete a prefix from titles, tags and lexicon terms."""
        return {"items": service.suggest(args["prefix"], args["limit"])}
