"""The one JSON error shape: ``{code, status, message, errors}``, made here only."""

from __future__ import annotations

from http import HTTPStatus

from apispec import BasePlugin
from flask import Flask, current_app, jsonify
from flask_smorest import Api
from marshmallow import Schema, ValidationError, fields
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from marketplace.extensions import db

DEFAULT_MESSAGES = {
    400: "请求格式有误",
    401: "未登录或登录已过期",
    403: "无权执行此操作",
    404: "资源不存在",
    405: "不支持该请求方法",
    408: "请求超时：请求体发送过慢",
    409: "当前状态不允许此操作",
    412: "该记录已被他人修改，请刷新后重试",
    413: "请求体过大",
    414: "请求地址过长",
    415: "不支持的内容类型",
    417: "不支持该 Expect 请求头",
    422: "请求参数校验失败",
    429: "请求过于频繁，请稍后再试",
    431: "请求头过大",
    500: "服务器内部错误",
    501: "不支持的传输编码",
    503: "服务暂不可用，请稍后再试",
}


class APIError(Exception):
    """Base of the errors that services raise; each subclass fixes its status."""

    status_code = 500

    def __init__(self, message: str | None = None, errors: dict | None = None, headers: dict | None = None):
        super().__init__(message)
        self.message = message or DEFAULT_MESSAGES[self.status_code]
        self.errors = errors or {}
        self.headers = headers or {}


class BadRequest(APIError):
    """The request cannot be read."""

    status_code = 400


class Unauthorized(APIError):
    """No valid credentials."""

    status_code = 401


class Forbidden(APIError):
    """Authenticated, but not allowed."""

    status_code = 403


class NotFound(APIError):
    """No such resource, or not visible to the caller."""

    status_code = 404


class Conflict(APIError):
    """The resource's state or a uniqueness rule forbids the change."""

    status_code = 409


class PreconditionFailed(APIError):
    """The request's ``If-Match`` names a version that is no longer the stored one."""

    status_code = 412


class Unprocessable(APIError):
    """Well-formed input that fails a domain rule; ``errors`` names the fields."""

    status_code = 422


class TooManyRequests(APIError):
    """Too many attempts; ``headers`` carries ``Retry-After``."""

    status_code = 429


class ServiceUnavailable(APIError):
    """A backend the request needs is down."""

    status_code = 503


REQUEST_KEY = "_request"
"""The ``errors`` key for a problem with the request as a whole rather than one field."""


def error_document(status: int, message: str | None = None, errors: dict | None = None) -> dict:
    """The one error shape as plain data, for the app's handlers and for gunicorn's own refusals.

    ``errors`` is flattened to ``{"industries[0]": [...], "level_uplifts[0].scenario": [...]}``
    (see :func:`flatten_messages`); a 400 or 422 that names no field names ``_request``.
    """
    message = message or DEFAULT_MESSAGES.get(status, HTTPStatus(status).phrase)
    errors = flatten_messages(errors or {})
    if not errors and status in (400, 422):
        errors = {REQUEST_KEY: [message]}
    return {"code": status, "status": HTTPStatus(status).phrase, "message": message, "errors": errors}


def error_response(status: int, message: str | None = None, errors: dict | None = None, headers=None):
    """Build the JSON response in the one error shape."""
    return jsonify(error_document(status, message, errors)), status, headers or {}


def _join(path: str, key) -> str:
    if isinstance(key, int) or (isinstance(key, str) and key.isdigit() and path):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def _is_entry_errors(messages) -> bool:
    """marshmallow's errors for one mapping entry: ``{"key": [...]}`` and/or ``{"value": ...}``."""
    return isinstance(messages, dict) and bool(messages) and set(messages) <= {"key", "value"}


