"""City pilot endpoints: 细分行业 and enrolment, the dashboard and export, retrofit projects."""

from __future__ import annotations

from flask.views import MethodView

from marketplace.auth.security import authenticated, current_user
from marketplace.cases.schemas import CaseSchema
from marketplace.common.routes import Blueprint
from marketplace.enterprises.service import CITY_LOCKS, INDUSTRY_LOCKS
from marketplace.models import Role
from marketplace.pilots import dashboard, enrolment, enrolment_sheet, export, projects, showcase, standings
from marketplace.pilots.schemas import (
    AdvanceSchema,
    BasisArgsSchema,
    DashboardSchema,
    EnrolmentSchema,
    EnrolmentSheetReportSchema,
    EnrolmentSheetUploadSchema,
    ExportArgsSchema,
    PilotEnterprisePageSchema,
    PilotEnterpriseQueryArgsSchema,
    ProjectOutcomeSchema,
    ProjectPageSchema,
    ProjectQueryArgsSchema,
    ProjectSchema,
    SheetTemplateArgsSchema,
    ShowcaseSchema,
    SubIndustrySchema,
)

blp = Blueprint(
    "pilots", __name__, url_prefix="/api/v1", description="城市试点：细分行业、试点看板与改造项目"
)


@blp.record_once
def lock_enrolled_enterprises(state) -> None:
    """Keep a city's pilot enterprises in their city and 细分行业 (see :mod:`enrolment`)."""
    state.app.extensions.setdefault(CITY_LOCKS, []).append(enrolment.in_city_pilot)
    state.app.extensions.setdefault(INDUSTRY_LOCKS, []).append(enrolment.enrolments_outside)


PILOT = "/cities/<city:city>/pilot"
EXPORT_DOC = {
    "200": {
        "description": "试点企业清单（CSV 为带 BOM 的 UTF-8；XLSX 首行为表头）",
        "content": {
            mime: {"schema": {"type": "string", "format": "binary"}} for mime in export.MIME_TYPES.values()
        },
    }
}


@blp.route(PILOT)
class Dashboard(MethodView):
    """A city's pilot dashboard."""

    @authenticated(blp)
    @blp.arguments(BasisArgsSchema, location="query")
    @blp.response(200, DashboardSchema)
    def get(self, args, city):
        """试点看板（本市主管部门或管理员）

        各细分行业相对试点目标（规上及专精特新 90%、小巨人 100% 达到二级）的进展、改造项目进度、
        服务商表现和推广中的样板。默认只认现场评定（basis=onsite）。

        ---

        Where each 细分行业 stands against the 90%/100% targets (the city's office and admins).
        """
        return dashboard.dashboard(current_user(), city, args["basis"])


@blp.route(f"{PILOT}/export")
class Export(MethodView):
    """The pilot's enterprise list as a file."""

    @authenticated(blp)
    @blp.doc(responses=EXPORT_DOC)
    @blp.arguments(ExportArgsSchema, location="query")
    def get(self, args, city):
        """导出本市试点企业（CSV 或 XLSX）

        每家纳入企业一行：细分行业、规模、梯度、首次和最近一次评测的等级、距二级的差距、改造项目阶段。

        ---

        Download the enterprises with levels and gaps as CSV or XLSX (the city's office and admins).
        """
        rows = standings.export_rows(current_user(), city, args["basis"])
        return export.export_response(rows, city, args["format"])


@blp.route(f"{PILOT}/enterprises")
class PilotEnterprises(MethodView):
    """The pilot's enterprises."""

    @authenticated(blp)
    @blp.arguments(PilotEnterpriseQueryArgsSchema, location="query")
    @blp.response(200, PilotEnterprisePageSchema)
    def get(self, args, city):
        """列出本市纳入试点的企业

        含首次和最近一次评测的等级、距二级的差距和改造项目，可按细分行业、是否达标等筛选，分页返回。
        本市主管部门或管理员可调用。

        ---

        List enrolled enterprises with first and latest levels and the gap to 二级.
        """
        return standings.pilot_enterprises(current_user(), city, args)


