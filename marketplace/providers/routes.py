"""Provider company endpoints."""

from __future__ import annotations

from flask.views import MethodView

from marketplace.auth.security import authenticated, current_user
from marketplace.common.routes import Blueprint, versioned
from marketplace.models import Role
from marketplace.providers import service
from marketplace.providers.schemas import ProviderPageSchema, ProviderQueryArgsSchema, ProviderSchema

blp = Blueprint("providers", __name__, url_prefix="/api/v1/providers", description="服务商")


@blp.route("")
class Providers(MethodView):
    """The provider directory."""

    @blp.arguments(ProviderQueryArgsSchema, location="query")
    @blp.response(200, ProviderPageSchema)
    def get(self, args):
        """列出服务商

        可按名称中的文字、省份和城市筛选，分页返回。不需要登录。

        ---

        List providers.
        """
        return service.list_providers(**args)

    @authenticated(blp, Role.PROVIDER)
    @blp.arguments(ProviderSchema)
    @blp.response(201, ProviderSchema)
    def post(self, data):
        """建立本公司的服务商资料（服务商账号，限一次）

        建立资料后才能发布方案。统一社会信用代码须有效（含校验位），城市须属于所填省份。

        ---

        Create the caller's provider company (provider accounts, once).
        """
        return service.create_provider(current_user(), data)


@blp.route("/<int:provider_id>")
class ProviderById(MethodView):
    """One provider."""

    @blp.response(200, ProviderSchema)
    @versioned(blp)
    def get(self, provider_id):
        """查看一个服务商

        响应头 `ETag` 是当前版本，修改时放入 `If-Match`。不需要登录。

        ---

        Get a provider, with its version as ETag.
        """
        return service.get_provider(provider_id)

    @authenticated(blp)
    @blp.arguments(ProviderSchema(partial=True))
    @blp.response(200, ProviderSchema)
    @versioned(blp, write=True)
    def patch(self, data, provider_id, if_match):
        """修改服务商资料（本公司或管理员）

        只需提交要修改的字段。带上 `If-Match`（读取时的 `ETag`）可防止覆盖他人的修改，版本不符返回 412。

        ---

        Update a provider (its owner or an admin); ``If-Match`` guards against lost updates.
        """
        return service.update_provider(current_user(), provider_id, data, if_match)
