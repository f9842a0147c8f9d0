"""Export the whole store to one JSON Lines file and restore it into an empty store.

Format (``FORMAT_VERSION`` 1), one JSON object per line, UTF-8, gzip-compressed when the path ends
in ``.gz``:

- line 1, the manifest: ``{"format": "marketplace-export", "version": 1, "alembic_revision": ...,
  "created_at": ..., "counts": {table: rows}}``;
- then one line per row, tables in foreign-key order: ``{"table": name, "row": {column: value}}``.
  Datetimes and dates are ISO 8601 (datetimes with their offset), decimals are strings, bytes are
  base64; JSON columns are embedded as JSON; enums are their values. Import decodes by column type.
- A row whose column names a file under the instance folder (``FILE_COLUMNS``: a ranker model's
  joblib payload) carries the file's bytes as ``"files": {column: base64}``; import writes the file
  into the target instance folder and points the column at it.

Every table in the SQLAlchemy metadata is exported, so a new table travels without code changes,
except ``DERIVED_TABLES``: the index outbox only names items to re-index, and the index is rebuilt
from the store after an import anyway.
"""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from flask import current_app
from sqlalchemy import Table, func, insert, select, text

from marketplace.extensions import db
from marketplace.models import raw_column

FORMAT = "marketplace-export"
FORMAT_VERSION = 1
DERIVED_TABLES = frozenset({"index_outbox"})
BATCH = 1000
FILE_COLUMNS: dict[tuple[str, str], Callable[[], Path]] = {
    ("ranker_models", "path"): lambda: Path(current_app.instance_path) / "models",
}


class RestoreError(Exception):
    """The file cannot be restored into this store; nothing was written."""


def exported_tables() -> list[Table]:
    """Every table of the store in foreign-key order, less the derived ones."""
    return [table for table in db.metadata.sorted_tables if table.name not in DERIVED_TABLES]


def store_revision(connection) -> str | None:
    """The Alembic revision the store is migrated to."""
    heads = MigrationContext.configure(connection).get_current_heads()
    return ",".join(sorted(heads)) or None


def _open(path: Path, mode: str):
    if path.suffix == ".gz":
        return gzip.open(path, mode + "t", encoding="utf-8")
    return path.open(mode, encoding="utf-8")


def _encode(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"cannot export {type(value).__name__}")


def _decoder(column) -> Callable | None:
    column_type = getattr(column.type, "impl_instance", column.type)
    try:
        python_type = column_type.python_type
    except NotImplementedError:
        return None
    return {
        datetime: datetime.fromisoformat,
        date: date.fromisoformat,
        Decimal: Decimal,
        bytes: base64.b64decode,
    }.get(python_type)


def _counts(connection, tables: list[Table]) -> dict[str, int]:
    return {t.name: connection.scalar(select(func.count()).select_from(t)) for t in tables}


def export_store(path: Path, progress_factory=None) -> dict[str, int]:
    """Write the store to ``path`` from one consistent snapshot; returns rows per table.

    :param progress_factory: called with the total row count, returns a tqdm-like bar (or None).
    """
    tables = exported_tables()
    with db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            counts = _counts(connection, tables)
            manifest = {
                "format": FORMAT,
                "version": FORMAT_VERSION,
                "alembic_revision": store_revision(connection),
                "created_at": datetime.now(UTC).isoformat(),
                "counts": counts,
            }
            bar = progress_factory(sum(counts.values())) if progress_factory else None
            with _open(path, "w") as out:
                out.write(json.dumps(manifest, ensure_ascii=False) + "\n")
                for table in tables:
                    query = select(*map(raw_column, table.columns)).order_by(*table.primary_key.columns)
                    result = connection.execution_options(yield_per=BATCH).execute(query)
                    for row in result.mappings():
                        out.write(_record(table, dict(row)) + "\n")
                        if bar is not None:
                            bar.update(1)
            if bar is not None:
                bar.close()
    return counts


def _record(table: Table, row: dict) -> str:
    record = {"table": table.name, "row": row}
    files = {}
    for (name, column), _directory in FILE_COLUMNS.items():
        if name == table.name and row.get(column) and Path(row[column]).is_file():
            files[column] = base64.b64encode(Path(row[column]).read_bytes()).decode("ascii")
    if files:
        record["files"] = files
    return json.dumps(record, ensure_ascii=False, default=_encode)


def _lines(path: Path) -> Iterator[tuple[int, dict]]:
    with _open(path, "r") as source:
        for number, line in enumerate(source, start=1):
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as error:
                message = f"第 {number} 行不是有效的 JSON（line {number} is not valid JSON）: {error}"
                raise RestoreError(message) from error


