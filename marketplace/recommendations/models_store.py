"""Saved matcher versions: train from the catalog, save, activate, and load the active one per worker."""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import threading
import time
from pathlib import Path
from typing import NamedTuple

import joblib
from flask import Flask, current_app
from sqlalchemy import select, update

from marketplace.extensions import db
from marketplace.models import ListingStatus, RankerModel, Solution
from marketplace.recommendations.candidates import case_text, published_cases, solution_text
from marketplace.search import engine
from marketplace.search.documents import load_solutions
from marketplace.taxonomy.service import taxonomy
from matching.features import FEATURES
from matching.intents import INTENTS_FILE, load_scenario_needs
from matching.matcher import Matcher
from matching.ranker import PriorRanker

log = logging.getLogger(__name__)
RELOAD_SECONDS = 5.0
FIT_SOLUTIONS = 4000
"""At most this many published solutions, evenly spread over the catalog, fit the text models.

A fit costs about 1.7 ms of CPU per text (docs/benchmarks.md): the whole of a 100,000-solution
catalog would take minutes, far beyond a request's time; 4,000 take a few seconds at any size and
cover every catalog the relevance figures were measured on whole."""
SYNC_REFIT_SECONDS = 0.5
"""A prior whose last fit took less than this is refitted in the request that finds the catalog
changed; a slower one in the background (:func:`prior_matcher`)."""
_loaded: dict[str, tuple[str, Matcher]] = {}
_checked: dict[str, float] = {}
_priors: dict[str, _Prior] = {}
_refitting: set[str] = set()
_lock = threading.Lock()


def model_dir() -> Path:
    """Where model files live."""
    return Path(current_app.instance_path) / "models"


