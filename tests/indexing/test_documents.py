"""Documents analysed in worker processes come out as in this process, in order."""

from __future__ import annotations

import os
import pickle
from concurrent.futures.process import BrokenProcessPool

import pytest

from indexing import documents
from indexing.analysis import Analyzer
from indexing.documents import analyse_document, analysed_documents
from indexing.embedded_backend import EmbeddedBackend
from marketplace.config import default_config
from tests.indexing.contract import doc, search

SEED_DIR = default_config(".")["SEED_DATA_DIR"]
TITLES = ["注塑件外观缺陷视觉检测", "空压机能耗监测", "仓储智能分拣", "工艺參數優化", "ＭＥＳ制造执行系统"]


@pytest.fixture(scope="module")
def analyzer():
    return Analyzer.from_seed_data(SEED_DIR)


def _documents(count: int) -> list:
    return [
        doc(n, title=f"{TITLES[n % len(TITLES)]}{n}", tags=("AOI",) if n % 2 else ()) for n in range(count)
    ]


def test_an_analyser_pickles_as_its_data(analyzer):
    custom = Analyzer(["布面瑕疵"], [["验布", "布面瑕疵检测"]], "test", stopwords=["的"])
    for original in (analyzer, custom):
        copy = pickle.loads(pickle.dumps(original))
        assert copy.version == original.version
        for text in (*TITLES, "验布的机器 布面瑕疵检测"):
            assert copy.analyse(text, expand=True) == original.analyse(text, expand=True)


def test_worker_processes_analyse_like_this_one_in_order(analyzer, monkeypatch):
    monkeypatch.setattr(documents, "ANALYSIS_CHUNK", 4)
    items = _documents(37)  # enough for the pool, and a last chunk that is not full
    pooled = list(analysed_documents(items, analyzer, processes=2))
    assert [document for document, _ in pooled] == items
    assert [analysed for _, analysed in pooled] == [analyse_document(d, analyzer) for d in items]


def test_few_documents_are_analysed_in_this_process(analyzer, monkeypatch):
    monkeypatch.setattr(documents, "ANALYSIS_CHUNK", 4)
    monkeypatch.setattr(documents.multiprocessing, "get_context", pytest.fail)
    items = _documents(7)
    assert list(analysed_documents(items, analyzer, processes=2)) == [
        (d, analyse_document(d, analyzer)) for d in items
    ]


def test_a_failing_source_stops_the_workers_and_propagates(analyzer, monkeypatch):
    monkeypatch.setattr(documents, "ANALYSIS_CHUNK", 4)

    def source():
        yield from _documents(20)
        raise RuntimeError("the store went away")

    with pytest.raises(RuntimeError, match="the store went away"):
        list(analysed_documents(source(), analyzer, processes=2))


def test_a_rebuild_analysed_in_processes_ranks_like_one_analysed_here(tmp_path, analyzer, monkeypatch):
    monkeypatch.setattr(documents, "ANALYSIS_CHUNK", 4)
    pooled = EmbeddedBackend(tmp_path / "pooled", analyzer, analysis_processes=2)
    inline = EmbeddedBackend(tmp_path / "inline", analyzer)
    try:
        for backend in (pooled, inline):
            assert backend.rebuild(iter(_documents(30))) == 30
        for q in ("AOI", "机器视觉", "分拣", "参数优化", "制造执行系统", "能耗"):
            expected = search(inline, q=q, per_page=100)
            assert expected.total > 0
            assert search(pooled, q=q, per_page=100) == expected
    finally:
        pooled.close()
        inline.close()


def _die(*initargs) -> None:
    os._exit(3)


def test_a_worker_that_dies_fails_the_analysis_instead_of_hanging_it(analyzer, monkeypatch):
    monkeypatch.setattr(documents, "ANALYSIS_CHUNK", 4)
    monkeypatch.setattr(documents, "_set_worker_analyzer", _die)
    with pytest.raises(BrokenProcessPool):
        list(analysed_documents(_documents(20), analyzer, processes=2))
