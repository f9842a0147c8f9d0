"""Item vectors: made once per content change, kept in the store, attached to index documents.

The store holds one ``item_embeddings`` row per item and model, with a digest of the text the vector
was made from (:func:`passage`). Documents built for the index carry the stored vector when its
digest matches their text; otherwise they are indexed without one (found by their words only) and
their row is marked as waiting (``vector`` empty). Nothing on a request's path runs the model:
waiting rows are embedded in the background (:func:`embed_waiting`, run by
:mod:`marketplace.search.maintenance`), by ``flask embeddings sync`` (:func:`sync`), and by
``flask index rebuild`` and ``ensure``, which queue the items for the index once they have vectors.

The embedder itself (:mod:`indexing.embeddings`) is created per process on first use, after any
fork; query embeddings are cached per process (:class:`indexing.embeddings.CachedEmbeddings`), and
the few passages embedded at request time (the clauses reasons quote, :func:`passage_vectors`) per
process and in the store's ``passage_embeddings``, shared by every worker.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import replace

import numpy as np
from flask import Flask, current_app
from sqlalchemy import delete, exists, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from indexing.base import KINDS, IndexDocument
from indexing.embeddings import (
    CachedEmbeddings,
    Embedder,
    EmbeddingUnavailable,
    content_digest,
    create_embedder,
    vector_from_bytes,
    vector_to_bytes,
)
from indexing.vocabulary import VectorSpec
from marketplace.errors import ServiceUnavailable
from marketplace.extensions import db
from marketplace.models import ItemEmbedding, ListingStatus, PassageEmbedding, utcnow
from marketplace.search.cache import Stamps, store_cache
from marketplace.search.documents import MODELS
from marketplace.taxonomy.service import Taxonomy

log = logging.getLogger(__name__)

PASSAGE_FIELDS = {"solution": ("title", "tags", "summary", "body"), "case": ("title", "tags", "summary")}
"""What is embedded of each kind, chosen on the demo catalog's judged needs (docs/embeddings.md): a
solution's description (its document's ``body``) raised dense NDCG@10 from 0.46 to 0.58; a case's
body (the enterprise's name and the metric names) added nothing."""
PASSAGE_CACHE_SIZE = 4_096
"""Passages embedded at request time (the clauses a reason quotes) kept per process, about 2 KiB
each; the store keeps them all (:func:`passage_vectors`)."""
EMBED_BATCH = 32
"""Passages per call to the model: the bundled one streams its weights once per batch."""
LOOKUP_BATCH = 500
SETTING_KEYS = (
    "EMBEDDINGS_URL",
    "EMBEDDINGS_MODEL",
    "EMBEDDINGS_API_KEY",
    "EMBEDDINGS_DIMENSIONS",
    "EMBEDDINGS_TIMEOUT",
    "EMBEDDINGS_MIN_SIMILARITY",
)


class EmbeddingState:
    """Per-app embedding settings and the per-process embedder, created after any fork."""

    def __init__(self, app: Flask) -> None:
        self.name = app.config["EMBEDDINGS_BACKEND"]
        self.settings = {key: app.config.get(key) for key in SETTING_KEYS}
        self._embedder: Embedder | None = None
        self._queries: CachedEmbeddings | None = None
        self._passages: CachedEmbeddings | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        """False with ``EMBEDDINGS_BACKEND=none``: no vectors are made or searched."""
        return self.name != "none"

    @property
    def embedder(self) -> Embedder | None:
        """This process's embedder (nothing is loaded until it embeds); ``None`` if disabled."""
        if not self.enabled:
            return None
        if self._embedder is None or self._pid != os.getpid():
            with self._lock:  # a request and the background thread must share one model
                if self._embedder is None or self._pid != os.getpid():
                    self._embedder = create_embedder(self.name, self.settings)
                    self._queries = CachedEmbeddings(self._embedder)
                    self._passages = CachedEmbeddings(self._embedder, passages=True, size=PASSAGE_CACHE_SIZE)
                    self._pid = os.getpid()
        return self._embedder

    @property
    def queries(self) -> CachedEmbeddings | None:
        """This process's cache of query embeddings; ``None`` if disabled."""
        return self._queries if self.embedder is not None else None

    @property
    def passages(self) -> CachedEmbeddings | None:
        """This process's cache of passages embedded at request time; ``None`` if disabled."""
        return self._passages if self.embedder is not None else None

    @property
    def spec(self) -> VectorSpec | None:
        """The model and size of the vectors made now; ``None`` if disabled."""
        embedder = self.embedder
        return None if embedder is None else VectorSpec(embedder.model_id, embedder.dimensions)

    @property
    def min_similarity(self) -> float:
        """The cosine from which a passage counts as a neighbour: the setting, else the model's own."""
        configured = self.settings.get("EMBEDDINGS_MIN_SIMILARITY")
        if configured is not None:
            return float(configured)
        embedder = self.embedder
        return 0.0 if embedder is None else embedder.min_similarity


def init_vectors(app: Flask) -> None:
    """Attach the embedding state to the app; the embedder is created on first use in each process."""
    app.extensions["vectors"] = EmbeddingState(app)


def warm_up(app: Flask) -> None:
    """Load the embedder's model in this process now: gunicorn's master calls it before forking, so
    that the workers share the bundled model's weights and none reads them inside a request."""
    with app.app_context():
        embedder = state().embedder
        if embedder is not None:
            embedder.warm_up()


def state() -> EmbeddingState:
    """The embedding state of the current app."""
    return current_app.extensions["vectors"]


def passage(document: IndexDocument) -> str:
    """The text embedded for ``document``: the fields of :data:`PASSAGE_FIELDS`, tags space-joined."""
    parts = []
    for name in PASSAGE_FIELDS[document.kind]:
        value = getattr(document, name)
        parts.append(" ".join(value) if isinstance(value, tuple) else value)
    return " ".join(part for part in parts if part)


def query_vector(text: str) -> np.ndarray:
    """The embedding of a user's query, cached per process.

    :raises ServiceUnavailable: if the embedder cannot answer, or embeddings are disabled.
    """
    return _cached(state().queries, [text])[0]


def passage_vectors(texts: Sequence[str]) -> np.ndarray:
    """The embeddings of short passages read at request time (rows in order): cached per process and
    kept in the store (``passage_embeddings``, by model and digest of the text), so that a passage is
    embedded once for every worker and restart rather than once per process.

    Those the store did not hold yet are added to the caller's transaction (a recommendation commits
    its log with them); a row another worker added meanwhile is left as it is.

    :raises ServiceUnavailable: if the embedder cannot answer, or embeddings are disabled.
    """
    cache, current = state().passages, state().spec
    if cache is None or current is None:
        raise ServiceUnavailable("语义检索未启用")
    unknown = {content_digest(text): text for text in cache.uncached(texts)}
    stored = _stored_passages(list(unknown), current.model_id)
    cache.keep(
        {unknown[digest]: vector_from_bytes(data, current.dimensions) for digest, data in stored.items()}
    )
    rows = _cached(cache, texts)
    vector_of = dict(zip(texts, rows, strict=True))
    _keep_passages(
        current.model_id,
        {digest: vector_of[text] for digest, text in unknown.items() if digest not in stored},
    )
    return rows


def _cached(cache: CachedEmbeddings | None, texts: Sequence[str]) -> np.ndarray:
    if cache is None:
        raise ServiceUnavailable("语义检索未启用")
    try:
        return cache.embed_all(texts)
    except EmbeddingUnavailable as error:
        log.error("embeddings unavailable: %s", error)
        raise ServiceUnavailable("语义检索服务暂不可用，请稍后再试") from error


def similarities(found: Mapping[int, np.ndarray], text: str) -> dict[int, float]:
    """The cosine of each of ``found`` (item id → stored vector, :func:`stored_vectors`) to the query
    ``text``; without words, nothing.

    :raises ServiceUnavailable: if the embedder cannot answer.
    """
    if not found or not text.strip():
        return {}
    scores = np.stack(list(found.values())) @ query_vector(text)
    return {item_id: float(score) for item_id, score in zip(found, scores, strict=True)}


def stored_vectors(
    kind: str, ids: Sequence[int], key: Hashable | None, stamps: Stamps
) -> dict[int, np.ndarray]:
    """The stored unit vectors of the current model of the published items among ``ids``, by id.

    Items without a vector of the current model are left out; without embeddings, nothing.

    :param key: the store generation (:func:`marketplace.search.engine.cache_key`) the vectors are
        cached under for this process; ``None`` reads them from the store.
    :param stamps: which of ``ids`` are published now, with their stamps
        (:func:`~marketplace.search.documents.published_stamps`, read once per request by the caller).
    """
    current = state().spec
    if current is None or not ids:
        return {}

    def load(missing: list[int]) -> dict[int, np.ndarray]:
        stored = _stored(kind, missing, current.model_id)
        return {
            item_id: vector_from_bytes(vector, current.dimensions)
            for item_id, (_, vector) in stored.items()
            if vector is not None
        }

    return store_cache().get(key, f"{kind} vector {current.model_id}", sorted(ids), load, stamps)


# -- the store ----------------------------------------------------------------------------


def _stored(kind: str, ids: Sequence[int], model_id: str) -> dict[int, tuple[str, bytes | None]]:
    """The stored ``(digest, vector)`` of ``ids`` for ``model_id``."""
    found: dict[int, tuple[str, bytes | None]] = {}
    for start in range(0, len(ids), LOOKUP_BATCH):
        rows = db.session.execute(
            select(ItemEmbedding.item_id, ItemEmbedding.content_digest, ItemEmbedding.vector).where(
                ItemEmbedding.kind == kind,
                ItemEmbedding.model_id == model_id,
                ItemEmbedding.item_id.in_(ids[start : start + LOOKUP_BATCH]),
            )
        )
        found.update((item_id, (digest, vector)) for item_id, digest, vector in rows)
    return found


def _stored_passages(digests: list[str], model_id: str) -> dict[str, bytes]:
    """The stored vectors of the passages with ``digests``, made by ``model_id``, by digest."""
    found: dict[str, bytes] = {}
    for start in range(0, len(digests), LOOKUP_BATCH):
        found.update(
            db.session.execute(
                select(PassageEmbedding.content_digest, PassageEmbedding.vector).where(
                    PassageEmbedding.model_id == model_id,
                    PassageEmbedding.content_digest.in_(digests[start : start + LOOKUP_BATCH]),
                )
            ).all()
        )
    return found


def _keep_passages(model_id: str, vectors: Mapping[str, np.ndarray]) -> None:
    """Add passage vectors (digest → vector) to the session, leaving any row another worker added.

    Rows go in digest order, the same in every worker, so two of them never deadlock on PostgreSQL.
    """
    if vectors:
        db.session.execute(
            _insert(PassageEmbedding).on_conflict_do_nothing(),
            [
                {"model_id": model_id, "content_digest": digest, "vector": vector_to_bytes(vectors[digest])}
                for digest in sorted(vectors)
            ],
        )


def store(rows: list[dict]) -> None:
    """Insert ``item_embeddings`` rows, or update digest and vector of existing ones (SQLite, PostgreSQL)."""
    if not rows:
        return
    statement = _insert(ItemEmbedding)
    statement = statement.on_conflict_do_update(
        index_elements=["kind", "item_id", "model_id"],
        set_={
            "content_digest": statement.excluded.content_digest,
            "vector": statement.excluded.vector,
            "updated_at": statement.excluded.updated_at,
        },
    )
    now = utcnow()
    db.session.execute(statement, [{**row, "updated_at": now} for row in rows])


def _insert(model):
    """An INSERT of ``model`` that can say what to do on conflict, in the store's dialect."""
    return (postgresql_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert)(model)


def with_vectors(documents: Sequence[IndexDocument]) -> tuple[list[IndexDocument], list[dict]]:
    """``documents`` with their stored vectors attached where the digest of their text matches.

    :returns: the documents, and the rows to mark as waiting for the model (:func:`mark_waiting`)
        for those whose text has no vector yet. Without embeddings, the documents unchanged and none.
    """
    current = state().spec
    if current is None or not documents:
        return list(documents), []
    result: list[IndexDocument] = []
    waiting: list[dict] = []
    for kind in KINDS:
        of_kind = [document for document in documents if document.kind == kind]
        if not of_kind:
            continue
        stored = _stored(kind, [document.id for document in of_kind], current.model_id)
        for document in of_kind:
            digest = content_digest(passage(document))
            recorded = stored.get(document.id)
            if recorded is not None and recorded[0] == digest and recorded[1] is not None:
                document = replace(document, vector=vector_from_bytes(recorded[1], current.dimensions))
            elif recorded is None or recorded[0] != digest:
                waiting.append(
                    {
                        "kind": kind,
                        "item_id": document.id,
                        "model_id": current.model_id,
                        "content_digest": digest,
                    }
                )
            result.append(document)
    return result, waiting


def mark_waiting(rows: list[dict]) -> None:
    """Mark the rows from :func:`with_vectors` as waiting, in the caller's transaction."""
    store([{**row, "vector": None} for row in rows])


def missing_count() -> dict[str, int] | None:
    """How many published items of each kind lack a vector of the current model; ``None`` if disabled."""
    current = state().spec
    if current is None:
        return None
    counts = {}
    for kind in KINDS:
        model = MODELS[kind]
        has_vector = exists().where(
            ItemEmbedding.kind == kind,
            ItemEmbedding.item_id == model.id,
            ItemEmbedding.model_id == current.model_id,
            ItemEmbedding.vector.is_not(None),
        )
        counts[kind] = db.session.scalar(
            select(func.count(model.id)).where(model.status == ListingStatus.PUBLISHED, ~has_vector)
        )
    return counts


def waiting_count() -> int:
    """How many rows wait for the current model (items whose text changed, or new ones)."""
    current = state().spec
    if current is None:
        return 0
    return db.session.scalar(
        select(func.count(ItemEmbedding.id)).where(
            ItemEmbedding.model_id == current.model_id, ItemEmbedding.vector.is_(None)
        )
    )


def _embed(documents: list[IndexDocument]) -> list[dict]:
    """The ``item_embeddings`` rows of ``documents``, embedded in batches; nothing is written.

    The model runs outside any write, so a store that serialises writers (SQLite) is never held
    while it computes.

    :raises EmbeddingUnavailable: if the model cannot answer.
    """
    embedder = state().embedder
    assert embedder is not None
    rows: list[dict] = []
    for start in range(0, len(documents), EMBED_BATCH):
        batch = documents[start : start + EMBED_BATCH]
        texts = [passage(document) for document in batch]
        embedded = embedder.embed_passages(texts)
        rows += [
            {
                "kind": document.kind,
                "item_id": document.id,
                "model_id": embedder.model_id,
                "content_digest": content_digest(text),
                "vector": vector_to_bytes(row),
            }
            for document, text, row in zip(batch, texts, embedded, strict=True)
        ]
    return rows


def embed_waiting(taxonomy: Taxonomy, limit: int = 4 * EMBED_BATCH) -> dict[str, list[int]]:
    """Embed up to ``limit`` waiting rows of the current model, from the items' current text.

    Rows of items that are no longer published are deleted. Commits.

    :returns: the ids embedded, per kind (for the caller to queue for the index).
    :raises EmbeddingUnavailable: if the model cannot answer (the rows keep waiting).
    """
    from marketplace.search.documents import build_documents

    current = state().spec
    if current is None:
        return {}
    rows = db.session.execute(
        select(ItemEmbedding.kind, ItemEmbedding.item_id)
        .where(ItemEmbedding.model_id == current.model_id, ItemEmbedding.vector.is_(None))
        .order_by(ItemEmbedding.id)
        .limit(limit)
    ).all()
    found = {kind: build_documents(kind, [i for k, i in rows if k == kind], taxonomy) for kind in KINDS}
    db.session.rollback()  # end the read: the model runs outside any transaction
    embedded = {kind: _embed(documents) for kind, (documents, _) in found.items()}
    for kind, (_, gone) in found.items():
        if gone:
            db.session.execute(
                delete(ItemEmbedding).where(
                    ItemEmbedding.kind == kind,
                    ItemEmbedding.model_id == current.model_id,
                    ItemEmbedding.item_id.in_(gone),
                )
            )
        store(embedded[kind])
    db.session.commit()
    return {kind: [row["item_id"] for row in embedded[kind]] for kind in KINDS if embedded[kind]}


def sync(documents: Callable[[str], Iterator[IndexDocument]], progress=None) -> dict[str, list[int]]:
    """Embed every published item whose stored vector is missing, waiting or made from another text.

    :param documents: the published documents of a kind, streamed (``iter_published`` with a taxonomy).
    :param progress: a tqdm-like bar, advanced per item looked at.
    :returns: the ids embedded, per kind. Rows of other models are deleted once every item has a
        vector of the current one (a change of model re-embeds everything, then drops the old).
    :raises EmbeddingUnavailable: if the model cannot answer (what was stored so far stays).
    """
    current = state().spec
    if current is None:
        return {}
    done: dict[str, list[int]] = {kind: [] for kind in KINDS}
    for kind in KINDS:
        batch: list[IndexDocument] = []
        for document in documents(kind):
            batch.append(document)
            if len(batch) >= LOOKUP_BATCH:
                done[kind] += _sync_batch(batch, current, progress)
                batch = []
        done[kind] += _sync_batch(batch, current, progress)
    db.session.execute(delete(ItemEmbedding).where(ItemEmbedding.model_id != current.model_id))
    db.session.execute(delete(PassageEmbedding).where(PassageEmbedding.model_id != current.model_id))
    db.session.commit()
    return done


def _sync_batch(batch: list[IndexDocument], current: VectorSpec, progress) -> list[int]:
    """Embed the documents of ``batch`` (one kind) whose vector is not current; commit; return their ids."""
    if not batch:
        return []
    kind = batch[0].kind
    stored = _stored(kind, [document.id for document in batch], current.model_id)
    stale = [
        document
        for document in batch
        if (recorded := stored.get(document.id)) is None
        or recorded[1] is None
        or recorded[0] != content_digest(passage(document))
    ]
    db.session.rollback()  # end the read: the model runs outside any transaction
    for start in range(0, len(stale), EMBED_BATCH):
        rows = _embed(stale[start : start + EMBED_BATCH])
        store(rows)
        db.session.commit()
        if progress is not None:
            progress.update(len(stale[start : start + EMBED_BATCH]))
    if progress is not None:
        progress.update(len(batch) - len(stale))
    db.session.commit()
    return [document.id for document in stale]
