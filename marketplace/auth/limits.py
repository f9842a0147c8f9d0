"""The app's rate limiter: a request counts against the signed-in account, else the client address.

Counts are kept where ``RATELIMIT_STORAGE_URI`` says; the embedded default is the SQLite storage of
:mod:`marketplace.ratelimits`, shared by every worker of the machine.
"""

from __future__ import annotations

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from marketplace import ratelimits  # noqa: F401  (registers the sqlite:// storage scheme)
from marketplace.auth.security import current_user
from marketplace.errors import Unauthorized


def rate_limit_key() -> str:
    """Count a request against the signed-in account, or against the client address if anonymous.

    Anonymous requests from an address thus never spend a signed-in caller's quota, and two
    accounts behind one address (an office's NAT) each get their own. A request whose token is
    invalid counts against its address; the view refuses it anyway.
    """
    try:
        user = current_user()
    except Unauthorized:
        user = None
    return f"account:{user.id}" if user is not None else get_remote_address()


limiter = Limiter(key_func=rate_limit_key)
