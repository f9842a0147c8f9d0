"""Dense similarity for recommendations: the embedder's cosine of each candidate to the need.

Vectors of passages (candidates, their sentences) are cached per process by a digest of their text,
so a catalog is embedded once per worker and an edited item once more. Until the search engine
offers dense nearest neighbours itself, :func:`neighbours` searches the published catalog of one
kind exactly, from the same cache.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
from flask import current_app

from indexing.embeddings import Embedder, content_digest, create_embedder
from marketplace.recommendations.candidates import published_cases
from marketplace.search.documents import iter_published_rows
from matching.features import Candidate

PASSAGE_CACHE_SIZE = 50_000
NEIGHBOUR_CATALOG_LIMIT = 20_000
"""Above this many published items of a kind, no exact scan is made here (the index's job)."""
_embedders: dict[str, Embedder | None] = {}
_passages: OrderedDict[str, np.ndarray] = OrderedDict()
_queries: OrderedDict[str, np.ndarray] = OrderedDict()
_catalogs: dict[tuple, tuple[list[int], np.ndarray]] = {}
_lock = threading.Lock()
CLAUSE = re.compile(r"[^。；;！？!?\n]+")


def embedder() -> Embedder | None:
    """This process's embedder, as ``EMBEDDINGS_BACKEND`` names it (``bundled`` by default)."""
    name = current_app.config.get("EMBEDDINGS_BACKEND") or "bundled"
    with _lock:
        if name not in _embedders:
            _embedders[name] = create_embedder(name, current_app.config)
        return _embedders[name]


def passage_text(title: str, summary: str, extra: Sequence[str]) -> str:
    """What is embedded of an item: its title, summary and tags (a case: its used solutions' titles)."""
    return " ".join([title, summary, *extra])


def candidate_passage(candidate: Candidate) -> str:
    """The embedded text of a candidate."""
    extra = candidate.tags if candidate.kind == "solution" else tuple(candidate.solution_titles.values())
    return passage_text(candidate.title, candidate.summary, extra)


def passage_vectors(texts: Sequence[str]) -> np.ndarray:
    """Unit vectors of ``texts``, from the per-process cache where possible (``(0, d)`` when none)."""
    model = embedder()
    keys = [content_digest(text) for text in texts]
    with _lock:
        found = {key: _passages[key] for key in keys if key in _passages}
    missing = {key: text for key, text in zip(keys, texts, strict=True) if key not in found}
    if missing:
        rows = model.embed_passages(list(missing.values()))
        found.update(zip(missing, rows, strict=True))
    with _lock:
        for key in keys:
            _passages[key] = found[key]
            _passages.move_to_end(key)
        while len(_passages) > PASSAGE_CACHE_SIZE:
            _passages.popitem(last=False)
    if not keys:
        return np.zeros((0, model.dimensions), dtype=np.float32)
    return np.stack([found[key] for key in keys])


def query_vector(text: str) -> np.ndarray:
    """The unit vector of a need, remembered per process."""
    with _lock:
        if text in _queries:
            _queries.move_to_end(text)
            return _queries[text]
    vector = embedder().embed_queries([text])[0]
    with _lock:
        _queries[text] = vector
        while len(_queries) > 2_048:
            _queries.popitem(last=False)
    return vector


def cosines(needs: str, candidates: Sequence[Candidate]) -> dict[int, float]:
    """The cosine of each candidate (by id) to ``needs``; empty without an embedder or needs."""
    if embedder() is None or not needs.strip() or not candidates:
        return {}
    vectors = passage_vectors([candidate_passage(c) for c in candidates])
    scores = vectors @ query_vector(needs)
    return {c.id: float(score) for c, score in zip(candidates, scores, strict=True)}


def _catalog(kind: str, key) -> tuple[list[int], np.ndarray]:
    """Ids and passage vectors of every published item of ``kind``, per store generation."""
    cache_key = (current_app.instance_path, kind, key)
    with _lock:
        if key is not None and cache_key in _catalogs:
            return _catalogs[cache_key]
    if kind == "solution":
        rows = [(s.id, passage_text(s.title, s.summary, s.tags)) for s in iter_published_rows("solution")]
    else:
        rows = [
            (c.id, passage_text(c.title, c.summary, [s.title for s in c.used])) for c in published_cases()
        ]
    rows = rows[:NEIGHBOUR_CATALOG_LIMIT]
    value = ([i for i, _ in rows], passage_vectors([text for _, text in rows]))
    with _lock:
        for old in [k for k in _catalogs if k[:2] == cache_key[:2]]:
            del _catalogs[old]
        _catalogs[cache_key] = value
    return value


def neighbours(kind: str, needs: str, k: int, key=None) -> dict[int, float]:
    """The ``k`` published items of ``kind`` nearest to ``needs``, with their cosine, from the
    embedder's ``min_similarity`` up.

    :param key: the store generation (:func:`marketplace.search.engine.cache_key`) the catalog's
        vectors are cached under; None re-reads the catalog.
    """
    model = embedder()
    if model is None or not needs.strip():
        return {}
    ids, vectors = _catalog(kind, key)
    if not ids:
        return {}
    scores = vectors @ query_vector(needs)
    best = np.argsort(-scores, kind="stable")[:k]
    return {ids[i]: float(scores[i]) for i in best if scores[i] >= model.min_similarity}


def closest_clause(needs: str, candidate: Candidate, text: str, terms: set[str]) -> str | None:
    """The clause of ``text`` (an item's summary and description) that best answers ``needs``.

    Clauses are ranked by the embedder's cosine to the need, plus a little for each need term they
    contain, so the one shown says in the item's own words what in the need it addresses.
    """
    clauses = [c.strip(" ，,：:、1234567890）)") for c in CLAUSE.findall(text)]
    clauses = [c for c in clauses if 4 <= len(c) <= 60]
    if not clauses:
        return None
    hits = np.array([sum(1 for term in terms if len(term) > 1 and term in c) for c in clauses], dtype=float)
    if embedder() is None or not needs.strip():
        return clauses[int(np.argmax(hits))] if hits.max() > 0 else None
    scores = passage_vectors(clauses) @ query_vector(needs) + 0.05 * np.minimum(hits, 3)
    return clauses[int(np.argmax(scores))]
