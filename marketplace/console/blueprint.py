"""The console's blueprint, its CSRF protection, security headers and the signed-in account."""

from __future__ import annotations

from flask import Blueprint, Flask, g, request
from flask_wtf.csrf import CSRFProtect

from marketplace.console.session import load_session_user

CONSOLE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
CONSOLE_REFERRER_POLICY = "same-origin"
"""A form post over HTTPS must name its page (Flask-WTF's strict referrer check); nothing leaves the site."""

bp = Blueprint(
    "console",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/console/static",
)
csrf = CSRFProtect()


def init_console(app: Flask) -> None:
    """Bind CSRF protection (checked by the console's own hook, so the token-based API is untouched)."""
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    csrf.init_app(app)


@bp.before_request
def signed_in_and_checked() -> None:
    """Read the session's account; refuse any form post whose CSRF token is missing or wrong."""
    load_session_user()
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()


@bp.app_template_global()
def console_user():
    """The signed-in account, for the layout."""
    return g.get("current_user")


@bp.after_request
def console_headers(response):
    """The console's pages load their own scripts, styles and images, nothing else, never inline.

    A signed-in page is not stored by the browser or a proxy (it shows private data); the static
    files keep Flask's caching.
    """
    response.headers["Content-Security-Policy"] = CONSOLE_CSP
    response.headers["Referrer-Policy"] = CONSOLE_REFERRER_POLICY
    if request.endpoint != "console.static":
        response.headers.setdefault(
            "Cache-Control", "private, no-store" if g.get("current_user") else "no-cache"
        )
    return response
