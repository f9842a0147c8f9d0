"""The one Chinese analysis chain, shared by indexing, querying and the matching model.

Text goes through the same steps everywhere, so a document and a query that mean the same thing
end up with the same tokens:

1. **normalise**: NFKC (full-width to half-width, compatibility forms), traditional to simplified
   Chinese (OpenCC ``t2s``), case folding, whitespace collapsed to single spaces;
2. **segment** into words with jieba (``rjieba``, an instance-local dictionary extended with the
   domain lexicon and every synonym);
3. **fold synonyms**: every member of a synonym group becomes the group's canonical token (its
   first member), and stop words, punctuation and whitespace are dropped;
4. **bigrams**: overlapping character bigrams of every run of Chinese characters, plus whole ASCII
   alphanumeric tokens of two characters or more, so that a query for part of a word (``塑件``)
   still finds the whole (``注塑件``). A lone character is no fallback: it matches too much.

Both search backends index :attr:`AnalysedText.words` and :attr:`AnalysedText.bigrams` as
whitespace-separated strings, and the TF-IDF model reads the same words. Build an
:class:`Analyzer` once per process (:meth:`Analyzer.from_seed_data` reuses one for identical
data) and share it: it is immutable after construction and safe to use from many threads.
Segmentation holds the GIL, so threads do not analyse faster than one; bulk indexing that needs
more throughput uses processes (:func:`indexing.documents.analysed_documents`): an analyser
pickles as its data, and each process builds its own.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import html
import itertools
import json
import operator
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import opencc
import rjieba

from seed_data import taxonomy as taxonomy_files

DEFAULT_STOPWORDS_FILE = Path(__file__).resolve().parent.parent / "seed_data" / "lexicon" / "stopwords.txt"
"""Stop words used when :class:`Analyzer` is built without an explicit list."""

STOPWORDS_FILENAME = "stopwords.txt"
"""The file in ``seed_data/lexicon/`` that lists stop words rather than lexicon terms."""

ANALYSIS_REVISION = 2
"""The revision of this module's rules; bump it when a change alters the tokens of any text, so that
indexes built before it report their analysis as stale (see :meth:`Analyzer.from_seed_data`)."""

_VERSION_HEADER = re.compile(r"^#\s*version:\s*(\S+)\s*$")
_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_HAN_CHAR = re.compile(f"[{_HAN}]")
_ALL_HAN = re.compile(f"[{_HAN}]+")
_BIGRAM_SOURCE = re.compile(f"[{_HAN}]+|[a-z0-9]+")
_WORD_CHAR = re.compile(r"[^\W_]")
_INDUSTRY_NAME_SEPARATORS = re.compile(r"[、，,;；和及与或等（）()\s]+")
_MAX_NORMALISE_PASSES = 4

_FULLWIDTH_TO_HALFWIDTH = {
    chr(code): unicodedata.normalize("NFKC", chr(code))
    for code in [0x3000, *range(0xFF01, 0xFFEF)]
    if unicodedata.normalize("NFKC", chr(code)) != chr(code)
}
_FULLWIDTH = re.compile("[" + "".join(map(re.escape, _FULLWIDTH_TO_HALFWIDTH)) + "]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_PUNCTUATION = [
    char
    for char in map(chr, [*range(0x20, 0xC0), *range(0x2010, 0x2028), *range(0x3000, 0x3040)])
    if not _WORD_CHAR.search(char)
]
"""Common one-character tokens that the word rule drops anyway, looked up first for speed."""


@dataclass(frozen=True)
class AnalysedText:
    """The tokens of one text, ready to index or to query with.

    ``words`` are normalised, segmented, synonym-folded word tokens in text order, without stop
    words, punctuation or whitespace. ``bigrams`` are the overlapping character bigrams of each
    run of Chinese characters in the normalised text, and every whole ASCII alphanumeric token of
    two characters or more, in text order; they serve sub-word matching. A lone character (a run of
    one, as in ``电 费``) gives none: as a fallback it would match nearly every document.
    """

    words: list[str]
    bigrams: list[str]


class Analyzer:
    """Normalise, segment, fold synonyms and make bigrams, identically for documents and queries.

    :param lexicon: domain terms that must survive segmentation as single tokens. Terms made only
        of Chinese characters go into the segmenter's dictionary; ASCII runs stay whole anyway,
        and mixed terms (``APS排产``) are left to split into their ASCII and Chinese parts.
    :param synonyms: synonym groups; every member is folded to the group's first member,
        normalised. Members containing Chinese characters are added to the dictionary too.
    :param version: a label for this lexicon and these synonyms, stored with the index.
    :param stopwords: words to drop; by default those of ``seed_data/lexicon/stopwords.txt``.
        Synonym members are never dropped, even if listed.
    :raises ValueError: if a synonym member is empty, holds whitespace once normalised, or
        belongs to two groups.
    :raises FileNotFoundError: if ``stopwords`` is not given and the default file is missing.
    """

    version: str

    def __init__(
        self,
        lexicon: Iterable[str] = (),
        synonyms: Iterable[Sequence[str]] = (),
        version: str = "custom",
        *,
        stopwords: Iterable[str] | None = None,
    ) -> None:
        lexicon = tuple(lexicon)
        synonyms = tuple(tuple(group) for group in synonyms)
        stopwords = tuple(_read_terms(DEFAULT_STOPWORDS_FILE) if stopwords is None else stopwords)
        self._arguments = (lexicon, synonyms, version, stopwords)
        self.version = version
        self._t2s = opencc.OpenCC("t2s")
        # An instance of its own: adding words never touches rjieba's module-level segmenter.
        self._segmenter = rjieba.Jieba()
        self._canonical: dict[str, str] = {}
        self._groups: dict[str, tuple[str, ...]] = {}
        dictionary: dict[str, None] = {}

        for group in synonyms:
            members = tuple(dict.fromkeys(self._single_token(member) for member in group))
            if not members:
                continue
            canonical = members[0]
            for member in members:
                if member in self._canonical:
                    owner = self._canonical[member]
                    raise ValueError(f"synonym {member!r} is in two groups ({owner!r} and {canonical!r})")
                self._canonical[member] = canonical
                if _HAN_CHAR.search(member):
                    dictionary[member] = None
            self._groups[canonical] = members

        terms: dict[str, str] = {}
        for term in lexicon:
            normalised = self.normalise(term)
            if normalised:
                terms.setdefault(normalised, term.strip())
            if _ALL_HAN.fullmatch(normalised):
                dictionary[normalised] = None
        for group in synonyms:
            for member in group:
                terms.setdefault(self.normalise(member), member.strip())
        terms.pop("", None)
        self._terms = tuple(sorted(terms.items()))
        for word in dictionary:
            # No frequency given: jieba picks one high enough for the word to be cut whole,
            # also when its default dictionary already knows the word as a rarer one.
            self._segmenter.add_word(word, None, None)

        self._token_map: dict[str, str] = dict.fromkeys(_PUNCTUATION, "")
        self._token_map.update((self.normalise(word), "") for word in stopwords)
        self._token_map.pop("", None)
        self._token_map.update(self._canonical)
        self._token_words = _TokenWords(self._token_map)
        # One search highlights ~40 fields with the same terms: fold and compile them once.
        self._highlight_pattern = functools.lru_cache(maxsize=256)(self._compile_highlight)

    def __reduce__(self):
        """Pickle as the constructor's arguments: a worker process rebuilds its own segmenter."""
        return _shared_analyzer, (type(self), *self._arguments)

    @classmethod
    def from_seed_data(cls, seed_dir: str | Path) -> Analyzer:
        """Build the analyser of the versioned data files in ``seed_dir``.

        Reads ``lexicon/*.txt`` (``stopwords.txt`` is the stop-word list, every other file holds
        lexicon terms), ``synonyms/synonyms.json``, and the sub-industry, scenario and
        sub-scenario names of ``taxonomy/`` when present. Industry names are split at
        conjunctions and punctuation (``汽车零部件及配件制造`` gives ``汽车零部件`` and
        ``配件制造``) so that the parts users type stay whole.

        Building a segmenter takes a few hundred milliseconds, so one analyser is kept per
        distinct content: calling this again with unchanged files returns the same instance.

        :param seed_dir: the ``seed_data`` directory.
        :returns: an analyser whose version reads like ``lexicon 2024.1 / synonyms 2024.1 / fb168158``:
            the files' declared versions, then a digest of everything that decides tokens (the
            terms, synonym groups and stop words as read, taxonomy names included, and
            :data:`ANALYSIS_REVISION`), so an edit that forgets to bump a version still shows.
        :raises FileNotFoundError: if ``synonyms/synonyms.json`` is missing.
        :raises ValueError: if the synonym groups are inconsistent (see :class:`Analyzer`).
        """
        seed_dir = Path(seed_dir)
        lexicon: list[str] = []
        stopwords: list[str] = []
        lexicon_versions: dict[str, str] = {}
        for path in sorted((seed_dir / "lexicon").glob("*.txt")):
            version = _read_version(path)
            if version is not None:
                lexicon_versions[path.stem] = version
            (stopwords if path.name == STOPWORDS_FILENAME else lexicon).extend(_read_terms(path))
        lexicon.extend(_taxonomy_terms(seed_dir))

        synonyms_data = json.loads((seed_dir / "synonyms" / "synonyms.json").read_text(encoding="utf-8"))
        groups = tuple(tuple(group) for group in synonyms_data["groups"])
        content = json.dumps([ANALYSIS_REVISION, lexicon, groups, stopwords], ensure_ascii=False)
        version = (
            f"lexicon {_join_versions(lexicon_versions)} / synonyms {synonyms_data.get('version', '?')}"
            f" / {hashlib.sha256(content.encode()).hexdigest()[:8]}"
        )
        return _shared_analyzer(cls, tuple(lexicon), groups, version, tuple(stopwords))

    def normalise(self, text: str) -> str:
        """Return ``text`` in the one form every later step sees.

        NFKC (full-width letters, digits and punctuation become ASCII), traditional characters
        become simplified, case is folded, and runs of whitespace become one space, trimmed at
        both ends. The result is a fixed point: normalising it again changes nothing.
        """
        result, settled = self._normalise_once(text)
        for _ in range(_MAX_NORMALISE_PASSES):
            if settled:
                break
            again, settled = self._normalise_once(result)
            if again == result:
                break
            result = again
        return result

    def analyse(self, text: str, expand: bool = False) -> AnalysedText:
        """Split ``text`` into word tokens and bigrams (see :class:`AnalysedText`).

        With ``expand`` (used for documents, not queries), a long word also yields the shorter
        dictionary words inside it, so ``能耗监测`` gives ``能耗``, ``监测`` and ``能耗监测``: a
        query for ``用电`` (folded to ``能耗``) then finds it. Never raises on any string; the
        empty string gives empty lists.
        """
        normalised = self.normalise(text)
        return AnalysedText(words=self._words(normalised, expand), bigrams=_bigrams(normalised))

    def words(self, text: str) -> list[str]:
        """The word tokens of :meth:`analyse` alone (no bigrams, no expansion): what text models read."""
        return self._words(self.normalise(text), expand=False)

    def _words(self, normalised: str, expand: bool) -> list[str]:
        tokens = (self._segmenter.cut_for_search if expand else self._segmenter.cut)(normalised)
        return list(filter(None, map(self._token_words.__getitem__, tokens)))

    def lexicon_terms(self, prefix: str) -> list[str]:
        """Return the lexicon terms and synonyms that start with ``prefix``, for completion.

        :param prefix: what the user has typed; it is normalised first.
        :returns: the terms as written in the data files (``AOI``, not ``aoi``), shortest
            first; none for an empty prefix.
        """
        prefix = self.normalise(prefix)
        if not prefix:
            return []
        start = bisect.bisect_left(self._terms, (prefix,))
        following = itertools.islice(self._terms, start, None)
        found = itertools.takewhile(lambda item: item[0].startswith(prefix), following)
        return [display for _, display in sorted(found, key=lambda item: (len(item[0]), item[0]))]

    def highlight_terms(self, query: str) -> set[str]:
        """Return the surface strings to mark in results for ``query``.

        These are the query's word tokens and every normalised member of their synonym groups,
        so a query for ``机器视觉`` marks ``AOI`` and ``视觉检测`` as well.
        """
        terms: set[str] = set()
        for word in self.analyse(query).words:
            terms.update(self._groups.get(word, (word,)))
        return terms

    def highlight(self, text: str, terms: set[str], max_chars: int = 160) -> str | None:
        """Mark every occurrence of ``terms`` in ``text`` with ``<em>`` and escape the rest.

        Matching ignores case, full-width forms and traditional characters, but the original
        characters are returned. Longer terms win over shorter ones at the same place, and
        marks never nest. A text longer than ``max_chars`` is cut to a window of about that
        size around the first match, with ``…`` where it was cut.

        :param text: the stored field, as shown to users.
        :param terms: strings to mark, usually from :meth:`highlight_terms`.
        :param max_chars: the longest fragment to return before escaping.
        :returns: the HTML fragment, or ``None`` if no term occurs in ``text``.
        """
        pattern = self._highlight_pattern(frozenset(terms))
        if pattern is None:
            return None
        spans = [match.span() for match in pattern.finditer(self._match_view(text))]
        if not spans:
            return None

        start, end = 0, len(text)
        if end > max_chars:
            first_start, first_end = spans[0]
            start = max(0, min(first_start - max_chars // 4, len(text) - max_chars))
            end = max(start + max_chars, first_end)
            for span_start, span_end in spans:
                if span_start < end < span_end:
                    end = span_end
        parts = ["…"] if start > 0 else []
        position = start
        for span_start, span_end in spans:
            if span_start >= end:
                break
            parts.append(html.escape(text[position:span_start]))
            parts.append(f"<em>{html.escape(text[span_start:span_end])}</em>")
            position = span_end
        parts.append(html.escape(text[position:end]))
        if end < len(text):
            parts.append("…")
        return "".join(parts)

    def _normalise_once(self, text: str) -> tuple[str, bool]:
        """Run the normalisation steps once.

        :returns: the result, and whether it is certainly a fixed point: true unless the t2s
            step changed something (a few conversions chain, 薴→苧→苎) or case folding produced
            characters that NFKC then changed (case folding itself is idempotent).
        """
        text = _nfkc(text)
        if text.isascii():
            return " ".join(text.lower().split()), True
        try:
            simplified = self._t2s.convert(text)
        except UnicodeEncodeError:
            text = _SURROGATE.sub("\ufffd", text)
            simplified = self._t2s.convert(text)
        folded = simplified.casefold()
        settled = simplified == text and unicodedata.is_normalized("NFKC", folded)
        return " ".join(_nfkc(folded).split()), settled

    def _single_token(self, term: str) -> str:
        """Normalise a synonym member and check it can be one token."""
        normalised = self.normalise(term)
        if not normalised or " " in normalised:
            raise ValueError(f"synonym {term!r} must be one non-empty token once normalised")
        return normalised

    def _compile_highlight(self, terms: frozenset[str]) -> re.Pattern[str] | None:
        """Compile the folded ``terms`` into one alternation, longest first, so the longest match wins."""
        needles = {needle for term in terms if (needle := self._match_view(term))}
        if not needles:
            return None
        ordered = sorted(needles, key=lambda needle: (-len(needle), needle))
        return re.compile("|".join(map(re.escape, ordered)), re.IGNORECASE)

    def _match_view(self, text: str) -> str:
        """Return a copy of ``text`` of the same length, folded for matching.

        Each character is NFKC-normalised and case-folded when that keeps it one character;
        traditional characters become simplified when the conversion keeps the length. Offsets
        in the view are offsets in ``text``.
        """
        folded = text.translate(_fold_table()) if text.isascii() or max(text) <= "\uffff" else None
        if folded is None:
            folded = "".join(_fold_char(char) for char in text)
        try:
            simplified = self._t2s.convert(folded)
        except UnicodeEncodeError:
            return folded
        return simplified if len(simplified) == len(folded) else folded


class _TokenWords(dict):
    """What each segmenter token becomes as a word ("" to drop it), remembered once computed.

    A synonym maps to its canonical token, a stop word to ""; any other token stays if it
    holds a letter or digit (isalnum() answers for most tokens, the regex for "20%", "c++").
    Tokens repeat across texts, so a dictionary hit replaces these checks for most of them.
    """

    def __init__(self, token_map: dict[str, str], limit: int = 500_000) -> None:
        super().__init__()
        self._token_map = token_map
        self._limit = limit

    def __missing__(self, token: str) -> str:
        mapped = self._token_map.get(token, token)
        word = mapped if mapped is not token or token.isalnum() or _WORD_CHAR.search(token) else ""
        if len(self) < self._limit:
            self[token] = word
        return word


@functools.cache
def _fold_table() -> dict[int, str]:
    """:func:`_fold_char` for every character of the Basic Multilingual Plane that it changes."""
    table = {}
    for code in range(0x10000):
        if not 0xD800 <= code <= 0xDFFF and (folded := _fold_char.__wrapped__(chr(code))) != chr(code):
            table[code] = folded
    return table


@functools.lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    """Fold one character for matching, keeping it one character long."""
    folded = unicodedata.normalize("NFKC", char).casefold()
    if len(folded) == 1:
        return folded
    lowered = char.casefold()
    return lowered if len(lowered) == 1 else char


def _nfkc(text: str) -> str:
    """NFKC-normalise ``text``, mapping full-width forms directly since they are most of the work."""
    if unicodedata.is_normalized("NFKC", text):
        return text
    # Replacing a full-width character by its NFKC image first leaves the NFKC result unchanged.
    text = _FULLWIDTH.sub(lambda match: _FULLWIDTH_TO_HALFWIDTH[match.group()], text)
    if unicodedata.is_normalized("NFKC", text):
        return text
    return unicodedata.normalize("NFKC", text)


def _bigrams(normalised: str) -> list[str]:
    """Return the bigrams of each Chinese run and the whole ASCII tokens; none of one character."""
    bigrams: list[str] = []
    for run in _BIGRAM_SOURCE.findall(normalised):
        if len(run) < 2:
            continue
        if run.isascii():
            bigrams.append(run)
        else:
            bigrams += map(operator.add, run, run[1:])
    return bigrams


def _read_terms(path: Path) -> list[str]:
    """Read one term per line, skipping blank lines and ``#`` comments."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def _read_version(path: Path) -> str | None:
    """Return the ``# version: X`` header of a term file, if it has one."""
    for line in path.read_text(encoding="utf-8").splitlines():
        match = _VERSION_HEADER.match(line.strip())
        if match:
            return match.group(1)
    return None


def _join_versions(versions: dict[str, str]) -> str:
    """Show one version when all files agree, else each file's."""
    distinct = sorted(set(versions.values()))
    if len(distinct) <= 1:
        return distinct[0] if distinct else "?"
    return ",".join(f"{name}={version}" for name, version in sorted(versions.items()))


def _taxonomy_terms(seed_dir: Path) -> Iterator[str]:
    """Yield the industry-name parts, scenario names and sub-scenario names of the taxonomy, if any."""
    manifest = taxonomy_files.read_manifest(seed_dir, missing_ok=True)
    for row in taxonomy_files.read_industries(seed_dir, manifest, missing_ok=True):
        for part in _INDUSTRY_NAME_SEPARATORS.split(row["name"]):
            part = part.removeprefix("其他")
            if len(part) >= 2:
                yield part
    scenarios = taxonomy_files.read_scenarios(seed_dir, manifest, missing_ok=True)
    if scenarios is not None:
        for scenario in scenarios["scenarios"]:
            yield scenario["name"]
            yield from scenario.get("sub_scenarios", ())


@functools.lru_cache(maxsize=8)
def _shared_analyzer(
    cls: type[Analyzer],
    lexicon: tuple[str, ...],
    synonyms: tuple[tuple[str, ...], ...],
    version: str,
    stopwords: tuple[str, ...],
) -> Analyzer:
    """Build one analyser per distinct data, for :meth:`Analyzer.from_seed_data`."""
    return cls(lexicon, synonyms, version, stopwords=stopwords)
