"""Stand-ins for testing the Elasticsearch backend without a cluster or the real segmenter.

:class:`StandInAnalyzer` has the methods of :class:`indexing.analysis.Analyzer` with rules simple
enough to predict by eye. :class:`FakeCluster` is an in-memory Elasticsearch that sits *under* a
real ``elasticsearch.Elasticsearch`` client, as its transport node: the backend talks to the real
client and the real bulk helpers, so wrong parameter names, wrong exception classes or a misread
helper contract fail here as they would against a server. It records every request, and can be
told to fail requests or refuse bulk items. It implements only what the backend calls, and its
search is a plain listing: ranking and filtering are covered by the golden bodies, and by the
contract suite against a live cluster.
"""

from __future__ import annotations

import fnmatch
import html
import json
import re
import unicodedata
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, unquote, urlsplit

from elastic_transport import ApiResponseMeta, BaseNode, HttpHeaders
from elasticsearch import Elasticsearch

_TOKEN = re.compile(r"[a-z0-9]+|[\u4e00-\u9fff]+")


@dataclass(frozen=True)
class AnalysedText:
    """Same shape as :class:`indexing.analysis.AnalysedText`."""

    words: list[str]
    bigrams: list[str]


class StandInAnalyzer:
    """Deterministic analysis: lowercase ASCII words and whole CJK runs, with a tiny synonym table."""

    version = "stand-in-1"
    synonyms = {"aoi": "机器视觉", "光学检测": "机器视觉"}

    def normalise(self, text: str) -> str:
        """NFKC, lowercase, single spaces."""
        return " ".join(unicodedata.normalize("NFKC", text).lower().split())

    def analyse(self, text: str, expand: bool = False) -> AnalysedText:
        """Words are tokens after synonym folding; bigrams are CJK character pairs and ASCII tokens."""
        words, bigrams = [], []
        for token in _TOKEN.findall(self.normalise(text)):
            words.append(self.synonyms.get(token, token))
            if token.isascii():
                bigrams.append(token)
            else:
                bigrams.extend(token[i : i + 2] for i in range(max(1, len(token) - 1)))
        return AnalysedText(words, bigrams)

    def highlight_terms(self, query: str) -> set[str]:
        """The query's tokens as typed (before synonym folding)."""
        return set(_TOKEN.findall(self.normalise(query)))

    def highlight(self, text: str, terms: set[str], max_chars: int = 160) -> str | None:
        """``text`` escaped, each term wrapped in ``<em>``; ``None`` if no term occurs."""
        found = [term for term in sorted(terms, key=len, reverse=True) if term and term in text.lower()]
        if not found:
            return None
        pattern = re.compile("|".join(re.escape(term) for term in found), re.IGNORECASE)
        clipped = text[:max_chars]
        pieces, last = [], 0
        for match in pattern.finditer(clipped):
            pieces.append(html.escape(clipped[last : match.start()]))
            pieces.append(f"<em>{html.escape(match.group())}</em>")
            last = match.end()
        pieces.append(html.escape(clipped[last:]))
        return "".join(pieces)


@dataclass
class Request:
    """One request the fake cluster received."""

    method: str
    path: str
    params: dict[str, str]
    body: Any

    @property
    def line(self) -> str:
        """``METHOD /path``, for compact assertions."""
        return f"{self.method} {self.path}"


@dataclass
class _Index:
    mappings: dict[str, Any]
    settings: dict[str, Any]
    aliases: set[str] = field(default_factory=set)
    docs: dict[str, dict[str, Any]] = field(default_factory=dict)


class FakeError(Exception):
    """An error response: HTTP status, Elasticsearch error type and reason."""

    def __init__(self, status: int, error_type: str, reason: str = "") -> None:
        super().__init__(reason or error_type)
        self.status = status
        self.error_type = error_type
        self.reason = reason or error_type


@dataclass
class _Failure:
    matches: Callable[[Request], bool]
    outcome: Exception | int
    times: int | None


