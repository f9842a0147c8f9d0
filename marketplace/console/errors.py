"""Errors on console pages: a page in Chinese, or the sign-in page when the caller must sign in."""

from __future__ import annotations

from flask import redirect, render_template, url_for
from flask_wtf.csrf import CSRFError
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from marketplace.console.blueprint import bp
from marketplace.console.forms import field_errors
from marketplace.console.session import current_path
from marketplace.errors import APIError, Unauthorized

CSRF_MESSAGE = "页面已过期或来源不明，请刷新页面后重新提交"


@bp.errorhandler(CSRFError)
def csrf_refused(error: CSRFError):
    """A form post without a valid token: nothing is done."""
    return render_template("console/error.html", status=400, message=CSRF_MESSAGE, details={}), 400


@bp.errorhandler(APIError)
def service_refused(error: APIError):
    """A service's refusal; an anonymous caller is sent to sign in and brought back."""
    if isinstance(error, Unauthorized):
        return redirect(url_for("console.login", next=current_path()))
    message, details = field_errors(error)
    status = error.status_code
    return render_template("console/error.html", status=status, message=message, details=details), status


@bp.errorhandler(ValidationError)
def bad_arguments(error: ValidationError):
    """Query arguments a schema refused."""
    message, details = field_errors(error)
    return render_template("console/error.html", status=422, message=message, details=details), 422


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException):
    """Werkzeug's errors (a wrong method, an unknown page under the console) as a page."""
    status = error.code or 500
    message = {
        404: "页面不存在",
        405: "不支持该请求方式",
        413: "上传的内容过大",
        429: "请求过于频繁，请稍后再试",
    }.get(status, "请求无法完成")
    return render_template("console/error.html", status=status, message=message, details={}), status
