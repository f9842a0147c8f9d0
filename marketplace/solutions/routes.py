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
        """列出方案

        不登录时只列出已发布的方案；服务商还能看到自己任何状态的方案（`mine=true` 只看自己的）
        。可按行业（含下级）、场景、标签、交付方式、服务商、状态、价格和部署周期筛选。注意 `price_max_cny`
        筛的是最低报价：列出最低报价不高于该值的方案。按更新时间倒序分页返回。

        ---

        List solutions: published ones, plus the caller's own in any state.
        """
        return service.list_solutions(current_user(), args)

    @authenticated(blp, Role.PROVIDER)
    @blp.arguments(SolutionSchema)
    @blp.response(201, SolutionSchema)
    def post(self, data):
        """创建方案（草稿）

        须为已建立公司资料的服务商账号。新方案是草稿，提交（submit）并经管理员审核通过后才对外展示。
        声称的成效数字须注明来源，不能自行标记为城市验收（city_accepted）。

        ---

        Create a draft solution (provider accounts with a company profile).
        """
        return service.create_solution(current_user(), data)


@blp.route("/<int:solution_id>")
class SolutionById(MethodView):
    """One solution."""

    @optionally_authenticated(blp)
    @blp.response(200, SolutionSchema)
    @versioned(blp)
    def get(self, solution_id):
        """查看一个方案

        已发布的方案所有人可见；未发布的只有其服务商和管理员可见，其他人得到 404。响应头 `ETag` 是当前版本。

        ---

        Get a solution, with its version as ETag.
        """
        return service.get_solution(current_user(), solution_id)

    @authenticated(blp, Role.PROVIDER)
    @blp.arguments(SolutionSchema(partial=True))
    @blp.response(200, SolutionSchema)
    @versioned(blp, write=True)
    def patch(self, data, solution_id, if_match):
        """修改本公司的方案

        只需提交要修改的字段；列表字段整体替换。**修改已发布的方案会使其回到待审核，重新审核通过前不对外展示
        。** 待审核和已下架的方案不能修改（409）。带上 `If-Match` 可防止覆盖他人的修改。

        ---

        Edit an own solution; a published one goes back to review. ``If-Match`` prevents lost updates.
        """
        return service.update_solution(current_user(), solution_id, data, if_match)


@blp.route("/<int:solution_id>/outcome-claims/<int:index>/accept")
class AcceptClaim(MethodView):
    """City acceptance of one outcome claim."""

    @authenticated(blp)
    @blp.response(200, SolutionSchema)
    @versioned(blp, write=True)
    def post(self, solution_id, index, if_match):
        """将方案的一条成效数字标记为城市验收

        `index` 为 outcome_claims 中的位置（从 0 开始）。管理员，以及有已发布案例使用了该方案的城市的主管部
        门可以标记；记录标记人和时间。服务商修改该条数字后，验收标记失效。

        ---

        Mark outcome claim ``index`` (from 0) city_accepted, recording who and when.

        Admins, and the office of a city where a published case used the solution.
        """
        return service.accept_claim(current_user(), solution_id, index, if_match)


add_lifecycle_routes(blp, SolutionSchema, service.transition_solution, "方案")
