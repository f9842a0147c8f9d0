"""Reading requests: bounded request lines, headers and bodies, and one JSON loader for the whole app.

Requests whose target, header fields or body are too large are refused by the app, in the one error
shape (414, 431, 413), at bounds below gunicorn's (``gunicorn.conf.py``), so that gunicorn itself
only refuses what is far beyond them. A chunked body is held to ``MAX_CONTENT_LENGTH`` like one
with a ``Content-Length``. Under gunicorn, a body still arriving ``REQUEST_BODY_TIMEOUT_SECONDS``
after the request started is cut off and answered with a 408, so that a client trickling its body
holds a worker thread for that long at most.

Every JSON body reaches the views through :func:`load_json`: flask-smorest's argument parser
(:class:`BodyParser`) and ``request.get_json()`` alike, the latter through the app's JSON provider.
The loader refuses, as a 400 naming ``_request``, what would otherwise crash deeper down: nesting
past :data:`MAX_DEPTH` (the recursion limit), number literals longer than
:data:`MAX_NUMBER_LENGTH` (Python's 4,300-digit limit on ``int()``), NaN and Infinity, lone
surrogates (no store or hash can encode them), and bytes that are not UTF-8. NUL and other control
characters are left to the fields (:class:`~marketplace.common.schemas.Text`), which name themselves.
"""

from __future__ import annotations

import json
import math
import re
import socket
import threading
from typing import Any

from flask import Flask, Request, current_app, g, request
from flask.json.provider import DefaultJSONProvider
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import (
    RequestEntityTooLarge,
    RequestHeaderFieldsTooLarge,
    RequestTimeout,
    RequestURITooLarge,
)

from marketplace.errors import BadRequest

MAX_REQUEST_TARGET = 4094
"""Bytes of the path and query string (gunicorn's own default for the whole request line)."""
MAX_HEADER_FIELDS = 100
"""Header fields of one request."""
MAX_HEADER_FIELD_SIZE = 8190
"""Bytes of one header field, name and value."""

MAX_DEPTH = 32
"""Objects and arrays nested deeper than this are refused; the API's own bodies nest three deep."""
MAX_NUMBER_LENGTH = 100
"""Characters in one number literal; far beyond any amount or id, far below ``int()``'s limit."""
NOT_JSON = "请求体不是合法的 JSON"
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class UnreadableJSON(ValueError):
    """A body the loader refuses; the message says why, in Chinese."""


def _parse_int(literal: str) -> int:
    if len(literal) > MAX_NUMBER_LENGTH:
        raise UnreadableJSON(f"数字过长（超过 {MAX_NUMBER_LENGTH} 个字符）")
    return int(literal)


def _parse_float(literal: str) -> float:
    if len(literal) > MAX_NUMBER_LENGTH:
        raise UnreadableJSON(f"数字过长（超过 {MAX_NUMBER_LENGTH} 个字符）")
    value = float(literal)
    if not math.isfinite(value):
        raise UnreadableJSON("数字超出可表示的范围")
    return value


def _refuse_constant(name: str):
    raise UnreadableJSON(f"{name} 不是合法的 JSON 数值")


def _check_text(value: str) -> None:
    found = LONE_SURROGATE.search(value)
    if found is None:
        return
    raise UnreadableJSON(f"文本含无效的 Unicode 字符（孤立的代理项 \\u{ord(found.group()):04x}）")


def _check_tree(value: Any) -> None:
    """Walk the parsed value without recursion: bound the depth, refuse lone surrogates."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            _check_text(node)
            continue
        if not isinstance(node, dict | list):
            continue
        if depth > MAX_DEPTH:
            raise UnreadableJSON(f"JSON 嵌套超过 {MAX_DEPTH} 层")
        if isinstance(node, dict):
            for key, item in node.items():
                _check_text(key)
                stack.append((item, depth + 1))
        else:
            stack.extend((item, depth + 1) for item in node)


def load_json(data: bytes | bytearray | str) -> Any:
    """Parse a JSON document within the bounds above.

    :param data: the body, as UTF-8 bytes or text.
    :returns: the parsed value.
    :raises UnreadableJSON: if the body is not UTF-8, not JSON, or outside the bounds.
    """
    if isinstance(data, bytes | bytearray):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise UnreadableJSON("请求体不是合法的 UTF-8 文本") from error
    try:
        value = json.loads(
            data, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_refuse_constant
        )
    except RecursionError as error:
        raise UnreadableJSON(f"JSON 嵌套超过 {MAX_DEPTH} 层") from error
    except UnreadableJSON:
        raise
    except ValueError as error:
        raise UnreadableJSON(NOT_JSON) from error
    _check_tree(value)
    return value


def unreadable_body(error: ValueError) -> BadRequest:
    """The 400 for a body the loader refused, naming ``_request``."""
    reason = str(error) if isinstance(error, UnreadableJSON) else NOT_JSON
    return BadRequest(NOT_JSON, {"_request": [reason]})


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON provider, loading with :func:`load_json` and dumping readably.

    Non-ASCII text goes out as UTF-8, not escaped, with the charset declared.
    """

    ensure_ascii = False
    mimetype = "application/json; charset=utf-8"

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        """Parse ``s`` within the loader's bounds."""
        return load_json(s)