def _flatten(messages, target, path: str, out: dict[str, list[str]]) -> None:
    """Add ``messages`` found at ``path`` to ``out``; ``target`` is the schema or field there, if known."""
    if not isinstance(messages, dict):
        if isinstance(messages, list | tuple) and not messages:
            out.setdefault(path or REQUEST_KEY, [])  # an empty list says something too (no allowed states)
        for message in messages if isinstance(messages, list | tuple) else [messages]:
            if isinstance(message, dict):
                _flatten(message, target, path, out)
            else:
                out.setdefault(path or REQUEST_KEY, []).append(str(message))
        return
    if isinstance(target, fields.Nested):
        target = target.schema
    for key, sub in messages.items():
        if key == "_schema":
            _flatten(sub, None, path, out)
        elif isinstance(target, Schema):
            by_key = {field.data_key or name: field for name, field in target.fields.items()}
            _flatten(sub, target if isinstance(key, int) else by_key.get(key), _join(path, key), out)
        elif isinstance(target, fields.List):
            _flatten(sub, target.inner, _join(path, key), out)
        elif isinstance(target, fields.Tuple) and isinstance(key, int) and key < len(target.tuple_fields):
            _flatten(sub, target.tuple_fields[key], _join(path, key), out)
        elif isinstance(target, fields.Mapping) or (target is None and _is_entry_errors(sub)):
            entry = f"{path}.{key}" if path else str(key)
            entries = sub if _is_entry_errors(sub) else {"value": sub}
            if "key" in entries:
                _flatten(entries["key"], None, entry, out)
            if "value" in entries:
                _flatten(entries["value"], getattr(target, "value_field", None), entry, out)
        else:
            _flatten(sub, None, _join(path, key), out)


def flatten_messages(messages, schema: Schema | None = None) -> dict[str, list[str]]:
    """Flatten marshmallow's nested messages to one level of paths.

    List items are ``industries[0]``, fields of nested objects ``level_uplifts[0].scenario``,
    mapping entries ``scenario_levels.quality`` (marshmallow's ``key``/``value`` level dropped),
    and the schema's own messages (``_schema`` at the top) ``_request``. With ``schema`` the walk
    follows the declared fields; without, it reads the shape of the messages.
    """
    out: dict[str, list[str]] = {}
    _flatten(messages, schema, "", out)
    return out


def _flatten_locations(messages: dict, schema: Schema | None) -> dict[str, list[str]]:
    """Merge webargs' per-location messages (``{"json": {...}}``) into one flat field map."""
    merged: dict[str, list[str]] = {}
    for location_messages in messages.values():
        for key, found in flatten_messages(location_messages, schema).items():
            merged.setdefault(key, []).extend(found)
    return merged


def handle_api_error(error: APIError):
    """Render a service error, discarding what the request changed in the session and did not commit.

    A service may refuse after it has set attributes (a rule across fields checked on the merged
    row); left in the session, they would be flushed by the next query of the request (the search
    outbox's, after it) and break a constraint there, a 500 instead of this answer.
    """
    db.session.rollback()
    return error_response(error.status_code, error.message, error.errors, error.headers)


def handle_http_exception(error: HTTPException):
    """Render werkzeug and webargs errors; webargs puts field messages in ``error.data``.

    The headers werkzeug gives the error are kept (``Allow`` of a 405, ``WWW-Authenticate``,
    ``Retry-After``), its HTML content type is not.
    """
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    headers = [(name, value) for name, value in error.get_headers() if name.lower() != "content-type"]
    if status == 400 and "messages" in data:
        return error_response(400, "请求体不是合法的 JSON", {REQUEST_KEY: ["请求体不是合法的 JSON"]})
    if "messages" in data:
        return error_response(status, None, _flatten_locations(data["messages"], data.get("schema")), headers)
    return error_response(status, None, None, headers)


def handle_validation_error(error: ValidationError):
    """Render a marshmallow error raised outside request parsing; uncommitted changes are discarded."""
    db.session.rollback()
    return error_response(422, None, error.messages)


def handle_integrity_error(error: IntegrityError):
    """A uniqueness race the service's own checks could not see: nothing was written."""
    db.session.rollback()
    return error_response(409, "数据冲突（可能已被他人同时提交），请刷新后重试")


def handle_stale_data_error(error: StaleDataError):
    """A versioned row changed under a write the service did not guard: nothing was written."""
    db.session.rollback()
    return error_response(409, "该记录已被他人修改，请刷新后重试")


