"""The Elasticsearch search backend: versioned indexes behind aliases, bodies from :mod:`indexing.queries`.

Each kind has an alias, ``{prefix}-{kind}``, in front of one physical index, ``{prefix}-{kind}-v{N}``.
Reads and incremental writes go through the alias. Only :meth:`ElasticsearchBackend.create` (an empty
version with its alias, in one call) and :meth:`ElasticsearchBackend.rebuild` (fresh indexes, then both
aliases moved in one ``update_aliases`` call) make indexes: when a kind's alias does not exist, every
read and write raises :class:`~indexing.base.IndexMissing`, so an empty index never takes the place of
one that was deleted, and a deletion is never taken as done. Writes, deletions included, require their
target to be an alias (``require_alias``), so Elasticsearch cannot auto-create a concrete index under
its name either. A physical index of the prefix that no alias points at was left by an interrupted
rebuild (:meth:`ElasticsearchBackend.leftovers`).

The ``elasticsearch`` package is imported when the backend is created, so the app runs without it
when another backend is chosen; the client itself is created on first use, after gunicorn forks.
Every engine error leaves as :class:`~indexing.base.SearchUnavailable`; nothing is swallowed.
"""

from __future__ import annotations

import itertools
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from indexing import queries
from indexing.base import (
    KINDS,
    IndexDocument,
    IndexMissing,
    IndexStats,
    SearchBackend,
    SearchRequest,
    SearchResult,
    SearchUnavailable,
)
from indexing.documents import AnalyzerLike, analyse_query, analysed_documents, word_weights
from indexing.plan import search_plan
from indexing.vocabulary import VectorSpec

logger = logging.getLogger(__name__)


RETRY_STATUSES = (429, 502, 503, 504)
INDEX_PREFIX = re.compile(r"[a-z0-9][a-z0-9._-]*")
MAX_REPORTED_FAILURES = 5


