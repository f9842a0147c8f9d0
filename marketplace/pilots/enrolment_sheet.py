"""Bulk enrolment from the lists offices hold (规上名录, 专精特新名单): preview, then all or nothing.

The API and the console call the same functions:

- :func:`preview_enrolment_sheet` reads the file and reports every row: the enterprise it names,
  the 细分行业 it goes to, and its problems (row number, field, column, Chinese message). It
  writes nothing.
- :func:`import_enrolment_sheet` checks the file again and, only if no row has a problem, enrols
  every row in one transaction; otherwise it raises :class:`Unprocessable` naming each row's
  problems and writes nothing.
- :func:`enrolment_template` gives the blank CSV or XLSX with the Chinese headers.

Rows map to enterprises by 统一社会信用代码. A row names an enterprise whose profile is on the
platform in the city: an enterprise profile belongs to the enterprise's own account, and its
credit code may be registered only once, so the office cannot create profiles for others (that
would lock the enterprise out of its own). The 企业名称 must be the profile's, as a check that
the code was not mistyped. The 细分行业 column holds the city's label; left blank, the row goes
to the one 细分行业 whose codes hold the enterprise's industry. A row already enrolled in that
细分行业 changes nothing. Only the city's office and admins may use these (:mod:`access`).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass

from flask import current_app
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from marketplace.common.credit_code import credit_code_problem
from marketplace.common.sheets import Sheet, SheetRow, file_problem, read_sheet
from marketplace.errors import Conflict, Unprocessable
from marketplace.extensions import db
from marketplace.models import Enterprise, User
from marketplace.pilots.access import check_city_staff
from marketplace.pilots.enrolment import industry_matches
from marketplace.pilots.models import PilotEnrolment, PilotSubIndustry

HEADER_SEARCH_ROWS = 10
"""A list may open with a title and notes; its header is among its first rows."""
QUERY_CHUNK = 500


@dataclass(frozen=True)
class SheetColumn:
    """A column the import reads: its field, the header of the template, the headers it also accepts."""

    field: str
    header: str
    aliases: tuple[str, ...]
    required: bool


COLUMNS = (
    SheetColumn("credit_code", "统一社会信用代码", ("社会信用代码", "信用代码", "统一代码"), True),
    SheetColumn("name", "企业名称", ("企业全称", "单位名称", "企业（单位）名称", "名称"), True),
    SheetColumn("sub_industry", "细分行业", ("所属细分行业", "试点细分行业"), False),
)
"""The template's columns, in order. Other columns of an office's list are ignored."""
TEMPLATE_HEADERS = tuple(column.header for column in COLUMNS)
COLUMN_OF = {column.field: column.header for column in COLUMNS}


def _fold(text: str) -> str:
    """Text as compared: full-width forms folded ((（ → (), spaces removed, letters in one case."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).casefold()


def _header_key(text: str) -> str:
    """A header as matched: folded, without required-marks such as ``*`` or ``（必填）``."""
    return re.sub(r"\*|\(必填\)|\(选填\)", "", _fold(text))


HEADER_FIELDS = {
    _header_key(name): column.field for column in COLUMNS for name in (column.header, *column.aliases)
}


def sheet_limits() -> dict:
    """The configured limits: ``max_rows`` enterprises and ``max_bytes`` per file."""
    config = current_app.config
    return {"max_rows": config["ENROLMENT_SHEET_MAX_ROWS"], "max_bytes": config["ENROLMENT_SHEET_MAX_BYTES"]}


def _locate_header(sheet: Sheet) -> tuple[int, dict[str, int]]:
    """The index of the header row among the sheet's rows, and the column index of each field read."""
    for index, row in enumerate(sheet.rows[:HEADER_SEARCH_ROWS]):
        fields = [HEADER_FIELDS.get(_header_key(cell.text)) for cell in row.cells]
        if "credit_code" not in fields:
            continue
        positions: dict[str, int] = {}
        for position, field in enumerate(fields):
            if field is None:
                continue
            if field in positions:
                raise file_problem(f"表头中“{COLUMN_OF[field]}”列出现了两次（第 {row.number} 行）")
            positions[field] = position
        missing = [column.header for column in COLUMNS if column.required and column.field not in positions]
        if missing:
            raise file_problem(f"表头缺少“{'”“'.join(missing)}”列（第 {row.number} 行）")
        return index, positions
    raise file_problem(
        f"前 {HEADER_SEARCH_ROWS} 行中没有找到“统一社会信用代码”表头；可下载模板，按模板的表头填写"
    )


@dataclass
class RowCheck:
    """One data row as read and judged."""

    row: int
    values: dict[str, str]
    problems: list[dict]
    enterprise: Enterprise | None = None
    sub_industry: PilotSubIndustry | None = None
    action: str | None = None

    def refuse(self, field: str, message: str) -> None:
        """Record a problem of this row's ``field``."""
        self.problems.append({"field": field, "column": COLUMN_OF[field], "message": message})

    def report(self) -> dict:
        """The row as the preview shows it."""
        return {
            "row": self.row,
            **self.values,
            "enterprise_id": self.enterprise.id if self.enterprise else None,
            "enterprise_name": self.enterprise.name if self.enterprise else None,
            "sub_industry_id": self.sub_industry.id if self.sub_industry else None,
            "sub_industry_name": self.sub_industry.name if self.sub_industry else None,
            "action": None if self.problems else self.action,
            "problems": self.problems,
        }


def _read_row(row: SheetRow, positions: dict[str, int]) -> RowCheck:
    """A row's values, with problems of the cells themselves: formulas, numbers, missing values."""
    check = RowCheck(row.number, {column.field: "" for column in COLUMNS}, [])
    for field, position in positions.items():
        cell = row.cell(position)
        risk = cell.formula_risk
        if risk:
            check.refuse(field, risk)
            continue
        if field == "credit_code" and cell.numeric:
            check.refuse(
                field, "统一社会信用代码被存成了数字，可能已被表格软件改动，请将该列设为文本后重新填写"
            )
            continue
        check.values[field] = cell.text
    for column in COLUMNS:
        if column.required and not check.values[column.field] and column.field not in _fields(check):
            check.refuse(column.field, "缺少必填值")
    return check


def _fields(check: RowCheck) -> set[str]:
    return {problem["field"] for problem in check.problems}


def _enterprises_by_code(codes: list[str]) -> dict[str, Enterprise]:
    found: dict[str, Enterprise] = {}
    for start in range(0, len(codes), QUERY_CHUNK):
        chunk = codes[start : start + QUERY_CHUNK]
        found.update(
            (e.credit_code, e)
            for e in db.session.scalars(select(Enterprise).where(Enterprise.credit_code.in_(chunk)))
        )
    return found


def _enrolments_of(enterprise_ids: list[int]) -> dict[int, PilotEnrolment]:
    found: dict[int, PilotEnrolment] = {}
    for start in range(0, len(enterprise_ids), QUERY_CHUNK):
        chunk = enterprise_ids[start : start + QUERY_CHUNK]
        found.update(
            (row.enterprise_id, row)
            for row in db.session.scalars(
                select(PilotEnrolment).where(PilotEnrolment.enterprise_id.in_(chunk))
            )
        )
    return found


def _choose_sub_industry(check: RowCheck, subs: list[PilotSubIndustry]) -> None:
    """Set the row's 细分行业: the one it names, else the only one holding the enterprise's industry."""
    enterprise, label = check.enterprise, check.values["sub_industry"]
    if label:
        named = [sub for sub in subs if _fold(sub.name) == _fold(label)]
        if not named:
            choices = "、".join(sub.name for sub in subs)
            check.refuse("sub_industry", f"本市试点没有名为“{label}”的细分行业（现有：{choices}）")
            return
        check.sub_industry = named[0]
        if enterprise is not None and not industry_matches(enterprise.industry_code, named[0].industry_codes):
            check.refuse(
                "sub_industry",
                f"企业所属行业 {enterprise.industry_code} 不在“{named[0].name}”的行业代码"
                f"（{'、'.join(named[0].industry_codes)}）范围内",
            )
        return
    if enterprise is None:
        return
    fitting = [sub for sub in subs if industry_matches(enterprise.industry_code, sub.industry_codes)]
    if len(fitting) == 1:
        check.sub_industry = fitting[0]
    elif not fitting:
        check.refuse(
            "sub_industry", f"企业所属行业 {enterprise.industry_code} 不在本市任何细分行业的行业代码范围内"
        )
    else:
        names = "、".join(sub.name for sub in fitting)
        check.refuse("sub_industry", f"企业所属行业可归入多个细分行业（{names}），请在“细分行业”列注明")


def check_sheet(actor: User, city: str, data: bytes) -> tuple[Sheet, list[RowCheck]]:
    """Read ``data`` and judge every row against the store, writing nothing.

    :raises Forbidden: for providers and enterprises; :raises NotFound: for another city's office.
    :raises Unprocessable: on ``file``, if the file cannot be read, is too large or has too many
        rows, has no header or no data, or the city has no 细分行业 yet.
    """
    check_city_staff(actor, city)
    limits = sheet_limits()
    sheet = read_sheet(data, max_rows=limits["max_rows"] + HEADER_SEARCH_ROWS, max_bytes=limits["max_bytes"])
    header, positions = _locate_header(sheet)
    data_rows = sheet.rows[header + 1 :]
    if not data_rows:
        raise file_problem("表格中没有企业数据：表头下方至少要有一行")
    if len(data_rows) > limits["max_rows"]:
        raise file_problem(f"企业行数超过上限：最多 {limits['max_rows']} 行，请分批上传")
    subs = list(
        db.session.scalars(
            select(PilotSubIndustry).where(PilotSubIndustry.city == city).order_by(PilotSubIndustry.id)
        )
    )
    if not subs:
        raise file_problem("本市试点尚未设立细分行业，请先设立细分行业再导入企业")
    checks = [_read_row(row, positions) for row in data_rows]
    first_row_of: dict[str, int] = {}
    for check in checks:
        code = _fold(check.values["credit_code"]).upper()
        if not code:
            continue
        check.values["credit_code"] = code
        problem = credit_code_problem(code)
        if problem:
            check.refuse("credit_code", problem)
        elif code in first_row_of:
            check.refuse("credit_code", f"与第 {first_row_of[code]} 行的统一社会信用代码重复")
        else:
            first_row_of[code] = check.row
    enterprises = _enterprises_by_code(list(first_row_of))
    enrolments = _enrolments_of([e.id for e in enterprises.values()])
    for check in checks:
        if "credit_code" in _fields(check) or not check.values["credit_code"]:
            continue
        enterprise = enterprises.get(check.values["credit_code"])
        if enterprise is None or enterprise.city != city:
            check.refuse(
                "credit_code", f"{city}没有该统一社会信用代码的企业档案（企业须先在平台注册并填写企业档案）"
            )
            continue
        check.enterprise = enterprise
        if check.values["name"] and _fold(check.values["name"]) != _fold(enterprise.name):
            check.refuse(
                "name", f"企业名称与平台档案不一致（档案为“{enterprise.name}”），请核对统一社会信用代码"
            )
    for check in checks:
        if "sub_industry" in _fields(check) or (
            check.enterprise is None and not check.values["sub_industry"]
        ):
            continue
        _choose_sub_industry(check, subs)
        if check.enterprise is None or check.sub_industry is None or "sub_industry" in _fields(check):
            continue
        current = enrolments.get(check.enterprise.id)
        if current is None:
            check.action = "enrol"
        elif current.sub_industry_id == check.sub_industry.id:
            check.action = "unchanged"
        else:
            check.refuse(
                "sub_industry",
                f"企业已纳入细分行业“{current.sub_industry.name}”，如需调整请先将其退出该细分行业",
            )
    return sheet, checks


def _report(sheet: Sheet, checks: list[RowCheck], imported: bool) -> dict:
    rows = [check.report() for check in checks]
    invalid = sum(1 for row in rows if row["problems"])
    return {
        "file_format": sheet.file_format,
        "encoding": sheet.encoding,
        "total": len(rows),
        "valid": len(rows) - invalid,
        "invalid": invalid,
        "to_enrol": sum(1 for row in rows if row["action"] == "enrol"),
        "unchanged": sum(1 for row in rows if row["action"] == "unchanged"),
        "can_import": invalid == 0,
        "imported": imported,
        "rows": rows,
    }


def preview_enrolment_sheet(actor: User, city: str, data: bytes) -> dict:
    """Report what importing ``data`` would do, row by row, without writing anything.

    :param actor: the caller: the office of ``city`` or an admin.
    :param city: the pilot city, by full name.
    :param data: the uploaded XLSX or CSV.
    :returns: ``file_format``, ``encoding``, counts (``total``, ``valid``, ``invalid``,
        ``to_enrol``, ``unchanged``), ``can_import``, ``imported`` (false) and ``rows``: each with
        ``row`` (the spreadsheet's row number), the values read, the enterprise and 细分行业 found,
        ``action`` (enrol, unchanged, or null for a row with problems) and ``problems`` (each
        ``field``, ``column`` and ``message``).
    :raises Forbidden: for providers and enterprises.
    :raises NotFound: for another city's office.
    :raises Unprocessable: on ``file`` for a file that cannot be used at all (see :func:`check_sheet`).
    """
    sheet, checks = check_sheet(actor, city, data)
    return _report(sheet, checks, imported=False)


def import_enrolment_sheet(actor: User, city: str, data: bytes) -> dict:
    """Enrol every row of ``data`` in one transaction, or nothing if any row has a problem.

    :returns: the report of :func:`preview_enrolment_sheet`, with ``imported`` true.
    :raises Unprocessable: if any row has a problem, naming each as ``rows[<row>].<field>`` in the
        flat error shape; or on ``file`` as the preview does. Nothing is written.
    :raises Conflict: if another request enrolled one of the enterprises meanwhile; nothing is written.
    :raises Forbidden: for providers and enterprises; :raises NotFound: for another city's office.
    """
    sheet, checks = check_sheet(actor, city, data)
    bad = [check for check in checks if check.problems]
    if bad:
        errors: dict[str, dict[str, list[str]]] = {}
        for check in bad:
            for problem in check.problems:
                errors.setdefault(str(check.row), {}).setdefault(problem["field"], []).append(
                    problem["message"]
                )
        raise Unprocessable(f"表格中有 {len(bad)} 行存在问题，未导入任何企业", {"rows": errors})
    for check in checks:
        if check.action == "enrol":
            db.session.add(
                PilotEnrolment(
                    sub_industry=check.sub_industry, enterprise=check.enterprise, enrolled_by_id=actor.id
                )
            )
    try:
        db.session.commit()
    except IntegrityError as error:
        db.session.rollback()
        raise Conflict("导入期间有企业被同时纳入试点，未导入任何企业，请重新预览后再导入") from error
    return _report(sheet, checks, imported=True)


def enrolment_template(actor: User, city: str, file_format: str) -> bytes:
    """The blank list to fill in: the Chinese headers; an XLSX also lists the city's 细分行业 to pick from.

    :raises Forbidden: for providers and enterprises; :raises NotFound: for another city's office.
    """
    check_city_staff(actor, city)
    if file_format == "csv":
        buffer = io.StringIO(newline="")
        csv.writer(buffer).writerow(TEMPLATE_HEADERS)
        return buffer.getvalue().encode("utf-8-sig")
    subs = db.session.scalars(
        select(PilotSubIndustry).where(PilotSubIndustry.city == city).order_by(PilotSubIndustry.id)
    ).all()
    max_rows = sheet_limits()["max_rows"]
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "企业名单"
    sheet.append(TEMPLATE_HEADERS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
    for letter, width in zip("ABC", (26, 40, 24), strict=True):
        sheet.column_dimensions[letter].width = width
    for (cell,) in sheet.iter_rows(min_row=2, max_row=max_rows + 1, max_col=1):
        cell.number_format = "@"
    sheet.freeze_panes = "A2"
    choices = workbook.create_sheet("细分行业")
    choices.append(("细分行业", "行业代码"))
    for sub in subs:
        choices.append((sub.name, "、".join(sub.industry_codes)))
    choices.column_dimensions["A"].width = 30
    if subs:
        picker = DataValidation(
            type="list",
            formula1=f"'细分行业'!$A$2:$A${len(subs) + 1}",
            allow_blank=True,
            showErrorMessage=True,
            errorTitle="细分行业",
            error="请从本市试点的细分行业中选择，或留空按企业所属行业自动归入",
        )
        sheet.add_data_validation(picker)
        picker.add(f"C2:C{max_rows + 1}")
    notes = workbook.create_sheet("填写说明")
    for line in (
        f"{city}试点企业批量纳入模板：只读取第一个工作表“企业名单”，表头须保留。",
        "统一社会信用代码：必填，18 位；企业须已在平台注册并填写企业档案，所在城市为本市。",
        "企业名称：必填，须与平台企业档案一致，用于核对信用代码。",
        "细分行业：选填，填本市试点的细分行业名称；留空时按企业所属行业归入唯一匹配的细分行业。",
        f"每次最多 {max_rows} 行；请勿使用公式。",
        "上传后先预览；全部行无误才能导入，导入要么全部成功，要么全部不写入。",
    ):
        notes.append((line,))
    notes.column_dimensions["A"].width = 110
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
