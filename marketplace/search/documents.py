"""Flatten solutions and cases from the store into search documents."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from types import SimpleNamespace

from sqlalchemy import ColumnElement, select

from indexing.base import IndexDocument
from marketplace.extensions import db
from marketplace.models import (
    LABEL_KINDS,
    BenchmarkCase,
    CasePromotion,
    ListingStatus,
    Provider,
    Solution,
    SolutionLabel,
)
from marketplace.taxonomy.service import Taxonomy

MODELS = {"solution": Solution, "case": BenchmarkCase}


SOLUTION_COLUMNS = (
    Solution.id,
    Solution.status,
    Solution.title,
    Solution.summary,
    Solution.description,
    Solution.provider_id,
    Solution.price_min_cny,
    Solution.price_max_cny,
    Solution.deploy_days,
    Solution.created_at,
)
EVIDENCE_COLUMNS = (Solution.level_uplifts, Solution.outcome_claims)
PROVIDER_COLUMNS = (Provider.name, Provider.city, Provider.province)


def load_solutions(
    *conditions: ColumnElement[bool], limit: int | None = None, evidence: bool = False
) -> list[SimpleNamespace]:
    """Solutions matching ``conditions``, in id order, as plain rows shaped like the ORM objects.

    Each carries the solution's own columns, ``provider`` (``name``, ``city``, ``province``) and
    its labels as ordered lists (``industries``, ``scenarios``, ``tags``, ``delivery_modes``);
    with ``evidence``, also its declared ``level_uplifts`` and ``outcome_claims`` (JSON that only
    recommendations use; the indexer and search pages skip decoding it). Two Core queries on the
    session's connection, without the ORM's row processing: the search pages and the indexer
    read many of them.
    """
    own = SOLUTION_COLUMNS + (EVIDENCE_COLUMNS if evidence else ())
    connection = db.session.connection()
    rows = connection.execute(
        select(*own, *PROVIDER_COLUMNS)
        .join(Provider, Provider.id == Solution.provider_id)
        .where(*conditions)
        .order_by(Solution.id)
        .limit(limit)
    ).all()
    names = [column.key for column in own]
    solutions = {}
    for row in rows:
        name, city, province = row[len(own) :]
        solutions[row[0]] = SimpleNamespace(
            **dict(zip(names, row, strict=False)),
            provider=SimpleNamespace(name=name, city=city, province=province),
            **{kind: [] for kind in LABEL_KINDS},
        )
    if solutions:
        labels = connection.execute(
            select(SolutionLabel.solution_id, SolutionLabel.kind, SolutionLabel.value)
            .where(SolutionLabel.solution_id.in_(list(solutions)))
            .order_by(SolutionLabel.solution_id, SolutionLabel.kind, SolutionLabel.position)
        ).all()
        for solution_id, kind, value in labels:
            getattr(solutions[solution_id], kind).append(value)
    return list(solutions.values())


def _industry_terms(taxonomy: Taxonomy, codes: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Return every code with its ancestors, and the 大类 codes, for filtering and faceting."""
    expanded: dict[str, None] = {}
    divisions: dict[str, None] = {}
    for code in codes:
        for entry in taxonomy.industry_path(code):
            expanded[entry.code] = None
            if entry.level == "division":
                divisions[entry.code] = None
    return tuple(expanded), tuple(divisions)


def solution_document(solution: SimpleNamespace, taxonomy: Taxonomy) -> IndexDocument:
    """The search document of a published solution."""
    industries, divisions = _industry_terms(taxonomy, solution.industries)
    return IndexDocument(
        kind="solution",
        id=solution.id,
        title=solution.title,
        summary=solution.summary,
        body=f"{solution.description} {solution.provider.name}",
        tags=tuple(solution.tags),
        industries=industries,
        industry_divisions=divisions,
        scenarios=tuple(solution.scenarios),
        delivery_modes=tuple(solution.delivery_modes),
        city=solution.provider.city,
        province=solution.provider.province,
        provider_id=solution.provider_id,
        price_min_cny=solution.price_min_cny,
        deploy_days=solution.deploy_days,
        created_ts=int(solution.created_at.timestamp()),
    )


