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
from matching.intents import labelled_statements
from matching.ranker import LinearRanker, PriorRanker
from matching.text import AnalyzerNormaliser, AnalyzerWords, ScenarioClassifier, TextVectorizer

VECTOR_CACHE_SIZE = 20_000
TEXT_CACHE_SIZE = 1_000  # request texts whose scenario scores and vector are remembered
_cache_lock = threading.Lock()  # the caches are per process, shared by a worker's threads
KINDS = ("solution", "case")
RELEVANCE = ("text", "scenario", "solution_fit")
CONSENSUS_TOP = 5
DENSE_CONSENSUS = 0.5
"""The share of a solution's ``consensus`` that comes from meaning (:func:`dense_consensus`) rather
than words (:func:`consensus_scores`). Chosen on the dev and holdout catalogs and the demo judgments
(solutions NDCG@10 +0.001, +0.012, +0.008, cases level or better); shares of 0.3 and 1.0, a floor of
0.5, and mixing it into cases' consensus too were worse. Then checked once on the sealed catalogs
(docs/benchmarks.md)."""
DENSE_CONSENSUS_FLOOR = 0.3
"""The cosine to the surest matches' centroid below which a listing counts as not resembling them."""
DENSE_FLOOR = 0.1
"""A cosine at or below which the embedder's similarity counts as none (unrelated texts reach ~0.17)."""
TEXT_DEPTH = 60
"""How many candidates, best first by every other feature, get the two features read from their
TF-IDF vectors (``text`` and the words' half of ``consensus``); the rest keep 0 for both. Vectorising a
candidate is the largest cost of a request that meets it first (~0.4 ms each, some 250 candidates per
kind at 100,000 solutions), and a candidate below this depth by every other feature does not reach
the first page (docs/benchmarks.md)."""
TEXT = f.FEATURES.index("text")
CONSENSUS = f.FEATURES.index("consensus")


@dataclass(frozen=True)
class Match:
    """A ranked candidate with its score and the components behind it."""

    candidate: f.Candidate
    score: float
    components: dict


