"""The embedded (tantivy) backend passes the contract, and shares its index across processes."""

from __future__ import annotations

import multiprocessing

import pytest

from indexing import embedded_backend
from indexing.analysis import Analyzer
from indexing.base import IndexMissing
from indexing.embedded_backend import LAYOUT, EmbeddedBackend, schema_layout
from indexing.vocabulary import FIELDS, FieldSpec, FieldType, layout_digest
from marketplace.config import default_config
from tests.indexing.contract import BackendContract, doc, ids, search

SEED_DIR = default_config(".")["SEED_DATA_DIR"]


@pytest.fixture(scope="module")
def analyzer():
    return Analyzer.from_seed_data(SEED_DIR)


def created(index_dir, analyzer, **options) -> EmbeddedBackend:
    """A backend on a newly created empty index, as ``flask index ensure`` leaves it."""
    backend = EmbeddedBackend(index_dir, analyzer, **options)
    backend.create()
    return backend


@pytest.fixture
def bare_backend(tmp_path, analyzer):
    """A backend on a directory where no index exists."""
    backend = EmbeddedBackend(tmp_path / "index", analyzer)
    yield backend
    backend.close()


@pytest.fixture
def backend(bare_backend):
    bare_backend.create()
    return bare_backend


class TestEmbeddedBackend(BackendContract):
    """The shared contract on tantivy."""


def _write_from_another_process(index_dir: str, doc_id: int) -> None:
    backend = EmbeddedBackend(index_dir, Analyzer.from_seed_data(SEED_DIR))
    backend.index([doc(doc_id, title="另一进程写入的方案")])


def test_reads_and_writes_put_nothing_on_disk_without_an_index(bare_backend, tmp_path):
    """Failing calls (IndexMissing, see the contract) leave no directory behind; a rebuild creates it."""
    for call in (lambda: bare_backend.index([doc(1)]), lambda: search(bare_backend), bare_backend.stats):
        with pytest.raises(IndexMissing):
            call()
    assert not (tmp_path / "index").exists()
    assert bare_backend.rebuild(iter([doc(1)])) == 1
    assert ids(search(bare_backend)) == [1]


def test_a_partial_version_is_a_leftover_until_cleaned(backend, tmp_path):
    """A version directory without its build records, as a killed rebuild leaves it; never the live one."""
    backend.index([doc(1)])
    (tmp_path / "index" / "v20261207-1-2").mkdir()
    assert backend.leftovers() == ["v20261207-1-2"]
    assert backend.remove_leftovers() == ["v20261207-1-2"]
    assert backend.leftovers() == [] and ids(search(backend)) == [1]


def test_writes_of_another_process_are_seen_at_the_next_search(backend, tmp_path):
    """A commit made by another process is visible here without reopening anything."""
    backend.index([doc(1)])
    assert search(backend).total == 1
    context = multiprocessing.get_context("spawn")
    process = context.Process(target=_write_from_another_process, args=(str(tmp_path / "index"), 2))
    process.start()
    process.join(60)
    assert process.exitcode == 0
    assert ids(search(backend)) == [2, 1]


def test_a_rebuild_in_another_instance_is_picked_up(tmp_path, analyzer):
    """Readers follow CURRENT to the rebuilt version."""
    reader = created(tmp_path / "index", analyzer)
    writer = EmbeddedBackend(tmp_path / "index", analyzer)
    writer.index([doc(1)])
    assert search(reader).total == 1
    writer.rebuild(iter([doc(7), doc(8)]))
    assert ids(search(reader)) == [8, 7]


class _Renamed:
    """``analyzer`` under another version, as after an edit to the lexicon or the synonyms."""

    def __init__(self, analyzer, version: str) -> None:
        self._analyzer = analyzer
        self.version = version

    def __getattr__(self, name: str):
        return getattr(self._analyzer, name)


def test_the_index_keeps_the_analysis_it_was_built_with_until_a_rebuild(tmp_path, analyzer):
    """A newer analyser reads the version the live index recorded, and records its own by rebuilding."""
    created(tmp_path / "index", analyzer).index([doc(1)])
    upgraded = EmbeddedBackend(tmp_path / "index", _Renamed(analyzer, "newer"))
    upgraded.index([doc(2)])
    assert upgraded.stats().analysis == analyzer.version
    upgraded.rebuild(iter([doc(1), doc(2)]))
    assert (
        upgraded.stats().analysis == EmbeddedBackend(tmp_path / "index", analyzer).stats().analysis == "newer"
    )


