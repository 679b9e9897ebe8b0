"""The daily job: one orchestrator, whether its stages run here or on Celery workers.

``run_job`` runs the job's stages in order (its docstring numbers them). A ``Stages``
object says how the stages that grow with the load are executed: ``LocalStages`` runs
them in this process (``run_daily``), ``digest.distributed.dispatch.CeleryStages`` on
workers (``run_distributed``). Everything else (bounces, the gate, the weekly recap, the
archive, the report) is this module's, the same for both.

The job is idempotent per edition date: the edition of a day is built once and saved,
and the ledger sends each subscriber that edition once, so a second run (after a crash,
a kill, a relay outage, or by mistake) only finishes what is left. A lock file
(``data_dir/digest.lock``, ``fcntl.flock``) makes a second concurrent run stop at once
with ``LockError``; the kernel drops the lock when a run dies, however it dies.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Protocol

from digest.config import Config
from digest.deliver import DeliveryReport, SendReply
from digest.edition.personal import TopicKey
from digest.edition.weekly import weekly_id
from digest.errors import DigestError, EditionError, LockError
from digest.models import Edition, RenderedEdition
from digest.pipeline.archive import update_archive
from digest.pipeline.bounces import mail_sources, process_bounces
from digest.pipeline.build import Refreshed, build_edition, refresh_edition, went_out
from digest.pipeline.desk import hold_reason
from digest.pipeline.ingest import IngestReport, ingest
from digest.pipeline.options import open_store
from digest.pipeline.personal import SubscribersByFrequency, render_variants
from digest.pipeline.send import send_rendered, send_weekly, transports
from digest.progress import Progress
from digest.publish.messages import MessageFactory
from digest.publish.render import render_edition
from digest.signed import secret_key
from digest.store import Database, EditionStore
from digest.store.subscribers import SubscriberStore
from digest.subscribers import normalize_email

# send_rendered and send_weekly live in ``digest.pipeline.send``; named here too, where
# callers have always imported them from.
__all__ = [
    "LocalStages",
    "RunReport",
    "Stages",
    "Variants",
    "job_lock",
    "run_daily",
    "run_job",
    "send_rendered",
    "send_test",
    "send_weekly",
]

log = logging.getLogger(__name__)

# The renders of one edition by topic set; ``()``, the default edition, always among them.
Variants = Mapping[TopicKey, RenderedEdition]


@dataclass(frozen=True, slots=True)
class RunReport:
    day: date
    edition_id: str
    stories: int
    recipients: int  # messages this run set out to send
    sent: int
    already_sent: int  # by an earlier run of the same edition
    deferred: int
    failed: int
    suppressed: int
    ambiguous_resent: int
    elapsed: float
    dry_run: bool = False
    new_articles: int = 0
    undated_articles: int = 0  # of those read, how many named no date (dated when first seen)
    ingested: bool = False  # False when the day's edition had gone out already
    # The saved edition (built by a preview, an earlier run) was built again: what this
    # run read changed it. An approved one waits for approval again (``held``).
    rebuilt: bool = False
    outbox: str | None = None  # where the .eml files went (outbox transport, --dry-run)
    # "name: reason" for each source that failed to ingest, and each source's warnings:
    # the edition is still built from the others, but the run reports them (exit status 1).
    failed_sources: tuple[str, ...] = ()
    source_warnings: tuple[str, ...] = ()
    archive: str | None = None  # the archive's index, written after the send
    # Why nothing was sent (approval, send time): the edition is built and rendered.
    held: str | None = None
    # What the render left out to fit the HTML size limit (``RenderedEdition.trimmed``).
    trimmed: tuple[str, ...] = ()
    # The weekly recap, on edition.weekly_day: sent, and failed or deferred.
    weekly_sent: int = 0
    weekly_unsent: int = 0
    # Sources failing for fetch.failing_runs runs or silent for fetch.silent_days, short.
    source_alarms: tuple[str, ...] = ()

    def _alarms(self) -> str:
        if not self.source_alarms:
            return ""
        return f"; sources to look at: {', '.join(self.source_alarms)}"

    def summary(self) -> str:
        mode = " (dry run)" if self.dry_run else ""
        # Recipients: everyone this edition is for, including those an earlier run sent it.
        recipients = self.recipients + self.already_sent
        # New articles only when this run ingested (not on a re-run of a built edition).
        new = self.new_articles
        read = f"{new} new article{'s' if new != 1 else ''}, " if self.ingested else ""
        if self.ingested and self.undated_articles:
            read += f"{self.undated_articles} undated (dated when first seen), "
        if self.rebuilt:
            read += "edition rebuilt (what was read changed it), "
        if self.held is not None:
            stories = f"{self.stories} stor{'y' if self.stories == 1 else 'ies'}"
            return (
                f"edition {self.edition_id}: {read}{stories}, {self.held}; nothing sent"
                + self._alarms()
            )
        text = (
            f"edition {self.edition_id}{mode}: {read}{self.stories}"
            f" stor{'y' if self.stories == 1 else 'ies'}, {recipients}"
            f" recipient{'' if recipients == 1 else 's'}, {self.sent} sent,"
            f" {self.deferred} deferred, {self.failed} failed"
        )
        if self.already_sent:
            text += f", {self.already_sent} already sent"
        if self.suppressed:
            text += f", {self.suppressed} suppressed"
        if self.ambiguous_resent:
            text += f", {self.ambiguous_resent} ambiguous resent"
        if self.failed_sources:
            n = len(self.failed_sources)
            text += f", {n} source{'s' if n != 1 else ''} failed"
        if self.weekly_sent or self.weekly_unsent:
            text += f", weekly recap {self.weekly_sent} sent, {self.weekly_unsent} not"
        text += f" in {self.elapsed:.1f}s"
        text += self._alarms()
        if not recipients:
            text += "; no active subscribers"
        elif self.outbox and self.sent:
            text += f"; messages in {self.outbox}"
        return text


class Stages(Protocol):
    """How the stages that grow with the load are executed: here, or on workers."""

    def ingest(self, db: Database) -> IngestReport:
        """Read every configured source into the store."""
        ...

    def summarize(self, db: Database, day: date) -> None:
        """Fill the store's summary cache for the window of ``day`` before the build
        (nothing to do where the build summarises for itself)."""
        ...

    def render(self, db: Database, edition: Edition) -> Variants:
        """The renders the job gates on and sends."""
        ...

    def send(
        self, db: Database, day: date, variants: Variants
    ) -> tuple[DeliveryReport, Path | None]:
        """The edition of ``day`` to its daily subscribers through the ledger: what was
        sent, and the outbox folder when the messages went there."""
        ...


class LocalStages:
    """Every stage in this process (``run_daily``); a dry run writes .eml files."""

    def __init__(
        self, config: Config, *, dry_run: bool = False, progress: Progress | None = None
    ) -> None:
        self.config = config
        self.dry_run = dry_run
        self.progress = progress

    def ingest(self, db: Database) -> IngestReport:
        return ingest(self.config, db, self.progress)

    def summarize(self, db: Database, day: date) -> None:
        """Nothing: ``build_edition`` summarises here, through the store's cache."""

    def render(self, db: Database, edition: Edition) -> Variants:
        # Personal editions: one render per distinct topic set of the daily subscribers.
        daily = SubscribersByFrequency(SubscriberStore(db).pages())
        return render_variants(self.config, db, edition, daily)

    def send(
        self, db: Database, day: date, variants: Variants
    ) -> tuple[DeliveryReport, Path | None]:
        key = secret_key(self.config.server.secret_env)
        return send_rendered(
            self.config,
            db,
            variants[()],
            key,
            dry_run=self.dry_run,
            progress=self.progress,
            variants=variants,
        )


