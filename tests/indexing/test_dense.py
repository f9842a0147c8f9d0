"""Dense retrieval on the embedded backend: the vector files, exact neighbours, and fusion with BM25."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from indexing.analysis import Analyzer
from indexing.embedded_backend import LAYOUT, EmbeddedBackend, layout_with_vectors
from indexing.plan import reciprocal_rank_fusion
from indexing.vectors import VectorLog
from indexing.vocabulary import VectorSpec
from marketplace.config import default_config
from tests.embedders import HashingEmbedder
from tests.indexing.contract import doc, ids, search

SPEC = VectorSpec("test-hashing/1", HashingEmbedder.dimensions)
EMBEDDER = HashingEmbedder()


def unit(*values: float) -> np.ndarray:
    """A unit vector of three values."""
    row = np.array(values, dtype=np.float32)
    return row / np.linalg.norm(row)


@pytest.fixture(scope="module")
def analyzer():
    return Analyzer.from_seed_data(default_config(".")["SEED_DATA_DIR"])


@pytest.fixture
def backend(tmp_path, analyzer):
    backend = EmbeddedBackend(tmp_path / "index", analyzer, vectors=SPEC)
    backend.create()
    yield backend
    backend.close()


def embedded(document):
    """``document`` with the test embedder's vector of its title and summary."""
    from dataclasses import replace

    return replace(document, vector=EMBEDDER.embed_passages([f"{document.title} {document.summary}"])[0])


def dense(backend, q, mode="hybrid", **kwargs):
    return search(
        backend, q=q, mode=mode, vector=EMBEDDER.embed_queries([q])[0], min_similarity=0.25, **kwargs
    )


def test_a_record_replaces_the_earlier_one_and_a_deletion_removes_it(tmp_path):
    """The latest record of an id counts; deleted ids are never neighbours."""
    log = VectorLog(tmp_path, VectorSpec("m", 3))
    log.append("solution", [1, 2], np.stack([unit(1, 0, 0), unit(0, 1, 0)]))
    assert log.nearest("solution", unit(1, 0, 0), 5)[0] == (1, pytest.approx(1.0))
    log.append("solution", [1], unit(0, 0, 1)[None, :], deleted=[2])
    assert log.nearest("solution", unit(1, 0, 0), 5) == [(1, pytest.approx(0.0))]
    assert log.nearest("solution", unit(1, 0, 0), 5, min_similarity=0.1) == []
    assert log.count("solution") == 1 and log.count("case") == 0


def test_another_process_sees_appends_and_a_torn_tail_is_cut(tmp_path):
    """A second reader takes in new records; half a record left by a crash is dropped."""
    writer, reader = VectorLog(tmp_path, VectorSpec("m", 3)), VectorLog(tmp_path, VectorSpec("m", 3))
    writer.append("solution", [1], unit(1, 0, 0)[None, :])
    assert [i for i, _ in reader.nearest("solution", unit(1, 0, 0), 5)] == [1]
    with open(tmp_path / "vectors" / "solution.i8", "ab") as handle:
        handle.write(b"\x00" * 5)
    writer.append("solution", [2], unit(0, 1, 0)[None, :])
    assert [i for i, _ in reader.nearest("solution", unit(0, 1, 0), 5)] == [2, 1]


def test_threads_searching_while_records_arrive_each_see_one_consistent_state(tmp_path):
    """Under gthread workers (and beside the background drain) one thread takes in new records while
    others scan: every scan sees ids, rows and live flags of the same length, and never fails."""
    writer, reader = VectorLog(tmp_path, VectorSpec("m", 64)), VectorLog(tmp_path, VectorSpec("m", 64))
    rng = np.random.default_rng(0)
    writer.append("solution", list(range(1, 2001)), rng.standard_normal((2000, 64)))
    failures: list[BaseException] = []
    done = threading.Event()

    def scan() -> None:
        query = rng.standard_normal(64).astype(np.float32)
        query /= np.linalg.norm(query)
        while not done.is_set():
            try:
                assert len(reader.nearest("solution", query, 10)) == 10
            except BaseException as error:  # noqa: BLE001 - collected and re-raised by the test
                failures.append(error)
                return

    threads = [threading.Thread(target=scan) for _ in range(3)]
    for thread in threads:
        thread.start()
    for n in range(300):  # replacements of earlier ids and new ids, one record at a time
        writer.append("solution", [1 + n % 2500], rng.standard_normal((1, 64)))
    done.set()
    for thread in threads:
        thread.join()
    assert failures == []


def test_vectors_of_another_model_are_never_read_or_extended(tmp_path):
    """A directory written by model m is silent for model n, which writes nothing into it."""
    VectorLog(tmp_path, VectorSpec("m", 3)).append("solution", [1], unit(1, 0, 0)[None, :])
    other = VectorLog(tmp_path, VectorSpec("n", 3))
    other.append("solution", [2], unit(0, 1, 0)[None, :])
    assert other.nearest("solution", unit(1, 0, 0), 5) == [] and other.count("solution") == 0
    assert VectorLog(tmp_path, VectorSpec("m", 3)).count("solution") == 1


def test_int8_rows_keep_cosines_and_the_nearest_neighbours(tmp_path):
    """Stored as int8, 2,000 random 512-value unit vectors keep each cosine within 0.01, and the ten
    found are the exact ten but for near-ties (each within 0.01 of the exact tenth)."""
    rng = np.random.default_rng(7)
    rows = rng.standard_normal((2000, 512)).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    query = rows[3] + 0.03 * rng.standard_normal(512).astype(np.float32)
    query /= np.linalg.norm(query)
    log = VectorLog(tmp_path, VectorSpec("m", 512))
    log.append("solution", list(range(1, 2001)), rows)
    exact = rows @ query
    found = log.nearest("solution", query, 10)
    assert found[0][0] == 4 and len(found) == 10
    assert max(abs(cosine - exact[i - 1]) for i, cosine in found) < 0.01
    assert min(exact[i - 1] for i, _ in found) > np.sort(exact)[-10] - 0.01
    assert (tmp_path / "vectors" / "solution.i8").stat().st_size == 2000 * 512


