"""Liveness and readiness probes."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields

from marketplace.common.routes import Blueprint
from marketplace.common.schemas import BaseSchema
from marketplace.errors import may_answer
from marketplace.health import service

blp = Blueprint("health", __name__, description="运行状态")


class LivenessSchema(BaseSchema):
    """The process answers."""

    status = fields.String()


class ReadinessSchema(BaseSchema):
    """The store and the index answer; how far the index lags behind the store."""

    status = fields.String()
    store = fields.String()
    index = fields.String()
    index_lag = fields.Integer(metadata={"description": "尚未写入搜索索引的变更条数"})
    index_documents = fields.Dict(keys=fields.String(), values=fields.Integer())
    index_analysis_current = fields.Boolean(
        metadata={"description": "false：索引是用另一套分词规则建立的，需运行 flask index rebuild"}
    )
    vectors_missing = fields.Integer(
        allow_none=True,
        metadata={
            "description": "尚无语义向量的已发布条目数（向量生成前只能按关键词找到）；未启用语义检索时为 null"
        },
    )


@blp.route("/healthz")
class Health(MethodView):
    """Liveness."""

    @blp.response(200, LivenessSchema)
    def get(self):
        """存活检查

        进程在运行就返回 200。

        ---

        Answer while the process is alive.
        """
        return {"status": "ok"}


@blp.route("/readyz")
class Ready(MethodView):
    """Readiness."""

    @may_answer(blp, 503)
    @blp.response(200, ReadinessSchema)
    def get(self):
        """就绪检查

        检查数据库和搜索索引；任一不可用时返回 503。

        ---

        Check the store and the index; 503 if either is down.
        """
        return service.readiness()