class BulkFailed(SearchUnavailable):
    """Some bulk actions were refused even after retries; ``failures`` lists every one of them."""

    def __init__(self, message: str, failures: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.failures = failures


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Consume ``items`` lazily in lists of at most ``size``."""
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _failure_summary(failure: dict[str, Any]) -> str:
    """``index marketplace-solution/7: 400 mapper_parsing_exception (reason)`` for one bulk item."""
    op_type, item = next(iter(failure.items()))
    error = item.get("error")
    if isinstance(error, dict):
        error = f"{error.get('type')} ({error.get('reason')})"
    return f"{op_type} {item.get('_index')}/{item.get('_id')}: {item.get('status')} {error}"


class ElasticsearchBackend(SearchBackend):
    """Elasticsearch 9 behind versioned aliases.

    :param url: the cluster, e.g. ``http://localhost:9200``; or pass ``client`` instead.
    :param client: a ready ``elasticsearch.Elasticsearch`` client, used as it is and not closed here.
    :param analyzer: the shared analysis chain (:class:`indexing.analysis.Analyzer`).
    :param index_prefix: names the aliases ``{prefix}-solution`` and ``{prefix}-case``.
    :param max_retries: how often a bulk request is retried after a 429/5xx rejection or a
        connection error, waiting ``initial_backoff`` seconds, then twice as long each time, at most
        ``max_backoff``.
    :param chunk_size: documents per bulk request.
    :param request_timeout: seconds before a request to a cluster given by ``url`` times out.
    :param sleep: waits between retries after connection errors (replaceable in tests).
    :param analysis_processes: processes that analyse documents during :meth:`rebuild`.
    :param vectors: the model and size of the documents' vectors, kept in a ``dense_vector`` field;
        ``None`` keeps none (the mapping then has no vector field and every search is by keywords).
    :raises ValueError: unless exactly one of ``url`` and ``client`` is given, or if ``index_prefix``
        is not a valid index name (lowercase letters, digits, ``.``, ``_``, ``-``).
    :raises RuntimeError: if the ``elasticsearch`` package is not installed.
    """

    def __init__(
        self,
        url: str | None = None,
        client: Any = None,
        *,
        analyzer: AnalyzerLike,
        index_prefix: str = "marketplace",
        max_retries: int = 3,
        initial_backoff: float = 0.5,
        max_backoff: float = 30.0,
        chunk_size: int = 500,
        request_timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        analysis_processes: int = 1,
        vectors: VectorSpec | None = None,
    ) -> None:
        if (url is None) == (client is None):
            raise ValueError("pass either url or client to ElasticsearchBackend, not both or neither")
        if not INDEX_PREFIX.fullmatch(index_prefix):
            raise ValueError(
                f"index_prefix {index_prefix!r} must be lowercase letters, digits, '.', '_' or '-'"
            )
        try:
            import elasticsearch
            import elasticsearch.helpers
        except ImportError as error:
            raise RuntimeError(
                "SEARCH_BACKEND=elasticsearch needs the 'elasticsearch' package; install requirements.txt"
            ) from error
        self._es = elasticsearch
        self._streaming_bulk = elasticsearch.helpers.streaming_bulk
        self.url = url
        self.analyzer = analyzer
        self.index_prefix = index_prefix
        self.max_retries = max_retries
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.chunk_size = chunk_size
        self.request_timeout = request_timeout
        self._sleep = sleep
        self.analysis_processes = analysis_processes
        self.vectors = vectors
        self.layout = queries.layout(vectors)
        self._client = client
        self._owns_client = client is None
        self._client_lock = threading.Lock()

    # -- names and plumbing ---------------------------------------------------------------

    def alias(self, kind: str) -> str:
        """The alias that serves ``kind``.

        :raises ValueError: for a kind other than ``solution`` or ``case``.
        """
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
        return f"{self.index_prefix}-{kind}"

    @property
    def client(self) -> Any:
        """The client, created on first use so that each forked worker opens its own connections."""
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    self._client = self._es.Elasticsearch(self.url, request_timeout=self.request_timeout)
        return self._client

    @contextmanager
    def _engine(self, action: str) -> Iterator[None]:
        """Turn the client's API and transport errors into :class:`SearchUnavailable`."""
        try:
            yield
        except SearchUnavailable:
            raise
        except (self._es.ApiError, self._es.TransportError) as error:
            raise SearchUnavailable(f"Elasticsearch could not {action}: {error}") from error

    def _alias_targets(self, alias: str) -> list[str]:
        """The physical indexes behind ``alias``, none if it does not exist."""
        try:
            return sorted(self.client.indices.get_alias(name=alias).body)
        except self._es.NotFoundError:
            return []

    def _physical(self, alias: str) -> dict[str, tuple[int, bool]]:
        """Every physical index of ``alias``'s kind: its version, and whether an alias points at it."""
        pattern = re.compile(re.escape(alias) + r"-v(\d+)")
        found = self.client.indices.get(index=f"{alias}-v*", features="aliases", expand_wildcards="all").body
        physical = {}
        for name, info in found.items():
            matched = pattern.fullmatch(name)
            if matched:
                physical[name] = (int(matched.group(1)), bool(info.get("aliases")))
        return physical

    def _next_version(self, alias: str) -> str:
        """The name of the version after every physical index of ``alias``'s kind, leftovers included."""
        versions = [version for version, _aliased in self._physical(alias).values()]
        return f"{alias}-v{max(versions, default=0) + 1}"

    def _settings_and_mappings(self) -> dict[str, Any]:
        return queries.index_settings_and_mappings(self.analyzer.version, self.vectors)

    def _missing(self, error: Exception, what: str) -> IndexMissing:
        """The :class:`IndexMissing` for a 404 from ``what`` (an alias, or several)."""
        return IndexMissing(f"Elasticsearch index missing: no alias {what}; run flask index ensure ({error})")

    # -- bulk -----------------------------------------------------------------------------

    def _bulk(self, actions: Iterable[dict[str, Any]], **params: Any) -> int:
        """Send ``actions`` in chunks, retrying what may succeed later, and count them.

        A failed action is never dropped: failures of every chunk are collected and raised together.
        Deleting a document that is not there is not a failure; a target index that is not there is.

        :raises IndexMissing: if an action's target alias or index does not exist.
        :raises BulkFailed: if any other action failed after its retries.
        """
        client = self.client.options(max_retries=0)
        failures: list[dict[str, Any]] = []
        sent = 0
        for chunk in _chunks(actions, self.chunk_size):
            failures.extend(self._send_chunk(client, chunk, params))
            sent += len(chunk)
        if failures:
            missing = [failure for failure in failures if _is_missing_index(failure)]
            if missing:
                raise IndexMissing(
                    f"Elasticsearch index missing: {_failure_summary(missing[0])}; run flask index ensure"
                )
            shown = "; ".join(_failure_summary(failure) for failure in failures[:MAX_REPORTED_FAILURES])
            more = (
                f" and {len(failures) - MAX_REPORTED_FAILURES} more"
                if len(failures) > MAX_REPORTED_FAILURES
                else ""
            )
            raise BulkFailed(f"{len(failures)} of {sent} bulk actions failed: {shown}{more}", failures)
        return sent

    def _send_chunk(
        self, client: Any, chunk: list[dict[str, Any]], params: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Send one chunk; return its failed items.

        ``streaming_bulk`` retries items and requests rejected with :data:`RETRY_STATUSES`. A
        connection error or timeout aborts the request with no answer, so the whole chunk is sent
        again after a backoff: index and delete actions carry their ids, and repeating them is harmless.
        """
        for attempt in itertools.count():
            try:
                results = self._streaming_bulk(
                    client,
                    chunk,
                    chunk_size=len(chunk),
                    raise_on_error=False,
                    raise_on_exception=False,
                    max_retries=self.max_retries,
                    initial_backoff=self.initial_backoff,
                    max_backoff=self.max_backoff,
                    retry_on_status=RETRY_STATUSES,
                    yield_ok=False,
                    **params,
                )
                return [info for ok, info in results if not ok and not _is_missing_delete(info)]
            except (self._es.ConnectionError, self._es.ConnectionTimeout) as error:
                if attempt >= self.max_retries:
                    raise
                delay = min(self.max_backoff, self.initial_backoff * 2**attempt)
                logger.warning("bulk request failed (%s); retrying in %.2fs", error, delay)
                self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    # -- the interface --------------------------------------------------------------------

    def create(self) -> None:
        """Create an empty version with its alias, in one call, for each kind whose alias does not exist.

        The version is numbered past any leftover of the kind. Two processes that both found no alias
        may race: if they pick the same version, the loser's create fails and the winner's stands; if
        the later one numbered past the earlier one's fresh index, the alias briefly names both and
        the later one deletes its own, so the earliest version stays.
        """
        with self._engine("create indexes"):
            for kind in KINDS:
                alias = self.alias(kind)
                if self.client.indices.exists_alias(name=alias):
                    continue
                created = self._next_version(alias)
                try:
                    self.client.indices.create(
                        index=created, aliases={alias: {}}, **self._settings_and_mappings()
                    )
                except self._es.BadRequestError as error:
                    lost_race = error.error == "resource_already_exists_exception"
                    if not (lost_race and self.client.indices.exists_alias(name=alias)):
                        raise
                    continue
                aliased = {
                    name: version for name, (version, has_alias) in self._physical(alias).items() if has_alias
                }
                if min(aliased, key=aliased.__getitem__, default=created) != created:
                    self.client.indices.delete(index=created)

    def index(self, documents: Sequence[IndexDocument], wait: float | None = None) -> None:
        """Add or replace documents through the aliases.

        ``wait`` is ignored: Elasticsearch has no write lock to wait for.

        Writes require the target to be an alias (``require_alias``), so a missing alias fails
        instead of Elasticsearch auto-creating a concrete index under its name. Returns once
        the documents are searchable (``refresh=wait_for``).

        :param documents: documents of any kinds.
        :raises IndexMissing: if the alias of a document's kind does not exist (documents of
            another kind may have been written).
        :raises SearchUnavailable: if the engine is down or refused any document
            (:class:`BulkFailed`, with every failure).
        """
        if not documents:
            return
        aliases = {document.kind: self.alias(document.kind) for document in documents}
        with self._engine("index documents"):
            actions = (
                queries.index_action(doc, analysed, aliases[doc.kind], self.vectors)
                for doc, analysed in analysed_documents(documents, self.analyzer)
            )
            self._bulk(actions, refresh="wait_for", require_alias=True)

    def delete(self, kind: str, ids: Sequence[int], wait: float | None = None) -> None:
        """Remove documents through the kind's alias; unknown ids are ignored (``wait`` too).

        :raises IndexMissing: if the kind's alias does not exist: nothing was deleted.
        :raises SearchUnavailable: if the engine is down or refused a deletion.
        """
        alias = self.alias(kind)
        if not ids:
            return
        with self._engine("delete documents"):
            self._bulk(
                (queries.delete_action(alias, doc_id) for doc_id in ids),
                refresh="wait_for",
                require_alias=True,
            )

    def search(self, request: SearchRequest) -> SearchResult:
        """Run the search built by :func:`indexing.queries.search_body`.

        Without :attr:`vectors` a query vector is ignored, so the search is by keywords.

        :raises IndexMissing: if the kind's alias does not exist.
        :raises SearchUnavailable: if the engine is down.
        :raises ValueError: for an unknown kind, filter, facet, sort or mode.
        """
        if self.vectors is None and request.vector is not None:
            request = replace(request, vector=None)
        alias = self.alias(request.kind)
        with self._engine("search"):
            try:
                weights = self._word_weights(alias, request)
                body = queries.search_body(request, self.analyzer, weights)
                response = self.client.search(index=alias, body=body)
            except self._es.NotFoundError as error:
                raise self._missing(error, alias) from error
        return queries.parse_search_response(response.body, request, self.analyzer)

    def _word_weights(self, alias: str, request: SearchRequest) -> dict[str, float] | None:
        """The weights of the query's words (:func:`indexing.documents.word_weights`), by ``_termvectors``.

        ``None`` when no words are matched (no words, or a ``semantic`` search).
        """
        if not request.q.strip() or search_plan(request).mode == "semantic":
            return None
        words = analyse_query(request.q, self.analyzer).words
        if not words:
            return None
        response = self.client.termvectors(index=alias, body=queries.term_statistics_body(words))
        doc_freq, documents = queries.parse_term_statistics(response.body)
        return word_weights(words, doc_freq, documents)

    def suggest(self, prefix: str, limit: int = 10) -> list[str]:
        """Complete ``prefix`` from the titles and tags of both kinds, most frequent first.

        :raises IndexMissing: if the alias of either kind does not exist.
        :raises SearchUnavailable: if the engine is down.
        """
        if not prefix or limit <= 0:
            return []
        indexes = ",".join(self.alias(kind) for kind in KINDS)
        with self._engine("suggest"):
            try:
                response = self.client.search(index=indexes, body=queries.suggest_body(prefix, limit))
            except self._es.NotFoundError as error:
                raise self._missing(error, indexes) from error
        return queries.parse_suggest_response(response.body)

    def rebuild(self, documents: Iterable[IndexDocument]) -> int:
        """Fill new ``v{N+1}`` indexes, then point both aliases at them in one ``update_aliases`` call.

        Until that call the old indexes keep serving. If anything fails before it (the engine, a
        refused document, or the ``documents`` iterable itself), the new indexes are deleted and the
        error propagates. After the switch the old indexes are deleted; failing to delete them is
        logged, not raised, since the rebuild itself succeeded (they are then :meth:`leftovers`). A
        rebuild killed before the switch leaves its new indexes behind as leftovers too.

        :returns: how many documents were indexed.
        :raises SearchUnavailable: if the engine is down or refused a document.
        """
        aliases = {kind: self.alias(kind) for kind in KINDS}
        created: list[str] = []
        with self._engine("rebuild the index"):
            previous = {kind: self._alias_targets(alias) for kind, alias in aliases.items()}
            fresh = {kind: self._next_version(alias) for kind, alias in aliases.items()}
            try:
                for kind in KINDS:
                    self.client.indices.create(index=fresh[kind], **self._settings_and_mappings())
                    created.append(fresh[kind])
                analysed = analysed_documents(documents, self.analyzer, self.analysis_processes)
                actions = (
                    queries.index_action(doc, tokens, fresh[self._checked_kind(doc)], self.vectors)
                    for doc, tokens in analysed
                )
                count = self._bulk(actions)
                self.client.indices.refresh(index=",".join(created))
                swap = [
                    {"remove": {"index": old, "alias": aliases[kind]}}
                    for kind in KINDS
                    for old in previous[kind]
                ]
                swap += [{"add": {"index": fresh[kind], "alias": aliases[kind]}} for kind in KINDS]
                self.client.indices.update_aliases(actions=swap)
            except BaseException:
                self._delete_indexes_quietly(created)
                raise
        self._delete_indexes_quietly([old for kind in KINDS for old in previous[kind]])
        return count

    def _checked_kind(self, document: IndexDocument) -> str:
        """The document's kind, refused early if unknown."""
        self.alias(document.kind)
        return document.kind

    def _delete_indexes_quietly(self, names: list[str]) -> None:
        """Delete indexes during cleanup, logging instead of raising so the original outcome stands."""
        if not names:
            return
        try:
            self.client.indices.delete(index=",".join(names), ignore_unavailable=True)
        except (self._es.ApiError, self._es.TransportError) as error:
            logger.warning("could not delete Elasticsearch indexes %s: %s", ", ".join(names), error)

    def clear(self) -> None:
        """Delete every document of every kind, keeping the indexes and their mappings.

        :raises IndexMissing: if the alias of a kind does not exist (earlier kinds are cleared).
        :raises SearchUnavailable: if the engine is down or reports failures.
        """
        with self._engine("clear the index"):
            for kind in KINDS:
                try:
                    response = self.client.delete_by_query(
                        index=self.alias(kind), query={"match_all": {}}, refresh=True, conflicts="proceed"
                    )
                except self._es.NotFoundError as error:
                    raise self._missing(error, self.alias(kind)) from error
                if response.body.get("failures"):
                    raise SearchUnavailable(
                        f"Elasticsearch could not clear {kind}: {response.body['failures']}"
                    )

    def stats(self) -> IndexStats:
        """Count documents per kind; ``version`` names the physical index behind the solution alias.

        ``analysis`` and ``layout`` come from that index's mapping (``_meta``). With :attr:`vectors`,
        ``vectors`` counts the documents per kind that hold one.

        :raises IndexMissing: if the alias of a kind does not exist.
        :raises SearchUnavailable: if the engine is down.
        """
        with self._engine("count documents"):
            documents = {}
            vectors: dict[str, int] | None = None if self.vectors is None else {}
            for kind in KINDS:
                try:
                    documents[kind] = int(self.client.count(index=self.alias(kind)).body["count"])
                    if vectors is not None:
                        with_vector = self.client.count(index=self.alias(kind), query=queries.HAS_VECTOR)
                        vectors[kind] = int(with_vector.body["count"])
                except self._es.NotFoundError as error:
                    raise self._missing(error, self.alias(kind)) from error
            targets = self._alias_targets(self.alias("solution"))
            meta = {}
            if targets:
                mapping = self.client.indices.get_mapping(index=targets[0]).body[targets[0]]["mappings"]
                meta = mapping.get("_meta", {})
        return IndexStats(
            documents=documents,
            version=targets[0] if targets else "",
            analysis=meta.get("analysis"),
            layout=meta.get("layout"),
            vectors=vectors,
        )

    def drop_indexes(self) -> None:
        """Delete every physical index of this prefix, and with them the aliases (for test teardown).

        Indexes are named one by one, since clusters refuse wildcard deletes by default
        (``action.destructive_requires_name``).

        :raises SearchUnavailable: if the engine is down.
        """
        with self._engine("drop the indexes"):
            names = [name for kind in KINDS for name in self._physical(self.alias(kind))]
            if names:
                self.client.indices.delete(index=",".join(sorted(names)), ignore_unavailable=True)

    def leftovers(self) -> list[str]:
        """Physical indexes of this prefix (``{alias}-v{N}``) that no alias points at.

        An interrupted rebuild leaves them, and so does a rebuild that could not delete the indexes
        it replaced; a running rebuild's new indexes look the same until its switch.

        :raises SearchUnavailable: if the engine is down.
        """
        with self._engine("list leftover indexes"):
            return sorted(
                name
                for kind in KINDS
                for name, (_version, aliased) in self._physical(self.alias(kind)).items()
                if not aliased
            )

    def remove_leftovers(self) -> list[str]:
        """Delete the indexes :meth:`leftovers` lists, by name; returns their names.

        :raises SearchUnavailable: if the engine is down.
        """
        removed = self.leftovers()
        if removed:
            with self._engine("remove leftover indexes"):
                self.client.indices.delete(index=",".join(removed), ignore_unavailable=True)
        return removed

    def close(self) -> None:
        """Close the client if this backend created it."""
        with self._client_lock:
            if self._owns_client and self._client is not None:
                self._client.close()
                self._client = None


def _is_missing_delete(failure: dict[str, Any]) -> bool:
    """A delete of a document that is not there: the outcome asked for, not a failure.

    Elasticsearch answers it with status 404 and ``result: not_found`` but no ``error``; a delete
    whose index or alias is not there carries an ``index_not_found_exception`` error instead.
    """
    op_type, item = next(iter(failure.items()))
    return op_type == "delete" and item.get("status") == 404 and not item.get("error")


def _is_missing_index(failure: dict[str, Any]) -> bool:
    """A bulk action refused because its target alias or index does not exist."""
    _op_type, item = next(iter(failure.items()))
    error = item.get("error")
    return isinstance(error, dict) and error.get("type") == "index_not_found_exception"
