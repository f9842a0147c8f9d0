"""Signing in and posting forms through the console, as a browser would (CSRF token included)."""

from __future__ import annotations

import re

from werkzeug.datastructures import MultiDict

from marketplace.auth.service import create_account
from tests.factories import PASSWORD

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client, path: str = "/login") -> str:
    """The CSRF token a console page carries in its forms."""
    response = client.get(path)
    match = TOKEN.search(response.get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def post_form(client, path: str, data: dict | list, page: str = "/login", **kwargs):
    """Post a console form with the token of ``page``."""
    token = csrf_token(client, page)
    items = list(data.items()) if isinstance(data, dict) else list(data)
    return client.post(path, data=MultiDict([("csrf_token", token), *items]), **kwargs)


def account(app, role: str, email: str, city: str | None = None, name: str = "测试用户") -> str:
    """Create an account directly; returns its e-mail."""
    with app.app_context():
        create_account(email, PASSWORD, role, name, city)
    return email


def sign_in(client, email: str, password: str = PASSWORD):
    """Sign in through the console's form."""
    response = post_form(client, "/login", {"email": email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response
