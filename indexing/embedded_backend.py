"""The embedded search backend: a tantivy index on local disk, shared by every worker process.

Layout of ``index_dir``::

    CURRENT        the name of the live version directory, replaced atomically by a rebuild
    v<stamp>/      one tantivy index per version; the previous one is kept until the next rebuild
      ANALYSIS     the version of the analyser the index was built with (tantivy ignores it)
      LAYOUT       the digest of the schema (and the vectors' model) it was built with (tantivy ignores it)
      vectors/     the documents' vectors, when the backend stores them (:mod:`indexing.vectors`)

Only :meth:`EmbeddedBackend.create` and :meth:`EmbeddedBackend.rebuild` make ``index_dir`` or a
version: without ``CURRENT`` every read and write raises :class:`~indexing.base.IndexMissing`, so
an empty index never takes the place of one that was moved away. A version directory without
``ANALYSIS`` and ``LAYOUT`` that is not live was left by an interrupted rebuild
(:meth:`EmbeddedBackend.leftovers`).

tantivy admits one writer at a time across processes. Writers here hold it only for one batch
and wait for it with a timeout; readers reload before each search, so a commit made by any
process is visible to every process at its next search. A write is acknowledged only if the
version it committed to is still the live one afterwards.

Dense retrieval (``hybrid`` and ``semantic`` modes) takes the query vector's nearest neighbours
from ``vectors/`` and hands them to tantivy as a set of ids: a search then matches
``(words) OR (id in neighbours)`` under the usual filters, so totals and facets are exact for that
union, and the hits are ordered by reciprocal rank fusion of the words' BM25 ranking and the
neighbours' cosine ranking (:func:`indexing.plan.reciprocal_rank_fusion`), both restricted by the
filters.
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
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import tantivy

from indexing.base import (
    KINDS,
    FacetCount,
    IndexDocument,
    IndexMissing,
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
    WEIGHT_FIELDS,
    AnalysedDocument,
    AnalyzerLike,
    analyse_query,
    analysed_documents,
    document_values,
    word_weights,
)
from indexing.plan import SearchPlan, reciprocal_rank_fusion, search_plan
from indexing.vectors import VALUES, VectorLog
from indexing.vocabulary import (
    FACET_SIZE,
    FACETS,
    FIELDS,
    HIGHLIGHTED,
    RANGES,
    FieldType,
    VectorSpec,
    layout_digest,
)

_INTEGER = ("integer", {"indexed": True, "fast": True})
FIELD_OPTIONS: dict[FieldType, tuple[str, dict[str, object]]] = {
    FieldType.IDENTIFIER: ("integer", {"stored": True, "indexed": True, "fast": True}),
    FieldType.TOKENS: ("text", {"tokenizer_name": "whitespace", "index_option": "freq"}),
    FieldType.STORED: ("text", {"stored": True, "tokenizer_name": "raw", "index_option": "basic"}),
    FieldType.COMPLETIONS: ("text", {"tokenizer_name": "raw", "index_option": "basic"}),
    FieldType.KEYWORD: ("text", {"tokenizer_name": "raw", "fast": True, "index_option": "basic"}),
    FieldType.REFERENCE: _INTEGER,
    FieldType.NUMBER: _INTEGER,
    FieldType.TIMESTAMP: _INTEGER,
    FieldType.WINDOWS: _INTEGER,
}
"""How each :class:`~indexing.vocabulary.FieldType` is laid out: a kind of tantivy field and its
options. Windows are stored as the promoted days (``yyyymmdd`` integers), since tantivy has no
range fields."""
INTERNAL_FIELDS: tuple[tuple[str, str, dict[str, object]], ...] = (
    ("text", "key", {"tokenizer_name": "raw"}),
    ("text", "kind", {"tokenizer_name": "raw"}),
)
"""Both kinds share one index: ``key`` (``kind:id``) identifies a document, ``kind`` separates them."""
ENGINE_NAMES = {"suggest_terms": "suggest", "promotions": "promo_days"}
"""Two fields keep the names they have always had in this index."""
VECTOR_CHUNK = 1_000  # vectors appended per write during a rebuild
FACET_CACHE_SIZE = 512  # facet counts of recent searches, per process, for the live generation
WRITER_HEAP_BYTES = 64 * 1024 * 1024
ANALYSIS_FILE = "ANALYSIS"
LAYOUT_FILE = "LAYOUT"


def engine_name(field: str) -> str:
    """The name of a vocabulary field in the embedded index."""
    return ENGINE_NAMES.get(field, field)


def schema_layout() -> tuple[tuple[str, str, dict[str, object]], ...]:
    """The fields of the embedded index in schema order: the kind of tantivy field, its name, its options."""
    return INTERNAL_FIELDS + tuple(
        (FIELD_OPTIONS[spec.type][0], engine_name(spec.name), FIELD_OPTIONS[spec.type][1]) for spec in FIELDS
    )


def build_schema() -> tantivy.Schema:
    """The one schema of the embedded index, laid out by :func:`schema_layout`."""
    builder = tantivy.SchemaBuilder()
    for kind, name, options in schema_layout():
        add = builder.add_integer_field if kind == "integer" else builder.add_text_field
        add(name, **options)
    return builder.build()


LAYOUT = layout_digest(schema_layout())
"""The digest of :func:`schema_layout`: it changes with any field of the vocabulary or its options."""


def layout_with_vectors(vectors: VectorSpec | None) -> str:
    """The layout digest of an index holding ``vectors``: :data:`LAYOUT` when it holds none."""
    if vectors is None:
        return LAYOUT
    return layout_digest([schema_layout(), {"vectors": [vectors.model_id, vectors.dimensions, VALUES]}])


def _day_number(day: date) -> int:
    return day.year * 10000 + day.month * 100 + day.day


def promotion_days(windows: Iterable[tuple[date, date]]) -> list[int]:
    """Every day (as ``yyyymmdd``) within the promotion ``windows``, both ends included."""
    return [
        _day_number(date.fromordinal(ordinal))
        for start, end in windows
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


def _facet_key(generation: tuple[str, int], request: SearchRequest, plan: SearchPlan, dense: tuple) -> tuple:
    """What a search's facet counts depend on; a commit or a rebuild changes ``generation``."""
    return (
        generation,
        request.kind,
        plan.mode,
        dense,
        request.q,
        tuple(sorted(request.filters.items())),
        tuple(getattr(request, name) for name in RANGES),
        request.promoted,
        request.today if request.promoted is not None else None,
        request.facets,
    )


