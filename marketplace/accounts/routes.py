"""The caller's own data: ``GET /auth/me/export`` and ``DELETE /auth/me``."""

from __future__ import annotations

from flask.views import MethodView

from marketplace.accounts import service
from marketplace.accounts.schemas import AccountDeletionSchema, AccountExportSchema
from marketplace.auth.security import authenticated, current_user
from marketplace.common.routes import Blueprint

blp = Blueprint("accounts", __name__, url_prefix="/api/v1", description="个人数据：导出与注销账号")


@blp.route("/auth/me")
class Me(MethodView):
    """Deleting the signed-in account (its other operations are in ``marketplace.auth``)."""

    @authenticated(blp)
    @blp.arguments(AccountDeletionSchema)
    @blp.response(204)
    def delete(self, data):
        """注销当前账号

        须提供当前密码确认（密码不对返回 422）。企业资料及与之相关的数据一并删除；
        服务商公司保留但去掉联系方式，
        其方案全部下架；推荐记录和行为记录删除。账号本身匿名化并停用，令牌全部失效，该邮箱可以重新注册。

        ---

        Delete the signed-in account, confirmed by its password (see README, Roles).
        """
        service.delete_account(current_user(), data["password"])


@blp.route("/auth/me/export")
class Export(MethodView):
    """A copy of the caller's data."""

    @authenticated(blp)
    @blp.response(200, AccountExportSchema)
    def get(self):
        """导出本人数据

        导出当前账号的全部数据：账号、公司或企业资料、方案、案例、咨询（含回复）、评测、收到的推荐和行为记录
        。

        ---

        Export the account, its profile, listings, inquiries, assessments and recommendation history.
        """
        return service.export_account(current_user())
