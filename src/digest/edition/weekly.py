"""The weekly recap: the week's top stories, built from the daily editions already sent.

For subscribers who chose ``weekly`` on their preferences page. On ``edition.weekly_day``
the daily job gathers the editions of the seven days up to that day, takes every story
once (an article that led two days counts once, at its best score), best score first,
``edition.stories`` of them (the rest, up to ``edition.more_news``, as headlines), and
lays them into sections as a daily edition is. Nothing is summarised again: the stories
carry the summaries of their day. Their related items are held to the edition's rule
(``related.without_repeats``): Monday's story may name Wednesday's as related, and both
are now on one page.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from digest.edition.related import without_repeats
from digest.edition.settings import EditionSettings
from digest.models import Edition, EditionSection, Headline, Story

__all__ = ["WEEKDAYS", "weekly_id", "weekly_recap"]

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def weekly_id(day: date) -> str:
    """The recap's id (its ledger key and Message-ID input), apart from the day's."""
    return f"{day.isoformat()}-weekly"


def weekly_recap(
    editions: Sequence[Edition],
    day: date,
    settings: EditionSettings,
    *,
    title: str | None = None,
) -> Edition | None:
    """The recap of ``editions`` (the week's dailies, any order), or None when they hold
    no story. ``title``: in the newsletter's language (``publish.render.recap_title``: this
    layer has no catalogs); an English one when None."""
    best: dict[str, Story] = {}
    titles: set[str] = set()
    for edition in sorted(editions, key=lambda e: e.date, reverse=True):
        for story in edition.stories:
            kept = best.get(story.article_id)
            if kept is None and story.title.casefold() in titles:
                continue  # the same story under another id (re-ingested): once
            if kept is None or story.score > kept.score:
                best[story.article_id] = story
                titles.add(story.title.casefold())
    # A labelled advert (edition.sponsored: label) never leads the recap either: last.
    ranked = sorted(best.values(), key=lambda s: (s.sponsored, -s.score, s.article_id))
    if not ranked:
        return None
    options = settings.edition
    stories = ranked[: options.stories]
    rest = ranked[options.stories : options.stories + options.more_news]
    sections: dict[str, list[Story]] = {}
    for story in stories:
        sections.setdefault(story.section, []).append(story)
    recap = Edition(
        id=weekly_id(day),
        date=day,
        title=title or f"{settings.title}: the week to {day:%A, %B} {day.day}, {day:%Y}",
        sections=tuple(EditionSection(name, tuple(group)) for name, group in sections.items()),
        more_news=tuple(Headline(s.article_id, s.title, s.source, s.url, s.section) for s in rest),
    )
    return without_repeats(recap)
