"""CLI commands: ``flask accounts create`` and ``flask seed demo|synthetic``."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from marketplace import seeding
from marketplace.auth.service import create_account
from marketplace.errors import APIError
from marketplace.models import Role

accounts_cli = AppGroup("accounts", help="Manage staff accounts.")
seed_cli = AppGroup("seed", help="Load the demo catalog or synthetic data.")


@accounts_cli.command("create")
@click.option("--email", required=True)
@click.option("--password", required=True, help="At least 8 characters.")
@click.option("--role", required=True, type=click.Choice([Role.ADMIN.value, Role.CITY_OFFICE.value]))
@click.option("--name", default=None, help="Display name; defaults to the e-mail.")
@click.option("--city", default=None, help="The city of a city office, e.g. 苏州市.")
def create_account_command(email, password, role, name, city):
    """Create an admin or city-office account."""
    from marketplace.auth.schemas import StaffAccountSchema

    errors = StaffAccountSchema().validate(
        {"email": email, "password": password, "role": role, "name": name or email, "city": city}
    )
    if errors:
        raise click.UsageError(
            "; ".join(f"{field}: {' '.join(map(str, msgs))}" for field, msgs in errors.items())
        )
    try:
        user = create_account(email, password, role, name or email, city)
    except APIError as error:
        raise click.ClickException(error.message) from error
    click.echo(f"created {user.role.value} account {user.email} (id {user.id})")


@seed_cli.command("demo")
def seed_demo_command():
    """Load the demo catalog from seed_data/demo; safe to run again."""
    counts = seeding.load_demo(current_app.config["SEED_DATA_DIR"], progress=True)
    click.echo("demo catalog: " + ", ".join(f"{name} {count}" for name, count in counts.items()))


@seed_cli.command("synthetic")
@click.option("--solutions", "count", type=click.IntRange(1, 5_000_000), required=True)
@click.option("--seed", type=int, default=7, show_default=True)
def seed_synthetic_command(count, seed):
    """Generate COUNT plausible published solutions for scale tests."""
    added = seeding.load_synthetic(count, seed, progress=True)
    click.echo(f"synthetic solutions added: {added}")


@seed_cli.command("if-empty")
@click.pass_context
def seed_if_empty_command(ctx):
    """Load the demo catalog only when the store holds no solutions."""
    if seeding.store_is_empty():
        ctx.invoke(seed_demo_command)
    else:
        click.echo("store already holds data; demo catalog not loaded")
