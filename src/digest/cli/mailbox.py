"""``digest bounces``: bounces, complaints and mailto unsubscribes from the mailbox."""

from __future__ import annotations

from pathlib import Path

import click

from digest.cli.base import main, pass_config
from digest.config import Config
from digest.pipeline import open_store
from digest.pipeline.bounces import mail_sources, process_bounces
from digest.signed import secret_key

__all__ = ["bounces_command"]


@main.command("bounces")
@click.option(
    "--maildir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Read this Maildir (default: delivery.bounces.maildir).",
)
@click.option(
    "--imap/--no-imap", default=None, help="Read delivery.bounces.imap (default: when set)."
)
@pass_config
def bounces_command(config: Config, maildir: Path | None, imap: bool | None) -> None:
    """Act on bounces, complaints and unsubscribe mail; move the handled ones aside."""
    key = secret_key(config.server.secret_env)
    sources = mail_sources(config, maildir=None if maildir is None else str(maildir), imap=imap)
    with open_store(config) as db:
        report = process_bounces(config, db, key, sources, strict=True)
    for address in report.suppressed:
        click.echo(f"suppressed: {address}")
    click.echo(report.summary())
