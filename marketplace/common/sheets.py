"""Read an uploaded spreadsheet, XLSX or CSV, into rows of text, refusing what cannot be read safely.

Offices keep their lists in Excel. They send XLSX, or CSV that Excel saved: UTF-8 with or without
a BOM, GBK (read as its superset GB 18030) on Chinese Windows, UTF-16 for "Unicode text". Legacy
``.xls`` and encrypted workbooks are refused with a hint to save as XLSX or CSV.

Nothing here trusts the file: the size is capped before parsing, an XLSX's unpacked size too (a
small zip can unpack to gigabytes), and every cell says whether a spreadsheet would run it as a
formula, so that callers refuse such cells in the columns they use.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time

from openpyxl import load_workbook

from marketplace.errors import Unprocessable

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""Leading characters that make spreadsheets treat text as a formula (OWASP, CSV injection)."""
UNPACKED_PER_PACKED = 40
"""How many times its own size an XLSX may unpack to; real sheets unpack to about 5-10 times."""
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
CSV_DELIMITERS = (",", "\t", ";")


@dataclass(frozen=True)
class SheetCell:
    """One cell as text (stripped), with what the spreadsheet held.

    ``formula`` is true for an XLSX formula cell; ``numeric`` for a cell stored as a number, whose
    digits a spreadsheet may already have rounded (an 18-digit code shown as 9.1E+17).
    """

    text: str
    formula: bool = False
    numeric: bool = False

    @property
    def formula_risk(self) -> str | None:
        """Why a spreadsheet would run this cell as a formula, in Chinese, or None if it would not."""
        if self.formula:
            return "单元格是公式，请复制后“选择性粘贴为数值”再上传"
        if self.text.startswith(FORMULA_START):
            shown = {"\t": "制表符", "\r": "回车符"}.get(self.text[0], self.text[0])
            return f"单元格以“{shown}”开头，可能被表格软件当作公式执行，请删去该字符"
        return None


@dataclass(frozen=True)
class SheetRow:
    """A row that is not blank, with the number the spreadsheet shows for it (the first is 1)."""

    number: int
    cells: tuple[SheetCell, ...]

    def cell(self, index: int) -> SheetCell:
        """The cell in column ``index`` (from 0); an empty cell past the row's end."""
        return self.cells[index] if index < len(self.cells) else SheetCell("")


@dataclass(frozen=True)
class Sheet:
    """The rows of a file's first worksheet, blank rows left out.

    ``file_format`` is ``xlsx`` or ``csv``; ``encoding`` the one a CSV was read in (``utf-8``,
    ``gb18030`` or ``utf-16``), None for XLSX.
    """

    file_format: str
    encoding: str | None
    rows: tuple[SheetRow, ...]


def file_problem(message: str) -> Unprocessable:
    """The error for a file that cannot be read at all, naming the ``file`` field."""
    return Unprocessable(message, {"file": [message]})


def read_sheet(data: bytes, *, max_rows: int, max_bytes: int) -> Sheet:
    """Read the first worksheet of an XLSX, or a CSV, told apart by their first bytes.

    :param data: the uploaded file.
    :param max_rows: the most rows that are not blank.
    :param max_bytes: the largest file.
    :raises Unprocessable: on ``file``, for an empty, too large, unreadable or legacy file, or
        more than ``max_rows`` rows.
    """
    if not data:
        raise file_problem("文件为空")
    if len(data) > max_bytes:
        raise file_problem(f"文件过大：最大 {max_bytes // 1024} KB")
    if data.startswith(OLE2_MAGIC):
        raise file_problem("不支持旧版 .xls 或加密的 Excel 文件，请在 Excel 中另存为 .xlsx 或 .csv")
    if data.startswith(ZIP_MAGIC):
        rows, encoding, file_format = _xlsx_rows(data, max_rows), None, "xlsx"
    else:
        text, encoding = decode_text(data)
        rows, file_format = _csv_rows(text, max_rows), "csv"
    return Sheet(file_format, encoding, tuple(rows))


def _too_many(max_rows: int) -> Unprocessable:
    return file_problem(f"行数超过上限：最多 {max_rows} 行（不含空行），请分批上传")


def _cell(value, data_type: str | None = None) -> SheetCell:
    """A cell of openpyxl as text: whole numbers without ``.0``, dates as YYYY-MM-DD."""
    if value is None:
        return SheetCell("")
    if data_type == "f":
        return SheetCell(str(value).strip(), formula=True)
    if isinstance(value, bool):
        return SheetCell("是" if value else "否")
    if isinstance(value, int | float):
        text = str(int(value)) if isinstance(value, int) or value.is_integer() else str(value)
        return SheetCell(text, numeric=True)
    if isinstance(value, datetime):
        return SheetCell(value.date().isoformat() if value.time() == time() else value.isoformat(" "))
    if isinstance(value, date | time):
        return SheetCell(value.isoformat())
    return SheetCell(str(value).strip())


def _unpacked_size(data: bytes) -> int:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError) as error:
        raise file_problem("无法读取 XLSX 文件：文件已损坏或不是 Excel 工作簿") from error


def _xlsx_rows(data: bytes, max_rows: int) -> list[SheetRow]:
    if _unpacked_size(data) > UNPACKED_PER_PACKED * max(len(data), 64 * 1024):
        raise file_problem("XLSX 文件解压后过大，无法读取")
    rows: list[SheetRow] = []
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as error:  # openpyxl raises many types on a malformed workbook
        raise file_problem("无法读取 XLSX 文件：文件已损坏或不是 Excel 工作簿") from error
    try:
        if not workbook.worksheets:
            raise file_problem("XLSX 文件中没有工作表")
        sheet = workbook.worksheets[0]
        for number, cells in enumerate(sheet.iter_rows(), start=1):
            values = tuple(_cell(cell.value, getattr(cell, "data_type", None)) for cell in cells)
            if any(value.text for value in values):
                if len(rows) == max_rows:
                    raise _too_many(max_rows)
                rows.append(SheetRow(number, values))
    except Unprocessable:
        raise
    except Exception as error:  # a broken sheet may fail only while its rows are read
        raise file_problem("无法读取 XLSX 文件：工作表内容已损坏") from error
    finally:
        workbook.close()
    return rows


def decode_text(data: bytes) -> tuple[str, str]:
    """The text of a CSV and its encoding: UTF-16 by its BOM, else UTF-8 (BOM or not), else GB 18030.

    :raises Unprocessable: on ``file``, if none of them reads it, or it holds NUL characters.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = ("utf-16",)
    else:
        candidates = ("utf-8-sig", "gb18030")
    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\0" in text:
            raise file_problem("文件含空字符，不是 CSV 文本文件；Excel 文件请另存为 .xlsx")
        return text, encoding.removesuffix("-sig")
    raise file_problem("无法识别文件编码：请将 CSV 另存为 UTF-8 或 GBK 编码")


def _csv_rows(text: str, max_rows: int) -> list[SheetRow]:
    first_line = text.split("\n", 1)[0]
    delimiter = max(CSV_DELIMITERS, key=first_line.count)
    if not first_line.count(delimiter):
        delimiter = ","
    rows: list[SheetRow] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for number, values in enumerate(reader, start=1):
            cells = tuple(SheetCell(value.strip()) for value in values)
            if any(cell.text for cell in cells):
                if len(rows) == max_rows:
                    raise _too_many(max_rows)
                rows.append(SheetRow(number, cells))
    except csv.Error as error:
        raise file_problem(f"CSV 格式有误（第 {reader.line_num} 行附近）：请检查引号是否成对") from error
    return rows
