"""Stages 1 and 2: read every configured source and keep its articles in the store."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from digest.config import Config, SourceOptions
from digest.errors import SourceError, StoreError
from digest.models import Article
from digest.progress import Progress
from digest.sources import read_source
from digest.sources.bounds import describe
from digest.store import ArticleStore, Database

__all__ = ["IngestReport", "SourceReport", "first_seen", "ingest", "ingest_source"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SourceReport:
    """What ingesting one source did; ``reason`` says why it failed, ``warnings`` what was
    skipped or repaired along the way."""

    name: str
    location: str
    read: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: bool = False
    reason: str | None = None
    warnings: tuple[str, ...] = ()
    # Articles that named no plausible date: each was given the time it was first seen.
    undated: int = 0
    # Text repairs the readers made (entities, mojibake, control characters), by kind.
    repairs: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class IngestReport:
    sources: tuple[SourceReport, ...]

    @property
    def failed(self) -> tuple[SourceReport, ...]:
        return tuple(s for s in self.sources if s.failed)

    @property
    def new(self) -> int:
        return sum(s.new for s in self.sources)

    @property
    def updated(self) -> int:
        return sum(s.updated for s in self.sources)

    @property
    def undated(self) -> int:
        """Articles read that named no date (each dated when first seen)."""
        return sum(s.undated for s in self.sources)

    @property
    def warnings(self) -> tuple[str, ...]:
        """Every source's warnings, in source order."""
        return tuple(w for s in self.sources for w in s.warnings)


def ingest(config: Config, db: Database, progress: Progress | None = None) -> IngestReport:
    """Read every configured source and store its articles.

    1. read    each source with its reader (``digest.sources.read_source``)
    2. date    an article that names no date gets the time it was first seen (``first_seen``)
    3. store   its articles in one transaction (``ArticleStore.add_many``)

    A source that fails (unreadable, the store refused it, or anything else its input
    caused) is reported with its reason in one line; what it stored before stays, and the
    other sources go on.
    """
    store = ArticleStore(db)
    now = datetime.now(UTC)
    reports: list[SourceReport] = []
    total = len(config.sources)
    for done, options in enumerate(config.sources):
        if progress:
            progress("ingest", done, total, options.name)
        reports.append(ingest_source(config, store, options, now))
    if progress:
        progress("ingest", total, total, "")
    return IngestReport(tuple(reports))


def ingest_source(
    config: Config, store: ArticleStore, options: SourceOptions, now: datetime | None = None
) -> SourceReport:
    """Read one source, date its undated articles (``first_seen``) and store them in one
    transaction: the one-process loop's step, and a worker's unit of ingest
    (``digest.distributed``)."""
    location = config.resolve(options.location)
    try:
        # Feed dates without a zone: the source's own timezone, else the config's.
        zoned = replace(options, timezone=options.timezone or config.timezone)
        result = read_source(zoned, config.base_dir)
        articles, undated = first_seen(result.articles, store, now or datetime.now(UTC))
        counts = store.add_many(articles)
    except (SourceError, StoreError) as exc:
        return SourceReport(options.name, location, failed=True, reason=str(exc))
    except Exception as exc:
        # Whatever one source's input did (readers raise only SourceError; this is the
        # wall behind them): that source failed, in one line, and the others go on.
        log.debug("source %s: unexpected error", options.name, exc_info=True)
        reason = f"{location}: {describe(exc)}"
        return SourceReport(options.name, location, failed=True, reason=reason)
    return SourceReport(
        options.name,
        location,
        read=len(result.articles),
        new=counts.new,
        updated=counts.updated,
        unchanged=counts.unchanged,
        warnings=result.warnings,
        undated=undated,
        repairs=result.repairs,
    )


def first_seen(
    articles: Sequence[Article], store: ArticleStore, now: datetime
) -> tuple[tuple[Article, ...], int]:
    """The articles, each undated one given the time it was first seen (the stored one's
    date when it was stored before, else ``now``), and how many were undated."""
    out: list[Article] = []
    undated = 0
    for article in articles:
        if article.published is None:
            undated += 1
            stored = store.get(article.id)
            seen = stored.published if stored is not None and stored.published else now
            article = replace(article, published=seen)
        out.append(article)
    return tuple(out), undated
