"""Accounts: sign-up, sign-in and staff accounts."""

from __future__ import annotations

from sqlalchemy import select

from marketplace.auth.security import hash_password, issue_token, spend_a_verification, verify_password
from marketplace.errors import Conflict, Unauthorized, Unprocessable
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


def authenticate(email: str, password: str) -> dict:
    """Exchange credentials for a token.

    :raises Unauthorized: on an unknown e-mail, a wrong password or a disabled account.
    """
    user = find_user(email)
    if user is None or not user.is_active:
        spend_a_verification(password)
        raise Unauthorized("邮箱或密码错误")
    if not verify_password(user.password_hash, password):
        raise Unauthorized("邮箱或密码错误")
    return issue_token(user)
