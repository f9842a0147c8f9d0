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
        """List providers."""
        return service.list_providers(**args)

    @authenticated(blp, Role.PROVIDER)
    @blp.arguments(ProviderSchema)
    @blp.response(201, ProviderSchema)
    def post(self, data):
        """Create the caller's provider company (provider accounts, once)."""
        return service.create_provider(current_user(), data)


@blp.route("/<int:provider_id>")
class ProviderById(MethodView):
    """One provider."""

    @blp.response(200, ProviderSchema)
    @versioned(blp)
    def get(self, provider_id):
        """Get a provider, with its version as ETag."""
        return service.get_provider(provider_id)

    @authenticated(blp)
    @blp.arguments(ProviderSchema(partial=True))
    @blp.response(200, ProviderSchema)
    @versioned(blp, write=True)
    def patch(self, data, provider_id, if_match):
        """Update a provider (its owner or an admin); ``If-Match`` guards against lost updates."""
        return service.update_provider(current_user(), provider_id, data, if_match)
