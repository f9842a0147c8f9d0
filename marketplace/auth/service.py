"""Accounts: sign-up, sign-in and staff accounts."""

from __future__ import annotations

from sqlalchemy import select

from marketplace.auth.security import hash_password, issue_token, verify_password
from marketplace.common.pagination import paginate
from marketplace.errors import Conflict, Forbidden, Unauthorized, Unprocessable
from marketplace.extensions import db
from marketplace.models import Role, User
from marketplace.taxonomy.service import taxonomy


def find_user(email: str) -> User | None:
    """Find an account by e-mail, case-insensitively."""
    return db.session.scalar(select(User).where(User.email == email.strip().lower()))


def create_account(email: str, password: str, role: str, name: str, city: str | None = None) -> User:
    """Create an account of any role; a city is stored by its full name (苏州 → 苏州市).

    :raises Conflict: if the e-mail is already registered.
    :raises Unprocessable: naming ``city`` if it is not a known city.
    """
    if city is not None:
        known = taxonomy().regions.city(city.strip())
        if known is None:
            raise Unprocessable(
                f"未知的城市：{city}", {"city": [f"未知的城市：{city}（请用地级市全称，如 苏州市）"]}
            )
        city = known
    if find_user(email) is not None:
        raise Conflict("该邮箱已注册", {"email": ["该邮箱已注册"]})
    user = User(
        email=email.strip().lower(),
        password_hash=hash_password(password),
        role=Role(role),
        name=name.strip(),
        city=city,
    )
    db.session.add(user)
    db.session.commit()
    return user


def check_credentials(email: str, password: str) -> User:
    """Return the active account these credentials open (the console's sign-in uses it too).

    :raises Unauthorized: on an unknown e-mail, a wrong password or a disabled account.
    """
    user = find_user(email)
    if user is None or not user.is_active or not verify_password(user.password_hash, password):
        raise Unauthorized("邮箱或密码错误")
    return user


def authenticate(email: str, password: str) -> dict:
    """Exchange credentials for a token.

    :raises Unauthorized: on an unknown e-mail, a wrong password or a disabled account.
    """
    return issue_token(check_credentials(email, password))


def list_accounts(actor: User, args: dict) -> dict:
    """List every account, oldest first, filtered by role (admins only).

    :raises Forbidden: for anyone but an admin.
    """
    if actor.role is not Role.ADMIN:
        raise Forbidden("此操作仅限平台管理员")
    query = select(User).order_by(User.id)
    if args.get("role"):
        query = query.where(User.role.in_([Role(role) for role in args["role"]]))
    return paginate(query, args["page"], args["per_page"])
