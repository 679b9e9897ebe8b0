"""Which day a command means without ``--date``: today in ``timezone``, or, when the store
holds no article of today's window (``edition.window_days`` up to the end of today), the
newest day that has articles, said so (a store filled from older sources, the demo's)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from digest.config import Config
from digest.edition.rank import edition_end
from digest.store import ArticleStore, Database

__all__ = ["DayChoice", "default_day", "newest_article_day"]


@dataclass(frozen=True, slots=True)
class DayChoice:
    day: date
    note: str | None = None  # why it is not today, when it is not


def newest_article_day(config: Config, db: Database, today: date) -> date | None:
    """The day (in ``timezone``) of the newest stored article up to the end of ``today``."""
    newest = ArticleStore(db).newest_before(edition_end(today, config.tz))
    return None if newest is None else newest.astimezone(config.tz).date()


def default_day(config: Config, db: Database, today: date) -> DayChoice:
    """``today``, unless its window has no article and an earlier day has some."""
    newest = newest_article_day(config, db, today)
    if newest is None or newest > today - timedelta(days=config.edition.window_days):
        return DayChoice(today)
    return DayChoice(
        newest,
        f"no articles in the {config.edition.window_days} days up to today ({today});"
        f" using {newest}, the newest day with stored articles (--date picks another)",
    )
