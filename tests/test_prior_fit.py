"""The untrained prior's text models: fitted on a bounded sample, and never refitted slowly in a request."""

from __future__ import annotations

import json
import shutil
import threading
import time

from marketplace import create_app
from marketplace.config import default_config
from marketplace.recommendations import models_store
from matching.intents import INTENTS_FILE
from tests.conftest import BASE_CONFIG


def _solution_texts(app) -> list[str]:
    with app.test_request_context():
        texts, _ = models_store.catalog_texts()
        cases = len(models_store.published_cases())
        scenarios = len(models_store.taxonomy().scenarios)
    return texts[: len(texts) - cases - scenarios]


def test_a_large_catalog_is_sampled_evenly_for_the_fit(app, world, monkeypatch):
    """Beyond FIT_SOLUTIONS published solutions, an even spread of them fits the text models."""
    titles = [f"方案{n}号视觉检测" for n in range(6)]
    for title in titles:
        world.solution(title=title)
    world.solution(status="draft", title="草稿方案不参与")
    monkeypatch.setattr(models_store, "FIT_SOLUTIONS", 3)
    sampled = _solution_texts(app)
    assert len(sampled) == 3
    assert [title for title in titles if any(text.startswith(title) for text in sampled)] == titles[::2]
    monkeypatch.setattr(models_store, "FIT_SOLUTIONS", 100)
    assert len(_solution_texts(app)) == 6


def test_a_quick_prior_is_refitted_in_the_request_that_finds_the_catalog_changed(app, world, monkeypatch):
    """A fit faster than SYNC_REFIT_SECONDS (here any fit: the bound is raised, so a busy machine
    cannot make it slow) is redone at once, in the request."""
    monkeypatch.setattr(models_store, "SYNC_REFIT_SECONDS", 600.0)
    world.solution(title="能耗监测平台")
    with app.test_request_context():
        _, before = models_store.prior_matcher()
    world.solution(title="视觉质检盒子")
    with app.test_request_context():
        _, after = models_store.prior_matcher()
    assert after is not before


def test_a_slow_prior_keeps_serving_while_one_thread_refits_it(app, world, monkeypatch):
    """After a change, a prior slower than SYNC_REFIT_SECONDS answers at once with the fit in
    hand; one background fit replaces it (not one per request)."""
    monkeypatch.setattr(models_store, "SYNC_REFIT_SECONDS", 0.0)
    world.solution(title="能耗监测平台")
    with app.test_request_context():
        _, before = models_store.prior_matcher()
    world.solution(title="视觉质检盒子")
    release, fits = threading.Event(), []
    fit_matcher = models_store.fit_matcher

    def slow_fit():
        fits.append(threading.current_thread().name)
        release.wait(10)
        return fit_matcher()

    monkeypatch.setattr(models_store, "fit_matcher", slow_fit)
    with app.test_request_context():
        assert models_store.prior_matcher()[1] is before
        assert models_store.prior_matcher()[1] is before
    release.set()
    deadline = time.monotonic() + 10
    with app.test_request_context():
        while models_store.prior_matcher()[1] is before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert models_store.prior_matcher()[1] is not before
    assert fits == ["prior-refit"]


def test_the_prior_version_names_the_intent_corpus(tmp_path):
    """Logged lists say which prior served them: a change to the corpus it learns from is a new name."""
    seed = tmp_path / "seed_data"
    shutil.copytree(default_config(".")["SEED_DATA_DIR"], seed)
    app = create_app({**BASE_CONFIG, "INSTANCE_PATH": str(tmp_path), "SEED_DATA_DIR": str(seed)})
    with app.app_context():
        before = models_store.prior_version()
        assert before == models_store.prior_version() and before.startswith("prior-")
    corpus = json.loads((seed / INTENTS_FILE).read_text(encoding="utf-8"))
    corpus["scenarios"]["energy"].append("晚上下班了电表还在走")
    (seed / INTENTS_FILE).write_text(json.dumps(corpus, ensure_ascii=False), encoding="utf-8")
    models_store._file_digest.cache_clear()
    with app.app_context():
        assert models_store.prior_version() != before
