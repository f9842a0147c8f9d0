"""How a document and a query are analysed into tokens: shared by every backend, so they rank alike."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from indexing.base import IndexDocument

TITLE_BOOST = 3.0
TEXT_BOOST = 1.0
BIGRAM_BOOST = 0.3


class AnalyzerLike(Protocol):
    """What backends need of :class:`indexing.analysis.Analyzer`."""

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
    """The analysed query: distinct word tokens and distinct bigrams, in query order."""

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


def analyse_query(q: str, analyzer: AnalyzerLike) -> QueryTerms:
    """Analyse a user's query with the same chain as the documents."""
    analysed = analyzer.analyse(q)
    return QueryTerms(tuple(dict.fromkeys(analysed.words)), tuple(dict.fromkeys(analysed.bigrams)))
