"""CLI commands: accounts, seeding, the search index, the recommender, and ``flask export|import``."""

from __future__ import annotations

import json
from pathlib import Path

import click
from filelock import Timeout
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from marshmallow import ValidationError
from tqdm import tqdm

from indexing.base import SearchUnavailable
from indexing.embeddings import EmbeddingUnavailable
from marketplace import dataio, seeding
from marketplace.auth.service import create_account
from marketplace.errors import APIError
from marketplace.models import Role
from marketplace.search import maintenance, outbox, vectors

accounts_cli = AppGroup("accounts", help="Manage staff accounts.")
seed_cli = AppGroup("seed", help="Load the demo catalog or synthetic data.")
index_cli = AppGroup("index", help="Maintain the search index.")
embeddings_cli = AppGroup("embeddings", help="Maintain the items' vectors.")
matching_cli = AppGroup("matching", help="Train and evaluate the recommender.")


@accounts_cli.command("create")
@click.option("--email", required=True)
@click.option("--password", required=True, help="At least 10 characters, not a common password.")
@click.option("--role", required=True, type=click.Choice([Role.ADMIN.value, Role.CITY_OFFICE.value]))
@click.option("--name", default=None, help="Display name; defaults to the e-mail.")
@click.option("--city", default=None, help="The city of a city office, e.g. 苏州市.")
def create_account_command(email, password, role, name, city):
    """Create an admin or city-office account."""
    from marketplace.auth.schemas import StaffAccountSchema

    try:
        data = StaffAccountSchema().load(
            {"email": email, "password": password, "role": role, "name": name or email, "city": city}
        )
    except ValidationError as error:
        raise click.UsageError(
            "; ".join(f"{field}: {' '.join(map(str, msgs))}" for field, msgs in error.messages.items())
        ) from error
    try:
        user = create_account(**data)
    except APIError as error:
        raise click.ClickException(error.message) from error
    click.echo(f"created {user.role.value} account {user.email} (id {user.id})")


@seed_cli.command("demo")
def seed_demo_command():
    """Load the demo catalog from seed_data/demo; safe to run again."""
    counts = seeding.load_demo(current_app.config["SEED_DATA_DIR"], progress=True)
    click.echo("demo catalog: " + ", ".join(f"{name} {count}" for name, count in counts.items()))
    _index_catalog()


@seed_cli.command("synthetic")
@click.option("--solutions", "count", type=click.IntRange(1, 5_000_000), required=True)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--index/--no-index", default=True, show_default=True, help="Index them right away.")
def seed_synthetic_command(count, seed, index):
    """Generate COUNT plausible published solutions for scale tests."""
    try:
        added = seeding.load_synthetic(count, seed, progress=True)
    except APIError as error:
        raise click.ClickException(error.message) from error
    click.echo(f"synthetic solutions added: {added}")
    if index:
        _index_catalog()


@seed_cli.command("if-empty")
@click.pass_context
def seed_if_empty_command(ctx):
    """Load the demo catalog only when the store holds no solutions."""
    if seeding.store_is_empty():
        ctx.invoke(seed_demo_command)
    else:
        click.echo("store already holds data; demo catalog not loaded")


def _sync_embeddings() -> None:
    """Embed what lacks a vector, with a progress bar; the items are queued for the index."""
    if not vectors.state().enabled:
        return
    try:
        done = maintenance.sync_embeddings(lambda total: tqdm(total=total, desc="embedding", unit="条"))
    except EmbeddingUnavailable as error:
        raise click.ClickException(
            f"embeddings unavailable; items stay searchable by words: {error}"
        ) from error
    click.echo("embeddings: " + ", ".join(f"{kind} {count}" for kind, count in done.items()) + " embedded")


@embeddings_cli.command("sync")
def embeddings_sync_command():
    """Embed every published item whose vector is missing or stale, then bring the vectors to the index."""
    if not vectors.state().enabled:
        click.echo("EMBEDDINGS_BACKEND=none: nothing to embed")
        return
    _sync_embeddings()
    _sync_index()


