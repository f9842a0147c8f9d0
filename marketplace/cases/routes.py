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
        """列出样板案例

        不登录时只列出已发布的案例；作者还能看到自己的，城市主管部门还能看到本市待审核的。可按城市、
        省份、行业（含下级）、场景、改造后等级和是否推广中筛选，分页返回。

        ---

        List cases: published ones, plus those the caller authors or reviews.
        """
        return service.list_cases(current_user(), args)

    @authenticated(blp)
    @blp.arguments(CaseSchema)
    @blp.response(201, CaseSchema)
    def post(self, data):
        """撰写样板案例

        城市主管部门（只能写本市的案例）和管理员撰写的案例直接发布；服务商撰写的是草稿，提交后由案例所在城市
        的主管部门或管理员审核。

        ---

        Create a case; a city office's or admin's is published at once, a provider's is a draft.
        """
        return service.create_case(current_user(), data)


@blp.route("/<int:case_id>")
class CaseById(MethodView):
    """One case."""

    @optionally_authenticated(blp)
    @blp.response(200, CaseSchema)
    @versioned(blp)
    def get(self, case_id):
        """查看一个样板案例

        已发布的案例所有人可见，含推广信息；未发布的只有作者和审核者可见。响应头 `ETag` 是当前版本。

        ---

        Get a case, with its version as ETag.
        """
        return service.get_case(current_user(), case_id)

    @authenticated(blp)
    @blp.arguments(CaseSchema(partial=True))
    @blp.response(200, CaseSchema)
    @versioned(blp, write=True)
    def patch(self, data, case_id, if_match):
        """修改样板案例（作者、本市主管部门或管理员）

        只需提交要修改的字段。服务商修改已发布的案例会使其回到待审核，重新审核通过前不对外展示；
        城市主管部门和管理员的修改直接生效。带上 `If-Match` 可防止覆盖他人的修改。

        ---

        Edit a case (its author, its city office or an admin); ``If-Match`` guards against lost updates.
        """
        return service.update_case(current_user(), case_id, data, if_match)


@blp.route("/<int:case_id>/promotions")
class Promotions(MethodView):
    """Promotions of one case."""

    @authenticated(blp)
    @blp.arguments(PromotionSchema)
    @blp.response(201, PromotionSchema)
    def post(self, data, case_id):
        """推广本市的样板案例（城市主管部门）

        只能推广本市已发布的案例。推广期最长 366 天，结束日期不能已过，同一案例的推广时段不能重叠（409）
        。推广期内案例带有标签，如 `福州市主管部门推广`。

        ---

        Promote a published case of the caller's city for a bounded time.
        """
        return service.promote_case(current_user(), case_id, data)


@blp.route("/<int:case_id>/promotions/<int:promotion_id>/end")
class EndPromotion(MethodView):
    """End a promotion early."""

    @authenticated(blp)
    @blp.response(200, PromotionSchema)
    def post(self, case_id, promotion_id):
        """提前结束推广

        本市主管部门或管理员可提前结束一次推广；已结束的再结束返回 409。

        ---

        End a running promotion before its end date.
        """
        return service.end_promotion(current_user(), case_id, promotion_id)


@blp.route("/<int:case_id>/metrics/<int:index>/accept")
class AcceptMetric(MethodView):
    """City acceptance of one metric."""

    @authenticated(blp)
    @blp.response(200, CaseSchema)
    @versioned(blp, write=True)
    def post(self, case_id, index, if_match):
        """将案例的一条成效指标标记为城市验收

        `index` 为 metrics 中的位置（从 0 开始）。案例所在城市的主管部门或管理员可以标记；记录标记人和时间。

        ---

        Mark metric ``index`` (from 0) city_accepted, recording who and when (its city office, admins).
        """
        return service.accept_metric(current_user(), case_id, index, if_match)


add_lifecycle_routes(blp, CaseSchema, service.transition_case, "案例")