@dataclass(frozen=True, slots=True)
class _Sent:
    """What the sending stages did; nothing, for a run that held its edition back."""

    delivery: DeliveryReport
    outbox: Path | None = None
    weekly: DeliveryReport | None = None
    archive: str | None = None
    warnings: tuple[str, ...] = ()
    trimmed: tuple[str, ...] = ()


def run_daily(
    config: Config,
    day: date,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
    send_only: bool = False,
    now: datetime | None = None,
) -> RunReport:
    """The daily job for ``day`` in this process (``run_job`` with ``LocalStages``)."""
    stages = LocalStages(config, dry_run=dry_run, progress=progress)
    return run_job(
        config, day, stages, dry_run=dry_run, progress=progress, send_only=send_only, now=now
    )


def run_job(
    config: Config,
    day: date,
    stages: Stages,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
    send_only: bool = False,
    now: datetime | None = None,
) -> RunReport:
    """The daily job for ``day``, under the job lock; ``stages`` run the growing stages.

    0. bounces    act on the mailbox of bounces and complaints, when one is configured
    1. ingest     ``stages.ingest``: every source into the store (skipped when the day's
                  edition went out: once anyone has it, it is what gets sent, however
                  often the job runs)
    2. summarise  ``stages.summarize``: the window's summaries into the store's cache
    3. edition    rank, summarise, find related stories, assemble and save the edition;
                  a saved one that nobody has yet (a preview's) is built again when new
                  articles were read, and replaced when its mail changes (the editor's
                  actions replayed; an approved one then waits for approval again)
    4. render     ``stages.render``: HTML and text, once per distinct topic set
    5. gate       stop here, nothing sent, with fewer than ``edition.min_stories``, or
                  while the edition waits for approval (``delivery.require_approval``)
                  or its send time (``delivery.send_at``, compared with ``now``); a dry
                  run passes the last two
    6. send       ``stages.send``: one message per active subscriber who chose daily
                  mail, through the ledger
    7. weekly     on ``edition.weekly_day``, the weekly recap to the others, from here
    8. archive    the edition's page, the archive's index and feed (not on a dry run), so
                  that every message's "View in your browser" link answers
    9. report     ``RunReport``, made from the parts above

    ``send_only`` (``digest send``): no ingest and no build, the saved edition is sent
    (``EditionError`` when there is none), whatever ``delivery.send_at`` says.
    """
    started = time.monotonic()
    key = secret_key(config.server.secret_env)
    # The delivery settings (SMTP security, host, password) before any work, not after
    # minutes of ingesting and summarising.
    transports(config, day.isoformat(), dry_run=dry_run)
    with job_lock(config), open_store(config) as db:
        _bounces_first(config, db, key, progress)
        ingested, refreshed = _edition(config, db, day, stages, send_only, progress)
        edition, rebuilt = refreshed.edition, refreshed.rebuilt
        if len(edition.stories) < config.edition.min_stories:
            thin = f"fewer than edition.min_stories ({config.edition.min_stories})"
            return _report(
                day, edition, started, ingested, dry_run=dry_run, held=thin, rebuilt=rebuilt
            )
        variants = _render(stages, db, edition, progress)
        held = None
        if not dry_run:
            held = hold_reason(config, db, day, variants[()], now=now, schedule=not send_only)
        if held is not None:
            return _report(
                day, edition, started, ingested, dry_run=dry_run, held=held, rebuilt=rebuilt
            )
        sent = _send(config, db, day, edition, key, stages, variants, dry_run, progress)
    return _report(day, edition, started, ingested, dry_run=dry_run, sent=sent, rebuilt=rebuilt)


