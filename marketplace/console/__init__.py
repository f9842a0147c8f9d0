"""The web console in Chinese: server-rendered pages over the same services as the JSON API.

Every page calls the service functions the API's views call; the console adds sign-in by session
cookie, CSRF tokens on its forms (Flask-WTF) and its own Content-Security-Policy.
"""

from __future__ import annotations

from marketplace.console import (  # noqa: F401  (each module registers its views on the blueprint)
    account,
    admin,
    choices,
    city,
    enterprise,
    errors,
    finding,
    formatting,
    inbox,
    provider,
)
from marketplace.console.blueprint import bp, init_console

__all__ = ["bp", "init_console"]