def test_float32_vectors_of_an_earlier_version_are_not_read(tmp_path):
    """A directory whose SPEC does not say int8 (written before) is silent until a rebuild replaces it."""
    (tmp_path / "vectors").mkdir()
    (tmp_path / "vectors" / "SPEC").write_text('{"model_id": "m", "dimensions": 3}')
    log = VectorLog(tmp_path, VectorSpec("m", 3))
    log.append("solution", [1], unit(1, 0, 0)[None, :])
    assert log.nearest("solution", unit(1, 0, 0), 5) == [] and log.count("solution") == 0


def test_reciprocal_rank_fusion_adds_one_over_k_plus_rank():
    """An item in both rankings beats one on top of a single ranking; ties keep first appearance."""
    fused = reciprocal_rank_fusion([[1, 2, 3], [3, 4]])
    assert [item for item, _ in fused] == [3, 1, 2, 4]
    assert fused[0][1] == pytest.approx(1 / 63 + 1 / 61)


def test_the_layout_names_the_vectors_model():
    """Without vectors the layout is the schema's; each model gives its own, so a change rebuilds."""
    assert layout_with_vectors(None) == LAYOUT
    assert layout_with_vectors(SPEC) != LAYOUT != layout_with_vectors(VectorSpec("other/1", SPEC.dimensions))


def test_hybrid_finds_what_the_words_miss_and_keeps_word_matches(backend):
    """A neighbour that shares no word joins the words' matches; both kinds of hit are served."""
    backend.index(
        [
            embedded(doc(1, title="空压站群控节能", summary="空压机联控，按需供气省电")),
            embedded(doc(2, title="能耗监测平台", summary="按设备计量电耗")),
            embedded(doc(3, title="注塑件视觉检测", summary="黑点缩水在线检出")),
        ]
    )
    assert ids(search(backend, q="电耗计量设备")) == [2]
    hybrid = dense(backend, "电耗计量设备")
    assert ids(hybrid)[0] == 2 and 3 not in ids(hybrid)
    assert hybrid.total == len(hybrid.hits)


def test_filters_and_facets_are_exact_over_the_union(backend):
    """A neighbour outside the filters is no hit; facets count the union, each ignoring its own filter."""
    backend.index(
        [
            embedded(doc(1, title="能耗监测平台", summary="按设备计量电耗", scenarios=("energy",))),
            embedded(
                doc(2, title="能耗监测云", summary="按产线计量电耗", scenarios=("energy",), city="无锡市")
            ),
            embedded(doc(3, title="设备点检", summary="扫码点检", scenarios=("equipment",))),
        ]
    )
    result = dense(backend, "计量电耗", filters={"city": ("苏州市",)})
    assert ids(result) == [1] and result.total == 1
    cities = {facet.value: facet.count for facet in result.facets["city"]}
    assert cities == {"苏州市": 1, "无锡市": 1}
    semantic = dense(backend, "计量电耗", mode="semantic", filters={"scenario": ("energy",)})
    assert set(ids(semantic)) == {1, 2} and all(0.25 <= hit.score <= 1.0 for hit in semantic.hits)


def test_pages_of_a_hybrid_search_do_not_overlap(backend):
    """The fused order is cut into pages like any other."""
    backend.index([embedded(doc(i, title=f"能耗监测平台{i}", summary="计量电耗")) for i in range(1, 8)])
    pages = [ids(dense(backend, "能耗监测", page=page, per_page=3)) for page in (1, 2, 3)]
    assert [len(page) for page in pages] == [3, 3, 1]
    assert len({i for page in pages for i in page}) == 7


def test_a_document_reindexed_without_a_vector_loses_its_old_one(backend):
    """Text changed and not yet embedded: the stale vector must not keep finding it."""
    backend.index([embedded(doc(1, title="能耗监测平台", summary="计量电耗"))])
    assert ids(dense(backend, "计量电耗", mode="semantic")) == [1]
    backend.index([doc(1, title="仓库条码管理", summary="扫码出入库")])
    assert ids(dense(backend, "计量电耗", mode="semantic")) == []
    assert backend.stats().vectors == {"solution": 0, "case": 0}


def test_a_rebuild_carries_the_vectors_and_deletes_and_clears_remove_them(backend):
    """Vectors follow rebuilds; deleting and clearing remove them with the documents."""
    backend.rebuild(
        iter([embedded(doc(1, title="能耗监测平台", summary="计量电耗")), embedded(doc(2, kind="case"))])
    )
    assert backend.stats().vectors == {"solution": 1, "case": 1}
    assert ids(dense(backend, "计量电耗", mode="semantic")) == [1]
    backend.delete("solution", [1])
    assert ids(dense(backend, "计量电耗", mode="semantic")) == []
    backend.clear()
    assert backend.stats().vectors == {"solution": 0, "case": 0}


def test_without_a_query_vector_or_with_another_sort_a_search_is_by_keywords(backend):
    """Dense retrieval needs words, a vector and an order by relevance."""
    backend.index([embedded(doc(1, title="能耗监测平台", summary="计量电耗"))])
    assert ids(search(backend, q="电耗", mode="hybrid")) == [1]
    assert ids(dense(backend, "完全无关的词语", mode="hybrid", sort="newest")) == []
