"""The matcher: re-ranks retrieved candidates for an enterprise's request and says why."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, clone

from matching import features as f
from matching.ranker import LinearRanker
from matching.text import AnalyzerNormaliser, AnalyzerWords, ScenarioClassifier, TextVectorizer

VECTOR_CACHE_SIZE = 20_000
TEXT_CACHE_SIZE = 1_000  # request texts whose scenario scores and vector are remembered
_cache_lock = threading.Lock()  # the caches are per process, shared by a worker's threads
KINDS = ("solution", "case")
RELEVANCE = ("text", "scenario", "solution_fit")
CONSENSUS_TOP = 5


@dataclass(frozen=True)
class Match:
    """A ranked candidate with its score and the components behind it."""

    candidate: f.Candidate
    score: float
    components: dict


class Matcher(BaseEstimator):
    """Text similarity, a needs→scenario model and structured fit, combined by a linear ranker.

    ``fit`` learns the text models from the catalog (published solutions and cases); the
    candidates to rank come from the search index at request time, so no document matrix is held.
    Vectors of candidates already seen are cached (bounded) per process.

    :param seed_dir: the ``seed_data`` directory of the shared analysis chain.
    :param ranker: the linear ranker, cloned per kind (solutions and cases weigh features
        differently); its prior applies until :meth:`fit_ranker` is called for that kind.
    :param min_relevance: the least text similarity, scenario probability or (a case) solution fit
        a candidate needs.
    :param random_state: seed for the classifiers.
    """

    def __init__(
        self,
        seed_dir: str,
        ranker: LinearRanker | None = None,
        min_relevance: float = 0.15,
        random_state: int = 0,
    ):
        self.seed_dir = seed_dir
        self.ranker = ranker
        self.min_relevance = min_relevance
        self.random_state = random_state

    def _vectorizer(self) -> TextVectorizer:
        return TextVectorizer(AnalyzerWords(self.seed_dir), AnalyzerNormaliser(self.seed_dir))

    def fit(self, texts: Sequence[str], scenarios: Sequence[Sequence[str]]) -> Matcher:
        """Learn the text similarity and the needs→scenario model from the catalog's labelled texts.

        :raises ValueError: if the ranker's prior does not weigh every feature; checked here, before
            the text models are fitted, rather than at the first request.
        """
        ranker = self.ranker if self.ranker is not None else LinearRanker(random_state=self.random_state)
        ranker.prior_weights()
        self.features_ = f.FEATURES
        self.text_model_ = self._vectorizer().fit(texts)
        self.scenario_model_ = ScenarioClassifier(self._vectorizer(), random_state=self.random_state).fit(
            texts, scenarios
        )
        self.rankers_ = {kind: clone(ranker) for kind in KINDS}
        return self

    def fit_ranker(
        self, kind: str, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None
    ) -> Matcher:
        """Fit the ranker of one kind on feature rows graded 0–3 (from judgments and logged events)."""
        self.rankers_[kind] = clone(self.rankers_[kind]).fit(X, y, sample_weight)
        return self

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state.pop("_cache", None)
        state.pop("_scenario_cache", None)
        state.pop("_query_cache", None)
        return state

    def _candidate_vectors(self, candidates: Sequence[f.Candidate]) -> sparse.csr_matrix:
        """The candidates' text vectors, from a bounded per-process LRU cache where possible.

        Rows are cached as bare ``(indices, data)`` arrays keyed by kind, id and a hash of the
        text (an edit changes the key), some 4–5 KB each (~570 non-zeros at 100k solutions).
        """
        cache: OrderedDict = self.__dict__.setdefault("_cache", OrderedDict())
        keys = [(c.kind, c.id, hash(c.text)) for c in candidates]
        with _cache_lock:
            found = {key: cache[key] for key in keys if key in cache}
        missing = {key: c.text for key, c in zip(keys, candidates, strict=True) if key not in found}
        if missing:
            rows = self.text_model_.transform(list(missing.values()))
            for n, key in enumerate(missing):
                start, end = rows.indptr[n], rows.indptr[n + 1]
                found[key] = (rows.indices[start:end].copy(), rows.data[start:end].copy())
        with _cache_lock:
            for key in keys:
                cache[key] = found[key]
                cache.move_to_end(key)
            while len(cache) > VECTOR_CACHE_SIZE:
                cache.popitem(last=False)
        parts = [found[key] for key in keys]
        indptr = np.concatenate([[0], np.cumsum([len(indices) for indices, _ in parts])])
        indices = np.concatenate([indices for indices, _ in parts]) if parts else np.zeros(0, np.int32)
        data = np.concatenate([data for _, data in parts]) if parts else np.zeros(0, np.float32)
        return sparse.csr_matrix((data, indices, indptr), shape=(len(keys), self._dimensions()))

    def _dimensions(self) -> int:
        model = self.text_model_
        return len(model.word_vectorizer_.vocabulary_) + len(model.char_vectorizer_.vocabulary_)

    def _needs_scenarios(self, needs: str) -> dict[str, float]:
        """The scenario model's probabilities for a needs text, memoised (bounded) per process."""
        return _memo(self, "_scenario_cache", needs, self.scenario_model_.scenario_scores)

    def _query_vector(self, query: str) -> sparse.csr_matrix:
        """A request's text vector, memoised (bounded) per process: solutions and cases both need it."""
        return _memo(self, "_query_cache", query, lambda text: self.text_model_.transform([text]))

    def scenario_scores(self, profile: f.Profile) -> dict[str, float]:
        """How likely each scenario is what the request is about; named scenarios count as certain."""
        scores = dict(self._needs_scenarios(profile.needs)) if profile.needs.strip() else {}
        for scenario in profile.scenarios:
            scores[scenario] = 1.0
        return scores

    def features(
        self,
        profile: f.Profile,
        candidates: Sequence[f.Candidate],
        solutions: Sequence[Match] | None = None,
        retrieval: Mapping[int, float] | None = None,
        *,
        target_level: int,
    ) -> tuple[np.ndarray, list[dict]]:
        """Feature rows (columns as :data:`matching.features.FEATURES`) and the components for reasons.

        :param solutions: when ranking cases, the solutions already ranked for the same request:
            a case is scored by the solutions it used, and by its resemblance to the best ones.
        :param retrieval: the search engine's score of each candidate (by id) for this request.
        :param target_level: the level the profile's gap scenarios must reach (the indicator's
            target); the uplift feature counts the gap scenarios an item lifts to it.
        """
        retrieval = retrieval or {}
        if not candidates:
            return np.zeros((0, len(f.FEATURES))), []
        query = " ".join([profile.needs, *profile.scenarios])
        vectors = self._candidate_vectors(candidates)
        similarity = (vectors @ self._query_vector(query).T).toarray()[:, 0]
        scenario_scores = self.scenario_scores(profile)
        top_retrieval = max((retrieval.get(c.id, 0.0) for c in candidates), default=0.0) or 1.0
        solution_scores = relative_scores(solutions or ())
        rows, details = [], []
        for candidate, text_score in zip(candidates, similarity, strict=True):
            matched = max(candidate.scenarios, key=lambda s: scenario_scores.get(s, 0.0), default=None)
            industry, shared_code = f.industry_affinity(profile.industry, candidate.industries)
            used, used_id = f.solution_fit(candidate, solution_scores)
            components = {
                "retrieval": retrieval.get(candidate.id, 0.0) / top_retrieval,
                "text": float(text_score),
                "scenario": scenario_scores.get(matched, 0.0) if matched else 0.0,
                "industry": industry,
                "budget": f.budget_fit(profile.budget_max_cny, candidate.price_min_cny),
                "deploy": f.deploy_speed(candidate.deploy_days),
                "uplift": f.uplift_fit(profile, candidate, target_level),
                "locality": f.locality(profile, candidate),
                "evidence": f.evidence(profile, candidate),
                "promotion": f.promotion(profile, candidate),
                "solution_fit": used,
                "consensus": 0.0,
            }
            rows.append([components[name] for name in f.FEATURES])
            names = {"matched_scenario": matched, "shared_industry": shared_code, "used_solution": used_id}
            details.append({**components, **names})
        X = np.array(rows)
        if solutions is None:
            first_pass = self.rankers_[candidates[0].kind].decision_function(X)
            surest = [i for i in np.argsort(-first_pass, kind="stable") if self._relevant(details[i])]
            reference = vectors[surest[:CONSENSUS_TOP]]
        elif solutions:
            reference = self._candidate_vectors([m.candidate for m in solutions[:CONSENSUS_TOP]])
        else:
            reference = vectors[[]]
        column = f.FEATURES.index("consensus")
        X[:, column] = consensus_scores(vectors, reference)
        for detail, value in zip(details, X[:, column], strict=True):
            detail["consensus"] = float(value)
        return X, details

    def _relevant(self, detail: dict) -> bool:
        return max(detail[name] for name in RELEVANCE) >= self.min_relevance

    def rank(
        self,
        profile: f.Profile,
        candidates: Sequence[f.Candidate],
        solutions: Sequence[Match] | None = None,
        retrieval: Mapping[int, float] | None = None,
        *,
        target_level: int,
    ) -> list[Match]:
        """Score and sort candidates, best first, leaving out those unrelated to the need.

        A candidate is kept if its text resembles the need, it serves a scenario the need is likely
        about, or (a case) it used a solution that fits the need; price, place or evidence alone
        never make an unrelated item a match. Parameters are those of :meth:`features`.
        """
        X, details = self.features(profile, candidates, solutions, retrieval, target_level=target_level)
        if not details:
            return []
        scores = self.rankers_[candidates[0].kind].decision_function(X)
        order = np.argsort(-scores, kind="stable")
        return [
            Match(candidates[i], float(scores[i]), details[i]) for i in order if self._relevant(details[i])
        ]


