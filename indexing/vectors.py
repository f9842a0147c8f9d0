"""The embedded backend's vectors: append-only files in each index version directory, searched exactly.

Layout of a version directory's ``vectors/``::

    SPEC            {"model_id": …, "dimensions": …, "values": "int8"}: what made the vectors (JSON)
    <kind>.i8       one row of ``dimensions`` int8 values per record: the unit vector scaled so
                    that its largest value is ±127 (a quarter of float32's size; cosines move by
                    ~0.002, which leaves the order of neighbours as it was in practice)
    <kind>.ids      one little-endian int64 per record: the item id, or ``-id`` for a deletion

A record replaces every earlier record of its id; a deletion (a zero row) removes it. Writers append
while they hold tantivy's single writer (so they never interleave) and before the commit that makes
their documents visible; readers map ``<kind>.i8`` read-only and read ``<kind>.ids`` up to the last
complete record. The pages of the mapping are the page cache's, shared by every worker of the
machine: a worker holds its id table and live mask, not a copy of the matrix. A rebuild writes fresh
files into its new version directory, which compacts them.

Nearest neighbours are exact: the angular distance of the query to every record, computed on the
int8 rows by numkong's SIMD kernels (a 100,000 × 512 scan takes ~4 ms on one core, float32 BLAS
~9 ms; docs/benchmarks.md), with replaced and deleted records masked out.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numkong
import numpy as np

from indexing.vocabulary import VectorSpec

SPEC_FILE = "SPEC"
ID_BYTES = 8
VALUES = "int8"


@dataclass(frozen=True)
class _Snapshot:
    """One kind's records as read at one moment: what a search scans, whatever arrives meanwhile."""

    rows: np.ndarray | None
    ids: np.ndarray
    live: np.ndarray
    items: int  # ids with a live record


class _KindVectors:
    """One kind's records as this process last read them; changed only under the log's lock, and
    never in place, so a :class:`_Snapshot` taken earlier stays whole."""

    def __init__(self, dimensions: int) -> None:
        self.dimensions = dimensions
        self.count = 0
        self.ids = np.zeros(0, dtype=np.int64)
        self.live = np.zeros(0, dtype=bool)
        self.latest: dict[int, int] = {}
        self.rows: np.ndarray | None = None

    def extend(self, new_ids: np.ndarray, rows: np.ndarray) -> None:
        """Take the records from ``count`` on (``new_ids``) into the id table; ``rows`` maps all records."""
        start = self.count
        live = np.concatenate([self.live, np.ones(len(new_ids), dtype=bool)])
        for offset, ident in enumerate(new_ids.tolist()):
            key = abs(ident)
            previous = self.latest.pop(key, None)
            if previous is not None:
                live[previous] = False
            if ident > 0:
                self.latest[key] = start + offset
            else:
                live[start + offset] = False
        self.ids = np.concatenate([self.ids, np.abs(new_ids)])
        self.live = live
        self.count += len(new_ids)
        self.rows = rows

    def snapshot(self) -> _Snapshot:
        """The records as they are now, in arrays of one length."""
        rows = None if self.rows is None else self.rows[: self.count]
        return _Snapshot(rows, self.ids, self.live, len(self.latest))


