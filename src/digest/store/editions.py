"""Saved editions: the whole ``Edition`` as JSON, and which articles it sent in which role.

A re-run for a day loads the saved edition instead of building another one; later
editions read which articles were already sent (novelty).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

from digest import serialize
from digest.models import Edition
from digest.store import sql
from digest.store.db import Database

__all__ = ["EditionArticle", "EditionStore", "Role"]

Role = Literal["story", "also", "more"]


@dataclass(frozen=True, slots=True)
class EditionArticle:
    """One article an edition sent: as a story, under also-reported-by, or as a headline."""

    edition_id: str
    day: date
    article_id: str
    role: Role
    position: int


class EditionStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def for_day(self, day: date) -> Edition | None:
        row = self.db.execute(sql.EDITION_BY_DAY, {"day": day.isoformat()}).fetchone()
        return None if row is None else serialize.loads(Edition, row["body"])

    def save(self, edition: Edition) -> None:
        """Store ``edition`` (replacing any edition of the same day) in one transaction."""
        created = edition.created or datetime.now(UTC)
        with self.db.transaction():
            self.db.execute(sql.DELETE_EDITION, {"id": edition.id, "day": edition.date.isoformat()})
            self.db.execute(
                sql.INSERT_EDITION,
                {
                    "id": edition.id,
                    "day": edition.date.isoformat(),
                    "body": serialize.dumps(edition),
                    "created_at": created.astimezone(UTC).isoformat(),
                },
            )
            rows = [
                {"edition_id": edition.id, "article_id": aid, "role": role, "position": pos}
                for pos, (aid, role) in enumerate(_roles(edition))
            ]
            self.db.executemany(sql.INSERT_EDITION_ARTICLE, rows)

    def recent_articles(self, before: date, editions: int) -> list[EditionArticle]:
        """What the last ``editions`` editions before ``before`` sent, newest first."""
        if editions <= 0:
            return []
        rows = self.db.query(
            sql.ARTICLES_OF_RECENT_EDITIONS, {"day": before.isoformat(), "limit": editions}
        )
        return [_edition_article(r) for r in rows]

    def sent_articles(self, since: date, before: date) -> list[EditionArticle]:
        """What the editions from ``since`` to before ``before`` sent, of those the ledger
        says reached a subscriber; newest edition first."""
        rows = self.db.query(
            sql.ARTICLES_OF_SENT_EDITIONS, {"since": since.isoformat(), "day": before.isoformat()}
        )
        return [_edition_article(r) for r in rows]

    def days(self) -> list[date]:
        return [date.fromisoformat(r["day"]) for r in self.db.query(sql.EDITION_DAYS)]


def _edition_article(row: Any) -> EditionArticle:
    return EditionArticle(
        edition_id=row["edition_id"],
        day=date.fromisoformat(row["day"]),
        article_id=row["article_id"],
        role=row["role"],
        position=int(row["position"]),
    )


def _roles(edition: Edition) -> Iterable[tuple[str, Role]]:
    """Each article the edition sent, once, in the first role it has (in edition order)."""
    seen: set[str] = set()
    for article_id, role in _all_roles(edition):
        if article_id not in seen:
            seen.add(article_id)
            yield article_id, role


def _all_roles(edition: Edition) -> Iterator[tuple[str, Role]]:
    for story in edition.stories:
        yield story.article_id, "story"
        for also in story.also_reported:
            yield also.article_id, "also"
    for headline in edition.more_news:
        yield headline.article_id, "more"