@index_cli.command("rebuild")
def index_rebuild_command():
    """Embed what lacks a vector, rebuild the index from the store and switch to it in one step."""
    _sync_embeddings()
    try:
        result = maintenance.rebuild_index(lambda total: tqdm(total=total, desc="indexing", unit="条"))
    except SearchUnavailable as error:
        raise click.ClickException(f"index unavailable, the previous index keeps serving: {error}") from error
    click.echo(
        f"indexed {result['indexed']} documents (solutions {result['solution']}, cases {result['case']})"
    )


def _sync_index() -> None:
    with tqdm(total=outbox.lag(), desc="indexing", unit="条") as bar:
        applied = maintenance.drain_outbox(timeout=600, progress=bar)
    if applied is None:
        missing = maintenance.index_missing()
        hint = "no index exists: run flask index ensure" if missing else "index unavailable"
        raise click.ClickException(f"{hint}; the outbox is kept and will be applied later")
    click.echo(f"index: applied {applied} outbox rows")


def _index_catalog() -> None:
    """After seeding: build the index if there is none yet (only commands create one), else sync it."""
    if maintenance.index_missing():
        click.get_current_context().invoke(index_rebuild_command)
    else:
        _sync_index()


@index_cli.command("sync")
def index_sync_command():
    """Apply everything waiting in the outbox."""
    _sync_index()


@index_cli.command("status")
def index_status_command():
    """Show documents in store and index, the outbox lag, the analysis and layout, and leftover versions."""
    click.echo(json.dumps(maintenance.index_status(), ensure_ascii=False, indent=1))


@index_cli.command("clean")
def index_clean_command():
    """Remove partial versions left by interrupted rebuilds (listed by status as leftovers)."""
    try:
        removed = maintenance.clean_index()
    except Timeout as error:
        raise click.ClickException("a rebuild or a drain holds the index lock; try again later") from error
    except SearchUnavailable as error:
        raise click.ClickException(f"index unavailable: {error}") from error
    click.echo(f"removed {len(removed)} leftover versions" + (f": {', '.join(removed)}" if removed else ""))


@index_cli.command("ensure")
@click.pass_context
def index_ensure_command(ctx):
    """Rebuild if the index differs from the store, analysis or layout; else embed and apply the outbox."""
    status = maintenance.index_status()
    current = status["analysis_current"] and status["layout_current"]
    if status["available"] and status["index"] == status["store"] and current:
        if any((status["vectors_missing"] or {}).values()):
            _sync_embeddings()
        ctx.invoke(index_sync_command)
        return
    if status["available"] and not status["analysis_current"]:
        click.echo(
            f"index built with analysis {status['index_analyzer']}, now {status['analyzer']}: rebuilding"
        )
    if status["available"] and not status["layout_current"]:
        click.echo(f"index built with layout {status['index_layout']}, now {status['layout']}: rebuilding")
    ctx.invoke(index_rebuild_command)


@matching_cli.command("train")
@click.option(
    "--if-missing", is_flag=True, help="Only when no model is active yet, or the active one is outdated."
)
@click.option("--force", is_flag=True, help="Activate the new model even if it does not rank better.")
def matching_train_command(if_missing, force):
    """Fit a matcher on the catalog, the judgments and logged feedback; activate it if it ranks better."""
    from marketplace.recommendations import models_store, training

    if if_missing and not models_store.needs_training():
        click.echo(f"active model {models_store.active_row().version}; nothing to do")
        return
    result = training.train(force=force, progress=True)
    click.echo(json.dumps(result, ensure_ascii=False, indent=1))