def _memo(matcher: Matcher, name: str, key: str, compute):
    """``compute(key)``, remembered in the matcher's bounded LRU ``name`` (never pickled)."""
    cache: OrderedDict = matcher.__dict__.setdefault(name, OrderedDict())
    with _cache_lock:
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
    value = compute(key)
    with _cache_lock:
        cache[key] = value
        while len(cache) > TEXT_CACHE_SIZE:
            cache.popitem(last=False)
    return value


def consensus_scores(vectors: sparse.csr_matrix, reference: sparse.csr_matrix) -> np.ndarray:
    """Cosine of each row of ``vectors`` to the centroid of ``reference`` (the surest solution matches).

    Pseudo-relevance feedback: what resembles the surest matches is likely relevant too, even when
    it shares few words with the request. Cases compare with the best solutions, whose ranking is
    surer than a first pass over short case stories.
    """
    if reference.shape[0] == 0:
        return np.zeros(vectors.shape[0])
    centroid = np.asarray(reference.mean(axis=0)).ravel()
    norm = np.linalg.norm(centroid)
    return vectors @ (centroid / norm) if norm else np.zeros(vectors.shape[0])


def relative_scores(matches: Sequence[Match]) -> dict[int, float]:
    """Ranked solutions by id with their score relative to the best, 0–1 (negative scores count 0)."""
    top = max((m.score for m in matches), default=0.0)
    if top <= 0:
        return {}
    return {m.candidate.id: max(m.score, 0.0) / top for m in matches}


def diversify(matches: Sequence[Match], per_provider: int = 2, window: int = 10) -> list[Match]:
    """Keep at most ``per_provider`` items of one provider in the first ``window`` places.

    The rest move below the window; if too few other items exist to fill it, they are left out,
    so the first ``window`` places never break the cap.
    """
    top, deferred, counts = [], [], {}
    for match in matches:
        provider = match.candidate.provider_id
        if len(top) < window and (provider is None or counts.get(provider, 0) < per_provider):
            top.append(match)
            counts[provider] = counts.get(provider, 0) + 1
        else:
            deferred.append(match)
    return top + deferred if len(top) >= window else top
