"""``digest summarize``: key points and a conclusion for an article, or a JSONL batch."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from digest.cli.base import (
    CLI_PRIVATE_HINT,
    EXIT_FAILED,
    EXIT_USAGE,
    allow_private_option,
    count,
    main,
    pass_config,
    progress_bar,
)
from digest.config import Config, with_overrides
from digest.models import Article, Summary
from digest.pipeline.batch import summarize_articles, summarize_jsonl, summary_json
from digest.sources import read_location

__all__ = ["summarize_command"]


@main.command("summarize")
@click.argument("location", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON: points with their sources.")
@click.option(
    "--backend",
    type=click.Choice(["extractive", "generative", "openai"]),
    default=None,
    help="Override summarizer.backend.",
)
@click.option("--model", default=None, help="Override summarizer.model (generative, openai).")
@click.option(
    "--key-points",
    "key_points",
    type=click.IntRange(1, 20),
    default=None,
    help="Exactly N key points (default: summarizer.min/max_key_points).",
)
@click.option(
    "--jsonl",
    "jsonl",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Batch mode: lines of {id, text, title?} to summarise.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Batch mode: where to write {id, key_points, conclusion} lines.",
)
@click.option("--no-cache", is_flag=True, help="Neither read nor write the store's cache.")
@allow_private_option
@pass_config
def summarize_command(
    config: Config,
    location: str | None,
    as_json: bool,
    backend: str | None,
    model: str | None,
    key_points: int | None,
    jsonl: Path | None,
    out: Path | None,
    no_cache: bool,
    allow_private: bool,
) -> None:
    """Summarise the article(s) at PATH_OR_URL, or a JSONL file with --jsonl/--out."""
    overrides: dict[str, Any] = {}
    if backend:
        overrides["summarizer.backend"] = backend
    if model:
        overrides["summarizer.model"] = model
    if key_points:
        overrides["summarizer.min_key_points"] = key_points
        overrides["summarizer.max_key_points"] = key_points
    if overrides:
        config = with_overrides(config, **overrides)
    if (jsonl is None) == (location is None) or (jsonl is None) != (out is None):
        click.echo("error: give PATH_OR_URL, or both --jsonl IN and --out OUT", err=True)
        sys.exit(EXIT_USAGE)
    if jsonl is not None and out is not None:
        with progress_bar("summarize") as progress:
            report = summarize_jsonl(config, jsonl, out, cache=not no_cache, progress=progress)
        for reason in report.skipped:
            click.echo(f"warning: skipped {reason}", err=True)
        click.echo(f"{count(report.written, 'summary', 'summaries')} written to {out}")
        return
    assert location is not None
    result = read_location(location, allow_private=allow_private, private_hint=CLI_PRIVATE_HINT)
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    articles = list(result.articles)
    done = summarize_articles(config, articles, cache=not no_cache)
    found = done.by_id
    if as_json:
        shown = [summary_json(a, found[a.id]) for a in articles if a.id in found]
        if shown:
            click.echo(
                json.dumps(shown[0] if len(shown) == 1 else shown, ensure_ascii=False, indent=2)
            )
    else:
        _echo_summaries(articles, found)
    # Never a silent success: each article without a summary says why, and the status says so.
    for article in articles:
        if article.id not in found:
            reason = done.failures.get(article.id, "could not be summarised")
            click.echo(f"error: {article.title[:80]}: {reason}", err=True)
    if not articles:
        click.echo(f"error: {location}: no article to summarise", err=True)
    if not articles or len(found) < len(articles):
        sys.exit(EXIT_FAILED)


def _echo_summaries(articles: list[Article], found: Mapping[str, Summary]) -> None:
    shown = 0
    for article in articles:
        summary = found.get(article.id)
        if summary is None:
            continue
        if shown:
            click.echo()
        shown += 1
        click.echo(click.style(article.title, bold=True))
        for point in summary.key_points:
            click.echo(f"  • {point.text}")
        if summary.conclusion is not None:
            click.echo(f"  Conclusion: {summary.conclusion.text}")
        if summary.note:
            click.echo(f"  ({summary.note})")
        if summary.fallback_reason:
            click.echo(f"  (extractive fallback: {summary.fallback_reason})", err=True)
