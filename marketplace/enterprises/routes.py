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
        """List profiles: admins see all, a city office its city, an enterprise its own."""
        return service.list_enterprises(current_user(), args)

    @authenticated(blp, Role.ENTERPRISE)
    @blp.arguments(EnterpriseSchema)
    @blp.response(201, EnterpriseSchema)
    def post(self, data):
        """Create the caller's enterprise profile (enterprise accounts, once)."""
        return service.create_enterprise(current_user(), data)


@blp.route("/<int:enterprise_id>")
class EnterpriseById(MethodView):
    """One profile."""

    @authenticated(blp)
    @blp.response(200, EnterpriseSchema)
    @versioned(blp)
    def get(self, enterprise_id):
        """Get a profile (its owner, an admin, or its city's office), with its version as ETag."""
        return service.get_enterprise(current_user(), enterprise_id)

    @authenticated(blp)
    @blp.arguments(EnterpriseSchema(partial=True))
    @blp.response(200, EnterpriseSchema)
    @versioned(blp, write=True)
    def patch(self, data, enterprise_id, if_match):
        """Update a profile (its owner or an admin); ``If-Match`` guards against lost updates."""
        return service.update_enterprise(current_user(), enterprise_id, data, if_match)


@blp.route("/<int:enterprise_id>/tier-verification")
class TierVerification(MethodView):
    """The tier the enterprise's city confirmed."""

    @authenticated(blp, Role.CITY_OFFICE, Role.ADMIN)
    @blp.arguments(TierVerificationSchema)
    @blp.response(200, EnterpriseSchema)
    def post(self, data, enterprise_id):
        """Confirm the enterprise's tier (the office of its city, or an admin); the declared tier stays."""
        return service.verify_tier(current_user(), enterprise_id, data["tier"])