class Matcher(BaseEstimator):
    """Text similarity, dense similarity, a needs→scenario model and structured fit, combined by a ranker.

    ``fit`` learns the text models from the catalog (published solutions and cases) and, for the
    needs→scenario model, from the intent corpus (:mod:`matching.intents`); the candidates to rank
    come from the search index at request time, so no document matrix is held.
    Vectors of candidates already seen are cached (bounded) per process.

    :param seed_dir: the ``seed_data`` directory of the shared analysis chain.
    :param prior: the ranker that serves before any training, cloned per kind; None means a
        :class:`~matching.ranker.PriorRanker` with its defaults.
    :param learner: the ranker :meth:`fit_ranker` clones and fits on graded rows; None means a
        :class:`~matching.ranker.LinearRanker`.
    :param min_relevance: the least text similarity, scenario probability or (a case) solution fit
        a candidate needs, unless its dense similarity reaches ``min_dense``.
    :param min_dense: the least embedder cosine that alone makes a candidate relevant.
    :param intent_weight: the weight of one statement of the intent corpus (needs in plain words,
        see :mod:`matching.intents`) against one catalog text in the scenario model's loss.
    :param random_state: seed for the classifiers.
    """

    def __init__(
        self,
        seed_dir: str,
        prior: PriorRanker | None = None,
        learner: LinearRanker | None = None,
        min_relevance: float = 0.1,
        min_dense: float = 0.3,
        intent_weight: float = 1.0,
        random_state: int = 0,
    ):
        self.seed_dir = seed_dir
        self.prior = prior
        self.learner = learner
        self.min_relevance = min_relevance
        self.min_dense = min_dense
        self.intent_weight = intent_weight
        self.random_state = random_state

    def _vectorizer(self) -> TextVectorizer:
        return TextVectorizer(AnalyzerWords(self.seed_dir), AnalyzerNormaliser(self.seed_dir))

    def fit(
        self,
        texts: Sequence[str],
        scenarios: Sequence[Sequence[str]],
        intents: Mapping[str, Sequence[str]] | None = None,
    ) -> Matcher:
        """Learn the text similarity from the catalog's texts, and the needs→scenario model from them
        and from the intent corpus.

        :param intents: scenario code → needs in plain words (:func:`matching.intents.load_scenario_needs`);
            they train the scenario model with ``intent_weight`` each, not the text similarity.
        :raises ValueError: if the ranker's prior does not weigh every feature; checked here, before
            the text models are fitted, rather than at the first request.
        """
        ranker = self.prior if self.prior is not None else PriorRanker()
        ranker.prior_weights()
        self._learner().prior_weights()
        statements, labels = labelled_statements(intents or {})
        self.features_ = f.FEATURES
        self.text_model_ = self._vectorizer().fit(texts)
        weights = [1.0] * len(texts) + [self.intent_weight] * len(statements)
        self.scenario_model_ = ScenarioClassifier(self._vectorizer(), random_state=self.random_state).fit(
            [*texts, *statements], [*scenarios, *labels], weights if statements else None
        )
        self.rankers_ = {kind: clone(ranker) for kind in KINDS}
        return self

    def fit_ranker(
        self, kind: str, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None
    ) -> Matcher:
        """Fit the ranker of one kind on feature rows graded 0–3 (from judgments and logged events)."""
        self.rankers_[kind] = clone(self._learner()).fit(X, y, sample_weight)
        return self

    def _learner(self) -> LinearRanker:
        return self.learner if self.learner is not None else LinearRanker(random_state=self.random_state)

    @property
    def is_prior(self) -> bool:
        """Whether every kind is still ranked by the untrained prior."""
        return all(isinstance(ranker, PriorRanker) for ranker in self.rankers_.values())

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
        dense: Mapping[int, float] | None = None,
        embeddings: Mapping[int, np.ndarray] | None = None,
        *,
        target_level: int,
    ) -> tuple[np.ndarray, list[dict]]:
        """Feature rows (columns as :data:`matching.features.FEATURES`) and the components for reasons.

        :param solutions: when ranking cases, the solutions already ranked for the same request:
            a case is scored by the solutions it used, and by its resemblance to the best ones.
        :param retrieval: the search engine's score of each candidate (by id) for this request.
        :param dense: the embedder's cosine of each candidate (by id) to this request's needs; the
            feature is its excess over :data:`DENSE_FLOOR`, relative to the best candidate's.
        :param embeddings: the stored embedding of each candidate (by id); a solution's
            ``consensus`` is then half resemblance by meaning (:func:`dense_consensus`).
        :param target_level: the level the profile's gap scenarios must reach (the indicator's
            target); the uplift feature counts the gap scenarios an item lifts to it.
        """
        retrieval, dense = retrieval or {}, dense or {}
        if not candidates:
            return np.zeros((0, len(f.FEATURES))), []
        scenario_scores = self.scenario_scores(profile)
        top_retrieval = max((retrieval.get(c.id, 0.0) for c in candidates), default=0.0) or 1.0
        top_dense = max((dense.get(c.id, 0.0) for c in candidates), default=0.0) - DENSE_FLOOR
        solution_scores = relative_scores(solutions or ())
        rows, names = [], []
        for candidate in candidates:
            matched = max(candidate.scenarios, key=lambda s: scenario_scores.get(s, 0.0), default=None)
            industry, shared_code = f.industry_affinity(profile.industry, candidate.industries)
            used, used_id = f.solution_fit(candidate, solution_scores)
            components = {
                "retrieval": retrieval.get(candidate.id, 0.0) / top_retrieval,
                "text": 0.0,  # below, for the shortlist
                "dense": max(dense.get(candidate.id, 0.0) - DENSE_FLOOR, 0.0) / top_dense
                if top_dense > 0
                else 0.0,
                "scenario": scenario_scores.get(matched, 0.0) if matched else 0.0,
                "industry": industry,
                "budget": f.budget_fit(profile.budget_max_cny, candidate.price_min_cny),
                "deploy": f.deploy_speed(candidate.deploy_days),
                "constraints": min(
                    f.deadline_fit(profile.deadline_days, candidate.deploy_days),
                    f.delivery_fit(profile.delivery, candidate.delivery_modes),
                ),
                "uplift": f.uplift_fit(profile, candidate, target_level),
                "locality": f.locality(profile, candidate),
                "evidence": f.evidence(profile, candidate),
                "promotion": f.promotion(profile, candidate),
                "solution_fit": used,
                "consensus": 0.0,  # below, from the surest matches
            }
            rows.append([components[name] for name in f.FEATURES])
            names.append(
                {
                    "matched_scenario": matched,
                    "shared_industry": shared_code,
                    "used_solution": used_id,
                    "dense_cosine": dense.get(candidate.id, 0.0),
                }
            )
        X = np.array(rows)
        ranker = self.rankers_[candidates[0].kind]
        shortlist = np.argsort(-ranker.decision_function(X), kind="stable")[:TEXT_DEPTH]
        vectors = self._candidate_vectors([candidates[i] for i in shortlist])
        query = " ".join([profile.needs, *profile.scenarios])
        X[shortlist, TEXT] = (vectors @ self._query_vector(query).T).toarray()[:, 0]
        details = [
            {**dict(zip(f.FEATURES, row.tolist(), strict=True)), **extra}
            for row, extra in zip(X, names, strict=True)
        ]
        if solutions is None:
            first_pass = ranker.decision_function(X[shortlist])
            order = np.argsort(-first_pass, kind="stable")
            surest = [n for n in order if self._relevant(details[shortlist[n]])][:CONSENSUS_TOP]
            chosen = [candidates[shortlist[n]] for n in surest]
            reference = vectors[surest]
        else:
            chosen = [m.candidate for m in solutions[:CONSENSUS_TOP]]
            reference = self._candidate_vectors(chosen) if chosen else vectors[[]]
        X[shortlist, CONSENSUS] = consensus_scores(vectors, reference)
        if embeddings and candidates[0].kind == "solution":  # cases keep the words' (measured)
            X[:, CONSENSUS] = (1 - DENSE_CONSENSUS) * X[:, CONSENSUS] + DENSE_CONSENSUS * dense_consensus(
                candidates, chosen, embeddings
            )
        for detail, value in zip(details, X[:, CONSENSUS], strict=True):
            detail["consensus"] = float(value)
        return X, details

    def _relevant(self, detail: dict) -> bool:
        if detail["dense_cosine"] >= self.min_dense:
            return True
        return max(detail[name] for name in RELEVANCE) >= self.min_relevance

    def rank(
        self,
        profile: f.Profile,
        candidates: Sequence[f.Candidate],
        solutions: Sequence[Match] | None = None,
        retrieval: Mapping[int, float] | None = None,
        dense: Mapping[int, float] | None = None,
        embeddings: Mapping[int, np.ndarray] | None = None,
        *,
        target_level: int,
    ) -> list[Match]:
        """Score and sort candidates, best first, leaving out those unrelated to the need.

        A candidate is kept if its text resembles the need, it serves a scenario the need is likely
        about, or (a case) it used a solution that fits the need; price, place or evidence alone
        never make an unrelated item a match. Parameters are those of :meth:`features`.
        """
        X, details = self.features(
            profile, candidates, solutions, retrieval, dense, embeddings, target_level=target_level
        )
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


def dense_consensus(
    candidates: Sequence[f.Candidate], reference: Sequence[f.Candidate], embeddings: Mapping[int, np.ndarray]
) -> np.ndarray:
    """Resemblance in meaning to the surest matches: the cosine of each candidate's stored embedding
    to the centroid of ``reference``'s, its excess over :data:`DENSE_CONSENSUS_FLOOR` scaled to 0–1.

    :func:`consensus_scores` by meaning rather than words: it also finds listings that describe the
    same fix in other words. A candidate without an embedding scores 0.
    """
    if not embeddings or not candidates:
        return np.zeros(len(candidates))
    blank = np.zeros_like(next(iter(embeddings.values())))
    rows = np.array([embeddings.get(c.id, blank) for c in candidates])
    known = np.array([embeddings[c.id] for c in reference if c.id in embeddings]).reshape(-1, blank.size)
    excess = consensus_scores(rows, known) - DENSE_CONSENSUS_FLOOR
    return np.maximum(excess, 0.0) / (1 - DENSE_CONSENSUS_FLOOR)


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
