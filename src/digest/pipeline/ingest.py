"""Stages 1 and 2: read every configured source and keep its articles in the store."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from digest.config import Config, SourceOptions
from digest.errors import SourceError, StoreError
from digest.models import Article
from digest.pipeline.sources import SourceAlarm, health_alarms
from digest.progress import Progress
from digest.sources import PoliteClient, SourceResult, read_source
from digest.sources.bounds import describe
from digest.store import ArticleStore, Database
from digest.store.fetching import FetchStore

__all__ = [
    "IngestReport",
    "SourceReport",
    "first_seen",
    "ingest",
    "ingest_source",
    "polite_client",
]

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
    # The source answered 304: nothing changed since the last run.
    not_modified: bool = False
    # Teaser pages asked for: URL -> why the entry kept its teaser, or None (read whole).
    teaser_notes: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class IngestReport:
    sources: tuple[SourceReport, ...]
    # One line per host skipped for failing, and per source failing or silent for long.
    notices: tuple[str, ...] = ()
    # The sources failing for fetch.failing_runs runs, or silent for fetch.silent_days.
    alarms: tuple[SourceAlarm, ...] = ()

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


# The longest a whole ingest may take: a Retry-After is never waited for past it.
INGEST_SECONDS = 30 * 60


def polite_client(
    config: Config, validators: Mapping[str, tuple[str | None, str | None]] | None = None
) -> PoliteClient:
    """The run's fetcher: the ``fetch`` options, the newsletter's URL as the contact, the
    robots.txt cache under the data folder."""
    return PoliteClient(
        config.fetch,
        contact=config.fetch.contact or config.newsletter.base_url,
        validators=dict(validators or {}),
        cache_dir=config.data_path / "robots",
        deadline=time.monotonic() + INGEST_SECONDS,
    )


def ingest(config: Config, db: Database, progress: Progress | None = None) -> IngestReport:
    """Read every configured source and store its articles.

    1. fetch   every source through one polite client (``digest.sources.polite``), up to
               ``fetch.workers`` sources at once, each host within its limits
    2. read    each source with its reader (``digest.sources.read_source``)
    3. date    an article that names no date gets the time it was first seen (``first_seen``)
    4. store   its articles in one transaction (``ArticleStore.add_many``)
    5. record  each source's health, and the validators for the next conditional GET

    A source that fails (unreadable, the store refused it, or anything else its input
    caused) is reported with its reason in one line; what it stored before stays, and the
    other sources go on.
    """
    store = ArticleStore(db)
    fetch_store = FetchStore(db)
    now = datetime.now(UTC)
    client = polite_client(config, fetch_store.validators())
    total = len(config.sources)
    reports: list[SourceReport] = []
    pool = ThreadPoolExecutor(max(1, min(config.fetch.workers, total)))
    try:
        reads = [pool.submit(_read, config, options, client, store) for options in config.sources]
        for done, (options, future) in enumerate(zip(config.sources, reads, strict=True)):
            if progress:
                progress("ingest", done, total, options.name)
            report = _store(config, store, options, future.result(), now)
            reports.append(report)
            _remember(fetch_store, report, now)
    finally:
        # Interrupted: the sources not started are not; those in flight end within their
        # fetch_timeout.
        pool.shutdown(wait=False, cancel_futures=True)
    if progress:
        progress("ingest", total, total, "")
    _keep_validators(fetch_store, client, reports, now)
    alarms = health_alarms(config, fetch_store.health(now), now)
    notices = (*client.skips(), *(a.line for a in alarms))
    for line in notices:
        log.warning("%s", line)
    return IngestReport(tuple(reports), notices, alarms)


def _remember(fetch_store: FetchStore, report: SourceReport, now: datetime) -> None:
    """The source's run in its health, and why its teasers stayed teasers."""
    if report.teaser_notes:
        fetch_store.put_notes(report.teaser_notes, now)
    error = report.reason if report.failed else None
    fetch_store.record(report.name, report.location, now, new=report.new, error=error)


def _keep_validators(
    fetch_store: FetchStore,
    client: PoliteClient,
    reports: Sequence[SourceReport],
    now: datetime,
) -> None:
    """What the run's responses said for the next conditional GET; a failed source's feed
    is asked for in full next time, not answered 304."""
    failed = {r.location for r in reports if r.failed}
    learnt = {u: client.validators[u] for u in client.changed if u not in failed}
    fetch_store.put_validators(learnt, now)


def _read(
    config: Config, options: SourceOptions, client: PoliteClient, store: ArticleStore
) -> SourceResult | Exception:
    """One source read through ``client`` (in a worker thread): its result or its error."""
    try:
        # Feed dates without a zone: the source's own timezone, else the config's.
        return read_source(
            options, config.base_dir, timezone=config.timezone, client=client, stored=store.get
        )
    except Exception as exc:  # handed to _store, which reports it
        return exc


def ingest_source(
    config: Config, store: ArticleStore, options: SourceOptions, now: datetime | None = None
) -> SourceReport:
    """Read one source, date its undated articles (``first_seen``) and store them in one
    transaction: a worker's unit of ingest (``digest.distributed``). Its health, notes and
    validators are kept as ``ingest`` keeps them (per-host limits hold within the worker;
    across workers, ``distributed.host_delay_seconds`` spaces the sources of a host)."""
    now = now or datetime.now(UTC)
    fetch_store = FetchStore(store.db)
    client = polite_client(config, fetch_store.validators())
    report = _store(config, store, options, _read(config, options, client, store), now)
    _remember(fetch_store, report, now)
    _keep_validators(fetch_store, client, [report], now)
    for line in client.skips():
        log.warning("%s", line)
    return report


def _store(
    config: Config,
    store: ArticleStore,
    options: SourceOptions,
    result: SourceResult | Exception,
    now: datetime | None,
) -> SourceReport:
    location = config.resolve(options.location)
    try:
        if isinstance(result, Exception):
            raise result
        articles, undated = first_seen(result.articles, store, now or datetime.now(UTC))
        counts = store.add_many(articles)
    except (SourceError, StoreError) as exc:
        return SourceReport(options.name, location, failed=True, reason=str(exc))
    except Exception as exc:
        # Whatever one source's input did (readers raise only SourceError; this is the
        # wall behind them): that source failed, in one line, and the others go on.
        log.debug("source %s: unexpected error", options.name, exc_info=exc)
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
        not_modified=result.not_modified,
        teaser_notes=result.teaser_notes,
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
