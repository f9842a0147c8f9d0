"""The embedded search backend: a tantivy index on local disk, shared by every worker process.

Layout of ``index_dir``::

    CURRENT        the name of the live version directory, replaced atomically by a rebuild
    v<stamp>/      one tantivy index per version; the previous one is kept until the next rebuild
      ANALYSIS     the version of the analyser the index was built with (tantivy ignores it)

tantivy admits one writer at a time across processes. Writers here hold it only for one batch
and wait for it with a timeout; readers reload before each search, so a commit made by any
process is visible to every process at its next search.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import tantivy

from indexing.base import (
    FACETS,
    FacetCount,
    IndexDocument,
    IndexStats,
    SearchBackend,
    SearchHit,
    SearchRequest,
    SearchResult,
    SearchUnavailable,
)
from indexing.documents import (
    BIGRAM_BOOST,
    TEXT_BOOST,
    TITLE_BOOST,
    AnalysedDocument,
    AnalyzerLike,
    analyse_query,
    analysed_documents,
)

KEYWORD_FIELDS = {
    "industry": "industries",
    "scenario": "scenarios",
    "tag": "tags",
    "delivery_mode": "delivery_modes",
    "city": "city",
    "province": "province",
}
FACET_FIELDS = {
    "industry": "industry_divisions",
    "scenario": "scenarios",
    "delivery_mode": "delivery_modes",
    "city": "city",
}
SORT_FIELDS = {
    "newest": ("created_ts", tantivy.Order.Desc),
    "price_asc": ("price_min_cny", tantivy.Order.Asc),
    "deploy_days": ("deploy_days", tantivy.Order.Asc),
}
FACET_SIZE = 100
HIGHLIGHTED = ("title", "summary")
FACET_CACHE_SIZE = 512  # facet counts of recent searches, per process, for the live generation
WRITER_HEAP_BYTES = 64 * 1024 * 1024
ANALYSIS_FILE = "ANALYSIS"


def build_schema() -> tantivy.Schema:
    """The one schema of the embedded index."""
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("key", tokenizer_name="raw")
    builder.add_text_field("kind", tokenizer_name="raw")
    builder.add_integer_field("id", stored=True, indexed=True, fast=True)
    for name in ("title_words", "text_words", "bigrams"):
        builder.add_text_field(name, tokenizer_name="whitespace", index_option="freq")
    builder.add_text_field("title", stored=True, tokenizer_name="raw", index_option="basic")
    builder.add_text_field("summary", stored=True, tokenizer_name="raw", index_option="basic")
    builder.add_text_field("suggest", tokenizer_name="raw", index_option="basic")
    for name in (
        "industries",
        "industry_divisions",
        "scenarios",
        "tags",
        "delivery_modes",
        "city",
        "province",
    ):
        builder.add_text_field(name, tokenizer_name="raw", fast=True, index_option="basic")
    for name in ("provider_id", "price_min_cny", "deploy_days", "created_ts", "promo_days"):
        builder.add_integer_field(name, indexed=True, fast=True)
    return builder.build()


def _day_number(day: date) -> int:
    return day.year * 10000 + day.month * 100 + day.day


def promotion_days(document: IndexDocument) -> list[int]:
    """Every day (as ``yyyymmdd``) on which the document's case is promoted."""
    return [
        _day_number(date.fromordinal(ordinal))
        for start, end in document.promotion_windows
        for ordinal in range(start.toordinal(), end.toordinal() + 1)
    ]


def _write_atomically(target: Path, text: str, only_if_missing: bool = False) -> None:
    """Replace ``target`` by ``text`` so that readers see the old or the new file, never a part.

    With ``only_if_missing``, an existing ``target`` (another process was first) is left as it is.
    """
    temporary = target.with_name(f"{target.name}.{os.getpid()}.{threading.get_ident()}")
    temporary.write_text(text, encoding="utf-8")
    if only_if_missing:
        try:
            os.link(temporary, target)
        except FileExistsError:
            pass
        temporary.unlink()
    else:
        os.replace(temporary, target)


def _facet_key(generation: tuple[str, int], request: SearchRequest) -> tuple:
    """What a search's facet counts depend on; a commit or a rebuild changes ``generation``."""
    return (
        generation,
        request.kind,
        request.q,
        tuple(sorted(request.filters.items())),
        request.price_max_cny,
        request.deploy_days_max,
        request.promoted,
        request.today if request.promoted is not None else None,
        request.facets,
    )


