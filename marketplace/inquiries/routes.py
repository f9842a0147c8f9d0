"""Inquiry (对接) endpoints."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from marketplace.auth.limits import limiter
from marketplace.auth.security import authenticated, current_user
from marketplace.common.routes import Blueprint
from marketplace.errors import may_answer
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


def inquiry_rate_limit() -> str:
    """The per-address limit of new inquiries and replies."""
    return current_app.config["INQUIRY_RATE_LIMIT"]


@blp.route("/solutions/<int:solution_id>/inquiries")
class SolutionInquiries(MethodView):
    """Inquiries about one solution."""

    @limiter.limit(inquiry_rate_limit)
    @may_answer(blp, 429)
    @authenticated(blp, Role.ENTERPRISE)
    @blp.arguments(InquiryCreateSchema)
    @blp.response(201, InquirySchema)
    def post(self, data, solution_id):
        """就已发布的方案向服务商咨询（企业账号）

        如果是从推荐列表点进来的，带上那次推荐的 `request_id`。有频率限制。

        ---

        Ask a provider about a published solution (enterprise accounts).
        """
        return service.create_inquiry(current_user(), solution_id, data["message"], data.get("request_id"))


@blp.route("/inquiries")
class Inquiries(MethodView):
    """The caller's inquiries."""

    @authenticated(blp)
    @blp.arguments(InquiryQueryArgsSchema, location="query")
    @blp.response(200, InquiryPageSchema)
    def get(self, args):
        """列出咨询

        服务商看到收到的，企业看到发出的，管理员看到全部；可按状态和方案筛选，分页返回。

        ---

        List inquiries: a provider's received, an enterprise's sent, all for admins.
        """
        return service.list_inquiries(current_user(), args)


@blp.route("/inquiries/<int:inquiry_id>")
class InquiryById(MethodView):
    """One inquiry."""

    @authenticated(blp)
    @blp.response(200, InquirySchema)
    def get(self, inquiry_id):
        """查看一条咨询及往来回复

        只有咨询双方和管理员可见。

        ---

        Read an inquiry with its thread.
        """
        return service.get_inquiry(current_user(), inquiry_id)

    @authenticated(blp)
    @blp.arguments(InquiryStatusSchema)
    @blp.response(200, InquirySchema)
    def patch(self, data, inquiry_id):
        """更新咨询的跟进状态（服务商）

        可标记为 contacted 已联系、won 已成交 或 lost 未成交，记录时间和操作人。

        ---

        Mark an inquiry contacted, won or lost (the provider).
        """
        return service.set_status(current_user(), inquiry_id, data["status"])


@blp.route("/inquiries/<int:inquiry_id>/replies")
class Replies(MethodView):
    """The thread of an inquiry."""

    @limiter.limit(inquiry_rate_limit)
    @may_answer(blp, 429)
    @authenticated(blp)
    @blp.arguments(ReplySchema)
    @blp.response(201, InquirySchema)
    def post(self, data, inquiry_id):
        """在咨询中回复（咨询双方）

        企业和服务商都可以回复。有频率限制。

        ---

        Answer in the thread (either party).
        """
        return service.reply(current_user(), inquiry_id, data["message"])
