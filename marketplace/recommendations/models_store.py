"""Saved matcher versions: train from the catalog, save, activate, and load the active one per worker."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path

import joblib
from flask import current_app
from sqlalchemy import select, update

from marketplace.extensions import db
from marketplace.models import RankerModel
from marketplace.recommendations.candidates import case_text, published_cases, solution_text
from marketplace.search import engine
from marketplace.search.documents import iter_published_rows
from marketplace.taxonomy.service import taxonomy
from matching.features import FEATURES
from matching.matcher import Matcher
from matching.ranker import PriorRanker

RELOAD_SECONDS = 5.0
_loaded: dict[str, tuple[str, Matcher]] = {}
_checked: dict[str, float] = {}
_priors: dict[str, tuple[object, Matcher]] = {}
_lock = threading.Lock()


def model_dir() -> Path:
    """Where model files live."""
    return Path(current_app.instance_path) / "models"


def catalog_texts() -> tuple[list[str], list[list[str]]]:
    """Texts of published solutions and cases with their scenarios, plus each scenario's own names."""
    texts, labels = [], []
    for solution in iter_published_rows("solution"):
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
    """Fit the text models on the current catalog, with the prior ranker."""
    texts, labels = catalog_texts()
    return Matcher(current_app.config["SEED_DATA_DIR"], random_state=random_state).fit(texts, labels)


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
    """``prior-<digest>``: the untrained matcher, named by its features and the prior's parameters."""
    described = repr((FEATURES, sorted(PriorRanker().get_params().items()), Matcher("").get_params()))
    return "prior-" + hashlib.sha256(described.replace("''", "").encode()).hexdigest()[:10]


def prior_matcher() -> tuple[str, Matcher]:
    """The prior matcher of this process: text models fitted on the current catalog, no training.

    It is refitted when the index generation changes (the catalog changed), so a freshly loaded
    catalog is served before anyone runs ``flask matching train``.
    """
    key, generation = current_app.instance_path, engine.cache_key()
    with _lock:
        cached = _priors.get(key)
    if cached is None or cached[0] != generation or generation is None:
        cached = (generation, fit_matcher())
        with _lock:
            _priors[key] = cached
    return prior_version(), cached[1]


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