def read_manifest(path: Path) -> dict:
    """The manifest line of an export file.

    :raises RestoreError: if the file does not start with a manifest of a known version.
    """
    try:
        _, manifest = next(_lines(path))
    except StopIteration:
        raise RestoreError("导出文件为空（the export file is empty）") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise RestoreError("不是本平台的导出文件（not a marketplace export: no manifest line）")
    if manifest.get("version") != FORMAT_VERSION:
        raise RestoreError(f"不支持的导出格式版本 {manifest.get('version')}（unsupported format version）")
    return manifest


def import_store(path: Path, progress_factory=None) -> dict[str, int]:
    """Restore an export into this empty store in one transaction; returns rows per table.

    :raises RestoreError: if the store is not empty, the revisions differ, or any line is bad;
        then nothing is written.
    """
    manifest = read_manifest(path)
    tables = {table.name: table for table in db.metadata.sorted_tables}
    written: list[Path] = []
    try:
        with db.engine.begin() as connection:
            occupied = {name: n for name, n in _counts(connection, list(tables.values())).items() if n}
            if occupied:
                listing = ", ".join(f"{name} {n}" for name, n in occupied.items())
                raise RestoreError(f"目标数据库不为空，只能导入到空库（the store is not empty: {listing}）")
            revision = store_revision(connection)
            if manifest.get("alembic_revision") != revision:
                raise RestoreError(
                    f"导出文件的数据库版本 {manifest.get('alembic_revision')} 与本库 {revision} 不一致，"
                    "请先迁移到相同版本（alembic revisions differ）"
                )
            bar = progress_factory(sum(manifest["counts"].values())) if progress_factory else None
            counts = _insert_all(connection, path, tables, written, bar)
            if bar is not None:
                bar.close()
            if counts != {name: n for name, n in manifest["counts"].items() if n}:
                raise RestoreError(
                    f"行数与清单不符，文件可能不完整（row counts differ from the manifest: {counts}）"
                )
            if connection.dialect.name == "postgresql":
                reset_sequences(connection, [tables[name] for name in counts])
    except BaseException:
        for file in written:
            file.unlink(missing_ok=True)
        raise
    return counts


def _insert_all(connection, path: Path, tables: dict[str, Table], written: list[Path], bar) -> dict:
    counts: dict[str, int] = {}
    batch: list[dict] = []
    current: Table | None = None
    decoders: dict[str, Callable] = {}
    lines = _lines(path)
    next(lines)

    def flush() -> None:
        if batch:
            connection.execute(insert(current), batch)
            if bar is not None:
                bar.update(len(batch))
            batch.clear()

    for number, record in lines:
        table = tables.get(record.get("table")) if isinstance(record, dict) else None
        if table is None or table.name in DERIVED_TABLES or not isinstance(record.get("row"), dict):
            raise RestoreError(f"第 {number} 行：未知的表或格式错误（line {number}: unknown table）")
        if table is not current:
            flush()
            current = table
            decoders = {c.name: d for c in table.columns if (d := _decoder(c))}
        row = record["row"]
        if set(row) != set(table.columns.keys()):
            raise RestoreError(f"第 {number} 行：列与表 {table.name} 不符（line {number}: columns differ）")
        try:
            row = {k: decoders[k](v) if v is not None and k in decoders else v for k, v in row.items()}
            for column, payload in (record.get("files") or {}).items():
                row[column] = str(_restore_file(table.name, column, row[column], payload, written))
        except (ValueError, TypeError, ArithmeticError) as error:
            message = f"第 {number} 行：无法解析的值（line {number}: bad value）: {error}"
            raise RestoreError(message) from error
        batch.append(row)
        counts[table.name] = counts.get(table.name, 0) + 1
        if len(batch) >= BATCH:
            flush()
    flush()
    return counts


def _restore_file(table: str, column: str, source: str, payload: str, written: list[Path]) -> Path:
    if (table, column) not in FILE_COLUMNS:
        raise RestoreError(f"表 {table} 的列 {column} 不能携带文件（column carries no file）")
    directory = FILE_COLUMNS[(table, column)]()
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / Path(source).name
    target.write_bytes(base64.b64decode(payload))
    written.append(target)
    return target


def reset_sequences(connection, tables: list[Table]) -> None:
    """Move each PostgreSQL id sequence past the largest restored id."""
    for table in tables:
        for column in table.primary_key.columns:
            sequence = connection.scalar(
                text("SELECT pg_get_serial_sequence(:table, :column)"),
                {"table": table.name, "column": column.name},
            )
            if sequence:
                connection.execute(
                    text(f'SELECT setval(:sequence, (SELECT max("{column.name}") FROM "{table.name}"))'),
                    {"sequence": sequence},
                )