def _promotion_window(promotion: CasePromotion) -> tuple[date, date]:
    """The days a promotion runs; one ended early stops the day before it was ended."""
    if promotion.ended_at is None:
        return promotion.starts_on, promotion.ends_on
    return promotion.starts_on, min(promotion.ends_on, promotion.ended_at.date() - timedelta(days=1))


def case_document(case: BenchmarkCase, taxonomy: Taxonomy) -> IndexDocument:
    """The search document of a published case, with its promotion windows.

    Only published solutions lend it their tags: one back in review carries unreviewed text.
    """
    industries, divisions = _industry_terms(taxonomy, [case.industry_code])
    tags = tuple(name for s in case.solutions if s.status is ListingStatus.PUBLISHED for name in s.tags)
    windows = tuple(_promotion_window(promotion) for promotion in case.promotions)
    return IndexDocument(
        kind="case",
        id=case.id,
        title=case.title,
        summary=case.summary,
        body=f"{case.enterprise_name} " + " ".join(metric["name"] for metric in case.metrics),
        tags=tuple(dict.fromkeys(tags)),
        industries=industries,
        industry_divisions=divisions,
        scenarios=tuple(case.scenarios),
        city=case.city,
        province=case.province,
        provider_id=case.provider_id,
        created_ts=int(case.created_at.timestamp()),
        promotion_windows=tuple(window for window in windows if window[0] <= window[1]),
    )


BUILDERS = {"solution": solution_document, "case": case_document}


def _load(kind: str, *conditions: ColumnElement[bool], limit: int | None = None) -> list:
    if kind == "solution":
        return load_solutions(*conditions, limit=limit)
    model = MODELS[kind]
    return db.session.scalars(select(model).where(*conditions).order_by(model.id).limit(limit)).all()


def build_documents(kind: str, ids: list[int], taxonomy: Taxonomy) -> tuple[list[IndexDocument], list[int]]:
    """Read ``ids`` from the store: documents for the published ones, and the ids to delete."""
    rows = _load(kind, MODELS[kind].id.in_(ids))
    published = [row for row in rows if row.status is ListingStatus.PUBLISHED]
    keep = {row.id for row in published}
    return [BUILDERS[kind](row, taxonomy) for row in published], [i for i in ids if i not in keep]


def iter_published_rows(kind: str, batch: int = 1000) -> Iterator:
    """Stream every published item of ``kind`` in id order, as :func:`load_solutions` rows or cases."""
    model = MODELS[kind]
    last_id = 0
    while True:
        rows = _load(kind, model.status == ListingStatus.PUBLISHED, model.id > last_id, limit=batch)
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id
        db.session.expunge_all()


def iter_published(kind: str, taxonomy: Taxonomy, batch: int = 1000) -> Iterator[IndexDocument]:
    """Stream every published item of ``kind`` as documents, in id order."""
    for row in iter_published_rows(kind, batch):
        yield BUILDERS[kind](row, taxonomy)


def published_stamps(kind: str, ids: list[int]) -> dict[int, tuple[int, ...]]:
    """The published items of ``kind`` among ``ids``, each with what its cached reads depend on.

    A solution's stamp is its row version and its provider's (the provider's name and place are
    shown with it); a case's, its row version. Items not published now are absent.
    """
    if not ids:
        return {}
    if kind == "solution":
        query = (
            select(Solution.id, Solution.version, Provider.version)
            .join(Provider, Provider.id == Solution.provider_id)
            .where(Solution.id.in_(ids), Solution.status == ListingStatus.PUBLISHED)
        )
    else:
        model = MODELS[kind]
        query = select(model.id, model.version).where(
            model.id.in_(ids), model.status == ListingStatus.PUBLISHED
        )
    return {row[0]: tuple(row[1:]) for row in db.session.execute(query)}


def count_published(kind: str) -> int:
    """How many items of ``kind`` are published, i.e. should be in the index."""
    model = MODELS[kind]
    return db.session.scalar(select(db.func.count(model.id)).where(model.status == ListingStatus.PUBLISHED))