class EmbeddedBackend(SearchBackend):
    """tantivy on disk under ``index_dir``.

    :param lock_timeout: seconds to wait for another process's writer.
    :param analysis_processes: processes that analyse documents during :meth:`rebuild`.
    """

    def __init__(
        self,
        index_dir: str | Path,
        analyzer: AnalyzerLike,
        lock_timeout: float = 10.0,
        analysis_processes: int = 1,
    ) -> None:
        self.index_dir = Path(index_dir)
        self.analyzer = analyzer
        self.lock_timeout = lock_timeout
        self.analysis_processes = analysis_processes
        self.schema = build_schema()
        self._version: str | None = None
        self._index: tantivy.Index | None = None
        self._loaded: tuple[str, int] | None = None  # the generation the reader last reloaded at
        self._lock = threading.Lock()
        self._facet_cache: OrderedDict[tuple, dict[str, list[FacetCount]]] = OrderedDict()

    # -- versions -------------------------------------------------------------------------

    def _current_name(self) -> str:
        """The name of the live version; on a first start, an empty first version is created.

        :raises FileNotFoundError: if the pointer vanished after this process had opened a version
            (the index directory was moved or unmounted), so that an empty index never silently
            replaces the real one while it is away.
        """
        pointer = self.index_dir / "CURRENT"
        try:
            return pointer.read_text().strip()
        except FileNotFoundError:
            if self._version is not None:
                raise
            return self._create_first_version()

    def _create_first_version(self) -> str:
        self.index_dir.mkdir(parents=True, exist_ok=True)
        name = "v1"
        (self.index_dir / name).mkdir(exist_ok=True)
        tantivy.Index(self.schema, path=str(self.index_dir / name))
        self._record_analysis(self.index_dir / name)
        self._point_to(name, only_if_missing=True)
        return (self.index_dir / "CURRENT").read_text().strip()

    def _record_analysis(self, path: Path) -> None:
        """Write the analyser's version into the version directory ``path``."""
        _write_atomically(path / ANALYSIS_FILE, self.analyzer.version)

    def _point_to(self, name: str, only_if_missing: bool = False) -> None:
        _write_atomically(self.index_dir / "CURRENT", name, only_if_missing)

    def _live(self) -> tantivy.Index:
        """The live index, reopened if a rebuild switched versions, with its reader reloaded."""
        return self._live_generation()[0]

    def _live_generation(self) -> tuple[tantivy.Index, tuple[str, int]]:
        """The live index and its generation: the version's name and the last commit's opstamp.

        The opstamp is read before the reader reloads, so what the reader sees is never older
        than the generation it is filed under. The reader reloads only when the generation moved.
        """
        try:
            name = self._current_name()
            opstamp = json.loads((self.index_dir / name / "meta.json").read_bytes())["opstamp"]
            with self._lock:
                if name != self._version or self._index is None:
                    self._index = tantivy.Index.open(str(self.index_dir / name))
                    self._version = name
                    self._loaded = None
                index, stale = self._index, self._loaded != (name, opstamp)
            if stale:
                index.reload()
                with self._lock:
                    if self._index is index:
                        self._loaded = (name, opstamp)
            return index, (name, opstamp)
        except (OSError, ValueError, KeyError) as error:
            raise SearchUnavailable(f"embedded index unavailable: {error}") from error

    @contextmanager
    def _writer(self, index: tantivy.Index | None = None) -> Iterator[tantivy.IndexWriter]:
        """Hold tantivy's single writer for one batch, waiting for another process to finish."""
        index = index or self._live()
        deadline = time.monotonic() + self.lock_timeout
        while True:
            try:
                writer = index.writer(heap_size=WRITER_HEAP_BYTES, num_threads=1)
                break
            except ValueError as error:
                if "Lock" not in str(error) or time.monotonic() > deadline:
                    raise SearchUnavailable(f"embedded index writer unavailable: {error}") from error
                time.sleep(0.02)
        try:
            yield writer
            writer.commit()
        except BaseException:
            writer.rollback()
            raise
        finally:
            writer.wait_merging_threads()
        index.reload()

    # -- writes ---------------------------------------------------------------------------

    @staticmethod
    def _tantivy_document(document: IndexDocument, analysed: AnalysedDocument) -> tantivy.Document:
        fields: dict = {
            "key": f"{document.kind}:{document.id}",
            "kind": document.kind,
            "id": document.id,
            "title_words": analysed.title_words,
            "text_words": analysed.text_words,
            "bigrams": analysed.bigrams,
            "title": document.title,
            "summary": document.summary,
            "suggest": list(analysed.suggest_terms),
            "industries": list(document.industries),
            "industry_divisions": list(document.industry_divisions),
            "scenarios": list(document.scenarios),
            "tags": list(document.tags),
            "delivery_modes": list(document.delivery_modes),
            "created_ts": document.created_ts,
            "promo_days": promotion_days(document),
        }
        for name in ("city", "province", "provider_id", "price_min_cny", "deploy_days"):
            value = getattr(document, name)
            if value is not None:
                fields[name] = value
        return tantivy.Document(**{name: value for name, value in fields.items() if value != []})

    def index(self, documents: Sequence[IndexDocument]) -> None:
        """Replace each document by kind and id; visible to every process on return."""
        prepared = [
            (f"{d.kind}:{d.id}", self._tantivy_document(d, analysed))
            for d, analysed in analysed_documents(documents, self.analyzer)
        ]
        with self._writer() as writer:
            for key, document in prepared:
                writer.delete_documents_by_term("key", key)
                writer.add_document(document)

    def delete(self, kind: str, ids: Sequence[int]) -> None:
        """Remove documents by kind and id."""
        with self._writer() as writer:
            for ident in ids:
                writer.delete_documents_by_term("key", f"{kind}:{ident}")

    def clear(self) -> None:
        """Remove every document."""
        with self._writer() as writer:
            writer.delete_all_documents()

    def rebuild(self, documents: Iterable[IndexDocument]) -> int:
        """Build a new version directory, then switch ``CURRENT`` to it atomically."""
        try:
            self._current_name()
        except OSError as error:
            raise SearchUnavailable(f"embedded index unavailable: {error}") from error
        name = f"v{time.strftime('%Y%m%d%H%M%S')}-{os.getpid()}-{time.monotonic_ns() % 1_000_000}"
        path = self.index_dir / name
        path.mkdir()
        count = 0
        try:
            index = tantivy.Index(self.schema, path=str(path))
            with self._writer(index) as writer:
                for document, analysed in analysed_documents(
                    documents, self.analyzer, self.analysis_processes
                ):
                    writer.add_document(self._tantivy_document(document, analysed))
                    count += 1
            self._record_analysis(path)
        except BaseException:
            shutil.rmtree(path, ignore_errors=True)
            raise
        previous = self._current_name()
        self._point_to(name)
        self._remove_old_versions(keep={name, previous})
        return count

    def _remove_old_versions(self, keep: set[str]) -> None:
        for entry in self.index_dir.iterdir():
            if entry.is_dir() and entry.name.startswith("v") and entry.name not in keep:
                shutil.rmtree(entry, ignore_errors=True)

    # -- reads ----------------------------------------------------------------------------

    def _term(self, field: str, value: str | int) -> tantivy.Query:
        return tantivy.Query.term_query(self.schema, field, value)

    def _any_of(self, field: str, values: Iterable[str | int]) -> tantivy.Query:
        return tantivy.Query.boolean_query(
            [(tantivy.Occur.Should, self._term(field, value)) for value in values]
        )

    def _text_query(self, q: str) -> tantivy.Query | None:
        terms = analyse_query(q, self.analyzer)
        if terms.empty:
            return None
        clauses = []
        for word in terms.words:
            clauses.append(tantivy.Query.boost_query(self._term("title_words", word), TITLE_BOOST))
            clauses.append(tantivy.Query.boost_query(self._term("text_words", word), TEXT_BOOST))
        for bigram in terms.bigrams:
            clauses.append(tantivy.Query.boost_query(self._term("bigrams", bigram), BIGRAM_BOOST))
        return tantivy.Query.boolean_query([(tantivy.Occur.Should, clause) for clause in clauses])

    def _filters(self, request: SearchRequest, skip: str | None = None) -> list[tantivy.Query]:
        """Filter clauses: one per filter name, ORing its values; ``skip`` leaves one out for its facet."""
        clauses = [self._term("kind", request.kind)]
        for name, values in request.filters.items():
            if not values or name == skip:
                continue
            if name == "provider_id":
                clauses.append(self._any_of("provider_id", (int(v) for v in values)))
            else:
                clauses.append(self._any_of(KEYWORD_FIELDS[name], values))
        integer = tantivy.FieldType.Integer
        if request.price_max_cny is not None:
            clauses.append(
                tantivy.Query.range_query(
                    self.schema, "price_min_cny", integer, 0, request.price_max_cny, True, True
                )
            )
        if request.deploy_days_max is not None:
            clauses.append(
                tantivy.Query.range_query(
                    self.schema, "deploy_days", integer, 0, request.deploy_days_max, True, True
                )
            )
        return clauses

    def _combine(
        self, text: tantivy.Query | None, filters: list[tantivy.Query], promoted: bool | None, today: date
    ) -> tantivy.Query:
        clauses = [(tantivy.Occur.Must, text or tantivy.Query.all_query())]
        clauses += [(tantivy.Occur.Must, clause) for clause in filters]
        if promoted is not None:
            occur = tantivy.Occur.Must if promoted else tantivy.Occur.MustNot
            clauses.append((occur, self._term("promo_days", _day_number(today))))
        return tantivy.Query.boolean_query(clauses)

    def search(self, request: SearchRequest) -> SearchResult:
        """Search one kind, with disjunctive facet counts."""
        index, generation = self._live_generation()
        searcher = index.searcher()
        text = self._text_query(request.q)
        if request.q.strip() and text is None:
            return SearchResult(
                total=0, hits=[], facets={name: [] for name in request.facets}, generation=generation
            )
        query = self._combine(text, self._filters(request), request.promoted, request.today)
        sort = request.sort if text is not None or request.sort != "relevance" else "newest"
        options: dict = {}
        if sort in SORT_FIELDS:
            options["order_by_field"], options["order"] = SORT_FIELDS[sort]
        result = searcher.search(
            query, limit=request.per_page, offset=(request.page - 1) * request.per_page, count=True, **options
        )
        terms = self.analyzer.highlight_terms(request.q) if text is not None and request.highlight else set()
        scores = [float(key) if sort == "relevance" else 0.0 for key, _ in result.hits]
        addresses = [address for _, address in result.hits]
        if terms:
            hits = []
            for score, address in zip(scores, addresses, strict=True):
                stored = searcher.doc(address)
                fragments = {field: self.analyzer.highlight(stored[field][0], terms) for field in HIGHLIGHTED}
                highlight = {field: fragment for field, fragment in fragments.items() if fragment}
                hits.append(SearchHit(id=stored["id"][0], score=score, highlight=highlight))
        else:
            # Without highlights only ids are needed: a column read instead of a stored document each.
            found = searcher.fast_field_values("id", addresses)
            hits = [SearchHit(id=ident, score=score) for ident, score in zip(found, scores, strict=True)]
        key = _facet_key(generation, request)
        with self._lock:
            facets = self._facet_cache.get(key)
            if facets is not None:
                self._facet_cache.move_to_end(key)
        if facets is None:
            facets = {name: self._facet(searcher, request, text, name) for name in request.facets}
            with self._lock:
                self._facet_cache[key] = facets
                while len(self._facet_cache) > FACET_CACHE_SIZE:
                    self._facet_cache.popitem(last=False)
        return SearchResult(total=result.count, hits=hits, facets=facets, generation=generation)

    def _facet(self, searcher, request: SearchRequest, text, name: str) -> list[FacetCount]:
        if name not in FACETS:
            raise ValueError(f"unknown facet {name}")
        query = self._combine(text, self._filters(request, skip=name), request.promoted, request.today)
        aggregation = {"facet": {"terms": {"field": FACET_FIELDS[name], "size": FACET_SIZE}}}
        buckets = searcher.aggregate(query, aggregation)["facet"]["buckets"]
        return [FacetCount(value=bucket["key"], count=int(bucket["doc_count"])) for bucket in buckets]

    def suggest(self, prefix: str, limit: int = 10) -> list[str]:
        """Complete from indexed titles and tags, most frequent first."""
        if not prefix:
            return []
        searcher = self._live().searcher()
        return [term for term, _count in searcher.terms_with_prefix("suggest", prefix, limit=limit)]

    def stats(self) -> IndexStats:
        """Count documents per kind in the live version, and read the analysis it was built with."""
        index, (name, _) = self._live_generation()
        searcher = index.searcher()
        documents = {}
        for kind in ("solution", "case"):
            documents[kind] = searcher.search(self._term("kind", kind), limit=1, count=True).count
        try:
            analysis = (self.index_dir / name / ANALYSIS_FILE).read_text(encoding="utf-8")
        except (OSError, ValueError):  # built before versions were recorded, or unreadable: unknown
            analysis = None
        return IndexStats(documents=documents, version=name, analysis=analysis)

    def generation(self) -> tuple[str, int]:
        """The live version's name and its last commit's opstamp: every commit and rebuild changes it."""
        return self._live_generation()[1]

    def close(self) -> None:
        """Drop the open index."""
        with self._lock:
            self._index = None
            self._version = None
