"""Sign-up, tokens, the caller's own account, and staff accounts."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from marketplace.auth import service
from marketplace.auth.limits import limiter
from marketplace.auth.schemas import (
    AccountQueryArgsSchema,
    PasswordChangeSchema,
    RegisterSchema,
    StaffAccountSchema,
    TokenRequestSchema,
    TokenSchema,
    UserSchema,
)
from marketplace.auth.security import authenticated, current_user
from marketplace.common.routes import Blueprint
from marketplace.common.schemas import page_schema
from marketplace.errors import may_answer
from marketplace.models import Role

blp = Blueprint("auth", __name__, url_prefix="/api/v1", description="账号与令牌")


def auth_rate_limit() -> str:
    """The per-address limit of sign-up, sign-in and account creation."""
    return current_app.config["AUTH_RATE_LIMIT"]


def registration_conflict_limit() -> str:
    """The per-address limit of sign-ups answered 409 (the e-mail is registered)."""
    return current_app.config["REGISTRATION_CONFLICT_RATE_LIMIT"]


def is_conflict(response) -> bool:
    """Whether a response tells that the e-mail is already registered."""
    return response.status_code == 409


@blp.route("/auth/register")
class Register(MethodView):
    """Self-service sign-up."""

    @limiter.limit(auth_rate_limit)
    @limiter.limit(registration_conflict_limit, deduct_when=is_conflict)
    @may_answer(blp, 429)
    @blp.arguments(RegisterSchema)
    @blp.response(201, UserSchema)
    def post(self, data):
        """注册服务商或企业账号

        注册后用 `POST /api/v1/auth/token` 登录。城市主管部门和管理员账号不能自行注册，由管理员创建。
        密码至少 10 个字符，不能是常见密码，不能包含邮箱或账号名称。有频率限制。

        ---

        Register a provider or enterprise account.
        """
        return service.create_account(**data)


@blp.route("/auth/token")
class Token(MethodView):
    """Credentials for a token."""

    @limiter.limit(auth_rate_limit)
    @may_answer(blp, 401, 429)
    @blp.arguments(TokenRequestSchema)
    @blp.response(200, TokenSchema)
    def post(self, data):
        """登录：用邮箱和密码换取访问令牌

        令牌放在之后请求的 `Authorization: Bearer <令牌>` 请求头中，有效期见 `expires_in`（默认 3600 秒）
        。邮箱或密码不对返回 401；同一邮箱连续失败 5 次后会被临时锁定（429，带 `Retry-After`）
        。

        ---

        Get a signed access token that expires.
        """
        return service.authenticate(**data)


@blp.route("/auth/me")
class Me(MethodView):
    """The caller's own account."""

    @authenticated(blp)
    @blp.response(200, UserSchema)
    def get(self):
        """查看当前登录的账号

        返回账号的角色、名称、所属城市（城市主管部门）以及公司或企业编号。

        ---

        Show the signed-in account.
        """
        return current_user()


@blp.route("/auth/logout")
class Logout(MethodView):
    """Signing out."""

    @authenticated(blp)
    @blp.response(204)
    def post(self):
        """退出登录

        使本账号已签发的全部令牌失效（所有设备上的会话）。

        ---

        Revoke every token of the signed-in account (all its sessions).
        """
        service.logout(current_user())


@blp.route("/auth/me/password")
class Password(MethodView):
    """The caller's password."""

    @authenticated(blp)
    @blp.arguments(PasswordChangeSchema)
    @blp.response(200, TokenSchema)
    def post(self, data):
        """修改密码

        须提供当前密码。修改后之前签发的令牌全部失效，响应中返回新令牌。

        ---

        Change the password (the current one required); earlier tokens stop, a new one is returned.
        """
        return service.change_password(current_user(), data["current_password"], data["new_password"])


@blp.route("/accounts")
class Accounts(MethodView):
    """Accounts: admins list them and create staff accounts."""

    @authenticated(blp, Role.ADMIN)
    @blp.arguments(AccountQueryArgsSchema, location="query")
    @blp.response(200, page_schema(UserSchema))
    def get(self, args):
        """列出账号（仅管理员）

        按创建时间倒序，可按角色和邮箱中的文字筛选，分页返回。

        ---

        List accounts, newest first, by role and part of the e-mail (admins only).
        """
        return service.list_accounts(current_user(), args)

    @limiter.limit(auth_rate_limit)
    @may_answer(blp, 429)
    @authenticated(blp, Role.ADMIN)
    @blp.arguments(StaffAccountSchema)
    @blp.response(201, UserSchema)
    def post(self, data):
        """创建城市主管部门或管理员账号（仅管理员）

        城市主管部门账号须指定所管辖的城市，只能管理该城市的数据。密码规则同注册。

        ---

        Create a city-office or admin account (admins only).
        """
        return service.create_account(**data)


@blp.route("/accounts/<int:account_id>/disable")
class DisableAccount(MethodView):
    """Disabling an account."""

    @authenticated(blp, Role.ADMIN)
    @blp.response(200, UserSchema)
    def post(self, account_id):
        """停用账号（仅管理员）

        停用后该账号不能登录，已签发的令牌立即失效。

        ---

        Disable an account: its tokens stop working and it cannot sign in (admins only).
        """
        return service.set_account_active(current_user(), account_id, False)


@blp.route("/accounts/<int:account_id>/enable")
class EnableAccount(MethodView):
    """Enabling an account again."""

    @authenticated(blp, Role.ADMIN)
    @blp.response(200, UserSchema)
    def post(self, account_id):
        """启用账号（仅管理员）

        被停用的账号可以重新登录；停用前的令牌仍然无效。

        ---

        Let a disabled account sign in again; its old tokens stay revoked (admins only).
        """
        return service.set_account_active(current_user(), account_id, True)
