"""Assessment endpoints: the indicator, and an enterprise's assessments."""

from __future__ import annotations

from flask.views import MethodView

from marketplace.assessments import service
from marketplace.assessments.schemas import (
    AssessmentPageSchema,
    AssessmentQueryArgsSchema,
    AssessmentSchema,
    IndicatorSchema,
)
from marketplace.auth.security import authenticated, current_user
from marketplace.common.routes import Blueprint

blp = Blueprint("assessments", __name__, url_prefix="/api/v1", description="数字化水平评测")


@blp.route("/indicators/digital-level")
class Indicator(MethodView):
    """The indicator the assessments follow."""

    @blp.response(200, IndicatorSchema)
    def get(self):
        """查看数字化水平评测指标体系

        返回题目与选项、成效指标的计分档位、16 个场景、评定等级的规则和试点目标（二级；规上及专精特新 90%、
        小巨人 100%）。提交评测时的 answers、measures、scenario_levels 都以这里的代码为键。

        ---

        Get the scored items, the 16 scenarios, the level rule and the pilot targets.
        """
        return service.indicator()


@blp.route("/enterprises/<int:enterprise_id>/assessments")
class Assessments(MethodView):
    """The assessment history of one enterprise."""

    @authenticated(blp)
    @blp.arguments(AssessmentQueryArgsSchema, location="query")
    @blp.response(200, AssessmentPageSchema)
    def get(self, args, enterprise_id):
        """列出企业的评测（本企业、本市主管部门或管理员）

        最新的在前，含企业自评和现场评定，分页返回。

        ---

        List the assessments, newest first (the enterprise, its city's office, admins).
        """
        return service.list_assessments(current_user(), enterprise_id, args)

    @authenticated(blp)
    @blp.arguments(AssessmentSchema)
    @blp.response(201, AssessmentSchema)
    def post(self, data, enterprise_id):
        """提交一次数字化水平评测

        企业只能提交自评（kind=self）；现场评定（kind=onsite）只能由企业所在城市的主管部门或管理员录入。
        全部题目和 16 个场景都须作答。返回评定的等级、各部分得分、距下一等级和距试点目标（二级）
        的差距。

        ---

        Record an assessment and get the level and the gap to the next level.

        The enterprise records its own self-assessments; only its city's office or an admin records
        on-site assessments (现场评定).
        """
        return service.record_assessment(current_user(), enterprise_id, data)
