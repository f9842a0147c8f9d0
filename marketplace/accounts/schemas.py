"""What an account holder sends to delete the account, and the export of its data."""

from __future__ import annotations

from marshmallow import fields

from marketplace.assessments.schemas import AssessmentSchema
from marketplace.auth.passwords import MAX_LENGTH
from marketplace.auth.schemas import UserSchema
from marketplace.cases.schemas import CaseSchema
from marketplace.common.schemas import BaseSchema, text
from marketplace.enterprises.schemas import EnterpriseSchema
from marketplace.inquiries.schemas import InquirySchema
from marketplace.providers.schemas import ProviderSchema
from marketplace.solutions.schemas import SolutionSchema


class AccountDeletionSchema(BaseSchema):
    """The password, confirming that the holder deletes the account."""

    password = fields.String(required=True, load_only=True, validate=text(1, MAX_LENGTH))


class RecommendationRecordSchema(BaseSchema):
    """A recommendation list served to the account: what it asked and what it was shown."""

    request_id = fields.String()
    profile = fields.Dict()
    model_version = fields.String()
    items = fields.List(fields.Dict())
    created_at = fields.DateTime()


class FeedbackRecordSchema(BaseSchema):
    """Something the account did with a recommended item."""

    request_id = fields.String(allow_none=True)
    item_type = fields.String()
    item_id = fields.Integer()
    type = fields.String()
    position = fields.Integer(allow_none=True)
    created_at = fields.DateTime()


class AccountExportSchema(BaseSchema):
    """Everything the platform holds about the caller's account (个人信息保护法: access and copy)."""

    exported_at = fields.DateTime(required=True)
    account = fields.Nested(UserSchema, required=True)
    provider = fields.Nested(ProviderSchema, allow_none=True)
    solutions = fields.List(fields.Nested(SolutionSchema))
    cases = fields.List(fields.Nested(CaseSchema), metadata={"description": "本账号撰写的案例"})
    enterprise = fields.Nested(EnterpriseSchema, allow_none=True)
    inquiries = fields.List(
        fields.Nested(InquirySchema), metadata={"description": "本账号的咨询，含往来回复"}
    )
    assessments = fields.List(fields.Nested(AssessmentSchema))
    recommendations = fields.List(fields.Nested(RecommendationRecordSchema))
    feedback = fields.List(fields.Nested(FeedbackRecordSchema))
