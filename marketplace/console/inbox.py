"""Inquiries (对接) for both parties: the inbox with its counts, a thread, replies and status."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from marshmallow import ValidationError

from marketplace.auth.limits import limiter
from marketplace.auth.security import require_user
from marketplace.console.blueprint import bp
from marketplace.console.forms import field_errors, form_data
from marketplace.errors import APIError
from marketplace.inquiries import service as inquiries
from marketplace.inquiries.routes import inquiry_rate_limit
from marketplace.inquiries.schemas import (
    InquiryQueryArgsSchema,
    InquirySchema,
    InquiryStatusSchema,
    ReplySchema,
)
from marketplace.models import InquiryStatus


@bp.route("/inquiries")
def inbox():
    """The provider's received inquiries or the enterprise's sent ones, with a count per status."""
    actor = require_user()
    args = InquiryQueryArgsSchema().load(form_data(InquiryQueryArgsSchema(), request.args))
    page = inquiries.list_inquiries(actor, args)
    counts = {
        status.value: inquiries.list_inquiries(actor, {"status": [status], "page": 1, "per_page": 1})["total"]
        for status in InquiryStatus
    }
    return render_template(
        "console/inbox.html",
        items=InquirySchema(many=True).dump(page["items"]),
        total=page["total"],
        counts=counts,
        chosen=set(args.get("status") or []),
        page=args["page"],
        pages=max(1, -(-page["total"] // args["per_page"])),
        statuses=[status.value for status in InquiryStatus],
    )


def render_thread(inquiry, message=None, errors=None, reply_value="", status=200):
    """The thread page, with the provider's next statuses."""
    return render_template(
        "console/inquiry.html",
        inquiry=InquirySchema().dump(inquiry),
        next_statuses=[s.value for s in inquiries.NEXT_STATUSES[inquiry.status]],
        message=message,
        errors=errors or {},
        reply_value=reply_value,
    ), status


@bp.route("/inquiries/<int:inquiry_id>")
def inquiry_page(inquiry_id: int):
    """One inquiry with its thread."""
    actor = require_user()
    return render_thread(inquiries.get_inquiry(actor, inquiry_id))


@bp.route("/inquiries/<int:inquiry_id>/reply", methods=["POST"])
@limiter.limit(inquiry_rate_limit)
def reply(inquiry_id: int):
    """Answer in the thread; a provider's first reply marks it 已联系."""
    actor = require_user()
    try:
        data = ReplySchema().load(form_data(ReplySchema(), request.form))
        inquiries.reply(actor, inquiry_id, data["message"])
    except (ValidationError, APIError) as error:
        message, errors = field_errors(error)
        inquiry = inquiries.get_inquiry(actor, inquiry_id)
        return render_thread(inquiry, message, errors, request.form.get("message", ""), 422)
    flash("回复已发送", "success")
    return redirect(url_for("console.inquiry_page", inquiry_id=inquiry_id))


@bp.route("/inquiries/<int:inquiry_id>/status", methods=["POST"])
def inquiry_status(inquiry_id: int):
    """The provider records where the inquiry stands."""
    actor = require_user()
    try:
        data = InquiryStatusSchema().load(form_data(InquiryStatusSchema(), request.form))
        inquiries.set_status(actor, inquiry_id, data["status"])
    except (ValidationError, APIError) as error:
        message, errors = field_errors(error)
        return render_thread(inquiries.get_inquiry(actor, inquiry_id), message, errors, status=422)
    flash("状态已更新", "success")
    return redirect(url_for("console.inquiry_page", inquiry_id=inquiry_id))
