"""Each estimator in matching/ keeps scikit-learn's conventions.

Models are cloned per kind and per fold, pickled with joblib and refitted by ``flask matching
train``; all of that is only safe if ``__init__`` stores the parameters and nothing else, and
``fit`` learns into attributes ending in ``_`` without touching the parameters it was given.
"""

from __future__ import annotations

from collections.abc import Callable

import joblib
import numpy as np
import pytest
from sklearn.base import BaseEstimator, clone
from sklearn.utils.estimator_checks import (
    check_do_not_raise_errors_in_init_or_set_params,
    check_estimator_cloneable,
    check_estimator_repr,
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_set_params,
)

from marketplace.config import default_config
from matching.features import FEATURES
from matching.matcher import Matcher
from matching.ranker import PRIOR_WEIGHTS, LinearRanker, PriorRanker
from matching.text import AnalyzerNormaliser, AnalyzerWords, ScenarioClassifier, TextVectorizer

SEED_DIR = default_config(".")["SEED_DATA_DIR"]
TEXTS = [
    "视觉检测 外观缺陷 黑点 划痕 工业相机 质检",
    "AOI 光学检测 缺陷 漏检",
    "能耗监测 电费 电表 节能",
    "峰谷电价 用电分析 能源管理",
    "排产 插单 交期 计划",
    "APS 智能排产 订单 工序",
]
LABELS = [["quality"], ["quality"], ["energy"], ["energy"], ["planning_scheduling"], ["planning_scheduling"]]
ROWS = np.random.default_rng(0).random((40, len(FEATURES)))
GRADES = np.where(ROWS[:, 1] > 0.5, 3, 0)


def _vectorizer() -> TextVectorizer:
    return TextVectorizer(AnalyzerWords(SEED_DIR), AnalyzerNormaliser(SEED_DIR), char_weight=0.3)


# Non-default parameters everywhere, and estimators as parameters where the class takes one, so a
# parameter that is dropped, replaced or fitted in place shows.
ESTIMATORS: dict[str, tuple[Callable[[], BaseEstimator], tuple]] = {
    "TextVectorizer": (_vectorizer, (TEXTS,)),
    "ScenarioClassifier": (lambda: ScenarioClassifier(_vectorizer(), C=4.0, random_state=1), (TEXTS, LABELS)),
    "LinearRanker": (
        lambda: LinearRanker(prior=dict(PRIOR_WEIGHTS), prior_strength=0.3, C=0.5, random_state=1),
        (ROWS, GRADES),
    ),
    "PriorRanker": (lambda: PriorRanker(tiers=3, structure_weight=0.5), (ROWS, GRADES)),
    "Matcher": (
        lambda: Matcher(
            SEED_DIR,
            prior=PriorRanker(tiers=3),
            learner=LinearRanker(prior_strength=0.2),
            min_relevance=0.1,
            min_dense=0.4,
            intent_weight=0.5,
            random_state=1,
        ),
        (TEXTS, LABELS),
    ),
}
SKLEARN_CHECKS = (
    check_estimator_cloneable,
    check_estimator_repr,
    check_no_attributes_set_in_init,
    check_get_params_invariance,
    check_set_params,
    check_do_not_raise_errors_in_init_or_set_params,
)


def _fingerprint(estimator: BaseEstimator) -> str:
    """A digest of the parameters' pickled state: it changes if any of them is fitted or altered."""
    return joblib.hash(estimator.get_params(deep=False))


@pytest.mark.parametrize("check", SKLEARN_CHECKS, ids=lambda check: check.__name__)
@pytest.mark.parametrize("name", ESTIMATORS)
def test_sklearn_parameter_checks(name, check):
    """scikit-learn's own checks of the parameter API, which need no data.

    Its data checks are left out: they feed numeric arrays and expect a classifier's or a
    regressor's methods, and these take texts (or rank) instead.
    """
    make, _ = ESTIMATORS[name]
    check(name, make())


@pytest.mark.parametrize("name", ESTIMATORS)
def test_init_only_stores_parameters(name):
    make, _ = ESTIMATORS[name]
    estimator = make()
    params = estimator.get_params(deep=False)
    assert vars(estimator).keys() == params.keys()
    assert all(vars(estimator)[key] is value for key, value in params.items())


@pytest.mark.parametrize("name", ESTIMATORS)
def test_get_params_round_trips(name):
    make, _ = ESTIMATORS[name]
    estimator = make()
    params = estimator.get_params(deep=False)
    rebuilt = type(estimator)(**params)
    assert rebuilt.get_params(deep=False) == params
    assert clone(estimator).set_params(**params).get_params(deep=False) == params


@pytest.mark.parametrize("name", ESTIMATORS)
def test_fit_returns_self_learns_underscored_attributes_and_leaves_parameters_alone(name):
    """A parameter fitted in place would leak one fit into the next model cloned from the same one."""
    make, data = ESTIMATORS[name]
    estimator = make()
    params = set(estimator.get_params(deep=False))
    before = _fingerprint(estimator)
    assert estimator.fit(*data) is estimator
    learned = set(vars(estimator)) - params
    assert learned
    assert all(attr.endswith("_") and not attr.startswith("_") for attr in learned), sorted(learned)
    assert _fingerprint(estimator) == before


@pytest.mark.parametrize("name", ESTIMATORS)
def test_a_clone_of_a_fitted_estimator_is_unfitted_with_the_same_parameters(name):
    """Folds and per-kind rankers start from clones: they must carry the parameters, not the fit."""
    make, data = ESTIMATORS[name]
    fitted = make().fit(*data)
    copy = clone(fitted)
    assert set(vars(copy)) == set(fitted.get_params(deep=False))
    assert _fingerprint(copy) == _fingerprint(make())


def test_matcher_fit_ranker_returns_self_and_leaves_the_ranker_parameter_unfitted():
    """Rankers are fitted per kind and per fold from the learner parameter, which stays unfitted; the
    other kind keeps the prior."""
    make, data = ESTIMATORS["Matcher"]
    matcher = make().fit(*data)
    assert matcher.fit_ranker("solution", ROWS, GRADES) is matcher
    assert hasattr(matcher.rankers_["solution"], "weights_")
    assert not hasattr(matcher.learner, "weights_")
    assert isinstance(matcher.rankers_["case"], PriorRanker)
    assert not matcher.is_prior
