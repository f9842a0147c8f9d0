"""Liveness and readiness probes."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from indexing.base import SearchUnavailable
from marketplace.common.routes import Blueprint
from marketplace.common.schemas import BaseSchema
from marketplace.errors import ServiceUnavailable, may_answer
from marketplace.extensions import db
from marketplace.search import outbox
from marketplace.search.service import search_state

blp = Blueprint("health", __name__, description="运行状态")


class LivenessSchema(BaseSchema):
    """The process answers."""

    status = fields.String()


class ReadinessSchema(BaseSchema):
    """The store and the index answer; how far the index lags behind the store."""

    status = fields.String()
    store = fields.String()
    index = fields.String()
    index_lag = fields.Integer(metadata={"description": "outbox rows not yet applied to the index"})
    index_documents = fields.Dict(keys=fields.String(), values=fields.Integer())
    index_analysis_current = fields.Boolean(
        metadata={"description": "false: the index was built with another analysis; run flask index rebuild"}
    )


@blp.route("/healthz")
class Health(MethodView):
    """Liveness."""

    @blp.response(200, LivenessSchema)
    def get(self):
        """Answer while the process is alive."""
        return {"status": "ok"}


@blp.route("/readyz")
class Ready(MethodView):
    """Readiness."""

    @may_answer(blp, 503)
    @blp.response(200, ReadinessSchema)
    def get(self):
        """Check the store and the index; 503 if either is down."""
        problems = {}
        try:
            db.session.execute(text("SELECT 1"))
            lag = outbox.lag()
        except SQLAlchemyError as error:
            db.session.rollback()
            problems["store"] = [f"数据库不可用：{type(error).__name__}"]
            lag = None
        state = search_state()
        try:
            stats = state.backend.stats()
        except SearchUnavailable:
            problems["index"] = ["搜索索引不可用"]
        if problems:
            raise ServiceUnavailable("服务未就绪", problems)
        return {
            "status": "ready",
            "store": "ok",
            "index": "ok",
            "index_lag": lag,
            "index_documents": stats.documents,
            "index_analysis_current": stats.analysis == state.analyzer.version,
        }