class FakeCluster:
    """An in-memory Elasticsearch for the calls the backend makes."""

    def __init__(self) -> None:
        self.indices: dict[str, _Index] = {}
        self.requests: list[Request] = []
        self.search_response: dict[str, Any] | None = None
        self.item_rejections: dict[str, deque[int]] = {}
        self.item_refusals: dict[str, tuple[int, str]] = {}
        self._failures: list[_Failure] = []

    # -- test controls --------------------------------------------------------------------

    def client(self, **options: Any) -> Elasticsearch:
        """A real client whose only node is this cluster."""
        node_class = type("BoundFakeNode", (FakeNode,), {"cluster": self})
        return Elasticsearch("http://fake-es:9200", node_class=node_class, **options)

    def fail(self, method: str, path: str, outcome: Exception | int, times: int | None = 1) -> None:
        """Answer requests matching the regexes ``method`` and ``path`` with ``outcome``.

        ``outcome`` is an HTTP status, or an exception for the transport to raise (a connection
        error); it is given ``times`` times, or always if ``times`` is ``None``.
        """
        methods, paths = re.compile(method), re.compile(path)
        self._failures.append(
            _Failure(lambda r: bool(methods.fullmatch(r.method) and paths.fullmatch(r.path)), outcome, times)
        )

    def reject_item(self, doc_id: str, *statuses: int) -> None:
        """Answer the next bulk items for ``doc_id`` with these statuses (e.g. 429), then accept it."""
        self.item_rejections[doc_id] = deque(statuses)

    def refuse_item(
        self, doc_id: str, status: int = 400, error_type: str = "mapper_parsing_exception"
    ) -> None:
        """Refuse every bulk item for ``doc_id``."""
        self.item_refusals[doc_id] = (status, error_type)

    def lines(self) -> list[str]:
        """Every request so far as ``METHOD /path``."""
        return [request.line for request in self.requests]

    def requests_to(self, method: str, path: str) -> list[Request]:
        """The requests matching ``method`` and the regex ``path``."""
        pattern = re.compile(path)
        return [r for r in self.requests if r.method == method and pattern.fullmatch(r.path)]

    def aliases(self) -> dict[str, list[str]]:
        """Alias name → the indexes behind it."""
        found: dict[str, list[str]] = {}
        for name, index in sorted(self.indices.items()):
            for alias in index.aliases:
                found.setdefault(alias, []).append(name)
        return found

    def docs(self, target: str) -> dict[str, dict[str, Any]]:
        """The documents of an index or alias."""
        return {
            doc_id: doc for name in self._resolve(target) for doc_id, doc in self.indices[name].docs.items()
        }

    # -- request handling -----------------------------------------------------------------

    def handle(self, request: Request) -> tuple[int, Any]:
        """Answer one request with a status and a JSON body."""
        self.requests.append(request)
        for failure in self._failures:
            if failure.times != 0 and failure.matches(request):
                if failure.times is not None:
                    failure.times -= 1
                if isinstance(failure.outcome, Exception):
                    raise failure.outcome
                return failure.outcome, _error_body(
                    failure.outcome, "injected_failure", "injected by the test"
                )
        try:
            return self._route(request)
        except FakeError as error:
            return error.status, _error_body(error.status, error.error_type, error.reason)

    def _route(self, request: Request) -> tuple[int, Any]:
        parts = [unquote(part) for part in request.path.strip("/").split("/")]
        method = request.method
        if parts[0] == "_alias" and method == "HEAD":
            return (200 if self.aliases().get(parts[1]) else 404), None
        if parts[0] == "_alias" and method == "GET":
            targets = self.aliases().get(parts[1])
            if not targets:
                return 404, {"error": f"alias [{parts[1]}] missing", "status": 404}
            return 200, {name: {"aliases": {parts[1]: {}}} for name in targets}
        if parts == ["_aliases"]:
            return self._update_aliases(request.body["actions"])
        if parts == ["_bulk"]:
            return self._bulk(request)
        if len(parts) == 1 and method == "GET":
            return 200, self._get_indices(parts[0])
        if len(parts) == 1 and method == "PUT":
            return self._create(parts[0], request.body or {})
        if len(parts) == 1 and method == "DELETE":
            return self._delete(parts[0], request.params)
        endpoint = parts[1] if len(parts) == 2 else ""
        if endpoint == "_refresh":
            self._resolve(parts[0])
            return 200, {"_shards": {"total": 1, "successful": 1, "failed": 0}}
        if endpoint == "_search":
            return 200, self._search(parts[0], request)
        if endpoint == "_mapping" and method == "GET":
            return 200, {name: {"mappings": self.indices[name].mappings} for name in self._resolve(parts[0])}
        if endpoint == "_count":
            docs = self.docs(parts[0]).values()
            exists = ((request.body or {}).get("query") or {}).get("exists", {}).get("field")
            return 200, {"count": sum(1 for doc in docs if exists is None or exists in doc)}
        if endpoint == "_termvectors":
            return 200, self._term_statistics(parts[0], request.body or {})
        if endpoint == "_delete_by_query":
            deleted = 0
            for name in self._resolve(parts[0]):
                deleted += len(self.indices[name].docs)
                self.indices[name].docs.clear()
            return 200, {"deleted": deleted, "failures": []}
        raise AssertionError(f"the fake cluster does not implement {request.line}")

    def _resolve(self, target: str, ignore_unavailable: bool = False) -> list[str]:
        names: list[str] = []
        aliases = self.aliases()
        for part in target.split(","):
            if part in aliases:
                names.extend(aliases[part])
            elif part in self.indices:
                names.append(part)
            elif not ignore_unavailable:
                raise FakeError(404, "index_not_found_exception", f"no such index [{part}]")
        return names

    def _get_indices(self, pattern: str) -> dict[str, Any]:
        names = sorted(name for name in self.indices if fnmatch.fnmatchcase(name, pattern))
        if not names and "*" not in pattern:
            raise FakeError(404, "index_not_found_exception", f"no such index [{pattern}]")
        return {
            name: {"aliases": {alias: {} for alias in sorted(self.indices[name].aliases)}} for name in names
        }

    def _create(self, name: str, body: dict[str, Any]) -> tuple[int, Any]:
        if name in self.indices or name in self.aliases():
            raise FakeError(400, "resource_already_exists_exception", f"index [{name}] already exists")
        for alias in body.get("aliases", {}):
            if alias in self.indices:
                raise FakeError(
                    400, "invalid_alias_name_exception", f"an index exists with the name [{alias}]"
                )
        self.indices[name] = _Index(
            body.get("mappings", {}), body.get("settings", {}), set(body.get("aliases", {}))
        )
        return 200, {"acknowledged": True, "shards_acknowledged": True, "index": name}

    def _delete(self, target: str, params: dict[str, str]) -> tuple[int, Any]:
        if "*" in target:
            raise FakeError(
                400, "illegal_argument_exception", "Wildcard expressions or all indices are not allowed"
            )
        for name in target.split(","):
            if name in self.indices:
                del self.indices[name]
            elif params.get("ignore_unavailable") != "true":
                raise FakeError(404, "index_not_found_exception", f"no such index [{name}]")
        return 200, {"acknowledged": True}

    def _update_aliases(self, actions: list[dict[str, Any]]) -> tuple[int, Any]:
        for action in actions:
            ((kind, spec),) = action.items()
            index = self.indices.get(spec["index"])
            if index is None:
                raise FakeError(404, "index_not_found_exception", f"no such index [{spec['index']}]")
            if kind == "remove" and spec["alias"] not in index.aliases:
                raise FakeError(404, "aliases_not_found_exception", f"aliases [{spec['alias']}] missing")
            if kind == "add" and spec["alias"] in self.indices:
                raise FakeError(
                    400, "invalid_alias_name_exception", f"an index exists with the name [{spec['alias']}]"
                )
        for action in actions:
            ((kind, spec),) = action.items()
            aliases = self.indices[spec["index"]].aliases
            aliases.add(spec["alias"]) if kind == "add" else aliases.discard(spec["alias"])
        return 200, {"acknowledged": True}

    def _bulk(self, request: Request) -> tuple[int, Any]:
        lines = list(request.body)
        items = []
        while lines:
            ((op_type, meta),) = lines.pop(0).items()
            source = lines.pop(0) if op_type == "index" else None
            items.append({op_type: self._bulk_item(op_type, meta, source, request.params)})
        errors = any("error" in next(iter(item.values())) for item in items)
        return 200, {"took": 1, "errors": errors, "items": items}

    def _bulk_item(
        self, op_type: str, meta: dict[str, Any], source: dict[str, Any] | None, params: dict[str, str]
    ) -> dict[str, Any]:
        target, doc_id = meta["_index"], meta["_id"]
        answer: dict[str, Any] = {"_index": target, "_id": doc_id}
        rejections = self.item_rejections.get(doc_id)
        if rejections:
            status = rejections.popleft()
            return answer | {
                "status": status,
                "error": {"type": "es_rejected_execution_exception", "reason": "busy"},
            }
        if doc_id in self.item_refusals:
            status, error_type = self.item_refusals[doc_id]
            return answer | {"status": status, "error": {"type": error_type, "reason": "refused by the test"}}
        aliases = self.aliases()
        if params.get("require_alias") == "true" and target not in aliases:
            reason = f"no such index [{target}] and [require_alias] request flag is [true]"
            return answer | {"status": 404, "error": {"type": "index_not_found_exception", "reason": reason}}
        names = aliases.get(target, [target])
        if op_type == "delete":
            if names[0] not in self.indices:  # deletions never auto-create an index
                error = {"type": "index_not_found_exception", "reason": f"no such index [{target}]"}
                return answer | {"status": 404, "error": error}
            found = self.indices[names[0]].docs.pop(doc_id, None) is not None
            return answer | {
                "_index": names[0],
                "result": "deleted" if found else "not_found",
                "status": 200 if found else 404,
            }
        if names[0] not in self.indices:
            self.indices[names[0]] = _Index({}, {})
        self.indices[names[0]].docs[doc_id] = source or {}
        return answer | {"_index": names[0], "result": "created", "status": 201}

    def _term_statistics(self, target: str, body: dict[str, Any]) -> dict[str, Any]:
        """Statistics of an artificial document's whitespace tokens, as ``_termvectors`` gives them."""
        docs = list(self.docs(target).values())
        vectors = {}
        for name in body.get("fields", []):
            holding = [set(str(doc.get(name, "")).split()) for doc in docs]
            terms = {
                term: {"doc_freq": sum(term in tokens for tokens in holding), "term_freq": 1}
                for term in str(body["doc"].get(name, "")).split()
            }
            vectors[name] = {
                "field_statistics": {"doc_count": sum(bool(tokens) for tokens in holding)},
                "terms": terms,
            }
        return {"_index": target, "found": True, "term_vectors": vectors}

    def _search(self, target: str, request: Request) -> dict[str, Any]:
        names = self._resolve(target, ignore_unavailable=request.params.get("ignore_unavailable") == "true")
        if self.search_response is not None:
            return self.search_response
        hits = [
            {"_index": name, "_id": doc_id, "_score": 1.0, "_source": doc}
            for name in names
            for doc_id, doc in sorted(self.indices[name].docs.items(), key=lambda item: int(item[0]))
        ]
        return {"hits": {"total": {"value": len(hits), "relation": "eq"}, "hits": hits}}


