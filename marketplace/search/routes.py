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
        """搜索方案

        按检索词匹配标题、简介、标签和行业俗称，可叠加行业、场景、交付方式、城市、价格等筛选，
        返回分面计数。`price_max_cny` 筛的是最低报价（最低报价 ≤ 该值）。最多翻阅前 10000 条。
        搜索索引不可用时返回 503。

        ---

        Search solutions with filters and disjunctive facet counts.
        """
        return service.search_solutions(args)


@blp.route("/search/cases")
class SearchCases(MethodView):
    """Full-text search over published benchmark cases."""

    @optionally_authenticated(blp)
    @may_answer(blp, 503)
    @blp.arguments(SearchArgsSchema, location="query")
    @blp.response(200, CaseSearchSchema)
    def get(self, args):
        """搜索样板案例

        筛选和分面同方案搜索；推广中的案例带有推广标签，企业用户所在城市正在推广的样板标有 `promoted_in_you
        r_city`。搜索索引不可用时返回 503。

        ---

        Search cases; running promotions are labelled.
        """
        return service.search_cases(current_user(), args)


@blp.route("/suggest")
class Suggest(MethodView):
    """Completions while typing."""

    @may_answer(blp, 503)
    @blp.arguments(SuggestArgsSchema, location="query")
    @blp.response(200, SuggestSchema)
    def get(self, args):
        """输入补全

        根据已发布方案和案例的标题、标签以及行业词表补全输入的开头。

        ---

        Complete a prefix from titles, tags and lexicon terms.
        """
        return {"items": service.suggest(args["prefix"], args["limit"])}
