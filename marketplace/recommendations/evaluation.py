"""Evaluate recommendations on an independent catalog, loaded into a scratch store through the services.

A catalog directory holds ``providers.json``, ``solutions.json``, ``cases.json`` and ``needs.json``
(see ``tests/relevance/dev/``). It is loaded as users would load it: provider accounts create their
company and solutions and submit them, an admin approves them, and providers' cases are submitted and
approved. The index is built, and every judged need is ranked by several methods, so the matcher is
compared with plain BM25, dense retrieval and their fusion on items it has never seen.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path

from flask import Flask, current_app
from flask_migrate import upgrade
from tqdm import tqdm

from indexing.base import SearchRequest
from marketplace.auth.service import create_account
from marketplace.cases.schemas import CaseSchema
from marketplace.cases.service import create_case, transition_case
from marketplace.extensions import db
from marketplace.providers.schemas import ProviderSchema
from marketplace.providers.service import create_provider
from marketplace.recommendations import models_store, training
from marketplace.search import engine, maintenance
from marketplace.solutions.schemas import SolutionSchema
from marketplace.solutions.service import create_solution, transition_solution
from matching.evaluation import ndcg_at_k, reciprocal_rank_fusion, summarise
from matching.features import Profile
from matching.matcher import Matcher

KINDS = ("solution", "case")
METHODS = ("bm25", "dense", "hybrid", "prior", "trained")
DEPTH = 100
WITHIN = 0.2
PASSWORD = "scratch-password"
Judged = list[tuple[Profile, dict[str, dict[int, int]]]]


def _bar(description: str) -> Callable[[int], tqdm]:
    return lambda total: tqdm(total=total, desc=description, unit="项")


def _read(directory: Path, name: str):
    return json.loads((directory / f"{name}.json").read_text(encoding="utf-8"))


def scratch_app(folder: Path) -> Flask:
    """A fresh app from the current app's factory on a temporary SQLite store and index, migrated."""
    config = current_app.config
    app = current_app.extensions["factory"](
        {
            "TESTING": True,
            "SECRET_KEY": config["SECRET_KEY"],
            "FAST_PASSWORD_HASHING": True,
            "RATELIMIT_ENABLED": False,
            "INSTANCE_PATH": str(folder),
            "DATABASE_URL": f"sqlite:///{folder / 'store.sqlite3'}",
            "INDEX_DIR": str(folder / "index"),
            "SEARCH_BACKEND": "embedded",
            "SEED_DATA_DIR": config["SEED_DATA_DIR"],
            "JUDGMENTS_PATH": config["JUDGMENTS_PATH"],
            "EMBEDDINGS_BACKEND": config.get("EMBEDDINGS_BACKEND") or "bundled",
        }
    )
    with app.app_context():
        upgrade()
    return app


def load_catalog(directory: Path, progress: bool = False) -> dict[str, dict[str, int]]:
    """Load a catalog through the services; returns store ids by catalog key, per kind."""
    admin = create_account("admin@scratch.test", PASSWORD, "admin", "管理员")
    providers, ids = {}, {"solution": {}, "case": {}}
    provider_schema, solution_schema, case_schema = ProviderSchema(), SolutionSchema(), CaseSchema()
    for n, record in enumerate(tqdm(_read(directory, "providers"), desc="providers", disable=not progress)):
        owner = create_account(f"provider{n}@scratch.test", PASSWORD, "provider", record["name"])
        create_provider(owner, provider_schema.load({k: v for k, v in record.items() if k != "key"}))
        providers[record["key"]] = owner
    for record in tqdm(_read(directory, "solutions"), desc="solutions", disable=not progress):
        owner = providers[record["provider_key"]]
        data = solution_schema.load({k: v for k, v in record.items() if k not in ("key", "provider_key")})
        solution = create_solution(owner, data)
        transition_solution(owner, solution.id, "submit")
        transition_solution(admin, solution.id, "approve")
        ids["solution"][record["key"]] = solution.id
    for record in tqdm(_read(directory, "cases"), desc="cases", disable=not progress):
        data = {k: v for k, v in record.items() if k not in ("key", "provider_key", "solution_keys")}
        data["solution_ids"] = [ids["solution"][key] for key in record.get("solution_keys", [])]
        author = providers.get(record.get("provider_key") or "")
        case = create_case(author or admin, case_schema.load(data))
        if author is not None:
            transition_case(author, case.id, "submit")
            transition_case(admin, case.id, "approve")
        ids["case"][record["key"]] = case.id
    return ids


def judged_needs(directory: Path, ids: dict[str, dict[str, int]]) -> Judged:
    """The catalog's needs as profiles, with grades by kind and store id."""
    return [
        (
            Profile.from_mapping(query["profile"]),
            {kind: {ids[kind][key]: g for key, g in query[f"{kind}s"].items()} for kind in KINDS},
        )
        for query in _read(directory, "needs")["queries"]
    ]


