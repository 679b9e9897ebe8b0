"""Small articles and options for the ranking, clustering, related and edition tests."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from digest.config import Config, SourceOptions
from digest.models import Article, Event, KeyPoint, RelatedLink, Section, Summary


def make_article(
    article_id: str,
    title: str,
    lede: str,
    *,
    source: str = "wire",
    published: datetime | None = datetime(2026, 11, 24, 12, tzinfo=UTC),
    category: str | None = "World",
    more: tuple[str, ...] = (),
    events: tuple[Event, ...] = (),
    related: tuple[RelatedLink, ...] = (),
    url: str | None = None,
) -> Article:
    body = "\n".join((title, lede, *more))
    return Article(
        id=article_id,
        source=source,
        title=title,
        content_hash=hashlib.sha1(body.encode()).hexdigest(),
        url=url or f"https://{source}.example.org/{article_id}",
        category=category,
        published=published,
        sections=(Section(None, (lede, *more)),),
        events=events,
        related=related,
    )


def test_summary(article: Article) -> Summary:
    """A summary value for tests of ranking and selection (which never look inside it)."""
    return Summary(
        key_points=(KeyPoint(text=article.paragraphs[0], sources=(0,)),),
        conclusion=None,
        method="test",
        model="none",
    )


def summaries(articles: Any) -> dict[str, Summary]:
    return {a.id: test_summary(a) for a in articles}


def make_config(tmp_path: Any, **edition: Any) -> Config:
    from digest.config import EditionOptions

    return Config(
        base_dir=str(tmp_path),
        sources=(SourceOptions(name="wire", location="x", weight=1.0),),
        topics=("climate, energy and the environment", "science, space and medicine"),
        edition=EditionOptions(**edition),
    )
