"""The untrained prior's text models: fitted on a bounded sample, and never refitted slowly in a request."""

from __future__ import annotations

import threading
import time

from marketplace.recommendations import models_store


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
    """A prior whose fit took less than SYNC_REFIT_SECONDS is refitted at once. The threshold is
    raised here so that the test does not depend on the machine's speed: a two-solution catalog
    with the intent corpus fits in 0.2-0.4 s, against 0.5 s in production."""
    monkeypatch.setattr(models_store, "SYNC_REFIT_SECONDS", 30.0)
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
