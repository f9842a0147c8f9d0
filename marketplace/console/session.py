"""Sign-in by session cookie: the signed-in account becomes the services' ``current_user``."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import g, request, session

from marketplace.extensions import db
from marketplace.models import User

SESSION_KEY = "user_id"


def sign_in(user: User) -> None:
    """Start a fresh session for ``user`` (nothing of the anonymous session is kept)."""
    session.clear()
    session[SESSION_KEY] = user.id
    session.permanent = False


def sign_out() -> None:
    """End the session."""
    session.clear()


def load_session_user() -> None:
    """Make the session's account the caller that :func:`marketplace.auth.security.current_user` returns.

    A disabled or deleted account is signed out.
    """
    user = None
    user_id = session.get(SESSION_KEY)
    if isinstance(user_id, int):
        user = db.session.get(User, user_id)
        if user is None or not user.is_active:
            session.clear()
            user = None
    g.current_user = user


def safe_next(target: str | None, default: str) -> str:
    """A local path to return to after sign-in; anything pointing elsewhere gives ``default``."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return default
    return target


def current_path() -> str:
    """The path and query of this request, to come back to after sign-in."""
    return request.full_path.rstrip("?")
