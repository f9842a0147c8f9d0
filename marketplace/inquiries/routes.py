"""Inquiry (对接) endpoints."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from marketplace.auth.security import BEARER_SECURITY, require_user
from marketplace.inquiries import service
from marketplace.inquiries.schemas import (
    InquiryCreateSchema,
    InquiryPageSchema,
    InquiryQueryArgsSchema,
    InquirySchema,
    InquiryStatusSchema,
    ReplySchema,
)
from marketplace.models import Role

blp = Blueprint("inquiries", __name__, url_prefix="/api/v1", description="供需对接")


@blp.route("/solutions/<int:solution_id>/inquiries")
class SolutionInquiries(MethodView):
    """Inquiries about one solution."""

    @blp.doc(security=BEARER_SECURITY)
    @blp.arguments(InquiryCreateSchema)
    @blp.response(201, InquirySchema)
    def post(self, data, solution_id):
        """Ask a provider about a published solution (enterprise accounts)."""
        return service.create_inquiry(require_user(Role.ENTERPRISE), solution_id, data["message"])


@blp.route("/inquiries")
class Inquiries(MethodView):
    """The caller's inquiries."""

    @blp.doc(security=BEARER_SECURITY)
    @blp.arguments(InquiryQueryArgsSchema, location="query")
    @blp.response(200, InquiryPageSchema)
    def get(self, args):
        """List inquiries: a provider's received, an enterprise's sent, all for admins."""
        return service.list_inquiries(require_user(), args)


@blp.route("/inquiries/<int:inquiry_id>")
class InquiryById(MethodView):
    """One inquiry."""

    @blp.doc(security=BEARER_SECURITY)
    @blp.response(200, InquirySchema)
    def get(self, inquiry_id):
        """Read an inquiry with its thread."""
        return service.get_inquiry(require_user(), inquiry_id)

    @blp.doc(security=BEARER_SECURITY)
    @blp.arguments(InquiryStatusSchema)
    @blp.response(200, InquirySchema)
    def patch(self, data, inquiry_id):
        """Mark an inquiry contacted, won or lost (the provider)."""
        return service.set_status(require_user(), inquiry_id, data["status"])


@blp.route("/inquiries/<int:inquiry_id>/replies")
class Replies(MethodView):
    """The thread of an inquiry."""

    @blp.doc(security=BEARER_SECURITY)
    @blp.arguments(ReplySchema)
    @blp.response(201, InquirySchema)
    def post(self, data, inquiry_id):
        """Answer in the thread (either party)."""
        return service.reply(require_user(), inquiry_id, data["message"])
