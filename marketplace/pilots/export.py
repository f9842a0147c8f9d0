"""Export the pilot's enterprise list as CSV (UTF-8 with BOM, for Excel) or XLSX, as provinces ask for."""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Callable
from datetime import date
from urllib.parse import quote

from flask import Response
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.workbook.child import INVALID_TITLE_REGEX

from marketplace.common.sheets import FORMULA_START
from marketplace.pilots.labels import KIND_NAMES, SIZE_NAMES, TIER_NAMES
from marketplace.taxonomy.service import taxonomy

MIME_TYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
MAX_COLUMN_WIDTH = 60


def _yes(flag: bool) -> str:
    return "是" if flag else "否"


def _brief(key: str, field: str) -> Callable[[dict], object]:
    return lambda row: row[key][field] if row[key] else None


def _gap_points(row: dict):
    if row["latest"] is None:
        return "未评测"
    return row["gap"].points_missing if row["gap"] else 0


def _scenarios_to_raise(row: dict) -> str:
    if row["gap"] is None:
        return ""
    names = taxonomy().scenarios
    return "、".join(
        f"{names[s.code].name}{'★' if s.constraint else ''}（{s.current_level}→{s.target_level}级）"
        for s in row["gap"].scenarios_to_raise
    )


COLUMNS: tuple[tuple[str, Callable[[dict], object]], ...] = (
    ("企业名称", lambda row: row["name"]),
    ("统一社会信用代码", lambda row: row["credit_code"]),
    ("所属区县/城市", lambda row: row["city"]),
    ("细分行业", lambda row: row["sub_industry_name"]),
    ("行业代码", lambda row: row["industry_code"]),
    ("规模", lambda row: SIZE_NAMES.get(row["size"], row["size"])),
    ("规上/规下", lambda row: "规上" if row["above_scale"] else "规下"),
    ("梯度（企业自报）", lambda row: TIER_NAMES.get(row["tier"], row["tier"])),
    (
        "梯度（城市核实）",
        lambda row: (
            TIER_NAMES.get(row["verified_tier"], row["verified_tier"]) if row["verified_tier"] else "待核实"
        ),
    ),
    ("计入90%考核", lambda row: _yes(row["in_main_group"])),
    ("计入小巨人考核", lambda row: _yes(row["in_little_giant_group"])),
    ("首次评测等级", lambda row: row["first"]["level_name"] if row["first"] else "未评测"),
    ("首次评测得分", _brief("first", "total_score")),
    ("首次评测日期", _brief("first", "assessed_on")),
    ("最新评测等级", lambda row: row["latest"]["level_name"] if row["latest"] else "未评测"),
    ("最新评测得分", _brief("latest", "total_score")),
    ("基础得分", _brief("latest", "foundation_score")),
    ("管理得分", _brief("latest", "management_score")),
    ("成效得分", _brief("latest", "effectiveness_score")),
    ("二级及以上约束性场景数", _brief("latest", "constraint_scenarios_at_target")),
    ("二级及以上指导性场景数", _brief("latest", "guidance_scenarios_at_target")),
    ("是否达到二级", lambda row: _yes(row["at_target"])),
    ("距二级差距(分)", _gap_points),
    ("需提升场景", _scenarios_to_raise),
    ("评测类型", lambda row: KIND_NAMES[row["latest"]["kind"]] if row["latest"] else None),
    ("评测日期", _brief("latest", "assessed_on")),
    ("改造项目状态", lambda row: row["project"]["status_name"] if row["project"] else "未立项"),
    ("服务商", lambda row: row["project"]["provider_name"] if row["project"] else None),
)
HEADERS = ("序号", *(header for header, _ in COLUMNS))


def safe_cell(value, file_format: str):
    """``value`` as a cell that no spreadsheet runs as a formula, with its visible text kept.

    In CSV, text that starts with ``= + - @``, a tab or a CR gets a leading apostrophe (OWASP's
    advice against CSV injection). In XLSX, :func:`to_xlsx` writes text as strings, never formulas,
    so it stays as it is, less the control characters XML cannot hold.
    """
    if not isinstance(value, str):
        return "" if value is None and file_format == "csv" else value
    if file_format == "xlsx":
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return "'" + value if value.startswith(FORMULA_START) else value


def table(rows: list[dict]) -> list[list]:
    """The export's cells: a numbered line per enterprise, under :data:`HEADERS`."""
    return [[number, *(value(row) for _, value in COLUMNS)] for number, row in enumerate(rows, start=1)]


def to_csv(rows: list[dict]) -> bytes:
    """CSV encoded as UTF-8 with a BOM, so that Excel reads the Chinese text."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(HEADERS)
    writer.writerows([[safe_cell(cell, "csv") for cell in line] for line in table(rows)])
    return buffer.getvalue().encode("utf-8-sig")


def _display_width(value) -> int:
    text = "" if value is None else str(value)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def to_xlsx(rows: list[dict], city: str) -> bytes:
    """An XLSX workbook: bold header row and the name column frozen, filters, fitted column widths."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = INVALID_TITLE_REGEX.sub("", f"{city}试点企业")[:31]
    sheet.append(HEADERS)
    for line in table(rows):
        sheet.append([safe_cell(cell, "xlsx") for cell in line])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        cell.alignment = Alignment(vertical="center", wrap_text=True)
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, date):
                cell.number_format = "yyyy-mm-dd"
            elif isinstance(cell.value, str):
                cell.data_type, cell.quotePrefix = "s", True
    for index, column in enumerate(sheet.iter_cols(values_only=True), start=1):
        width = max(_display_width(value) for value in column) + 2
        sheet.column_dimensions[get_column_letter(index)].width = min(max(width, 8), MAX_COLUMN_WIDTH)
    sheet.freeze_panes = "C2"
    sheet.auto_filter.ref = sheet.dimensions
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def content_disposition(ascii_name: str, name: str) -> str:
    """An attachment header with an ASCII fallback and the UTF-8 name per RFC 5987 / RFC 6266."""
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def download_response(body: bytes, file_format: str, ascii_stem: str, stem: str) -> Response:
    """A CSV or XLSX file as a download that is never cached, named ``stem`` (``ascii_stem`` as fallback)."""
    response = Response(body, mimetype=MIME_TYPES[file_format])
    response.headers["Content-Disposition"] = content_disposition(
        f"{ascii_stem}.{file_format}", f"{stem}.{file_format}"
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def export_response(rows: list[dict], city: str, file_format: str, today: date | None = None) -> Response:
    """The export file as a download that is never cached."""
    stamp = (today or date.today()).isoformat()
    body = to_csv(rows) if file_format == "csv" else to_xlsx(rows, city)
    return download_response(
        body, file_format, f"pilot-enterprises-{stamp}", f"{city}试点企业数字化水平清单-{stamp}"
    )
