"""Stored articles: de-duplicated by id, canonical URL and content hash."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Literal

from digest import serialize
from digest.models import Article
from digest.store import sql
from digest.store.db import Database

__all__ = ["AddOutcome", "ArticleStore", "IngestCounts"]

# What ``ArticleStore.add_many`` did with one article.
AddOutcome = Literal["new", "updated", "unchanged"]


@dataclass(frozen=True, slots=True)
class IngestCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0


def _utc(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def _keeps_stored(stored: Article | None, incoming: Article) -> bool:
    """Whether a changed ``incoming`` copy must not replace ``stored``: it has no text at
    all, or it is shorter and came through another source (a feed's teaser of a story a
    page source stored whole; with both configured, each run would swap the two). The
    article's own source may still shorten it: that is a correction."""
    if stored is None or stored.word_count == 0:
        return False
    if incoming.word_count == 0:
        return True
    return incoming.origin != stored.origin and incoming.word_count < stored.word_count


class ArticleStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add_many(self, articles: Iterable[Article], *, now: datetime | None = None) -> IngestCounts:
        """Store a source's articles in one transaction: all of them, or none.

        An article already stored under its id, canonical URL or content hash is
        ``unchanged`` when its content hash is the same and ``updated`` otherwise, unless
        the new text would lose the stored one (``_keeps_stored``): then it is unchanged.
        """
        stamp = _utc(now or datetime.now(UTC))
        with self.db.transaction():
            outcomes = Counter(self._add(article, stamp) for article in articles)
        return IngestCounts(
            new=outcomes["new"], updated=outcomes["updated"], unchanged=outcomes["unchanged"]
        )

    def _add(self, article: Article, stamp: str | None) -> AddOutcome:
        row = self._params(article, stamp)
        existing = self.db.execute(sql.ARTICLE_BY_KEY, row).fetchone()
        if existing is None:
            self.db.execute(sql.INSERT_ARTICLE, row)
            return "new"
        if existing["content_hash"] == article.content_hash or _keeps_stored(
            self.get(existing["id"]), article
        ):
            return "unchanged"
        # The stored id stays (editions refer to it), and the body says it too.
        kept = replace(article, id=existing["id"])
        self.db.execute(sql.UPDATE_ARTICLE, self._params(kept, stamp))
        return "updated"

    def get(self, article_id: str) -> Article | None:
        body = self.db.scalar(sql.ARTICLE_BODY, {"id": article_id})
        return None if body is None else serialize.loads(Article, body)

    def between(self, since: datetime, until: datetime) -> list[Article]:
        """Articles published (or, without a date, ingested) in ``[since, until)``, newest first."""
        rows = self.db.query(sql.ARTICLES_SINCE, {"since": _utc(since), "until": _utc(until)})
        return [serialize.loads(Article, r["body"]) for r in rows]

    def all(self) -> list[Article]:
        return [serialize.loads(Article, r["body"]) for r in self.db.query(sql.ALL_ARTICLES)]

    def count(self) -> int:
        return int(self.db.scalar(sql.COUNT_ARTICLES))

    def newest_before(self, until: datetime) -> datetime | None:
        """When the newest article before ``until`` was published (or ingested), if any."""
        value = self.db.scalar(sql.NEWEST_ARTICLE_BEFORE, {"until": _utc(until)})
        return None if value is None else datetime.fromisoformat(value)

    @staticmethod
    def _params(article: Article, stamp: str | None) -> dict[str, object]:
        return {
            "id": article.id,
            "source": article.source,
            "url": article.url,
            "canonical_url": article.canonical_url,
            "content_hash": article.content_hash,
            "title": article.title,
            "category": article.category,
            "published": _utc(article.published),
            "ingested_at": stamp,
            "body": serialize.dumps(article),
        }