@matching_cli.command("evaluate")
@click.option(
    "--held-out",
    "folds",
    type=click.IntRange(2, 20),
    default=None,
    help="Also rank each judged query with rankers refitted without it (K folds).",
)
@click.option(
    "--catalog",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Evaluate on this catalog (providers, solutions, cases, needs .json) in a scratch store.",
)
def matching_evaluate_command(folds, catalog):
    """Print NDCG@10, MRR and recall@10 of the active matcher and of plain BM25 on the judgments.

    With ``--catalog DIR``, load DIR into a scratch store through the services and compare BM25,
    dense retrieval, their fusion, the matcher's prior and a ranker trained on the demo judgments.
    """
    from marketplace.recommendations import models_store, training

    if catalog is not None:
        _evaluate_catalog(catalog)
        return
    version, matcher = models_store.active_matcher()
    report = training.evaluate(matcher)
    held_out = training.held_out_evaluation(matcher, folds, progress=True) if folds else None
    click.echo(f"model {version}, judgments {training.judgments_path()}")
    click.echo(f"{'kind':<9}{'ranker':<10}{'ndcg@10':>9}{'mrr':>8}{'recall@10':>11}{'queries':>9}")
    for kind, rows in report.items():
        figures = [(name, rows[name]) for name in ("baseline", "matcher")]
        figures += [("held-out", held_out[kind])] if held_out else []
        for name, m in figures:
            click.echo(
                f"{kind:<9}{name:<10}{m['ndcg@10']:>9.3f}{m['mrr']:>8.3f}{m['recall@10']:>11.3f}{m['queries']:>9}"
            )
        met = rows["matcher"]["ndcg@10"] >= rows["target_ndcg@10"]
        click.echo(f"{kind:<9}target ndcg@10 ≥ {rows['target_ndcg@10']:.3f}: {'met' if met else 'NOT met'}")


def _evaluate_catalog(catalog: Path) -> None:
    from marketplace.recommendations.evaluation import evaluate_catalog

    report = evaluate_catalog(catalog, progress=True)
    click.echo(f"catalog {catalog}")
    header = f"{'kind':<9}{'method':<9}{'ndcg@10':>9}{'mrr':>8}{'recall@10':>11}{'needs':>7}{'near_bm25':>11}"
    click.echo(header)
    for kind, rows in report.items():
        for name, m in rows.items():
            if name == "target_ndcg@10":
                continue
            click.echo(
                f"{kind:<9}{name:<9}{m['ndcg@10']:>9.3f}{m['mrr']:>8.3f}{m['recall@10']:>11.3f}"
                f"{m['queries']:>7}{m['near_bm25']:>11.3f}"
            )
        met = rows["prior"]["ndcg@10"] >= rows["target_ndcg@10"]
        click.echo(f"{kind:<9}target ndcg@10 ≥ {rows['target_ndcg@10']:.3f}: {'met' if met else 'NOT met'}")


@click.command("export")
@with_appcontext
@click.argument("path", type=click.Path(dir_okay=False, writable=True, path_type=Path))
def export_command(path):
    """Write the whole store to PATH as JSON Lines (gzip if PATH ends in .gz)."""
    counts = dataio.export_store(path, lambda total: tqdm(total=total, desc="exporting", unit="行"))
    click.echo(f"exported {sum(counts.values())} rows from {len(counts)} tables to {path}")


@click.command("import")
@with_appcontext
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--index/--no-index", default=True, show_default=True, help="Rebuild the search index after.")
@click.pass_context
def import_command(ctx, path, index):
    """Restore an export made by ``flask export`` into this empty, migrated store."""
    try:
        counts = dataio.import_store(path, lambda total: tqdm(total=total, desc="importing", unit="行"))
    except dataio.RestoreError as error:
        raise click.ClickException(f"导入失败，库未改动（import failed）：{error}") from error
    click.echo(f"imported {sum(counts.values())} rows into {len(counts)} tables")
    if index:
        ctx.invoke(index_rebuild_command)
    else:
        click.echo("the search index is now stale: run flask index rebuild")
