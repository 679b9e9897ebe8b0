"""``digest rank`` and ``digest edition``: the day's ranked candidates, and the edition."""

from __future__ import annotations

import json
from typing import Any

import click

from digest import pipeline, serialize
from digest.cli.base import count, current_config, date_option, edition_day, main, pass_config
from digest.config import Config, NewsletterOptions
from digest.models import Edition
from digest.publish.render import title_for

__all__ = ["edition_command", "edition_json", "rank_command"]


def _progress(stage: str, done: int, total: int, detail: str) -> None:
    if done == total:
        extra = f" ({detail})" if detail else ""
        click.echo(f"{stage}: {done}/{total}{extra}", err=True)


@main.command("rank")
@date_option
@click.option("--explain", "show_terms", is_flag=True, help="Show each score term and its source.")
@click.option("--limit", type=int, default=30, show_default=True, help="Events to list.")
@pass_config
def rank_command(config: Config, day: Any, show_terms: bool, limit: int) -> None:
    """Rank the day's candidate articles and show the same-event clusters."""
    when = edition_day(config, day)
    with pipeline.open_store(config) as db:
        candidates = pipeline.rank_candidates(config, db, when)
    clusters = candidates.clusters
    click.echo(
        f"{count(len(candidates.ranking.ranked), 'candidate')} in"
        f" {count(len(clusters), 'event')} for {when}"
    )
    for number, cluster in enumerate(clusters[:limit], start=1):
        lead = cluster.lead
        click.echo(
            f"{number:>3}. {cluster.score:+.3f}  {lead.article.title}  [{lead.article.source}]"
        )
        terms = "  ".join(f"{k} {v:.2f}" for k, v in lead.terms.items())
        click.echo(f"       lead {lead.score:+.3f}: {terms}")
        if show_terms:
            for line in lead.terms.explain(config.rank.weights):
                click.echo(f"         {line}")
        for other in cluster.others:
            click.echo(
                f"       also: {other.score:+.3f}  {other.article.title}  [{other.article.source}]"
            )
    if len(clusters) > limit:
        click.echo(f"... and {count(len(clusters) - limit, 'more event')} (--limit)")


def edition_json(edition: Edition, newsletter: NewsletterOptions | None = None) -> dict[str, Any]:
    """The edition as the JSON the CLI prints: stories in order, then headlines. With
    ``newsletter``, the title is the one subscribers see, in the newsletter's language
    (``title_for``); the stored ``Edition.title`` keeps its English date."""
    stories = []
    for story in edition.stories:
        summary = story.summary
        stories.append(
            {
                "title": story.title,
                "url": story.url,
                "source": story.source,
                "section": story.section,
                "published": serialize.to_jsonable(story.published),
                "score": story.score,
                "terms": dict(story.terms),
                "key_points": [p.text for p in summary.key_points],
                # Points an editor rewrote: never extracted, the original kept beside.
                "edited_points": [
                    {"index": i, "text": p.text, "original": p.original, "editor": p.edited_by}
                    for i, p in enumerate(summary.key_points, start=1)
                    if p.edited_by
                ],
                "conclusion": summary.conclusion.text if summary.conclusion else None,
                "also_reported_by": [serialize.to_jsonable(a) for a in story.also_reported],
                "related": [serialize.to_jsonable(r) for r in story.related],
                "update_of": story.update_of,
                "whats_new": list(story.whats_new),
                "article_id": story.article_id,
            }
        )
    return {
        "id": edition.id,
        "date": edition.date.isoformat(),
        "title": title_for(edition, newsletter) if newsletter else edition.title,
        "note": edition.note,
        "sections": [s.name for s in edition.sections],
        "stories": stories,
        "more_news": [serialize.to_jsonable(h) for h in edition.more_news],
        # The reason's line only, as before kinds were stored: the printed JSON keeps its shape.
        "left_out": [
            {"article_id": x.article_id, "title": x.title, "reason": x.reason}
            for x in edition.left_out
        ],
        "desk": [serialize.to_jsonable(entry) for entry in edition.desk],
    }


@main.group("edition", invoke_without_command=True)
@date_option
@click.option("--json", "as_json", is_flag=True, help="Print the edition as JSON.")
@click.option("--rebuild", is_flag=True, help="Build again even if the day's edition is saved.")
@click.option(
    "--force",
    is_flag=True,
    help="With --rebuild: rebuild even an edition that went out (replaces the saved edition;"
    " those sent it are not sent again, the archive shows the rebuilt one when next written).",
)
@click.pass_context
def edition_command(
    ctx: click.Context, day: Any, as_json: bool, rebuild: bool, force: bool
) -> None:
    """Build the day's edition (or load the saved one) and print it.

    The editor's actions on the draft are its subcommands (drop, pin, move, ...).
    """
    if ctx.invoked_subcommand is None:
        if force and not rebuild:
            raise click.UsageError("--force goes with --rebuild")
        _show_edition(current_config(), day, as_json, rebuild, force)


def _show_edition(config: Config, day: Any, as_json: bool, rebuild: bool, force: bool) -> None:
    when = edition_day(config, day)
    with pipeline.open_store(config) as db:
        edition = pipeline.build_edition(
            config,
            db,
            when,
            rebuild=rebuild,
            force=force,
            progress=None if as_json else _progress,
        )
        # Personal editions: each topic set's story order (subscribers without topics get
        # the edition above).
        variants = pipeline.variants_of_day(config, db, edition) if as_json else []
    if as_json:
        data = edition_json(edition, config.newsletter)
        data["variants"] = variants
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    click.echo(title_for(edition, config.newsletter))
    for section in edition.sections:
        click.echo(f"\n== {section.name}")
        for story in section.stories:
            click.echo(f"* {story.title}  [{story.source}]  {story.article_id}")
            for point in story.summary.key_points:
                mark = f"  [edited by {point.edited_by}]" if point.edited_by else ""
                click.echo(f"    - {point.text}{mark}")
            for also in story.also_reported:
                click.echo(f"    also reported by {also.source}: {also.title}")
            for item in story.related:
                click.echo(f"    related: {item.title}")
    if edition.more_news:
        click.echo("\n== More news")
        for headline in edition.more_news:
            click.echo(f"* {headline.title}  [{headline.source}]")
    click.echo(f"\n{left_out_line(edition)} (see --json)")
    for entry in edition.desk:
        if not entry.applied:
            click.echo(f"warning: {entry.editor}'s action {entry.line} {entry.note}", err=True)


def left_out_line(edition: Edition) -> str:
    """``1 article left out, 2 stories past a relaxed cap``: each count with its noun in
    the right number (a story past a relaxed cap is in the edition, not counted left out)."""
    relaxed = sum(x.kind == "cap_relaxed" for x in edition.left_out)
    caps = f", {count(relaxed, 'story', 'stories')} past a relaxed cap" if relaxed else ""
    return f"{count(len(edition.left_out) - relaxed, 'article')} left out{caps}"