def _edition(
    config: Config,
    db: Database,
    day: date,
    stages: Stages,
    send_only: bool,
    progress: Progress | None,
) -> tuple[IngestReport | None, Refreshed]:
    """Stages 1-3: what ingesting read (None when it was skipped) and the edition."""
    if not send_only:
        ingested = _ingest_unless_sent(db, day, stages, progress)
        read_more = ingested is not None and ingested.new + ingested.updated > 0
        refreshed = refresh_edition(config, db, day, read_more=read_more, progress=progress)
        return ingested, refreshed
    saved = EditionStore(db).for_day(day)
    if saved is None:
        raise EditionError(f"no edition of {day} to send: `digest run` builds it")
    return None, Refreshed(saved, rebuilt=False)


def _ingest_unless_sent(
    db: Database, day: date, stages: Stages, progress: Progress | None
) -> IngestReport | None:
    """Stages 1-2, skipped (None) when the day's edition went out: once anyone has it, it
    is what gets sent, however often the job runs. A built edition nobody has (a
    preview's) does not stop it: what arrived since may change that edition."""
    saved = EditionStore(db).for_day(day)
    if saved is not None and went_out(db, saved):
        if progress:
            progress("ingest", 1, 1, "skipped: the edition of this day went out already")
        return None
    ingested = stages.ingest(db)
    stages.summarize(db, day)
    return ingested


def _render(stages: Stages, db: Database, edition: Edition, progress: Progress | None) -> Variants:
    """Stage 4, with its progress."""
    if progress:
        progress("render", 0, 1, "")
    variants = stages.render(db, edition)
    if progress:
        progress("render", 1, 1, variants[()].subject)
    return variants


