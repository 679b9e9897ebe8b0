"""``digest sources``: each source's health; ``sources import`` and ``sources export`` (OPML)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import click

from digest import pipeline
from digest.cli.base import count, current_config, main, pass_config
from digest.config import Config
from digest.pipeline.sources import export_opml, import_opml, source_statuses

__all__ = ["sources_group"]


def _ago(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "never"
    seconds = (now - when).total_seconds()
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 2 * 86400:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} days ago"


@main.group("sources", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print the sources' health as JSON.")
@click.pass_context
def sources_group(ctx: click.Context, as_json: bool) -> None:
    """List the sources with their health: last success, failures in a row, last error,
    last new item, items per day over the week."""
    if ctx.invoked_subcommand is not None:
        return
    _list(current_config(), as_json)


def _list(config: Config, as_json: bool) -> None:
    now = datetime.now(UTC)
    with pipeline.open_store(config) as db:
        statuses = source_statuses(config, db, now)
    if as_json:
        click.echo(json.dumps([s.as_json() for s in statuses], indent=2, ensure_ascii=False))
        return
    for status in statuses:
        h = status.health
        if h is None:
            click.echo(f"{status.name}: not run yet  {status.location}")
            continue
        state = "ok" if h.consecutive_failures == 0 else f"failing {h.consecutive_failures}x"
        click.echo(
            f"{status.name}: {state}, last success {_ago(h.last_success, now)},"
            f" last new item {_ago(h.last_new_item, now)}, {h.per_day:.1f} items/day"
            f"  {status.location}"
        )
        if h.last_error:
            click.echo(f"  last error: {h.last_error}")
        if status.alarm is not None:
            click.echo(f"  look at it: {status.alarm.line}")
    alarms = sum(s.alarm is not None for s in statuses)
    click.echo(f"{count(len(statuses), 'source')}, {alarms} to look at", err=True)


@sources_group.command("import")
@click.argument("opml", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_config
def import_command(config: Config, opml: Path) -> None:
    """Add the feeds of an OPML file (any feed reader's export; folders become categories)
    to the sources file beside config.yaml (``sources_files``), leaving config.yaml as it is."""
    report = import_opml(config, opml)
    for name in report.added:
        click.echo(f"added: {name}")
    click.echo(
        f"{count(len(report.added), 'feed')} added to {report.file},"
        f" {report.known} already configured",
        err=True,
    )


@sources_group.command("export")
@pass_config
def export_command(config: Config) -> None:
    """Print the configured feeds as OPML 2.0 (for a feed reader)."""
    text, local = export_opml(config)
    click.echo(text, nl=False)
    if local:
        click.echo(f"{count(local, 'local source')} left out (not a feed URL)", err=True)
