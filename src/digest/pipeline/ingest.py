"""Stages 1 and 2: read every configured source and keep its articles in the store."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from digest.config import Config
from digest.errors import SourceError, StoreError
from digest.progress import Progress
from digest.sources import read_source
from digest.sources.bounds import describe
from digest.store import ArticleStore, Database

__all__ = ["IngestReport", "SourceReport", "ingest"]

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
    def warnings(self) -> tuple[str, ...]:
        """Every source's warnings, in source order."""
        return tuple(w for s in self.sources for w in s.warnings)


def ingest(config: Config, db: Database, progress: Progress | None = None) -> IngestReport:
    """Read every configured source and store its articles.

    1. read    each source with its reader (``digest.sources.read_source``)
    2. store   its articles in one transaction (``ArticleStore.add_many``)

    A source that fails (unreadable, the store refused it, or anything else its input
    caused) is reported with its reason in one line; what it stored before stays, and the
    other sources go on.
    """
    store = ArticleStore(db)
    reports: list[SourceReport] = []
    total = len(config.sources)
    for done, options in enumerate(config.sources):
        if progress:
            progress("ingest", done, total, options.name)
        location = config.resolve(options.location)
        try:
            result = read_source(options, config)
            counts = store.add_many(result.articles)
        except (SourceError, StoreError) as exc:
            reports.append(SourceReport(options.name, location, failed=True, reason=str(exc)))
            continue
        except Exception as exc:
            # Whatever one source's input did (readers raise only SourceError; this is the
            # wall behind them): that source failed, in one line, and the others go on.
            log.debug("source %s: unexpected error", options.name, exc_info=True)
            reason = f"{location}: {describe(exc)}"
            reports.append(SourceReport(options.name, location, failed=True, reason=reason))
            continue
        reports.append(
            SourceReport(
                options.name,
                location,
                read=len(result.articles),
                new=counts.new,
                updated=counts.updated,
                unchanged=counts.unchanged,
                warnings=result.warnings,
            )
        )
    if progress:
        progress("ingest", total, total, "")
    return IngestReport(tuple(reports))
