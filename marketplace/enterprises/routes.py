"""Enterprise profile endpoints."""

from __future__ import annotations

from flask.views import MethodView

from marketplace.auth.security import authenticated, current_user
from marketplace.common.routes import Blueprint, versioned
from marketplace.enterprises import service
from marketplace.enterprises.schemas import (
    EnterprisePageSchema,
    EnterpriseQueryArgsSchema,
    EnterpriseSchema,
    TierVerificationSchema,
)
from marketplace.models import Role

blp = Blueprint("enterprises", __name__, url_prefix="/api/v1/enterprises", description="企业档案（私密）")


@blp.route("")
class Enterprises(MethodView):
    """Enterprise profiles."""

    @authenticated(blp)
    @blp.arguments(EnterpriseQueryArgsSchema, location="query")
    @blp.response(200, EnterprisePageSchema)
    def get(self, args):
        """列出企业资料

        管理员看到全部，城市主管部门看到本市的，企业只看到自己的。可按城市、行业（含下级）、规模、
        梯度等筛选，分页返回。

        ---

        List profiles: admins see all, a city office its city, an enterprise its own.
        """
        return service.list_enterprises(current_user(), args)

    @authenticated(blp, Role.ENTERPRISE)
    @blp.arguments(EnterpriseSchema)
    @blp.response(201, EnterpriseSchema)
    def post(self, data):
        """建立本企业资料（企业账号，限一次）

        梯度（tier）和数字化水平（digital_level）是自报值，由城市主管部门核实后另行记录，自报值不会显示为核
        实。

        ---

        Create the caller's enterprise profile (enterprise accounts, once).
        """
        return service.create_enterprise(current_user(), data)


@blp.route("/<int:enterprise_id>")
class EnterpriseById(MethodView):
    """One profile."""

    @authenticated(blp)
    @blp.response(200, EnterpriseSchema)
    @versioned(blp)
    def get(self, enterprise_id):
        """查看企业资料（本企业、本市主管部门或管理员）

        含自报和核实的梯度与等级。响应头 `ETag` 是当前版本。

        ---

        Get a profile (its owner, an admin, or its city's office), with its version as ETag.
        """
        return service.get_enterprise(current_user(), enterprise_id)

    @authenticated(blp)
    @blp.arguments(EnterpriseSchema(partial=True))
    @blp.response(200, EnterpriseSchema)
    @versioned(blp, write=True)
    def patch(self, data, enterprise_id, if_match):
        """修改企业资料（本企业或管理员）

        只需提交要修改的字段。带上 `If-Match` 可防止覆盖他人的修改。

        ---

        Update a profile (its owner or an admin); ``If-Match`` guards against lost updates.
        """
        return service.update_enterprise(current_user(), enterprise_id, data, if_match)


@blp.route("/<int:enterprise_id>/tier-verification")
class TierVerification(MethodView):
    """The tier the enterprise's city confirmed."""

    @authenticated(blp, Role.CITY_OFFICE, Role.ADMIN)
    @blp.arguments(TierVerificationSchema)
    @blp.response(200, EnterpriseSchema)
    def post(self, data, enterprise_id):
        """核实企业梯度（本市主管部门或管理员）

        记录核实的梯度、核实人和时间；企业自报的梯度保持不变。试点考核只认核实的梯度。

        ---

        Confirm the enterprise's tier (the office of its city, or an admin); the declared tier stays.
        """
        return service.verify_tier(current_user(), enterprise_id, data["tier"])
