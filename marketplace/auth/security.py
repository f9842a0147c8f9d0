"""Password hashing, signed expiring tokens, and the caller of the current request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import wraps

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, current_app, g, request

from marketplace.common.schemas import MAX_ID
from marketplace.errors import Forbidden, Unauthorized
from marketplace.extensions import db
from marketplace.models import Role, User

TOKEN_ALGORITHM = "HS256"


def init_security(app: Flask) -> None:
    """Create the app's password hasher; tests may ask for cheap parameters."""
    if app.config.get("FAST_PASSWORD_HASHING"):
        hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    else:
        hasher = PasswordHasher()
    app.extensions["password_hasher"] = hasher


def hash_password(password: str) -> str:
    """Hash a password with argon2id."""
    return current_app.extensions["password_hasher"].hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Check a password against its hash without raising."""
    try:
        return current_app.extensions["password_hasher"].verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def spend_a_verification(password: str) -> None:
    """Verify ``password`` against a hash of nothing, so that a sign-in for an unknown or disabled
    account takes as long as a wrong password (306 ms against 6 ms told who has an account)."""
    dummy = current_app.extensions.get("password_dummy_hash")
    if dummy is None:
        dummy = current_app.extensions["password_dummy_hash"] = hash_password("no account has this password")
    verify_password(dummy, password)


def created_stamp(user: User) -> int:
    """The account's creation time in microseconds: with the id, what no later account can share."""
    return round(user.created_at.timestamp() * 1_000_000)


def issue_token(user: User) -> dict:
    """Sign an access token for ``user``; returns the token response body.

    Besides the id (``sub``) it names the account's creation time (``cat``) and token version
    (``ver``): a token stops working when the version is raised (sign-out, password change,
    disabling) and can never authenticate another account that later gets the same id.
    """
    ttl = int(current_app.config["TOKEN_TTL_SECONDS"])
    now = datetime.now(UTC)
    claims = {
        "sub": str(user.id),
        "ver": user.token_version,
        "cat": created_stamp(user),
        "role": user.role.value,
        "iat": now,
        "exp": now + timedelta(seconds=ttl),
    }
    token = jwt.encode(claims, current_app.config["SECRET_KEY"], algorithm=TOKEN_ALGORITHM)
    return {"access_token": token, "token_type": "Bearer", "expires_in": ttl}


def _user_from_header(header: str) -> User:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("认证头格式应为：Bearer <token>")
    try:
        claims = jwt.decode(
            token,
            current_app.config["SECRET_KEY"],
            algorithms=[TOKEN_ALGORITHM],
            options={"require": ["exp", "sub", "ver", "cat"]},
        )
        user_id = int(claims["sub"])
    except jwt.ExpiredSignatureError as error:
        raise Unauthorized("登录已过期，请重新获取令牌") from error
    except (jwt.InvalidTokenError, ValueError, TypeError) as error:
        raise Unauthorized("令牌无效") from error
    user = db.session.get(User, user_id) if 0 < user_id <= MAX_ID else None
    if user is None or claims["cat"] != created_stamp(user):
        raise Unauthorized("账号不存在或已停用")
    if claims["ver"] != user.token_version:
        raise Unauthorized("令牌已失效，请重新登录")
    if not user.is_active:
        raise Unauthorized("账号不存在或已停用")
    return user


def current_user() -> User | None:
    """Return the authenticated caller, or None for an anonymous request.

    :raises Unauthorized: if an Authorization header is present but invalid or expired.
    """
    if "current_user" not in g:
        header = request.headers.get("Authorization")
        g.current_user = _user_from_header(header) if header else None
    return g.current_user


def require_user(*roles: Role) -> User:
    """Return the caller, who must be signed in and, if ``roles`` are given, hold one.

    :raises Unauthorized: for an anonymous caller.
    :raises Forbidden: for a caller with another role.
    """
    user = current_user()
    if user is None:
        raise Unauthorized()
    if roles and user.role not in roles:
        names = "、".join(ROLE_NAMES[role] for role in roles)
        raise Forbidden(f"此操作仅限{names}")
    return user


ROLE_NAMES = {
    Role.ADMIN: "平台管理员",
    Role.CITY_OFFICE: "城市主管部门",
    Role.PROVIDER: "服务商",
    Role.ENTERPRISE: "企业",
}

BEARER_SECURITY = [{"bearerAuth": []}]
OPTIONAL_BEARER_SECURITY = [{}, {"bearerAuth": []}]


def authenticated(blp, *roles: Role):
    """Require a signed-in caller (holding one of ``roles``, if given) before the body is even parsed.

    Place it above ``@blp.arguments`` so that an anonymous request gets 401, not a 422 about its
    body. It also documents the bearer scheme on the operation. The view reads the caller with
    :func:`current_user`.
    """

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            require_user(*roles)
            return view(*args, **kwargs)

        return blp.doc(security=BEARER_SECURITY)(wrapper)

    return decorator


def optionally_authenticated(blp):
    """Document that a view reads the caller if there is one: a token is optional, an invalid one is a 401."""
    return blp.doc(security=OPTIONAL_BEARER_SECURITY)