def catalog_texts() -> tuple[list[str], list[list[str]]]:
    """Texts of published solutions (at most :data:`FIT_SOLUTIONS`, evenly spread) and cases with
    their scenarios, plus each scenario's own names."""
    ids = db.session.scalars(
        select(Solution.id).where(Solution.status == ListingStatus.PUBLISHED).order_by(Solution.id)
    ).all()
    if len(ids) > FIT_SOLUTIONS:
        ids = [ids[n * len(ids) // FIT_SOLUTIONS] for n in range(FIT_SOLUTIONS)]
    texts, labels = [], []
    for solution in load_solutions(Solution.id.in_(ids)):
        texts.append(solution_text(solution))
        labels.append(solution.scenarios)
    for case in published_cases():
        texts.append(case_text(case))
        labels.append(case.scenarios)
    for scenario in taxonomy().scenarios.values():
        texts.append(" ".join([scenario.name, *scenario.sub_scenarios]))
        labels.append([scenario.code])
    return texts, labels


def fit_matcher(random_state: int = 0) -> Matcher:
    """Fit the text models on the current catalog and the bundled intent corpus, with the prior ranker."""
    texts, labels = catalog_texts()
    seed_dir = current_app.config["SEED_DATA_DIR"]
    intents = load_scenario_needs(seed_dir, list(taxonomy().scenarios))
    return Matcher(seed_dir, random_state=random_state).fit(texts, labels, intents)


def save(matcher: Matcher, metrics: dict, activate: bool) -> RankerModel:
    """Save a matcher under a new version; optionally make it the active one."""
    version = time.strftime("m%Y%m%d-%H%M%S-") + f"{time.monotonic_ns() % 1_000_000:06d}"
    directory = model_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{version}.joblib"
    temporary = path.with_suffix(f".tmp{os.getpid()}")
    joblib.dump(matcher, temporary)
    os.replace(temporary, path)
    row = RankerModel(version=version, path=str(path), metrics=metrics, active=False)
    db.session.add(row)
    if activate:
        db.session.execute(update(RankerModel).values(active=False))
        row.active = True
    db.session.commit()
    return row


def is_current(matcher: Matcher) -> bool:
    """Whether a saved matcher was fitted on this code's features (an older one cannot score)."""
    return getattr(matcher, "features_", None) == FEATURES


def needs_training() -> bool:
    """True when no model is active or the active one was fitted on other features."""
    row = active_row()
    return row is None or not is_current(joblib.load(row.path))


def active_row() -> RankerModel | None:
    """The active model's record, if any."""
    return db.session.scalar(select(RankerModel).where(RankerModel.active.is_(True)))


def prior_version() -> str:
    """``prior-<digest>``: the untrained matcher, named by its features, the prior's parameters and
    what it learns from besides the catalog (the analysis chain's lexicon and synonyms, the intent
    corpus), so that a change to any of them is a new version in the logs."""
    described = repr(
        (
            FEATURES,
            sorted(PriorRanker().get_params().items()),
            Matcher("").get_params(),
            engine.analyzer().version,
            _file_digest(Path(current_app.config["SEED_DATA_DIR"]) / INTENTS_FILE),
        )
    )
    return "prior-" + hashlib.sha256(described.replace("''", "").encode()).hexdigest()[:10]


@functools.cache
def _file_digest(path: Path) -> str | None:
    """The SHA-256 of a data file read once per process (None if there is none)."""
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


class _Prior(NamedTuple):
    generation: object
    matcher: Matcher
    seconds: float


def prior_matcher() -> tuple[str, Matcher]:
    """The prior matcher of this process: text models fitted on the current catalog, no training.

    The first call in a process fits it, so a freshly loaded catalog is served before anyone runs
    ``flask matching train``. When the index generation has changed since (the catalog changed),
    a prior that fitted in under :data:`SYNC_REFIT_SECONDS` is refitted at once; a slower one keeps
    serving while one thread of the process refits it, so no request waits on a large catalog.
    """
    key, generation = current_app.instance_path, engine.cache_key()
    with _lock:
        cached = _priors.get(key)
    if cached is None or (cached.generation != generation and cached.seconds < SYNC_REFIT_SECONDS):
        cached = _fit_prior(key, generation)
    elif cached.generation != generation:
        _refit_in_background(key)
    return prior_version(), cached.matcher


def _fit_prior(key: str, generation: object) -> _Prior:
    started = time.monotonic()
    fitted = _Prior(generation, fit_matcher(), time.monotonic() - started)
    with _lock:
        _priors[key] = fitted
    return fitted


def _refit_in_background(key: str) -> None:
    with _lock:
        if key in _refitting:
            return
        _refitting.add(key)
    app = current_app._get_current_object()

    def refit() -> None:
        try:
            with app.app_context():
                _fit_prior(key, engine.cache_key())
        except Exception:  # the fit in hand keeps serving; the next request after a change retries
            log.exception("refitting the prior failed")
        finally:
            with _lock:
                _refitting.discard(key)

    threading.Thread(target=refit, name="prior-refit", daemon=True).start()


def warm_up(app: Flask) -> None:
    """Load the active matcher, or fit the prior, in ``app``'s process now (gunicorn's master, before
    it forks), so that its workers share it and none fits it inside a request."""
    with app.app_context():
        try:
            active_matcher()
        except Exception:  # no index or store yet: the first request prepares it, as without this
            log.exception("the matcher could not be prepared before the workers start")
        finally:
            db.session.remove()


def active_matcher() -> tuple[str, Matcher]:
    """The active matcher of this process, re-read when another process activates a new version.

    With no trained model active, or an active one fitted on older features, the prior serves
    (:func:`prior_matcher`).
    """
    key = current_app.instance_path
    now = time.monotonic()
    with _lock:
        cached = _loaded.get(key)
        if cached is not None and now - _checked.get(key, 0.0) < RELOAD_SECONDS:
            return cached
    row = active_row()
    if row is None:
        with _lock:
            _loaded.pop(key, None)
        return prior_matcher()
    with _lock:
        cached = _loaded.get(key)
    if cached is None or cached[0] != row.version:
        matcher = joblib.load(row.path)
        if not is_current(matcher):
            return prior_matcher()
        cached = (row.version, matcher)
    with _lock:
        _loaded[key] = cached
        _checked[key] = now
    return cached
