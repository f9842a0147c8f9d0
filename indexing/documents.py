"""How a document and a query are analysed into tokens: shared by every backend, so they rank alike."""

from __future__ import annotations

import ctypes
import ctypes.util
import itertools
import math
import multiprocessing
import os
import signal
import sys
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from indexing.base import IndexDocument
from indexing.vocabulary import FIELDS, FieldSpec

TITLE_BOOST = 3.0
TEXT_BOOST = 1.0
BIGRAM_BOOST = 0.1
"""Bigrams are a fallback for sub-word queries: a bigram match counts a tenth of a word match, so
that the bigrams of generic words (客户, 产品 again, as bigrams) never outweigh a matched word."""
ANALYSIS_CHUNK = 500
"""Documents per task sent to an analysis process."""


class AnalyzerLike(Protocol):
    """What backends need of :class:`indexing.analysis.Analyzer`."""

    version: str
    """Names the analysis: an index records the version it was built with."""

    def normalise(self, text: str) -> str: ...

    def analyse(self, text: str, expand: bool = False): ...

    def highlight_terms(self, query: str) -> set[str]: ...

    def highlight(self, text: str, terms: set[str], max_chars: int = 160) -> str | None: ...


@dataclass(frozen=True)
class AnalysedDocument:
    """The token fields of one document, each a whitespace-joined string of tokens."""

    title_words: str
    text_words: str
    bigrams: str
    suggest_terms: tuple[str, ...]


@dataclass(frozen=True)
class QueryTerms:
    """The analysed query: distinct word tokens and distinct bigrams, in query order.

    Single-character words (老, 多, 电 …) are left out whenever the query has anything longer: they
    match too many documents to tell them apart, so a matched content word must decide.
    """

    words: tuple[str, ...]
    bigrams: tuple[str, ...]

    @property
    def empty(self) -> bool:
        """True if the query has nothing to match on."""
        return not self.words and not self.bigrams


def analyse_document(document: IndexDocument, analyzer: AnalyzerLike) -> AnalysedDocument:
    """Analyse the title with the tags, and the summary with the body, expanding compound words."""
    head = analyzer.analyse(" ".join((document.title, *document.tags)), expand=True)
    text = analyzer.analyse(f"{document.summary} {document.body}", expand=True)
    suggest = (analyzer.normalise(document.title), *(analyzer.normalise(tag) for tag in document.tags))
    return AnalysedDocument(
        title_words=" ".join(head.words),
        text_words=" ".join(text.words),
        bigrams=" ".join(head.bigrams + text.bigrams),
        suggest_terms=tuple(dict.fromkeys(term for term in suggest if term)),
    )


def document_values(document: IndexDocument, analysed: AnalysedDocument) -> list[tuple[FieldSpec, object]]:
    """Every field of :data:`indexing.vocabulary.FIELDS` with its value for ``document``, in order.

    Analysed fields are read from ``analysed``, the others from ``document``. The values are as
    the document holds them (tuples, dates, integers); an absent optional value is ``None``. Each
    backend turns them into its engine's representation.
    """
    return [(spec, getattr(analysed if spec.type.analysed else document, spec.source)) for spec in FIELDS]


def analyse_query(q: str, analyzer: AnalyzerLike) -> QueryTerms:
    """Analyse a user's query with the same chain as the documents; lone characters as a last resort."""
    analysed = analyzer.analyse(q)
    words = tuple(dict.fromkeys(analysed.words))
    bigrams = tuple(dict.fromkeys(analysed.bigrams))
    longer = tuple(word for word in words if len(word) > 1)
    if longer or bigrams:
        words = longer
    return QueryTerms(words, bigrams)


WEIGHT_FIELDS = ("title_words", "text_words")
"""The fields whose document frequencies weigh a query's words (see :func:`word_weights`)."""


