"""Schemas of inquiries (对接) and their replies."""

from __future__ import annotations

from marshmallow import fields

from marketplace.common.schemas import BaseSchema, Id, PageArgsSchema, Text, one_of, page_schema, text
from marketplace.models import InquiryStatus


class InquiryCreateSchema(BaseSchema):
    """An enterprise's first message about a solution."""

    message = Text(required=True, multiline=True, validate=text(2, 2000))
    request_id = Text(
        validate=text(36, 36), metadata={"description": "如果咨询来自某次推荐，填那次推荐的 request_id"}
    )


class ReplySchema(BaseSchema):
    """One message in an inquiry thread."""

    id = fields.Integer(dump_only=True)
    author_role = fields.String(dump_only=True)
    message = Text(required=True, multiline=True, validate=text(1, 2000))
    created_at = fields.DateTime(dump_only=True)


OUTCOMES = tuple(status for status in InquiryStatus if status is not InquiryStatus.NEW)


class InquiryStatusSchema(BaseSchema):
    """The provider's record of where the inquiry stands; it cannot be made new again."""

    status = fields.String(required=True, validate=one_of(OUTCOMES))


class InquirySchema(BaseSchema):
    """An inquiry as its two parties see it."""

    id = fields.Integer(dump_only=True)
    solution_id = fields.Integer(dump_only=True)
    solution_title = fields.Function(lambda i: i.solution.title, dump_only=True)
    provider_id = fields.Function(lambda i: i.solution.provider_id, dump_only=True)
    enterprise_id = fields.Integer(dump_only=True)
    enterprise_name = fields.Function(lambda i: i.enterprise.name, dump_only=True)
    message = fields.String(dump_only=True)
    status = fields.String(dump_only=True)
    status_changed_at = fields.DateTime(dump_only=True, allow_none=True)
    status_changed_by = fields.Integer(
        attribute="status_changed_by_id",
        dump_only=True,
        allow_none=True,
        metadata={"description": "最近一次改变状态的账号编号"},
    )
    replies = fields.List(fields.Nested(ReplySchema), dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class InquiryQueryArgsSchema(PageArgsSchema):
    """Filters of the inquiry list."""

    status = fields.List(fields.String(validate=one_of(InquiryStatus)))
    solution_id = fields.List(Id())


InquiryPageSchema = page_schema(InquirySchema)
