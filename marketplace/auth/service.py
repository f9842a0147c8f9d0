"""Accounts: sign-up, sign-in with lockout, staff accounts, sign-out, password change and disabling.

Exporting and deleting an account, which reach into every other package, are in ``marketplace.accounts``.
"""

from __future__ import annotations

import math
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from marketplace.auth.passwords import password_problems
from marketplace.auth.security import hash_password, issue_token, spend_a_verification, verify_password
from marketplace.common.lifecycle import get_or_404
from marketplace.common.pagination import paginate
from marketplace.errors import Conflict, Forbidden, TooManyRequests, Unauthorized, Unprocessable
from marketplace.extensions import db
from marketplace.models import Role, SignInFailure, User, utcnow
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


FREE_FAILURES = 5
"""Failed sign-ins for one e-mail before each further one locks it."""
LOCKOUT_SECONDS = 30
"""The first lockout; each further failure doubles it, up to :data:`MAX_LOCKOUT_SECONDS`."""
MAX_LOCKOUT_SECONDS = 15 * 60
FAILURE_MEMORY = timedelta(hours=24)
"""Failure records older than this are forgotten (deleted when the next failure is recorded)."""


def _check_not_locked(email: str) -> None:
    record = db.session.get(SignInFailure, email)
    if record is not None and record.locked_until is not None and record.locked_until > utcnow():
        wait = max(1, math.ceil((record.locked_until - utcnow()).total_seconds()))
        raise TooManyRequests(f"登录失败次数过多，请 {wait} 秒后再试", headers={"Retry-After": str(wait)})


def _record_failure(email: str) -> None:
    """Count one more failure for ``email`` and lock it once past the free ones; committed at once."""
    now = utcnow()
    db.session.execute(delete(SignInFailure).where(SignInFailure.last_failure_at < now - FAILURE_MEMORY))
    record = db.session.get(SignInFailure, email, with_for_update=True)
    if record is None:
        record = SignInFailure(email=email, failures=0)
        db.session.add(record)
    record.failures += 1
    record.last_failure_at = now
    beyond = record.failures - FREE_FAILURES
    if beyond >= 0:
        record.locked_until = now + timedelta(seconds=min(LOCKOUT_SECONDS * 2**beyond, MAX_LOCKOUT_SECONDS))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        _record_failure(email)


def check_credentials(email: str, password: str) -> User:
    """Return the active account these credentials open (the API's and the console's sign-in).

    After :data:`FREE_FAILURES` consecutive failures for one e-mail (whether or not it has an
    account), each further failure locks it for a window that doubles from
    :data:`LOCKOUT_SECONDS`; a success clears the record.

    :raises TooManyRequests: while the e-mail is locked, even with the right password.
    :raises Unauthorized: on an unknown e-mail, a wrong password or a disabled account.
    """
    email = email.strip().lower()
    _check_not_locked(email)
    user = find_user(email)
    if user is None or not user.is_active:
        spend_a_verification(password)
        _record_failure(email)
        raise Unauthorized("邮箱或密码错误")
    if not verify_password(user.password_hash, password):
        _record_failure(email)
        raise Unauthorized("邮箱或密码错误")
    db.session.execute(delete(SignInFailure).where(SignInFailure.email == email))
    db.session.commit()
    return user


def authenticate(email: str, password: str) -> dict:
    """Exchange credentials for a token (see :func:`check_credentials`).

    :raises TooManyRequests: while the e-mail is locked.
    :raises Unauthorized: on an unknown e-mail, a wrong password or a disabled account.
    """
    return issue_token(check_credentials(email, password))


def revoke_tokens(user: User) -> None:
    """Make every token issued to ``user`` so far stop working (the caller commits)."""
    user.token_version += 1


def logout(user: User) -> None:
    """Sign out everywhere: revoke every token of the caller."""
    revoke_tokens(user)
    db.session.commit()


def change_password(user: User, current_password: str, new_password: str) -> dict:
    """Set a new password, proven by the current one; every earlier token stops working.

    :returns: a fresh token for the caller.
    :raises Unprocessable: naming ``current_password`` if it is wrong, ``new_password`` if it breaks
        the password rules.
    """
    if not verify_password(user.password_hash, current_password):
        raise Unprocessable("当前密码不正确", {"current_password": ["当前密码不正确"]})
    problems = password_problems(new_password, user.email, user.name)
    if problems:
        raise Unprocessable(errors={"new_password": problems})
    user.password_hash = hash_password(new_password)
    revoke_tokens(user)
    db.session.commit()
    return issue_token(user)


def list_accounts(actor: User, args: dict) -> dict:
    """A page of accounts, newest first, filtered by role and by part of the e-mail (admins only).

    :raises Forbidden: for anyone but an admin.
    """
    if actor.role is not Role.ADMIN:
        raise Forbidden("此操作仅限平台管理员")
    query = select(User).order_by(User.id.desc())
    if args.get("role"):
        query = query.where(User.role == Role(args["role"]))
    if args.get("email"):
        query = query.where(User.email.contains(args["email"].lower(), autoescape=True))
    return paginate(query, args["page"], args["per_page"])


def set_account_active(actor: User, account_id: int, active: bool) -> User:
    """Disable an account (its tokens stop, it cannot sign in) or enable it again (admins).

    :raises Forbidden: for anyone but an admin.
    :raises Conflict: for the admin's own account, or an account its holder deleted.
    """
    if actor.role is not Role.ADMIN:
        raise Forbidden("此操作仅限平台管理员")
    user = get_or_404(User, account_id, "账号")
    if user.id == actor.id:
        raise Conflict("不能停用或启用自己的账号")
    if user.deleted_at is not None:
        raise Conflict("该账号已注销")
    if user.is_active and not active:
        revoke_tokens(user)
    user.is_active = active
    db.session.commit()
    return user