@blp.route(f"{PILOT}/sub-industries")
class SubIndustries(MethodView):
    """The 细分行业 of a city's pilot."""

    @authenticated(blp)
    @blp.response(200, SubIndustrySchema(many=True))
    def get(self, city):
        """列出本市的细分行业

        每个细分行业含城市自己的名称、对应的行业代码、改造目标数和已纳入的企业。本市主管部门或管理员可调用。

        ---

        List the city's 细分行业.
        """
        return enrolment.list_sub_industries(current_user(), city)

    @authenticated(blp)
    @blp.arguments(SubIndustrySchema)
    @blp.response(201, SubIndustrySchema)
    def post(self, data, city):
        """新建细分行业

        名称用城市自己的表述，行业代码为 GB/T 4754-2017 代码，改造目标为企业数。本市主管部门或管理员可调用。

        ---

        Define a 细分行业: the city's label, its GB/T codes and the retrofit target.
        """
        return enrolment.create_sub_industry(current_user(), city, data)


@blp.route(f"{PILOT}/sub-industries/<int:sub_industry_id>")
class SubIndustryById(MethodView):
    """One 细分行业."""

    @authenticated(blp)
    @blp.response(200, SubIndustrySchema)
    def get(self, city, sub_industry_id):
        """查看一个细分行业

        含已纳入企业的编号。本市主管部门或管理员可调用。

        ---

        Get a 细分行业 with its enrolled enterprises.
        """
        return enrolment.get_sub_industry(current_user(), city, sub_industry_id)

    @authenticated(blp)
    @blp.arguments(SubIndustrySchema(partial=True))
    @blp.response(200, SubIndustrySchema)
    def patch(self, data, city, sub_industry_id):
        """修改细分行业

        只需提交要修改的字段。已纳入企业的行业须仍落在新的行业代码之下。本市主管部门或管理员可调用。

        ---

        Change a 细分行业's label, codes or retrofit target.
        """
        return enrolment.update_sub_industry(current_user(), city, sub_industry_id, data)


@blp.route(f"{PILOT}/sub-industries/<int:sub_industry_id>/enrolments")
class Enrolments(MethodView):
    """Enrolment of enterprises in a 细分行业."""

    @authenticated(blp)
    @blp.arguments(EnrolmentSchema)
    @blp.response(200, SubIndustrySchema)
    def post(self, data, city, sub_industry_id):
        """将企业纳入细分行业

        企业须为本市企业，其行业须落在细分行业的代码之下；已纳入的保持不变。本市主管部门或管理员可调用。

        ---

        Enrol enterprises of the city whose industry falls under the 细分行业's codes.
        """
        return enrolment.enrol(current_user(), city, sub_industry_id, data["enterprise_ids"])


@blp.route(f"{PILOT}/sub-industries/<int:sub_industry_id>/enrolments/<int:enterprise_id>")
class Enrolment(MethodView):
    """One enrolment."""

    @authenticated(blp)
    @blp.response(204)
    def delete(self, city, sub_industry_id, enterprise_id):
        """将企业移出细分行业

        已有改造项目的企业不能移出（409）。本市主管部门或管理员可调用。

        ---

        Take an enterprise without retrofit project out of the 细分行业.
        """
        enrolment.unenrol(current_user(), city, sub_industry_id, enterprise_id)


TEMPLATE_DOC = {
    "200": {
        "description": "批量纳入模板（CSV 为带 BOM 的 UTF-8；XLSX 另附本市细分行业与填写说明）",
        "content": {
            mime: {"schema": {"type": "string", "format": "binary"}} for mime in export.MIME_TYPES.values()
        },
    }
}


@blp.route(f"{PILOT}/enrolment-sheet/template")
class EnrolmentSheetTemplate(MethodView):
    """The blank list for bulk enrolment."""

    @authenticated(blp)
    @blp.doc(
        summary="下载批量纳入模板（XLSX 或 CSV）",
        description="模板的表头为 统一社会信用代码、企业名称、细分行业；XLSX 另附本市的细分行业和填写说明。"
        "本市主管部门或管理员可调用。",
        responses=TEMPLATE_DOC,
    )
    @blp.arguments(SheetTemplateArgsSchema, location="query")
    def get(self, args, city):
        """The headers 统一社会信用代码, 企业名称, 细分行业 (the city's office and admins)."""
        body = enrolment_sheet.enrolment_template(current_user(), city, args["format"])
        return export.download_response(
            body, args["format"], "enrolment-template", f"{city}试点企业批量纳入模板"
        )


