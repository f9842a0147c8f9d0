"""The learned re-ranker: a linear model over the match features, anchored to a hand-set prior."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from matching.features import FEATURES

PRIOR_WEIGHTS = {
    "retrieval": 0.9,
    "text": 1.6,
    "scenario": 1.4,
    "industry": 1.0,
    "budget": 0.8,
    "deploy": 0.15,
    "uplift": 0.5,
    "locality": 0.2,
    "evidence": 0.3,
    "promotion": 0.1,
    "solution_fit": 1.5,
    "consensus": 1.5,
}


class LinearRanker(BaseEstimator):
    """Scores feature rows with weights: the prior, moved towards what judgments and events teach.

    :param prior: feature → weight used before (and blended with) learning; it must weigh every
        feature of :data:`~matching.features.FEATURES`. None means :data:`PRIOR_WEIGHTS`.
    :param prior_strength: share of the prior in the fitted weights, 0–1; keeps a small training
        set from overturning sensible defaults.
    :param C: inverse regularisation strength of the logistic regression.
    :param random_state: seed for the solver.
    """

    def __init__(
        self,
        prior: dict[str, float] | None = None,
        prior_strength: float = 0.5,
        C: float = 1.0,
        random_state: int = 0,
    ):
        self.prior = prior
        self.prior_strength = prior_strength
        self.C = C
        self.random_state = random_state

    def prior_weights(self) -> np.ndarray:
        """The prior as weights in :data:`~matching.features.FEATURES` order.

        :returns: one weight per feature, from ``prior`` or, when it is None, :data:`PRIOR_WEIGHTS`.
        :raises ValueError: if the prior leaves a feature out or names one that does not exist; a
            missing weight would silently switch that feature off.
        """
        prior = PRIOR_WEIGHTS if self.prior is None else self.prior
        missing = [name for name in FEATURES if name not in prior]
        unknown = sorted(set(prior) - set(FEATURES))
        if missing or unknown:
            raise ValueError(
                "the ranker's prior must weigh every feature exactly: "
                f"missing {missing or 'none'}, unknown {unknown or 'none'}"
            )
        return np.array([prior[name] for name in FEATURES])

    def fit(self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None) -> LinearRanker:
        """Learn which features separate relevant (grade ≥ 2) from other candidates.

        :param X: one row of :data:`matching.features.FEATURES` per (request, candidate).
        :param y: graded relevance 0–3.
        :raises ValueError: if the prior does not weigh every feature (see :meth:`prior_weights`).
        """
        prior = self.prior_weights()
        positive = (np.asarray(y) >= 2).astype(int)
        if len(set(positive)) < 2:
            self.weights_ = prior
            return self
        scaler = StandardScaler().fit(X)
        model = LogisticRegression(C=self.C, max_iter=2000, random_state=self.random_state)
        model.fit(scaler.transform(X), positive, sample_weight=sample_weight)
        learned = model.coef_[0] / np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
        learned = learned * (np.abs(prior).sum() / max(np.abs(learned).sum(), 1e-9))
        self.weights_ = self.prior_strength * prior + (1.0 - self.prior_strength) * learned
        return self

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """Score rows; higher ranks first. Unfitted, the prior is used.

        :raises ValueError: if unfitted and the prior does not weigh every feature.
        """
        weights = getattr(self, "weights_", None)
        return np.asarray(X) @ (self.prior_weights() if weights is None else weights)
