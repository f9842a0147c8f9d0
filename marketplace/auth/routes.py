"""Sign-up, tokens, the caller's own account, and staff accounts."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from marketplace.auth import service
from marketplace.auth.schemas import (
    RegisterSchema,
    StaffAccountSchema,
    TokenRequestSchema,
    TokenSchema,
    UserSchema,
)
from marketplace.auth.security import authenticated, current_user
from marketplace.models import Role

blp = Blueprint("auth", __name__, url_prefix="/api/v1", description="账号与令牌")


@blp.route("/auth/register")
class Register(MethodView):
    """Self-service sign-up."""

    @blp.arguments(RegisterSchema)
    @blp.response(201, UserSchema)
    def post(self, data):
        """Register a provider or enterprise account."""
        return service.create_account(**data)


@blp.route("/auth/token")
class Token(MethodView):
    """Credentials for a token."""

    @blp.arguments(TokenRequestSchema)
    @blp.response(200, TokenSchema)
    def post(self, data):
        """Get a signed access token that expires."""
        return service.authenticate(**data)


@blp.route("/auth/me")
class Me(MethodView):
    """The caller's own account."""

    @authenticated(blp)
    @blp.response(200, UserSchema)
    def get(self):
        """Show the signed-in account."""
        return current_user()


@blp.route("/accounts")
class Accounts(MethodView):
    """Staff accounts, created by admins."""

    @authenticated(blp, Role.ADMIN)
    @blp.arguments(StaffAccountSchema)
    @blp.response(201, UserSchema)
    def post(self, data):
        """Create a city-office or admin account (admins only)."""
        return service.create_account(**data)