@blp.route(f"{PILOT}/enrolment-sheet/preview")
class EnrolmentSheetPreview(MethodView):
    """Check a list before importing it."""

    @authenticated(blp, Role.CITY_OFFICE, Role.ADMIN)
    @blp.doc(
        summary="预览批量纳入：逐行列出问题，不写入任何数据",
        description="上传按模板填写的 XLSX 或 CSV（UTF-8 或 GBK），逐行给出匹配到的企业、细分行业和问题。"
        "文件无法读取（编码无法识别、找不到表头）时返回 422。本市主管部门或管理员可调用。",
    )
    @blp.arguments(EnrolmentSheetUploadSchema, location="files")
    @blp.response(200, EnrolmentSheetReportSchema)
    def post(self, files, city):
        """Read an XLSX or CSV list and report every row's enterprise, 细分行业 and problems."""
        return enrolment_sheet.preview_enrolment_sheet(current_user(), city, files["file"].read())


@blp.route(f"{PILOT}/enrolment-sheet/import")
class EnrolmentSheetImport(MethodView):
    """Import a checked list."""

    @authenticated(blp, Role.CITY_OFFICE, Role.ADMIN)
    @blp.doc(
        summary="批量纳入：全部行无误才导入，任一行有问题则不写入任何数据",
        description="与预览相同的检查；全部行都没有问题时，一次纳入全部企业（已纳入的保持不变），"
        "否则什么也不写入并返回逐行问题。本市主管部门或管理员可调用。",
    )
    @blp.arguments(EnrolmentSheetUploadSchema, location="files")
    @blp.response(200, EnrolmentSheetReportSchema)
    def post(self, files, city):
        """Enrol every row in one transaction; a 422 names each bad row as ``rows[<row>].<field>``."""
        return enrolment_sheet.import_enrolment_sheet(current_user(), city, files["file"].read())


@blp.route("/retrofit-projects")
class Projects(MethodView):
    """Retrofit projects (改造项目)."""

    @authenticated(blp)
    @blp.arguments(ProjectQueryArgsSchema, location="query")
    @blp.response(200, ProjectPageSchema)
    def get(self, args):
        """列出改造项目

        城市主管部门看到本市的，服务商和企业看到自己参与的，管理员看到全部；可按阶段、细分行业、
        服务商筛选，分页返回。

        ---

        List projects: a city office its city's, a provider or enterprise its own, admins all.
        """
        return projects.list_projects(current_user(), args)

    @authenticated(blp)
    @blp.arguments(ProjectSchema)
    @blp.response(201, ProjectOutcomeSchema)
    def post(self, data):
        """为纳入试点的本市企业立项改造项目（城市主管部门）

        项目从“诊断评估”阶段开始；企业须已纳入本市的细分行业。

        ---

        Open a project at 诊断评估 for an enrolled enterprise of the office's city.
        """
        return projects.create_project(current_user(), data)


@blp.route("/retrofit-projects/<int:project_id>")
class ProjectById(MethodView):
    """One retrofit project."""

    @authenticated(blp)
    @blp.response(200, ProjectOutcomeSchema)
    def get(self, project_id):
        """查看一个改造项目

        含改造前后的等级。本市主管部门、管理员和项目双方可见。

        ---

        Get a project with its level before and after (its city's office, admins, the parties).
        """
        return projects.show_project(current_user(), project_id)


@blp.route("/retrofit-projects/<int:project_id>/advance")
class AdvanceProject(MethodView):
    """The project's next stage."""

    @authenticated(blp)
    @blp.arguments(AdvanceSchema)
    @blp.response(200, ProjectOutcomeSchema)
    def post(self, data, project_id):
        """推进改造项目到下一阶段

        阶段依次为 诊断评估 → 备案审核 → 改造实施 → 竣工验收。竣工验收须有一次日期在项目开始之后、
        且在改造实施期间或之后的现场评定。本市主管部门或管理员可调用。

        ---

        Move to the next stage: 诊断评估 → 备案审核 → 改造实施 → 竣工验收.

        Acceptance needs an on-site assessment dated after the start and during or after implementation.
        """
        return projects.advance_project(current_user(), project_id, data["note"])


@blp.route("/retrofit-projects/<int:project_id>/showcase")
class ShowcaseProject(MethodView):
    """ "See and learn": promote an accepted project as a 样板."""

    @authenticated(blp)
    @blp.arguments(ShowcaseSchema)
    @blp.response(201, CaseSchema)
    def post(self, data, project_id):
        """把竣工项目做成样板案例并在本市推广

        一次调用完成：由项目生成案例（每个项目一次）并设定推广期。本市主管部门可调用。

        ---

        Make the project's benchmark case (once) and promote it in the city, in one call.
        """
        return showcase.showcase_project(current_user(), project_id, data)