def handle_data_error(error: DataError | OverflowError):
    """A value the database cannot hold (too long or too large): nothing was written."""
    db.session.rollback()
    return error_response(422, "取值超出允许范围")


def handle_unexpected_error(error: Exception):
    """Log an unexpected error and answer 500 without leaking details."""
    current_app.logger.exception("unhandled error", exc_info=error)
    return error_response(500)


class ErrorSchema(Schema):
    """The one error shape, as the OpenAPI document shows it."""

    code = fields.Integer(required=True, metadata={"description": "HTTP 状态码，与响应的状态码相同"})
    status = fields.String(
        required=True, metadata={"description": "HTTP 状态短语（英文），如 Unprocessable Entity"}
    )
    message = fields.String(required=True, metadata={"description": "出了什么问题，中文，可直接展示给用户"})
    errors = fields.Dict(
        keys=fields.String(),
        required=True,
        metadata={
            "description": (
                "按字段列出的问题：键是字段路径（如 industries[0]、"
                "level_uplifts[0].scenario；整个请求的问题为 _request）"
                "，值是中文说明列表；没有字段问题时为 {}"
            )
        },
    )


WRITE_METHODS = {"post", "put", "patch", "delete"}


def possible_errors(path: str, method: str, operation: dict) -> list[int]:
    """The error statuses the handlers above can give an operation, read from its own documentation.

    An operation that reads the caller (it declares the bearer scheme, required or optional) refuses
    an invalid or expired token (401); one that requires it also refuses other roles (403). Bodies
    can be malformed (400), too large (413) or invalid (422); so can query arguments and ids beyond
    range in the path (422). A path names a resource that may not exist or be hidden (404); a write
    may meet a state or uniqueness conflict (409).
    """
    statuses = []
    security = operation.get("security") or []
    if security:
        statuses.append(401)
    if security and {} not in security:
        statuses.append(403)
    if "{" in path:
        statuses.append(404)
    if "requestBody" in operation:
        statuses += [400, 413]
    if "{" in path or "requestBody" in operation or operation.get("parameters"):
        statuses.append(422)
    if method in WRITE_METHODS:
        statuses.append(409)
    return statuses


class ErrorResponsesPlugin(BasePlugin):
    """Document on every operation the errors it can answer, each in the one shape."""

    def operation_helper(self, path=None, operations=None, **kwargs) -> None:
        """Add the error responses of :func:`possible_errors` that the operation does not declare yet."""
        for method, operation in (operations or {}).items():
            responses = operation.setdefault("responses", {})
            declared = {str(status) for status in responses}
            for status in possible_errors(path, method, operation):
                if str(status) not in declared:
                    responses[str(status)] = HTTPStatus(status).name


class DocumentedApi(Api):
    """flask-smorest's Api with our error shape and no catch-all ``default`` response.

    Every error status an operation can answer is listed by :class:`ErrorResponsesPlugin`, or by
    :func:`may_answer` for causes only the route knows (rate limits, the search index).
    """

    ERROR_SCHEMA = ErrorSchema
    DEFAULT_ERROR_RESPONSE_NAME = None

    def _openapi_json(self):
        """Serve the document as flask-smorest does, declaring the app's JSON type (UTF-8) like the API."""
        response = super()._openapi_json()
        response.content_type = current_app.json.mimetype
        return response


def may_answer(blp, *statuses: int):
    """Document further error statuses of one operation, e.g. 429 when rate-limited, 503 for search."""
    return blp.doc(responses={str(status): HTTPStatus(status).name for status in statuses})


def register_error_handlers(app: Flask) -> None:
    """Route every error through the one shape."""
    app.register_error_handler(APIError, handle_api_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(ValidationError, handle_validation_error)
    app.register_error_handler(IntegrityError, handle_integrity_error)
    app.register_error_handler(StaleDataError, handle_stale_data_error)
    app.register_error_handler(DataError, handle_data_error)
    app.register_error_handler(OverflowError, handle_data_error)
    app.register_error_handler(Exception, handle_unexpected_error)
