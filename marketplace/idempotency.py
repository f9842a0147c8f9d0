"""``Idempotency-Key`` on creates: a client retrying a POST gets the first answer instead of a duplicate.

A POST carrying the header is fingerprinted (method, path with query, body). The first request with
a key reserves it for its caller (the signed-in account, else the client address) in the SQL store
before the view runs; if the view creates (201), the status and body are kept for
``IDEMPOTENCY_KEY_TTL_SECONDS`` (24 h). Then the same key from the same caller:

* with the same fingerprint replays the stored status and body (``Idempotent-Replayed: true``);
* with another fingerprint is a 422 naming ``Idempotency-Key``;
* while the first request is still running is a 409 naming ``Idempotency-Key``.

Any other outcome of the first request (an error, or a POST that does not create) releases the key,
so a corrected retry runs. Expired keys are deleted by the next request that carries one.
"""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from http import HTTPStatus

from apispec import BasePlugin
from flask import Flask, Response, current_app, g, request
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from marketplace.errors import Conflict, Unauthorized, Unprocessable
from marketplace.extensions import db
from marketplace.models import IdempotencyKey, utcnow

HEADER = "Idempotency-Key"
VALID_KEY = re.compile(r"[\x21-\x7e]{1,255}")
REPLAYED_HEADER = "Idempotent-Replayed"


def _caller() -> str:
    """The signed-in account, else the client address (also for an invalid token: the view decides)."""
    from marketplace.auth.security import current_user

    try:
        user = current_user()
    except Unauthorized:
        user = None
    return f"account:{user.id}" if user is not None else f"address:{request.remote_addr}"


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.full_path.encode("utf-8", "replace"), request.get_data()):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def reserve_or_replay() -> Response | None:
    """Before a POST with a key: replay its stored answer, refuse a misuse, or reserve the key.

    :raises Unprocessable: for a malformed key, or a key used before for another request.
    :raises Conflict: while the key's first request is still in flight.
    """
    key = request.headers.get(HEADER)
    if request.method != "POST" or key is None:
        return None
    if not VALID_KEY.fullmatch(key):
        raise Unprocessable(errors={HEADER: ["幂等键应为 1 到 255 个可见 ASCII 字符"]})
    caller, fingerprint, now = _caller(), _fingerprint(), utcnow()
    db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.expires_at <= now))
    row = db.session.scalar(select(IdempotencyKey).filter_by(caller=caller, key=key))
    if row is None:
        ttl = timedelta(seconds=current_app.config["IDEMPOTENCY_KEY_TTL_SECONDS"])
        row = IdempotencyKey(caller=caller, key=key, fingerprint=fingerprint, expires_at=now + ttl)
        db.session.add(row)
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            raise Conflict(
                "同一幂等键的请求正在处理", {HEADER: ["同一幂等键的请求正在处理，请稍后重试"]}
            ) from None
        g.idempotency_key_id = row.id
        return None
    db.session.commit()
    if row.fingerprint != fingerprint:
        raise Unprocessable("幂等键已用于另一请求", {HEADER: ["该幂等键已用于内容不同的另一请求"]})
    if row.status is None:
        raise Conflict("同一幂等键的请求正在处理", {HEADER: ["同一幂等键的请求正在处理，请稍后重试"]})
    return Response(
        row.body, status=row.status, mimetype="application/json", headers={REPLAYED_HEADER: "true"}
    )


def keep_or_release(response: Response) -> Response:
    """After the request that reserved a key: keep a 201's status and body, else release the key."""
    ident = g.pop("idempotency_key_id", None)
    if ident is None:
        return response
    if response.status_code == HTTPStatus.CREATED:
        db.session.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.id == ident)
            .values(status=response.status_code, body=response.get_data(as_text=True))
        )
    else:
        # An error answer writes nothing: whatever the view left unflushed goes with the key.
        db.session.rollback()
        db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == ident))
    db.session.commit()
    return response


def release_after_a_crash(error: BaseException | None = None) -> None:
    """A request that died without a response leaves no reserved key behind."""
    ident = g.pop("idempotency_key_id", None)
    if ident is not None:
        db.session.rollback()
        db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == ident))
        db.session.commit()


class IdempotencyHeaderPlugin(BasePlugin):
    """Document the optional ``Idempotency-Key`` header on every POST that answers 201."""

    def operation_helper(self, path=None, operations=None, **kwargs) -> None:
        """Add the header parameter to creating operations."""
        operation = (operations or {}).get("post")
        if operation is None or "201" not in {str(status) for status in operation.get("responses", {})}:
            return
        operation.setdefault("parameters", []).append(
            {
                "in": "header",
                "name": HEADER,
                "required": False,
                "schema": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 255,
                    "pattern": f"^{VALID_KEY.pattern}$",
                },
                "description": "重试时携带同一值：24 小时内同一调用方的同一请求只创建一次，返回首次的响应",
            }
        )


def init_idempotency(app: Flask) -> None:
    """Honour ``Idempotency-Key`` on every POST of ``app``."""
    app.before_request(reserve_or_replay)
    app.after_request(keep_or_release)
    app.teardown_request(release_after_a_crash)