def bm25_ranking(profile: Profile, kind: str, depth: int = 10) -> list[int]:
    """The index's keyword search with the needs as the query."""
    request = SearchRequest(kind=kind, q=profile.needs, per_page=depth, facets=(), today=date.today())
    return [hit.id for hit in engine.search(request).hits]


def dense_ranking(profile: Profile, kind: str, depth: int = 10) -> list[int]:
    """The index's nearest neighbours of the needs by embedding."""
    return list(engine.dense_neighbours(kind, profile.needs, depth))


def hybrid_ranking(profile: Profile, kind: str) -> list[int]:
    """Reciprocal-rank fusion of BM25 and dense retrieval."""
    return reciprocal_rank_fusion([bm25_ranking(profile, kind, DEPTH), dense_ranking(profile, kind, DEPTH)])


def _report(rankings: dict[str, list[dict[str, list[int]]]], needs: Judged) -> dict:
    """Figures per kind and method, and the share of needs where each method is near BM25 or above."""
    report: dict = {}
    for kind in KINDS:
        report[kind] = {}
        base = [ndcg_at_k(r[kind], g[kind]) for r, (_, g) in zip(rankings["bm25"], needs, strict=True)]
        for method, ranked in rankings.items():
            runs = [(r[kind], g[kind]) for r, (_, g) in zip(ranked, needs, strict=True)]
            scores = [ndcg_at_k(r, g) for r, g in runs]
            judged = [n for n, (_, g) in enumerate(runs) if any(v > 0 for v in g.values())]
            near = sum(1 for n in judged if scores[n] >= base[n] - WITHIN)
            report[kind][method] = {**summarise(runs), "near_bm25": near / max(len(judged), 1)}
        bm25 = report[kind]["bm25"]["ndcg@10"]
        report[kind]["target_ndcg@10"] = bm25 + (1.0 - bm25) / 2.0
    return report


def demo_rankers(progress: bool = False) -> dict:
    """Rankers fitted on the demo judgments only (no events), in a scratch store of the demo catalog."""
    from marketplace import seeding

    with tempfile.TemporaryDirectory() as folder:
        app = scratch_app(Path(folder))
        with app.app_context():
            seeding.load_demo(app.config["SEED_DATA_DIR"])
            maintenance.sync_embeddings()
            maintenance.rebuild_index()
            with app.test_request_context():
                matcher = models_store.fit_matcher()
                training.fit_rankers(matcher, training.labelled_judgments(), progress)
            db.engine.dispose()
    return matcher.rankers_


def evaluate_catalog(
    directory: Path,
    methods: tuple[str, ...] = METHODS,
    progress: bool = False,
    rankers: Callable[[], dict] | None = None,
) -> dict:
    """Load ``directory`` into a scratch store and evaluate each method on its needs.

    :param methods: any of :data:`METHODS`; ``trained`` fits rankers on the demo judgments first.
    :param rankers: where the ``trained`` rankers come from (default: :func:`demo_rankers`).
    :returns: per kind and method, NDCG@10, MRR, recall@10, the number of needs, and ``near_bm25``,
        the share of needs at most 0.2 below BM25 on the same need; and the target NDCG@10.
    """
    trained = (rankers or (lambda: demo_rankers(progress)))() if "trained" in methods else None
    with tempfile.TemporaryDirectory() as folder:
        app = scratch_app(Path(folder))
        with app.app_context():
            ids = load_catalog(directory, progress)
            maintenance.sync_embeddings(_bar("embedding") if progress else None)
            maintenance.rebuild_index()
            with app.test_request_context():
                needs = judged_needs(directory, ids)
                matchers: dict[str, Matcher] = {}
                if "prior" in methods or "trained" in methods:
                    _, prior = models_store.prior_matcher()
                    matchers["prior"] = prior
                if trained is not None:
                    fitted = models_store.fit_matcher()
                    fitted.rankers_ = dict(trained)
                    matchers["trained"] = fitted
                rankings: dict[str, list[dict[str, list[int]]]] = {}
                for method in ("bm25", *[m for m in methods if m != "bm25"]):
                    rows = []
                    for profile, _ in tqdm(needs, desc=method, unit="需求", disable=not progress):
                        if method in matchers:
                            rows.append(training.matcher_rankings(matchers[method], profile))
                        else:
                            rank = {"bm25": bm25_ranking, "dense": dense_ranking, "hybrid": hybrid_ranking}
                            rows.append({kind: rank[method](profile, kind) for kind in KINDS})
                    rankings[method] = rows
                report = _report(rankings, needs)
            db.engine.dispose()
    return report
