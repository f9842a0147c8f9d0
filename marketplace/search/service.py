"""Result pages and suggestions: searches run through the engine, hits hydrated from the store."""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from datetime import date
from functools import partial

from sqlalchemy import func, select
from sqlalchemy.orm import lazyload

from indexing.base import SearchHit, SearchRequest
from indexing.vocabulary import FILTERS, RANGES, SORTS
from marketplace.errors import ServiceUnavailable, Unprocessable
from marketplace.extensions import db
from marketplace.models import (
    BenchmarkCase,
    ItemEmbedding,
    ListingStatus,
    Role,
    Solution,
    SolutionLabel,
    User,
)
from marketplace.search import engine, vectors
from marketplace.search.cache import cache_key, store_cache
from marketplace.search.documents import load_solutions, published_stamps
from marketplace.search.schemas import CaseHitSchema, SolutionHitSchema
from marketplace.taxonomy.service import taxonomy

log = logging.getLogger(__name__)

DELIVERY_MODE_NAMES = {
    "saas": "SaaS 订阅",
    "on_premise": "本地部署",
    "edge": "边缘部署",
    "hardware_bundle": "软硬一体",
}


def search_request(kind: str, args: dict) -> SearchRequest:
    """The search of ``kind`` that loaded query arguments (:class:`SearchArgsSchema`) ask for, as of today.

    The mode is the one asked for, or by default ``hybrid`` when embeddings are on and items of
    ``kind`` have vectors, else ``keyword``; a dense mode carries the query's embedding. It applies
    only to a search with words ordered by relevance: any other search is by keywords.

    :raises Unprocessable: for ``hybrid`` or ``semantic`` asked for while embeddings are off.
    :raises ServiceUnavailable: if the embedder does not answer for a mode asked for; a default
        ``hybrid`` falls back to ``keyword`` instead (logged, and the page says ``mode: keyword``).
    """
    filters = {name: tuple(str(v) for v in args[name]) for name in FILTERS if args.get(name)}
    q = args.get("q", "")
    embeddings = vectors.state()
    asked = args.get("mode")
    if asked in ("hybrid", "semantic") and not embeddings.enabled:
        raise Unprocessable(errors={"mode": ["语义检索未启用（EMBEDDINGS_BACKEND=none）"]})
    dense_applies = bool(q.strip()) and SORTS[args["sort"]].by_score
    mode = asked or ("hybrid" if embeddings.enabled and dense_applies and _has_vectors(kind) else "keyword")
    vector = None
    if mode != "keyword" and dense_applies:
        try:
            vector = vectors.query_vector(q)
        except ServiceUnavailable:
            if asked is not None:
                raise
            log.warning("embeddings unavailable: searching %s by keywords", kind)
            mode = "keyword"
    return SearchRequest(
        kind=kind,
        q=q,
        filters=filters,
        **{name: args.get(name) for name in RANGES},
        promoted=args.get("promoted"),
        today=date.today(),
        sort=args["sort"],
        page=args["page"],
        per_page=args["per_page"],
        mode=mode if vector is not None else "keyword",
        vector=vector,
        min_similarity=embeddings.min_similarity if vector is not None else 0.0,
    )


def _has_vectors(kind: str) -> bool:
    """Whether any item of ``kind`` has a vector of the current model (else dense retrieval finds nothing)."""
    spec = vectors.state().spec
    if spec is None:
        return False
    return bool(
        db.session.scalar(
            select(ItemEmbedding.id)
            .where(
                ItemEmbedding.kind == kind,
                ItemEmbedding.model_id == spec.model_id,
                ItemEmbedding.vector.is_not(None),
            )
            .limit(1)
        )
    )


def _facet_labels(facets) -> dict:
    tax = taxonomy()
    labels = {
        "industry": lambda v: tax.industries[v].name if v in tax.industries else v,
        "scenario": lambda v: tax.scenarios[v].name if v in tax.scenarios else v,
        "delivery_mode": lambda v: DELIVERY_MODE_NAMES.get(v, v),
        "city": lambda v: v,
    }
    return {
        name: [{"value": c.value, "label": labels[name](c.value), "count": c.count} for c in counts]
        for name, counts in facets.items()
    }


SOLUTION_HIT, CASE_HIT = SolutionHitSchema(), CaseHitSchema()


def _hit(item: dict, hit: SearchHit, **extra) -> dict:
    """A hit as the API shows it: the item's dumped fields, with the index's score and highlight."""
    return {**item, "score": hit.score, "highlight": hit.highlight, **extra}


