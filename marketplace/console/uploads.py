"""Uploaded files kept between a preview and its import, for the session that uploaded them.

A file is stored in the instance folder under a random token; the token is kept in the signed
session cookie and sent back by the import form, and the two must agree, so neither another
session nor a client-supplied name reaches a file. Files expire after :data:`UPLOAD_TTL_SECONDS`
and expired ones are removed whenever a new file is kept.
"""

from __future__ import annotations

import re
import secrets
import time
from hmac import compare_digest
from pathlib import Path

from flask import current_app, session

UPLOAD_TTL_SECONDS = 30 * 60
UPLOAD_FOLDER = "console-uploads"
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{43}")


def upload_folder() -> Path:
    """The folder of kept uploads, inside the instance folder."""
    folder = Path(current_app.instance_path) / UPLOAD_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def sweep(now: float | None = None) -> None:
    """Remove every kept upload older than the time to live."""
    limit = (now or time.time()) - UPLOAD_TTL_SECONDS
    for path in upload_folder().glob("*.upload"):
        try:
            if path.stat().st_mtime < limit:
                path.unlink()
        except FileNotFoundError:
            continue


def keep_upload(purpose: str, data: bytes) -> str:
    """Store ``data`` for this session under a new token (replacing its earlier one for ``purpose``)."""
    sweep()
    discard_upload(purpose)
    token = secrets.token_urlsafe(32)
    (upload_folder() / f"{token}.upload").write_bytes(data)
    session[f"upload-{purpose}"] = token
    return token


def kept_upload(purpose: str, token: str) -> bytes | None:
    """The bytes kept for this session under ``token``; None if unknown, another session's, or expired."""
    own = session.get(f"upload-{purpose}")
    if not isinstance(own, str) or not TOKEN_PATTERN.fullmatch(token or ""):
        return None
    if not compare_digest(own.encode(), token.encode()):
        return None
    path = upload_folder() / f"{token}.upload"
    try:
        if path.stat().st_mtime < time.time() - UPLOAD_TTL_SECONDS:
            path.unlink()
            return None
        return path.read_bytes()
    except FileNotFoundError:
        return None


def discard_upload(purpose: str) -> None:
    """Forget this session's upload for ``purpose`` and remove its file."""
    token = session.pop(f"upload-{purpose}", None)
    if isinstance(token, str) and TOKEN_PATTERN.fullmatch(token):
        (upload_folder() / f"{token}.upload").unlink(missing_ok=True)