class VectorLog:
    """The vectors of one index version directory: appended by writers, searched by readers.

    :param directory: the version directory; ``vectors/`` is made inside it on the first write.
    :param spec: the model and size of the vectors this backend writes and searches.
    """

    def __init__(self, directory: str | Path, spec: VectorSpec) -> None:
        self.directory = Path(directory) / "vectors"
        self.spec = spec
        self._kinds: dict[str, _KindVectors] = {}
        self._lock = threading.Lock()
        self._matches: bool | None = None

    def _paths(self, kind: str) -> tuple[Path, Path]:
        return self.directory / f"{kind}.i8", self.directory / f"{kind}.ids"

    # -- writes ---------------------------------------------------------------------------

    def create(self) -> None:
        """Make ``vectors/`` and its ``SPEC`` unless they exist (new versions, or those before vectors)."""
        spec_path = self.directory / SPEC_FILE
        if spec_path.exists():
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        temporary = spec_path.with_name(f"{SPEC_FILE}.{os.getpid()}.{threading.get_ident()}")
        temporary.write_text(json.dumps(self._recorded_spec()), encoding="utf-8")
        try:
            os.link(temporary, spec_path)
        except FileExistsError:
            pass
        temporary.unlink()

    def _recorded_spec(self) -> dict:
        return {"model_id": self.spec.model_id, "dimensions": self.spec.dimensions, "values": VALUES}

    def matches(self) -> bool:
        """True if the directory's vectors were made by this log's model, as int8 (or it holds none yet)."""
        if self._matches is None:
            try:
                recorded = json.loads((self.directory / SPEC_FILE).read_text(encoding="utf-8"))
            except FileNotFoundError:
                return True
            except (OSError, ValueError):
                self._matches = False
                return False
            self._matches = recorded == self._recorded_spec()
        return self._matches

    def append(
        self, kind: str, ids: Sequence[int], rows: np.ndarray | None, deleted: Iterable[int] = ()
    ) -> None:
        """Append records: ``ids`` with their ``rows`` (unit vectors), then a deletion per ``deleted`` id.

        The caller holds the index's single writer. A torn tail left by a crashed writer (more bytes in
        one file than complete records in both) is cut off first, so records stay aligned.
        Nothing is written if the directory's vectors were made by another model.
        """
        deleted = list(deleted)
        if not ids and not deleted:
            return
        self.create()
        if not self.matches():
            return
        dimensions = self.spec.dimensions
        vector_path, id_path = self._paths(kind)
        complete = min(_size(id_path) // ID_BYTES, _size(vector_path) // dimensions)
        parts = []
        if ids:
            parts.append(quantised(np.asarray(rows, dtype=np.float32).reshape(len(ids), dimensions)))
        if deleted:
            parts.append(np.zeros((len(deleted), dimensions), dtype=np.int8))
        records = np.concatenate(parts)
        record_ids = np.array([*ids, *(-int(ident) for ident in deleted)], dtype="<i8")
        for path, width in ((vector_path, dimensions), (id_path, ID_BYTES)):
            with open(path, "ab") as handle:
                if handle.tell() > complete * width:
                    handle.truncate(complete * width)
        with open(vector_path, "ab") as handle:
            handle.write(records.tobytes())
        with open(id_path, "ab") as handle:
            handle.write(record_ids.tobytes())

    def delete_all(self, kind: str) -> None:
        """Append a deletion for every id that has a record of ``kind`` (the caller holds the writer)."""
        _, id_path = self._paths(kind)
        if not id_path.exists():
            return
        recorded = np.fromfile(id_path, dtype="<i8")
        live = {int(ident) for ident in recorded if ident > 0}
        self.append(kind, [], None, deleted=sorted(live))

    # -- reads ----------------------------------------------------------------------------

    def _current(self, kind: str) -> _Snapshot:
        """``kind``'s records, with whatever was appended since the last read taken in."""
        with self._lock:
            state = self._kinds.setdefault(kind, _KindVectors(self.spec.dimensions))
            if not self.matches():
                return state.snapshot()
            vector_path, id_path = self._paths(kind)
            width = self.spec.dimensions
            complete = min(_size(id_path) // ID_BYTES, _size(vector_path) // width)
            if complete > state.count:
                with open(id_path, "rb") as handle:
                    handle.seek(state.count * ID_BYTES)
                    new_ids = np.frombuffer(handle.read((complete - state.count) * ID_BYTES), dtype="<i8")
                rows = np.memmap(vector_path, dtype=np.int8, mode="r", shape=(complete, self.spec.dimensions))
                state.extend(new_ids.astype(np.int64), rows)
            return state.snapshot()

    def count(self, kind: str) -> int:
        """How many items of ``kind`` have a vector."""
        return self._current(kind).items

    def nearest(
        self, kind: str, query: np.ndarray, k: int, min_similarity: float = 0.0
    ) -> list[tuple[int, float]]:
        """The ``k`` items of ``kind`` whose vectors are closest to ``query``, by cosine, best first.

        :param query: a unit vector of this log's dimensions.
        :param min_similarity: neighbours below this cosine are left out.
        :returns: ``(item id, cosine)`` pairs; ties are broken by the lower record (older first).
        :raises ValueError: if ``query`` has another size.
        """
        query = np.asarray(query, dtype=np.float32)
        if query.shape != (self.spec.dimensions,):
            raise ValueError(
                f"a query vector of shape {query.shape}; this index holds {self.spec.dimensions}"
            )
        state = self._current(kind)
        if state.rows is None or not state.items or k <= 0:
            return []
        # float64 out: numkong's float32 output path is ten times slower (measured, 7.8.6)
        distances = numkong.cdist(quantised(query[None, :]), state.rows, metric="angular")
        scores = 1.0 - np.asarray(distances)[0]
        scores[~state.live] = -np.inf
        k = min(k, state.items)
        top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        top = top[np.lexsort((top, -scores[top]))]
        return [
            (int(state.ids[row]), float(scores[row]))
            for row in top
            if np.isfinite(scores[row]) and scores[row] >= min_similarity
        ]


def quantised(rows: np.ndarray) -> np.ndarray:
    """``rows`` as int8, each scaled so that its largest magnitude is 127 (a zero row stays zero).

    Cosines are scale-free, so each row keeps its own scale and nothing else needs storing.
    """
    peak = np.abs(rows).max(axis=1, keepdims=True)
    scale = np.divide(127.0, peak, out=np.zeros_like(peak), where=peak > 0)
    return np.rint(rows * scale).astype(np.int8)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0