def _case_rows(ids: list[int]) -> dict[int, BenchmarkCase]:
    """The published cases among ``ids``, with their scenarios and promotions (not their solutions)."""
    cases = db.session.scalars(
        select(BenchmarkCase)
        .where(BenchmarkCase.id.in_(ids), BenchmarkCase.status == ListingStatus.PUBLISHED)
        .options(lazyload(BenchmarkCase.solutions))
    )
    return {case.id: case for case in cases}


def _in_hit_order(hits, rows: dict) -> list:
    """Pair hits with their rows, in hit order, dropping any no longer published."""
    return [(hit, rows[hit.id]) for hit in hits if hit.id in rows]


def _page(request: SearchRequest, result, items: list[dict]) -> dict:
    return {
        "mode": request.mode,
        "total": result.total,
        "page": request.page,
        "per_page": request.per_page,
        "items": items,
        "facets": _facet_labels(result.facets),
    }


def _solution_items(ids: list[int]) -> dict[int, dict]:
    """The published solutions among ``ids``, dumped as hits (without score and highlight)."""
    published = load_solutions(Solution.id.in_(ids), Solution.status == ListingStatus.PUBLISHED)
    return {row.id: SOLUTION_HIT.dump(row) for row in published}


def search_solutions(args: dict) -> dict:
    """Search published solutions; their dumped rows are cached for the index generation."""
    request = search_request("solution", args)
    result = engine.search(request)
    key = cache_key(result.generation)  # read by the search, before the store is
    items = store_cache().get(
        key,
        "solution hit",
        [hit.id for hit in result.hits],
        _solution_items,
        partial(published_stamps, "solution"),
    )
    return _page(request, result, [_hit(item, hit) for hit, item in _in_hit_order(result.hits, items)])


def search_cases(actor: User | None, args: dict) -> dict:
    """Search published cases; promotions running in an enterprise's own city are labelled for it."""
    request = search_request("case", args)
    result = engine.search(request)
    home_city = (
        actor.enterprise.city
        if actor is not None and actor.role is Role.ENTERPRISE and actor.enterprise
        else None
    )
    items = []
    for hit, case in _in_hit_order(result.hits, _case_rows([hit.id for hit in result.hits])):
        local = home_city is not None and case.city == home_city and case.is_promoted
        items.append(_hit(CASE_HIT.dump(case), hit, promoted_in_your_city=local))
    return _page(request, result, items)


SPELLINGS_READ = 500


def _published_spellings(normalised: str) -> list[str]:
    """Published titles and tags as written, whose lower case starts with ``normalised``."""
    pattern = normalised.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    published = Solution.status == ListingStatus.PUBLISHED
    queries = (
        select(SolutionLabel.value)
        .join(Solution, Solution.id == SolutionLabel.solution_id)
        .where(
            SolutionLabel.kind == "tags",
            published,
            func.lower(SolutionLabel.value).like(pattern, escape="\\"),
        ),
        select(Solution.title).where(published, func.lower(Solution.title).like(pattern, escape="\\")),
        select(BenchmarkCase.title).where(
            BenchmarkCase.status == ListingStatus.PUBLISHED,
            func.lower(BenchmarkCase.title).like(pattern, escape="\\"),
        ),
    )
    return [value for query in queries for value in db.session.scalars(query.limit(SPELLINGS_READ))]


def suggest(prefix: str, limit: int) -> list[str]:
    """Completions for a typed prefix, from indexed titles and tags, then lexicon terms.

    The index completes in normalised (case-folded) form; each completion comes back once, in the
    spelling most often written in the published titles and tags (the first seen on a tie), or
    the lexicon's.
    """
    analyzer = engine.analyzer()
    normalised = analyzer.normalise(prefix).strip()
    found = engine.suggest(normalised, limit)
    lexicon = analyzer.lexicon_terms(normalised)
    written: dict[str, Counter] = defaultdict(Counter)
    for spelling in _published_spellings(normalised) if found else ():
        written[analyzer.normalise(spelling)][spelling] += 1
    for term in lexicon:
        written[analyzer.normalise(term)][term] += 0
    shown: dict[str, str] = {}
    for term in [*found, *lexicon]:
        key = analyzer.normalise(term)
        if key not in shown:
            spellings = written.get(key)
            shown[key] = spellings.most_common(1)[0][0] if spellings else term
    return list(shown.values())[:limit]