class EmbeddedBackend(SearchBackend):
    """tantivy on disk under ``index_dir``, laid out by :func:`schema_layout`.

    :param lock_timeout: seconds to wait for another process's writer.
    :param analysis_processes: processes that analyse documents during :meth:`rebuild`.
    :param vectors: the model and size of the documents' vectors to keep and search; ``None`` keeps none.
    """

    def __init__(
        self,
        index_dir: str | Path,
        analyzer: AnalyzerLike,
        lock_timeout: float = 10.0,
        analysis_processes: int = 1,
        vectors: VectorSpec | None = None,
    ) -> None:
        self.index_dir = Path(index_dir)
        self.analyzer = analyzer
        self.lock_timeout = lock_timeout
        self.analysis_processes = analysis_processes
        self.schema = build_schema()
        self.vectors = vectors
        self.layout = layout_with_vectors(vectors)
        self._vector_logs: dict[str, VectorLog] = {}
        self._version: str | None = None
        self._index: tantivy.Index | None = None
        self._loaded: tuple[str, int] | None = None  # the generation the reader last reloaded at
        self._lock = threading.Lock()
        self._facet_cache: OrderedDict[tuple, dict[str, list[FacetCount]]] = OrderedDict()

    # -- versions -------------------------------------------------------------------------

    def _current_name(self) -> str:
        """The name of the live version.

        :raises IndexMissing: if there is none (never built, or the directory was moved away).
        """
        pointer = self.index_dir / "CURRENT"
        try:
            return pointer.read_text().strip()
        except FileNotFoundError as error:
            raise IndexMissing(f"embedded index missing: no {pointer}; run flask index ensure") from error

    def create(self) -> None:
        """Create an empty first version unless ``CURRENT`` names one."""
        if (self.index_dir / "CURRENT").exists():
            return
        self.index_dir.mkdir(parents=True, exist_ok=True)
        name = "v1"
        (self.index_dir / name).mkdir(exist_ok=True)
        tantivy.Index(self.schema, path=str(self.index_dir / name))
        self._record_build(self.index_dir / name)
        self._point_to(name, only_if_missing=True)

    def _record_build(self, path: Path) -> None:
        """Write the analyser's version and the layout into the version directory ``path``."""
        _write_atomically(path / ANALYSIS_FILE, self.analyzer.version)
        _write_atomically(path / LAYOUT_FILE, self.layout)

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
    def _writer(
        self, index: tantivy.Index, live: str | None = None, wait: float | None = None
    ) -> Iterator[tantivy.IndexWriter]:
        """Hold tantivy's single writer of ``index`` for one batch, waiting for another process to finish.

        :param live: the version ``index`` is; if given, the commit is acknowledged only if that
            version is still the live one after it (else a rebuild switched versions meanwhile).
        :param wait: seconds to wait for the writer; ``None``: :attr:`lock_timeout`.
        """
        deadline = time.monotonic() + (self.lock_timeout if wait is None else wait)
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
        except BaseException as error:
            writer.rollback()
            if isinstance(error, ValueError | OSError):
                raise SearchUnavailable(f"embedded index write failed: {error}") from error
            raise
        finally:
            writer.wait_merging_threads()
        if live is not None and self._current_name() != live:
            raise SearchUnavailable(f"embedded index version {live} stopped being live during the write")
        index.reload()

    # -- writes ---------------------------------------------------------------------------

    @staticmethod
    def _tantivy_document(document: IndexDocument, analysed: AnalysedDocument) -> tantivy.Document:
        """The document's fields by :func:`engine_name`; absent values and empty lists are left out."""
        fields: dict[str, object] = {"key": f"{document.kind}:{document.id}", "kind": document.kind}
        for spec, value in document_values(document, analysed):
            if spec.type is FieldType.WINDOWS:
                value = promotion_days(value)
            elif isinstance(value, tuple):
                value = list(value)
            if value is not None and value != []:
                fields[engine_name(spec.name)] = value
        return tantivy.Document(**fields)

    def _vector_log(self, version: str) -> VectorLog | None:
        """The vectors of version directory ``version``, if this backend keeps vectors."""
        if self.vectors is None:
            return None
        log = self._vector_logs.get(version)
        if log is None:
            log = self._vector_logs.setdefault(version, VectorLog(self.index_dir / version, self.vectors))
        return log

    def _append_vectors(self, log: VectorLog | None, documents: Sequence[IndexDocument]) -> None:
        """Record the documents' vectors; a document without one loses any it had (its text changed)."""
        if log is None:
            return
        for kind in {document.kind for document in documents}:
            with_vector = [d for d in documents if d.kind == kind and d.vector is not None]
            rows = np.stack([d.vector for d in with_vector]) if with_vector else None
            without = [d.id for d in documents if d.kind == kind and d.vector is None]
            log.append(kind, [d.id for d in with_vector], rows, deleted=without)

    @contextmanager
    def _live_writer(
        self, wait: float | None = None
    ) -> Iterator[tuple[tantivy.IndexWriter, VectorLog | None]]:
        """The live version's writer and vectors; the commit counts only if that version is still live."""
        index, (version, _) = self._live_generation()
        with self._writer(index, live=version, wait=wait) as writer:
            yield writer, self._vector_log(version)

    def index(self, documents: Sequence[IndexDocument], wait: float | None = None) -> None:
        """Replace each document (and its vector) by kind and id; visible to every process on return."""
        prepared = [
            (f"{d.kind}:{d.id}", self._tantivy_document(d, analysed))
            for d, analysed in analysed_documents(documents, self.analyzer)
        ]
        with self._live_writer(wait) as (writer, log):
            self._append_vectors(log, documents)
            for key, document in prepared:
                writer.delete_documents_by_term("key", key)
                writer.add_document(document)

    def delete(self, kind: str, ids: Sequence[int], wait: float | None = None) -> None:
        """Remove documents (and their vectors) by kind and id."""
        with self._live_writer(wait) as (writer, log):
            if log is not None:
                log.append(kind, [], None, deleted=ids)
            for ident in ids:
                writer.delete_documents_by_term("key", f"{kind}:{ident}")

    def clear(self) -> None:
        """Remove every document and vector."""
        with self._live_writer() as (writer, log):
            if log is not None:
                for kind in KINDS:
                    log.delete_all(kind)
            writer.delete_all_documents()

    def rebuild(self, documents: Iterable[IndexDocument]) -> int:
        """Build a new version directory, then switch ``CURRENT`` to it atomically; creates ``index_dir``."""
        try:
            self.index_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise SearchUnavailable(f"embedded index unavailable: {error}") from error
        name = f"v{time.strftime('%Y%m%d%H%M%S')}-{os.getpid()}-{time.monotonic_ns() % 1_000_000}"
        path = self.index_dir / name
        path.mkdir()
        count = 0
        try:
            index = tantivy.Index(self.schema, path=str(path))
            log = self._vector_log(name)
            if log is not None:
                log.create()
            pending: list[IndexDocument] = []
            with self._writer(index) as writer:
                for document, analysed in analysed_documents(
                    documents, self.analyzer, self.analysis_processes
                ):
                    writer.add_document(self._tantivy_document(document, analysed))
                    count += 1
                    if document.vector is not None:
                        pending.append(document)
                        if len(pending) >= VECTOR_CHUNK:
                            self._append_vectors(log, pending)
                            pending = []
                self._append_vectors(log, pending)
            self._record_build(path)
        except BaseException:
            shutil.rmtree(path, ignore_errors=True)
            raise
        try:
            previous = self._current_name()
        except IndexMissing:
            previous = name
        self._point_to(name)
        self._remove_old_versions(keep={name, previous})
        return count

    def _remove_old_versions(self, keep: set[str]) -> None:
        for entry in self.index_dir.iterdir():
            if entry.is_dir() and entry.name.startswith("v") and entry.name not in keep:
                shutil.rmtree(entry, ignore_errors=True)

    def leftovers(self) -> list[str]:
        """Version directories that are not live and were never completed (no ``ANALYSIS`` or ``LAYOUT``)."""
        live = self._current_name()
        return sorted(
            entry.name
            for entry in self.index_dir.iterdir()
            if entry.is_dir()
            and entry.name.startswith("v")
            and entry.name != live
            and not ((entry / ANALYSIS_FILE).exists() and (entry / LAYOUT_FILE).exists())
        )

    def remove_leftovers(self) -> list[str]:
        """Remove the partial versions :meth:`leftovers` lists."""
        removed = self.leftovers()
        for name in removed:
            shutil.rmtree(self.index_dir / name, ignore_errors=True)
        return removed

    # -- reads ----------------------------------------------------------------------------

    def _term(self, field: str, value: str | int) -> tantivy.Query:
        return tantivy.Query.term_query(self.schema, field, value)

    def _any_of(self, field: str, values: Iterable[str | int]) -> tantivy.Query:
        return tantivy.Query.boolean_query(
            [(tantivy.Occur.Should, self._term(field, value)) for value in values]
        )

    def _text_query(self, q: str, searcher: tantivy.Searcher) -> tantivy.Query | None:
        """Boosted term clauses of the query's words and bigrams; words weighed by :func:`word_weights`."""
        terms = analyse_query(q, self.analyzer)
        if terms.empty:
            return None
        doc_freq = {
            word: max(searcher.doc_freq(field, word) for field in WEIGHT_FIELDS) for word in terms.words
        }
        weights = word_weights(terms.words, doc_freq, searcher.num_docs)
        clauses = []
        for word in terms.words:
            weight = weights[word]
            clauses.append(tantivy.Query.boost_query(self._term("title_words", word), TITLE_BOOST * weight))
            clauses.append(tantivy.Query.boost_query(self._term("text_words", word), TEXT_BOOST * weight))
        for bigram in terms.bigrams:
            clauses.append(tantivy.Query.boost_query(self._term("bigrams", bigram), BIGRAM_BOOST))
        return tantivy.Query.boolean_query([(tantivy.Occur.Should, clause) for clause in clauses])

    def _filters(
        self, request: SearchRequest, plan: SearchPlan, facet: str | None = None
    ) -> list[tantivy.Query]:
        """Filter clauses: one per filter, ORing its values; ``facet`` leaves out that facet's own filter."""
        clauses = [self._term("kind", request.kind)]
        for clause in plan.terms if facet is None else plan.terms_for_facet(facet):
            values: tuple[str | int, ...] = clause.values
            if clause.field.type is FieldType.REFERENCE:
                values = tuple(int(value) for value in values)
            clauses.append(self._any_of(engine_name(clause.field.name), values))
        integer = tantivy.FieldType.Integer
        for bound in plan.ranges:
            clauses.append(
                tantivy.Query.range_query(
                    self.schema, engine_name(bound.field.name), integer, 0, bound.maximum, True, True
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
            clauses.append((occur, self._term(engine_name("promotions"), _day_number(today))))
        return tantivy.Query.boolean_query(clauses)

    def search(self, request: SearchRequest) -> SearchResult:
        """Search one kind, with disjunctive facet counts, as :func:`indexing.plan.search_plan` reads it.

        In ``hybrid`` and ``semantic`` mode the query vector's nearest neighbours (from
        ``request.min_similarity`` up) join the words' matches; see the module's description. A
        hybrid search that finds no neighbours is a keyword search.

        :raises ValueError: for an unknown filter, facet, sort or mode, or a query vector of another size.
        """
        plan = search_plan(request)
        index, generation = self._live_generation()
        searcher = index.searcher()
        text = self._text_query(request.q, searcher)
        neighbours = self._neighbours(generation[0], request, plan)
        if plan.mode == "hybrid" and not neighbours:
            plan = replace(plan, mode="keyword")
        if (
            plan.mode == "keyword"
            and plan.has_text
            and text is None
            or plan.mode == "semantic"
            and not neighbours
        ):
            return SearchResult(
                total=0, hits=[], facets={name: [] for name in request.facets}, generation=generation
            )
        filters = self._filters(request, plan)
        if plan.mode == "keyword":
            matching = text
            query = self._combine(text, filters, request.promoted, request.today)
            ranked, total = self._keyword_page(searcher, query, request, plan)
        else:
            matching = self._dense_matching(text, [ident for ident, _ in neighbours], plan.mode)
            query = self._combine(matching, filters, request.promoted, request.today)
            ranked, total = self._dense_page(searcher, query, text, filters, neighbours, request, plan)
        hits = self._hits(searcher, ranked, request, highlight=text is not None and request.highlight)
        key = _facet_key(generation, request, plan, tuple(ident for ident, _ in neighbours))
        with self._lock:
            facets = self._facet_cache.get(key)
            if facets is not None:
                self._facet_cache.move_to_end(key)
        if facets is None:
            facets = {
                facet.name: self._facet(searcher, request, plan, matching, facet.name)
                for facet in plan.facets
            }
            with self._lock:
                self._facet_cache[key] = facets
                while len(self._facet_cache) > FACET_CACHE_SIZE:
                    self._facet_cache.popitem(last=False)
        return SearchResult(total=total, hits=hits, facets=facets, generation=generation)

    def _neighbours(self, version: str, request: SearchRequest, plan: SearchPlan) -> list[tuple[int, float]]:
        """The query vector's nearest neighbours of the request's kind, if the plan asks for them."""
        log = self._vector_log(version)
        if not plan.dense or log is None or request.vector is None:
            return []
        try:
            return log.nearest(request.kind, request.vector, plan.dense_candidates, request.min_similarity)
        except OSError as error:
            raise SearchUnavailable(f"embedded vectors unavailable: {error}") from error

    def _dense_matching(self, text: tantivy.Query | None, ids: list[int], mode: str) -> tantivy.Query:
        """What a dense search matches: the neighbours, and in ``hybrid`` mode the words' matches too."""
        neighbours = tantivy.Query.term_set_query(self.schema, "id", ids)
        if mode == "semantic" or text is None:
            return neighbours
        return tantivy.Query.boolean_query([(tantivy.Occur.Should, text), (tantivy.Occur.Should, neighbours)])

    def _keyword_page(
        self, searcher: tantivy.Searcher, query: tantivy.Query, request: SearchRequest, plan: SearchPlan
    ) -> tuple[list[tuple[int, float]], int]:
        """The page's ``(address, score)`` pairs and the total, ordered by BM25 or by the plan's field."""
        options: dict = {}
        first = plan.sort.keys[0]
        if first.field is not None:  # tantivy orders by one field; ties keep index order
            options["order_by_field"] = engine_name(first.field)
            options["order"] = tantivy.Order.Desc if first.descending else tantivy.Order.Asc
        result = searcher.search(
            query, limit=request.per_page, offset=(request.page - 1) * request.per_page, count=True, **options
        )
        return [
            (address, float(key) if plan.sort.by_score else 0.0) for key, address in result.hits
        ], result.count

    def _dense_page(
        self,
        searcher: tantivy.Searcher,
        query: tantivy.Query,
        text: tantivy.Query | None,
        filters: list[tantivy.Query],
        neighbours: list[tuple[int, float]],
        request: SearchRequest,
        plan: SearchPlan,
    ) -> tuple[list[tuple[int, float]], int]:
        """The page's ``(address, score)`` pairs and the total of a ``hybrid`` or ``semantic`` search.

        The neighbours that pass the filters keep their cosine order. In ``semantic`` mode they are the
        hits, scored by cosine; in ``hybrid`` mode they are fused with the words' BM25 ranking under
        the same filters, read ``fusion_window`` deep.
        """
        ids = [ident for ident, _ in neighbours]
        admitted = searcher.search(
            self._combine(
                tantivy.Query.term_set_query(self.schema, "id", ids), filters, request.promoted, request.today
            ),
            limit=len(ids),
        )
        addresses = [address for _, address in admitted.hits]
        address_of = dict(zip(searcher.fast_field_values("id", addresses), addresses, strict=True))
        cosine = dict(neighbours)
        dense = [ident for ident in ids if ident in address_of]
        offset = (request.page - 1) * request.per_page
        if plan.mode == "semantic":
            page = dense[offset : offset + request.per_page]
            return [(address_of[ident], cosine[ident]) for ident in page], len(dense)
        lexical: list[int] = []
        if text is not None:
            words = searcher.search(
                self._combine(text, filters, request.promoted, request.today), limit=plan.fusion_window
            )
            word_addresses = [address for _, address in words.hits]
            lexical = searcher.fast_field_values("id", word_addresses)
            address_of.update(zip(lexical, word_addresses, strict=True))
        fused = reciprocal_rank_fusion([lexical, dense])[offset : offset + request.per_page]
        total = searcher.search(query, limit=1, count=True).count
        return [(address_of[ident], score) for ident, score in fused], total

    def _hits(
        self,
        searcher: tantivy.Searcher,
        ranked: list[tuple[int, float]],
        request: SearchRequest,
        highlight: bool,
    ) -> list[SearchHit]:
        """Hits for ``(address, score)`` pairs, with the query's words marked if ``highlight``."""
        terms = self.analyzer.highlight_terms(request.q) if highlight else set()
        if terms:
            hits = []
            for address, score in ranked:
                stored = searcher.doc(address)
                fragments = {field: self.analyzer.highlight(stored[field][0], terms) for field in HIGHLIGHTED}
                marked = {field: fragment for field, fragment in fragments.items() if fragment}
                hits.append(SearchHit(id=stored["id"][0], score=score, highlight=marked))
            return hits
        # Without highlights only ids are needed: a column read instead of a stored document each.
        found = searcher.fast_field_values("id", [address for address, _ in ranked])
        return [SearchHit(id=ident, score=score) for ident, (_, score) in zip(found, ranked, strict=True)]

    def _facet(
        self,
        searcher: tantivy.Searcher,
        request: SearchRequest,
        plan: SearchPlan,
        text: tantivy.Query | None,
        name: str,
    ) -> list[FacetCount]:
        """Count the values of facet ``name`` among the matches of every filter but its own."""
        query = self._combine(text, self._filters(request, plan, facet=name), request.promoted, request.today)
        field = engine_name(FACETS[name].field)
        aggregation = {"facet": {"terms": {"field": field, "size": FACET_SIZE}}}
        buckets = searcher.aggregate(query, aggregation)["facet"]["buckets"]
        return [FacetCount(value=bucket["key"], count=int(bucket["doc_count"])) for bucket in buckets]

    def suggest(self, prefix: str, limit: int = 10) -> list[str]:
        """Complete from indexed titles and tags, most frequent first."""
        if not prefix:
            return []
        searcher = self._live().searcher()
        return [
            term
            for term, _count in searcher.terms_with_prefix(engine_name("suggest_terms"), prefix, limit=limit)
        ]

    def stats(self) -> IndexStats:
        """Count documents per kind in the live version; read the analysis and layout it was built with."""
        index, (name, _) = self._live_generation()
        searcher = index.searcher()
        documents = {}
        for kind in ("solution", "case"):
            documents[kind] = searcher.search(self._term("kind", kind), limit=1, count=True).count
        log = self._vector_log(name)
        return IndexStats(
            documents=documents,
            version=name,
            analysis=self._recorded(name, ANALYSIS_FILE),
            layout=self._recorded(name, LAYOUT_FILE),
            vectors=None if log is None else {kind: log.count(kind) for kind in ("solution", "case")},
        )

    def _recorded(self, version: str, record: str) -> str | None:
        """What the version directory's ``record`` says; ``None`` if it was never written or is unreadable."""
        try:
            return (self.index_dir / version / record).read_text(encoding="utf-8")
        except (OSError, ValueError):  # built before it was recorded, or unreadable: unknown
            return None

    def generation(self) -> tuple[str, int]:
        """The live version's name and its last commit's opstamp: every commit and rebuild changes it."""
        return self._live_generation()[1]

    def close(self) -> None:
        """Drop the open index."""
        with self._lock:
            self._index = None
            self._version = None