class APIRequest(Request):
    """Flask's request: ``get_json()`` failures are 400s in the one error shape, and a chunked body
    past ``MAX_CONTENT_LENGTH`` is a 413 instead of being cut off at the limit."""

    def get_data(self, cache: bool = True, as_text: bool = False, parse_form_data: bool = False):
        """Read the body; see :meth:`werkzeug.wrappers.Request.get_data`.

        :raises RequestEntityTooLarge: if a body without ``Content-Length`` goes past the limit
            (werkzeug stops reading there and would hand over the truncated body).
        """
        data = super().get_data(cache=cache, as_text=False, parse_form_data=parse_form_data)
        limit = self.max_content_length
        if limit is not None and self.content_length is None and len(data) >= limit:
            if self.environ["wsgi.input"].read(1):
                raise RequestEntityTooLarge()
        return data.decode(errors="replace") if as_text else data

    def on_json_loading_failed(self, e: ValueError | None):
        """Raise the 400 naming ``_request``; a body that is not JSON at all keeps Flask's 415."""
        if e is None:
            return super().on_json_loading_failed(e)
        raise unreadable_body(e) from e


class BodyParser(FlaskParser):
    """webargs' Flask parser, reading JSON bodies through the app's loader instead of its own."""

    def _raw_load_json(self, req: Request) -> Any:
        if not is_json_request(req) or not req.get_data(cache=True).strip():
            return core.missing
        return req.get_json(force=True)


def request_target_length(environ: dict) -> int:
    """Bytes of the request target as the client sent it (path and query string)."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        return len(raw.encode("latin-1", "replace"))
    query = environ.get("QUERY_STRING", "")
    return len(environ.get("PATH_INFO", "").encode("latin-1", "replace")) + (len(query) + 1 if query else 0)


def check_request_size() -> None:
    """Refuse a request target or header fields beyond the bounds above, before any view runs.

    :raises RequestURITooLarge: for a target over :data:`MAX_REQUEST_TARGET` bytes.
    :raises RequestHeaderFieldsTooLarge: for more than :data:`MAX_HEADER_FIELDS` fields or one over
        :data:`MAX_HEADER_FIELD_SIZE` bytes.
    """
    if request_target_length(request.environ) > MAX_REQUEST_TARGET:
        raise RequestURITooLarge()
    headers = list(request.headers.items())
    if len(headers) > MAX_HEADER_FIELDS or any(
        len(name) + 2 + len(value) > MAX_HEADER_FIELD_SIZE for name, value in headers
    ):
        raise RequestHeaderFieldsTooLarge()


class BodyDeadline:
    """Shuts the reading side of a client socket when the body has not arrived by a deadline.

    gunicorn reads a body with blocking ``recv`` calls, each of which a trickling client satisfies
    with a byte, so no socket timeout bounds the whole body; shutting the socket's reading side from
    a timer thread makes the pending ``recv`` return at once.
    """

    def __init__(self, sock: socket.socket, seconds: float):
        self.sock = sock
        self.expired = False
        self.timer = threading.Timer(seconds, self.expire)
        self.timer.daemon = True
        self.timer.start()

    def expire(self) -> None:
        """Give up on the body: the read in progress ends, and reading raises a 408."""
        self.expired = True
        try:
            self.sock.shutdown(socket.SHUT_RD)
        except OSError:
            pass

    def cancel(self) -> None:
        """The request is over; leave the socket alone."""
        self.timer.cancel()


class DeadlineInput:
    """gunicorn's ``wsgi.input``, raising a 408 once its :class:`BodyDeadline` has expired."""

    def __init__(self, body, deadline: BodyDeadline):
        self.body = body
        self.deadline = deadline

    def _checked(self, data):
        if self.deadline.expired:
            raise RequestTimeout()
        return data

    def read(self, size: int | None = None) -> bytes:
        """Read like the wrapped input; :raises RequestTimeout: past the deadline."""
        return self._checked(self.body.read(size))

    def readline(self, size: int | None = None) -> bytes:
        """Read a line like the wrapped input; :raises RequestTimeout: past the deadline."""
        return self._checked(self.body.readline(size))

    def readlines(self, hint: int | None = None) -> list[bytes]:
        """Read lines like the wrapped input; :raises RequestTimeout: past the deadline."""
        return self._checked(self.body.readlines(hint))

    def __iter__(self):
        return iter(self.readline, b"")


def _has_body(environ: dict) -> bool:
    return environ.get("CONTENT_LENGTH", "") not in ("", "0") or "chunked" in environ.get(
        "HTTP_TRANSFER_ENCODING", ""
    )


def watch_body() -> None:
    """Under gunicorn, read the request's body under ``REQUEST_BODY_TIMEOUT_SECONDS``."""
    sock = request.environ.get("gunicorn.socket")
    seconds = current_app.config["REQUEST_BODY_TIMEOUT_SECONDS"]
    if sock is None or not seconds or not _has_body(request.environ):
        return
    g.body_deadline = BodyDeadline(sock, seconds)
    request.environ["wsgi.input"] = DeadlineInput(request.environ["wsgi.input"], g.body_deadline)


def stop_watching_body(error: BaseException | None = None) -> None:
    """Cancel the request's body deadline, if it has one."""
    deadline = g.pop("body_deadline", None)
    if deadline is not None:
        deadline.cancel()


def init_request_loading(app: Flask) -> None:
    """Bound what ``app`` reads of a request, and make every JSON body go through :func:`load_json`.

    Call it after the request id is set up, so that refused requests carry one too.
    """
    app.json = JSONProvider(app)
    app.request_class = APIRequest
    app.before_request(check_request_size)
    app.before_request(watch_body)
    app.teardown_request(stop_watching_body)
