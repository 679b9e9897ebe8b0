"""``digest store migrate --to postgresql://...``: move a SQLite store onto PostgreSQL."""

from __future__ import annotations

import click

from digest.cli.base import count, main, pass_config
from digest.config import Config, secret
from digest.errors import StoreError
from digest.pipeline import open_store
from digest.store import open_database
from digest.store.connect import PostgresDatabase, is_postgres_url, redact
from digest.store.copy import copy_store

__all__ = ["store_group"]


@main.group("store")
def store_group() -> None:
    """Manage the store itself (moving it to PostgreSQL)."""


@store_group.command("migrate")
@click.option(
    "--to",
    "target",
    required=True,
    help="postgresql://user@host/db (password from store_password_env); must be empty.",
)
@pass_config
def store_migrate(config: Config, target: str) -> None:
    """Copy the configured SQLite store into an empty PostgreSQL database, checked by counts."""
    if not is_postgres_url(target):
        raise StoreError(f"--to {target!r}: expected a postgresql:// URL")
    if config.store_is_url:
        raise StoreError(f"the configured store is already {redact(config.store)}")
    last: dict[str, int] = {}

    def progress(table: str, done: int, total: int) -> None:
        if done == total or done - last.get(table, 0) >= 100_000:
            last[table] = done
            click.echo(f"  {table:<18} {done}/{total}", err=True)

    with open_store(config) as source:
        password = secret(config.store_password_env)
        with open_database(target, password=password) as destination:
            assert isinstance(destination, PostgresDatabase)
            report = copy_store(source, destination, progress)
    click.echo(
        f"copied {count(report.total, 'row')} from {config.store_path} to {redact(target)};"
        " counts match in every table:"
    )
    for table, n in report.counts.items():
        click.echo(f"  {table:<18} {n}")
    click.echo(f"now set  store: {redact(target)}  in the config")
