"""Text models over the shared analysis chain: TF-IDF similarity and a needs→scenario classifier."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache

import numpy as np
from scipy import sparse
from scipy.special import expit
from sklearn import config_context
from sklearn.base import BaseEstimator, clone
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.preprocessing import MultiLabelBinarizer, normalize


@cache
def _analyzer(seed_dir: str):
    from indexing.analysis import Analyzer

    return Analyzer.from_seed_data(seed_dir)


class AnalyzerWords:
    """The shared chain's word tokeniser, picklable: only ``seed_dir`` is saved with a model."""

    def __init__(self, seed_dir: str):
        self.seed_dir = seed_dir

    def __call__(self, text: str) -> list[str]:
        return _analyzer(self.seed_dir).words(text)


class AnalyzerNormaliser(AnalyzerWords):
    """The shared chain's normaliser, picklable like :class:`AnalyzerWords`."""

    def __call__(self, text: str) -> str:  # type: ignore[override]
        return _analyzer(self.seed_dir).normalise(text)


class TextVectorizer(BaseEstimator):
    """TF-IDF over the analyser's words, stacked with TF-IDF over character 2–3-grams.

    Words carry meaning (and synonyms folded by the analyser); character n-grams catch what the
    segmenter splits differently. Rows are L2-normalised, so a dot product is a cosine.

    :param words: the analysis chain's word tokeniser (``lambda text: analyzer.analyse(text).words``).
    :param normalise: the analysis chain's normaliser, applied before character n-grams.
    :param char_weight: the share of the character block in the combined vector.
    """

    def __init__(
        self, words: Callable[[str], list[str]], normalise: Callable[[str], str], char_weight: float = 0.4
    ):
        self.words = words
        self.normalise = normalise
        self.char_weight = char_weight

    def fit(self, texts: Sequence[str], y=None) -> TextVectorizer:
        """Learn both vocabularies and their IDF from ``texts``."""
        self.fit_transform(texts)
        return self

    def fit_transform(self, texts: Sequence[str], y=None) -> sparse.csr_matrix:
        """Learn as :meth:`fit` does and vectorise ``texts`` as :meth:`transform` would, analysing
        each text once rather than twice."""
        self.word_vectorizer_ = TfidfVectorizer(
            analyzer=self.words, sublinear_tf=True, min_df=1, dtype=np.float32
        )
        self.char_vectorizer_ = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(2, 3),
            preprocessor=self.normalise,
            sublinear_tf=True,
            min_df=2,
            max_features=200_000,
            dtype=np.float32,
        )
        words = self.word_vectorizer_.fit_transform(texts)
        return self._combined(words, self.char_vectorizer_.fit_transform(texts))

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """Vectorise ``texts``; returns one L2-normalised row per text."""
        words = self.word_vectorizer_.transform(texts)
        return self._combined(words, self.char_vectorizer_.transform(texts))

    def _combined(self, words: sparse.spmatrix, chars: sparse.spmatrix) -> sparse.csr_matrix:
        words = normalize(words) * (1.0 - self.char_weight) ** 0.5
        chars = normalize(chars) * self.char_weight**0.5
        return sparse.hstack([words, chars], format="csr")


class ScenarioClassifier(BaseEstimator):
    """Maps needs in plain words to the indicator's scenarios, trained on labelled texts.

    One logistic regression per scenario (one-vs-rest) over :class:`TextVectorizer` features, so
    "全靠老师傅拿眼看" can map to ``quality`` through the words that solutions for it use, or that
    needs in plain words labelled with it use (:mod:`matching.intents`).

    :param vectorizer: a :class:`TextVectorizer`; a clone of it is fitted, so it stays as given.
    :param C: inverse regularisation strength of each logistic regression.
    :param random_state: seed for the solver.
    """

    def __init__(self, vectorizer: TextVectorizer, C: float = 8.0, random_state: int = 0):
        self.vectorizer = vectorizer
        self.C = C
        self.random_state = random_state

    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[Sequence[str]],
        sample_weight: Sequence[float] | None = None,
    ) -> ScenarioClassifier:
        """Learn from texts, each with the scenario codes it is labelled with.

        :param sample_weight: each text's weight in the loss (None: all 1); the vocabulary is
            learnt from every text alike.
        """
        self.vectorizer_ = clone(self.vectorizer)
        X = self.vectorizer_.fit_transform(texts)
        self.binarizer_ = MultiLabelBinarizer().fit(labels)
        self.classes_ = list(self.binarizer_.classes_)
        model = LogisticRegression(
            C=self.C, max_iter=2000, class_weight="balanced", random_state=self.random_state
        )
        Y = self.binarizer_.transform(labels)
        if sample_weight is None:
            self.model_ = OneVsRestClassifier(model).fit(X, Y)
            return self
        with config_context(enable_metadata_routing=True):
            model.set_fit_request(sample_weight=True)
            self.model_ = OneVsRestClassifier(model).fit(X, Y, sample_weight=np.asarray(sample_weight))
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probability of each scenario (columns in ``classes_`` order) for each text.

        The one-vs-rest model's own ``predict_proba`` checks its input once per scenario (~10 ms of
        a request for 16 scenarios); when every scenario has a logistic regression, the same figures
        are the logistic of each one's linear score, computed here directly.
        """
        X = self.vectorizer_.transform(texts)
        models = self.model_.estimators_
        if not all(isinstance(model, LogisticRegression) for model in models):
            return self.model_.predict_proba(X)  # a scenario every training text had, or none had
        return expit(np.column_stack([X @ model.coef_[0] + model.intercept_[0] for model in models]))

    def scenario_scores(self, text: str) -> dict[str, float]:
        """Scenario → probability for one text."""
        return dict(zip(self.classes_, self.predict_proba([text])[0].tolist(), strict=True))
