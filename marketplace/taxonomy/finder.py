"""Find GB/T 4754 entries by what people type: a name, a code, a common name (注塑) or pinyin (sl, suliao).

The finder is built once per taxonomy (:attr:`marketplace.taxonomy.service.Taxonomy.finder`): every
name and common name is spelled out in pinyin then, so a query only compares strings. Matches rank
exact before prefix before contains; then a code before a name, a name before a common name, a
common name before pinyin; then the shorter text, the broader entry (塑料制品业 before 塑料鞋制造),
and for the same name at two levels (C367 and C3670 汽车零部件及配件制造) the deeper entry, which
is the one a city's 细分行业 usually means.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Protocol

from pypinyin import Style, lazy_pinyin

HOW = ("exact", "prefix", "contains")
BY = ("code", "name", "alias", "pinyin")
DEPTH = {"section": 0, "division": 1, "group": 2, "class": 3}
CODE_QUERY = re.compile(r"^([A-Z]\d{0,4}|\d{1,4})$")
LETTERS = re.compile(r"^[a-z]+$")
MIN_CONTAINED = {"initials": 2, "spelled": 3}
"""The shortest pinyin query matched inside a name rather than only at its start."""


class Entry(Protocol):
    """What the finder reads of an entry (``marketplace.taxonomy.service.Industry``)."""

    code: str
    name: str
    level: str


@dataclass(frozen=True)
class IndustryMatch:
    """Why an entry matched: ``how`` (exact, prefix, contains), ``by`` what (code, name, alias,
    pinyin) and the ``text`` that matched (the code, the name, or the common name)."""

    how: str
    by: str
    text: str


@dataclass(frozen=True)
class Term:
    """A text that names an entry, with its pinyin initials and its pinyin spelled out."""

    code: str
    text: str
    by: str
    folded: str
    initials: str
    spelled: str


def normalise_query(text: str) -> str:
    """Full-width forms folded to their usual ones (ＰＣＢ → PCB), spaces removed, letters in lower case."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).casefold()


def _letters(syllables: list[str]) -> str:
    return "".join(ch for ch in "".join(syllables).casefold() if "a" <= ch <= "z")


def make_term(code: str, text: str, by: str) -> Term:
    """Spell ``text`` out in pinyin, once, as the finder compares it."""
    return Term(
        code,
        text,
        by,
        normalise_query(text),
        _letters(lazy_pinyin(text, style=Style.FIRST_LETTER)),
        _letters(lazy_pinyin(text)),
    )


def _how(query: str, text: str, min_contained: int = 1) -> int | None:
    """The rank of how ``query`` matches ``text``: 0 exact, 1 prefix, 2 contains, else None."""
    if not text:
        return None
    if query == text:
        return 0
    if text.startswith(query):
        return 1
    if len(query) >= min_contained and query in text:
        return 2
    return None


class IndustryFinder:
    """Rank the entries of one classification against a query."""

    def __init__(self, industries: dict[str, Entry], aliases: list[dict]):
        """Spell out every name and common name; ``aliases`` are ``{term, codes}`` with known codes."""
        self.industries = industries
        self.order = {code: index for index, code in enumerate(industries)}
        self.terms = [make_term(entry.code, entry.name, "name") for entry in industries.values()]
        for alias in aliases:
            self.terms += [make_term(code, alias["term"], "alias") for code in alias["codes"]]

    def _term_match(self, query: str, term: Term) -> tuple[int, int] | None:
        """(how, by) ranks of the best way ``query`` matches ``term``, if it does."""
        how = _how(query, term.folded)
        if how is None and len(query) >= 2 and len(term.folded) >= 2 and term.folded in query:
            how = 2
        if how is not None:
            return how, BY.index(term.by)
        if LETTERS.match(query):
            ranks = [
                rank
                for rank in (
                    _how(query, term.initials, MIN_CONTAINED["initials"]),
                    _how(query, term.spelled, MIN_CONTAINED["spelled"]),
                )
                if rank is not None
            ]
            if ranks:
                return min(ranks), BY.index("pinyin")
        return None

    def find(self, query: str) -> list[tuple[Entry, IndustryMatch]]:
        """Every entry that ``query`` matches, best first, each with why it matched.

        :param query: what the user typed; an empty query (after normalising) matches nothing.
        """
        query = normalise_query(query)
        if not query:
            return []
        best: dict[str, tuple] = {}
        code_query = query.upper()
        if CODE_QUERY.match(code_query):
            for code in self.industries:
                how = _how(code_query, code) if code_query[0].isalpha() else _how(code_query, code[1:])
                if how is not None and how < 2:
                    best[code] = (how, 0, 0, code)
        for term in self.terms:
            ranks = self._term_match(query, term)
            if ranks is None:
                continue
            key = (*ranks, len(term.text), term.text)
            if term.code not in best or key < best[term.code]:
                best[term.code] = key

        broadest: dict[str, int] = {}
        for code, (*_, text) in best.items():
            depth = DEPTH[self.industries[code].level]
            broadest[text] = min(depth, broadest.get(text, depth))

        def sort_key(code: str) -> tuple:
            how, by, length, text = best[code]
            depth = DEPTH[self.industries[code].level]
            return how, by, length, broadest[text], text, -depth, self.order[code]

        return [
            (self.industries[code], IndustryMatch(HOW[best[code][0]], BY[best[code][1]], best[code][3]))
            for code in sorted(best, key=sort_key)
        ]
