"""A cheap, deterministic embedder for tests, registered as ``EMBEDDINGS_BACKEND=test-hashing``."""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence

import numpy as np

from indexing.embeddings import Embedder, normalised, register_embedder

_WORD = re.compile(r"[\u4e00-\u9fff]+|[a-z0-9]+")


class HashingEmbedder(Embedder):
    """Hashes a text's characters and character bigrams into 256 dimensions: texts sharing them are close.

    ``calls`` records each call (queries or passages, how many) and ``texts`` every text embedded.

    Not a language model: it only lets tests see dense retrieval rank by shared characters,
    fast and the same on every machine.
    """

    model_id = "test-hashing/1"
    dimensions = 256
    min_similarity = 0.25

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []
        self.texts: list[str] = []

    def _rows(self, texts: Sequence[str]) -> np.ndarray:
        rows = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for row, text in zip(rows, texts, strict=True):
            for run in _WORD.findall(text.lower()):
                for gram in [*run, *(a + b for a, b in zip(run, run[1:], strict=False))]:
                    row[zlib.crc32(gram.encode()) % self.dimensions] += 1.0
        return normalised(rows)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed queries, counting the call."""
        self.calls.append(("queries", len(texts)))
        self.texts.extend(texts)
        return self._rows(texts)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages, counting the call."""
        self.calls.append(("passages", len(texts)))
        self.texts.extend(texts)
        return self._rows(texts)


register_embedder("test-hashing", lambda settings: HashingEmbedder())