def test_an_index_without_a_readable_analysis_says_it_is_unknown(tmp_path, analyzer):
    backend = created(tmp_path / "index", analyzer)
    backend.index([doc(1)])
    recorded = tmp_path / "index" / backend.stats().version / "ANALYSIS"
    recorded.write_bytes(b"\xff\xfe broken")
    assert backend.stats().analysis is None
    recorded.unlink()
    assert backend.stats().analysis is None and backend.stats().documents["solution"] == 1


def test_the_index_keeps_the_layout_it_was_built_with_until_a_rebuild(tmp_path, analyzer):
    """A backend of another layout reads the one the live index recorded; a rebuild records its own."""
    created(tmp_path / "index", analyzer).index([doc(1)])
    upgraded = EmbeddedBackend(tmp_path / "index", analyzer)
    upgraded.layout = "newer"
    assert upgraded.stats().layout == LAYOUT
    upgraded.rebuild(iter([doc(1)]))
    assert upgraded.stats().layout == EmbeddedBackend(tmp_path / "index", analyzer).stats().layout == "newer"


def test_an_index_built_before_layouts_were_recorded_has_an_unknown_layout(tmp_path, analyzer):
    backend = created(tmp_path / "index", analyzer)
    backend.index([doc(1)])
    (tmp_path / "index" / backend.stats().version / "LAYOUT").unlink()
    assert backend.stats().layout is None and backend.stats().analysis == analyzer.version


def test_the_layout_changes_with_a_field_of_the_vocabulary(monkeypatch):
    """Adding a field, or changing a field's type, makes indexes built before it stale."""
    assert layout_digest(schema_layout()) == LAYOUT
    monkeypatch.setattr(embedded_backend, "FIELDS", (*FIELDS, FieldSpec("certifications", FieldType.KEYWORD)))
    added = layout_digest(schema_layout())
    retyped = tuple(
        FieldSpec(spec.name, FieldType.KEYWORD) if spec.name == "provider_id" else spec for spec in FIELDS
    )
    monkeypatch.setattr(embedded_backend, "FIELDS", retyped)
    assert len({LAYOUT, added, layout_digest(schema_layout())}) == 3


def test_writer_waits_for_the_lock_then_gives_up(tmp_path, analyzer):
    """With tantivy's single writer held elsewhere, a write waits and then fails as unavailable."""
    from indexing.base import SearchUnavailable

    holder = created(tmp_path / "index", analyzer)
    holder.index([doc(1)])
    waiting = EmbeddedBackend(tmp_path / "index", analyzer, lock_timeout=0.2)
    with holder._live_writer():
        with pytest.raises(SearchUnavailable):
            waiting.index([doc(2)])
    waiting.index([doc(2)])
    assert search(holder).total == 2


def _scenario_counts(result) -> dict[str, int]:
    return {facet.value: facet.count for facet in result.facets["scenario"]}


def test_facet_counts_are_reused_within_a_generation_and_follow_every_change(tmp_path, analyzer, monkeypatch):
    """Facets are counted once per generation and request; a commit or rebuild anywhere recounts them."""
    reader = created(tmp_path / "index", analyzer)
    writer = EmbeddedBackend(tmp_path / "index", analyzer)
    writer.index([doc(1), doc(2, scenarios=("energy",))])
    counted = []
    real_facet = reader._facet
    monkeypatch.setattr(reader, "_facet", lambda *args: counted.append(args[-1]) or real_facet(*args))

    assert _scenario_counts(search(reader)) == {"production_control": 1, "energy": 1}
    first = len(counted)
    assert first > 0
    assert _scenario_counts(search(reader, page=2)) == {"production_control": 1, "energy": 1}
    assert len(counted) == first, "the same generation and request must not recount"

    assert _scenario_counts(search(reader, filters={"scenario": ("energy",)})) == {
        "production_control": 1,
        "energy": 1,
    }
    assert len(counted) == 2 * first, "other filters are another request"

    writer.index([doc(3, scenarios=("energy",))])
    assert _scenario_counts(search(reader)) == {"production_control": 1, "energy": 2}
    writer.rebuild(iter([doc(7, scenarios=("quality",))]))
    assert _scenario_counts(search(reader)) == {"quality": 1}