class NodeResponse(NamedTuple):
    """What a transport node returns: metadata and the raw body (``NodeApiResponse``'s shape)."""

    meta: ApiResponseMeta
    body: bytes


def _error_body(status: int, error_type: str, reason: str) -> dict[str, Any]:
    cause = {"type": error_type, "reason": reason}
    return {"error": cause | {"root_cause": [cause]}, "status": status}


class FakeNode(BaseNode):
    """A transport node that hands requests to a :class:`FakeCluster` instead of the network."""

    _CLIENT_META_HTTP_CLIENT = ("fake", "1")
    cluster: FakeCluster

    def perform_request(
        self,
        method: str,
        target: str,
        body: bytes | None = None,
        headers: Any = None,
        request_timeout: Any = None,
    ) -> NodeResponse:
        """Decode the request, let the cluster answer, and encode the answer as Elasticsearch would."""
        url = urlsplit(target)
        decoded: Any = None
        if body:
            text = body.decode("utf-8")
            content_type = str((headers or {}).get("content-type", ""))
            decoded = (
                [json.loads(line) for line in text.splitlines() if line]
                if "ndjson" in content_type
                else json.loads(text)
            )
        request = Request(method, url.path, dict(parse_qsl(url.query)), decoded)
        status, answer = self.cluster.handle(request)
        meta = ApiResponseMeta(
            status=status,
            http_version="1.1",
            headers=HttpHeaders({"content-type": "application/json", "x-elastic-product": "Elasticsearch"}),
            duration=0.0,
            node=self.config,
        )
        return NodeResponse(meta, b"" if method == "HEAD" else json.dumps(answer).encode("utf-8"))
