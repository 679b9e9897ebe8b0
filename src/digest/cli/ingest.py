"""``digest ingest``, ``digest read`` and ``digest articles``: sources in, articles out."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from digest import pipeline, serialize
from digest.cli.base import (
    CLI_PRIVATE_HINT,
    EXIT_FAILED,
    allow_private_option,
    count,
    current_config,
    main,
    pass_config,
    progress_bar,
)
from digest.config import Config
from digest.models import Article
from digest.sources import read_location
from digest.store import ArticleStore

__all__ = ["articles_command", "ingest_command", "read_command"]


@main.command("ingest")
@pass_config
def ingest_command(config: Config) -> None:
    """Read every configured source and store its articles (new / updated / unchanged)."""
    with progress_bar("ingest") as progress, pipeline.open_store(config) as db:
        report = pipeline.ingest(config, db, progress)
    for source in report.sources:
        if source.failed:
            click.echo(f"{source.name}: failed: {source.reason}")
            continue
        click.echo(
            f"{source.name}: {source.read} read, {source.new} new, {source.updated} updated,"
            f" {source.unchanged} unchanged, {source.undated} undated (dated when first seen)"
            + _repairs_note(source.repairs)
        )
        for warning in source.warnings:
            click.echo(f"  warning: {warning}", err=True)
    for line in report.notices:
        click.echo(f"warning: {line}", err=True)
    click.echo(f"store: {config.store_path}")
    if report.failed:
        sys.exit(EXIT_FAILED)


@main.command("read")
@click.argument("location")
@click.option("--json", "as_json", is_flag=True, help="Print the articles as JSON.")
@click.option(
    "--kind",
    type=click.Choice(["auto", "folder", "file", "feed", "page", "text"]),
    default="auto",
    show_default=True,
    help="How to read LOCATION.",
)
@allow_private_option
@click.option(
    "--timezone",
    "zone_name",
    default=None,
    metavar="ZONE",
    help="IANA zone of feed dates written without one (default: the config's timezone"
    " when --config names one, else UTC).",
)
def read_command(
    location: str, as_json: bool, kind: Any, allow_private: bool, zone_name: str | None
) -> None:
    """Parse a file, folder, feed or page (path or URL) without storing it."""
    zone = _read_zone(zone_name)
    result = read_location(
        location,
        kind=kind,
        allow_private=allow_private,
        private_hint=CLI_PRIVATE_HINT,
        zone=zone,
    )
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    if result.zoneless:
        click.echo(
            f"{count(result.zoneless, 'date')} without a time zone, read as {zone} time",
            err=True,
        )
    if as_json:
        click.echo(serialize.dumps(list(result.articles), indent=2))
        return
    for article in result.articles:
        _echo_article(article)
    _echo_totals(result.articles, result.repairs)


def _read_zone(name: str | None) -> ZoneInfo:
    """``--timezone``, else the timezone of the config that ``--config`` or
    ``$DIGEST_CONFIG`` names, else UTC."""
    if name is None:
        root = click.get_current_context().find_root().obj or {}
        name = current_config().timezone if root.get("config_path") else "UTC"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(f"unknown time zone {name!r}", param_hint="--timezone") from None


def _repairs_note(repairs: Mapping[str, int]) -> str:
    """ ", 3 text repairs (2 entity, 1 mojibake)", or nothing when there were none."""
    total = sum(repairs.values())
    if not total:
        return ""
    kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(repairs.items()) if n)
    return f", {count(total, 'text repair')} ({kinds})"


def _echo_totals(articles: Sequence[Article], repairs: Mapping[str, int]) -> None:
    undated = sum(1 for a in articles if a.published is None)
    languages = Counter(a.language or "unknown" for a in articles)
    shown = ", ".join(f"{code} {n}" for code, n in languages.most_common())
    click.echo(
        f"{count(len(articles), 'article')}, {undated} undated{_repairs_note(repairs)};"
        f" languages: {shown or 'none'}",
        err=True,
    )


def _echo_article(article: Article) -> None:
    when = article.published.isoformat() if article.published else "undated"
    click.echo(f"{article.title}")
    click.echo(
        f"  {article.source} · {article.category or 'uncategorised'} · {when}"
        f" · {article.language or 'language unknown'}"
    )
    if article.url:
        click.echo(f"  {article.url}")
    click.echo(
        f"  {count(article.word_count, 'word')}, {count(len(article.sections), 'section')},"
        f" {count(len(article.events), 'event')}, {len(article.related)} related"
        + (f", image {article.image.url}" if article.image is not None else "")
    )


@main.command("articles")
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Only articles published on or after this day (YYYY-MM-DD, UTC).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the articles as JSON.")
@pass_config
def articles_command(config: Config, since: datetime | None, as_json: bool) -> None:
    """List stored articles, newest first."""
    with pipeline.open_store(config) as db:
        store = ArticleStore(db)
        if since is None:
            found = store.all()
        else:
            start = since.replace(tzinfo=UTC)
            found = store.between(start, datetime.now(UTC) + timedelta(days=36500))
    if as_json:
        click.echo(serialize.dumps(found, indent=2))
        return
    for article in found:
        when = article.published.strftime("%Y-%m-%d %H:%M") if article.published else "undated"
        click.echo(f"{when}  {article.id}  {article.title}  [{article.source}]")
    click.echo(f"{count(len(found), 'article')} in {config.store_path}", err=True)