def _send(
    config: Config,
    db: Database,
    day: date,
    edition: Edition,
    key: bytes,
    stages: Stages,
    variants: Variants,
    dry_run: bool,
    progress: Progress | None,
) -> _Sent:
    """Stages 6-8: the day's edition, the weekly recap, the archive's pages."""
    delivery, outbox = stages.send(db, day, variants)
    weekly = send_weekly(config, db, day, key, dry_run=dry_run, progress=progress)
    # The recap's page too when one went out: its "View in your browser" link answers.
    pages = (edition.id,) if weekly is None else (edition.id, weekly_id(day))
    archive, warnings = (None, ()) if dry_run else _archive(config, db, *pages)
    return _Sent(delivery, outbox, weekly, archive, warnings, variants[()].trimmed)


def _report(
    day: date,
    edition: Edition,
    started: float,
    ingested: IngestReport | None,
    *,
    dry_run: bool,
    held: str | None = None,
    sent: _Sent | None = None,
    rebuilt: bool = False,
) -> RunReport:
    """Stage 9: the one place a ``RunReport`` is made, from the parts of the run."""
    sent = sent or _Sent(DeliveryReport(edition.id))
    read = ingested or IngestReport(())
    weekly = sent.weekly or DeliveryReport(edition.id)
    return RunReport(
        day=day,
        edition_id=edition.id,
        stories=len(edition.stories),
        recipients=sent.delivery.recipients,
        sent=sent.delivery.sent,
        already_sent=sent.delivery.already_sent,
        deferred=sent.delivery.deferred,
        failed=sent.delivery.failed,
        suppressed=sent.delivery.suppressed,
        ambiguous_resent=sent.delivery.ambiguous_resent,
        elapsed=time.monotonic() - started,
        dry_run=dry_run,
        new_articles=read.new,
        undated_articles=read.undated,
        ingested=ingested is not None,
        rebuilt=rebuilt,
        outbox=None if sent.outbox is None else str(sent.outbox),
        failed_sources=tuple(f"{s.name}: {s.reason}" for s in read.failed),
        source_warnings=(*read.warnings, *read.notices, *sent.warnings),
        source_alarms=tuple(a.short for a in read.alarms),
        archive=sent.archive,
        held=held,
        trimmed=sent.trimmed,
        weekly_sent=weekly.sent,
        weekly_unsent=weekly.failed + weekly.deferred,
    )


def _archive(config: Config, db: Database, *edition_ids: str) -> tuple[str | None, tuple[str, ...]]:
    """Stage 8: the archive's index path, or a warning: the messages are out by now, so an
    archive that cannot be written is reported, not a failed run."""
    try:
        return str(update_archive(config, db, *edition_ids).index), ()
    except DigestError as exc:
        log.warning("archive: %s", exc)
        return None, (f"archive: {exc}",)


@contextlib.contextmanager
def job_lock(config: Config) -> Iterator[Path]:
    """Hold ``data_dir/digest.lock`` for the duration; ``LockError`` if another run has it."""
    path = config.data_path / "digest.lock"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115  (held for the block)
    except OSError as exc:
        raise LockError(f"{path}: cannot open the lock file ({exc.strerror})") from exc
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise LockError(
                f"another digest run (pid {holder}) holds {path}; it must finish first"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        try:
            yield path
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


def _bounces_first(config: Config, db: Database, key: bytes, progress: Progress | None) -> None:
    """Stage 0, when a mailbox is configured (``delivery.bounces``): act on bounces,
    complaints and unsubscribe mail before anyone is sent anything."""
    options = config.delivery.bounces
    if not options.maildir and not options.imap.host:
        return
    report = process_bounces(config, db, key, mail_sources(config))
    if progress:
        progress("bounces", 1, 1, report.summary())


def send_test(config: Config, day: date, email: str) -> SendReply:
    """``digest send-test``: the edition of ``day`` (built now if needed) to one address,
    ``[TEST]`` in the subject, nothing recorded in the ledger.

    The build runs under the job lock (``LockError`` while a run holds it): a run may be
    building or changing the same day's edition, and two builds must not race.
    """
    key = secret_key(config.server.secret_env)
    address = normalize_email(email)
    with job_lock(config), open_store(config) as db:
        edition = build_edition(config, db, day)
    rendered = render_edition(
        edition, config.newsletter, base_dir=config.base_dir, timezone=config.tz
    )
    factory = MessageFactory(
        rendered, config.newsletter, key, dkim=config.delivery.dkim, base_dir=config.base_dir
    )
    connect, _ = transports(config, f"{rendered.edition_id}-test")
    transport = connect()
    try:
        return transport.send(factory.test_message(address))
    finally:
        transport.close()