def word_weights(words: Iterable[str], doc_freq: Mapping[str, int], documents: int) -> dict[str, float]:
    """How much each query word counts, by how well it tells documents apart: its IDF over the best one's.

    Each engine scores a field with that field's own statistics, so a word common in descriptions
    but rare in titles (客户, 产品) scores as if it were rare wherever a title holds it, and several
    such words outweigh the one content word that matched (划痕). Weighing every word's clauses by
    ``idf(word) / max idf`` over the query's words, where ``idf`` comes from the number of
    documents holding the word in any of :data:`WEIGHT_FIELDS` (``doc_freq``, the larger of the
    fields' counts) among ``documents``, keeps the rarest word at full weight and brings generic
    ones down in proportion. Weights are rounded to 4 decimals.

    :returns: a weight in ``(0, 1]`` per word; all ``1.0`` when nothing is known (no documents).
    """
    words = list(dict.fromkeys(words))
    if documents <= 0 or not words:
        return dict.fromkeys(words, 1.0)
    idf = {}
    for word in words:
        held = min(max(doc_freq.get(word, 0), 0), documents)
        idf[word] = math.log(1.0 + (documents - held + 0.5) / (held + 0.5))
    best = max(idf.values())
    return {word: round(value / best, 4) for word, value in idf.items()}


def analysed_documents(
    documents: Iterable[IndexDocument], analyzer: AnalyzerLike, processes: int = 1
) -> Iterator[tuple[IndexDocument, AnalysedDocument]]:
    """Each document with its analysis, in order; in ``processes`` worker processes if more than one.

    Segmentation holds the GIL, so only processes analyse in parallel. The documents are read
    from ``documents`` in the calling thread (a database session stays in its thread), chunk by
    chunk, a few chunks ahead of what the caller has consumed. Fewer documents than one chunk per
    process are analysed in this process, since starting workers costs more than it saves. The
    analyser must pickle (:class:`indexing.analysis.Analyzer` pickles as its data); workers are
    spawned, not forked, since the caller may hold threads (an index writer's) and connections.
    A worker that dies fails the iteration (``BrokenProcessPool``) instead of hanging it, and the
    workers die with the calling process, even when it is killed with SIGKILL
    (:func:`die_with_parent`).
    """
    documents = iter(documents)
    head = list(itertools.islice(documents, processes * ANALYSIS_CHUNK))
    if processes <= 1 or len(head) < processes * ANALYSIS_CHUNK:
        for document in itertools.chain(head, documents):
            yield document, analyse_document(document, analyzer)
        return
    chunks = itertools.chain(_chunks(iter(head)), _chunks(documents))
    pool = ProcessPoolExecutor(
        processes,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_set_worker_analyzer,
        initargs=(analyzer, os.getpid()),
    )
    try:
        pending: deque = deque()
        for chunk in chunks:
            pending.append((chunk, pool.submit(_analyse_chunk, chunk)))
            if len(pending) > 2 * processes:
                chunk, analysed = pending.popleft()
                yield from zip(chunk, analysed.result(), strict=True)
        while pending:
            chunk, analysed = pending.popleft()
            yield from zip(chunk, analysed.result(), strict=True)
    finally:
        pool.shutdown(cancel_futures=True)


def _chunks(documents: Iterator[IndexDocument]) -> Iterator[list[IndexDocument]]:
    while chunk := list(itertools.islice(documents, ANALYSIS_CHUNK)):
        yield chunk


_worker_analyzer: AnalyzerLike | None = None


PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """Have the kernel SIGKILL this process when its parent dies (Linux); exit now if it already has.

    The parent's death signal is the only notice that survives the parent's SIGKILL. Elsewhere
    than on Linux this only checks that the parent still lives.
    """
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:  # the parent died before the death signal was armed
        os._exit(1)


def _set_worker_analyzer(analyzer: AnalyzerLike, parent: int) -> None:
    global _worker_analyzer
    die_with_parent(parent)
    _worker_analyzer = analyzer


def _analyse_chunk(chunk: list[IndexDocument]) -> list[AnalysedDocument]:
    return [analyse_document(document, _worker_analyzer) for document in chunk]
