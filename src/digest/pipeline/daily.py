"""The daily job: ingest -> rank -> summarise -> edition -> render -> send, under a lock.

``run_daily`` is idempotent per edition date: the edition of a day is built once and
saved, and the ledger sends each subscriber that edition once, so a second run (after a
crash, a kill, a relay outage, or by mistake) only finishes what is left. A lock file
(``data_dir/digest.lock``, ``fcntl.flock``) makes a second concurrent run stop at once
with ``LockError``; the kernel drops the lock when a run dies, however it dies.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from digest.config import Config
from digest.deliver import (
    DeliveryReport,
    OutboxTransport,
    SendReply,
    SmtpTransport,
    Transport,
    deliver_edition,
)
from digest.edition.personal import TopicKey
from digest.edition.weekly import WEEKDAYS, weekly_id, weekly_recap
from digest.errors import DigestError, EditionError, LockError
from digest.models import RenderedEdition, Subscriber
from digest.pipeline.archive import update_archive
from digest.pipeline.bounces import mail_sources, process_bounces
from digest.pipeline.build import build_edition
from digest.pipeline.desk import hold_reason
from digest.pipeline.ingest import IngestReport, ingest
from digest.pipeline.options import edition_settings, open_store
from digest.pipeline.personal import PersonalMessages, SubscribersByFrequency, render_variants
from digest.progress import Progress
from digest.publish.messages import MessageFactory
from digest.publish.render import recap_title, render_edition
from digest.signed import secret_key
from digest.store import Database, EditionStore
from digest.store.ledger import DeliveryLedger
from digest.store.subscribers import SubscriberStore
from digest.subscribers import normalize_email

__all__ = [
    "RunReport",
    "job_lock",
    "run_daily",
    "send_rendered",
    "send_test",
    "send_weekly",
    "transport_factory",
]

log = logging.getLogger(__name__)


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
    ingested: bool = False  # False when the day's edition was already built
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

    def summary(self) -> str:
        mode = " (dry run)" if self.dry_run else ""
        # Recipients: everyone this edition is for, including those an earlier run sent it.
        recipients = self.recipients + self.already_sent
        # New articles only when this run ingested (not on a re-run of a built edition).
        new = self.new_articles
        read = f"{new} new article{'s' if new != 1 else ''}, " if self.ingested else ""
        if self.ingested and self.undated_articles:
            read += f"{self.undated_articles} undated (dated when first seen), "
        if self.held is not None:
            stories = f"{self.stories} stor{'y' if self.stories == 1 else 'ies'}"
            return f"edition {self.edition_id}: {read}{stories}, {self.held}; nothing sent"
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
        if not recipients:
            text += "; no active subscribers"
        elif self.outbox and self.sent:
            text += f"; messages in {self.outbox}"
        return text


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


def outbox_folder(config: Config, edition_id: str, *, dry_run: bool) -> Path:
    folder = f"{edition_id}-dry-run" if dry_run else edition_id
    return config.data_path / config.delivery.outbox / folder


def transport_factory(
    config: Config, edition_id: str, *, dry_run: bool = False
) -> tuple[Callable[[], Transport], Path | None]:
    """A maker of transports (one per connection) and the outbox folder, if one is used.

    ``dry_run`` always writes .eml files, whatever the configured transport. The SMTP
    settings are checked here, before any work: a bad one is a ``ConfigError`` now, not
    after the edition is built.
    """
    if dry_run or config.delivery.transport == "outbox":
        folder = outbox_folder(config, edition_id, dry_run=dry_run)
        return (lambda: OutboxTransport(folder)), folder
    smtp = config.delivery.smtp
    if smtp.ca_file is not None:
        smtp = dataclasses.replace(smtp, ca_file=config.resolve(smtp.ca_file))
    SmtpTransport(smtp).close()  # validates security, host and password now
    return (lambda: SmtpTransport(smtp)), None


def send_rendered(
    config: Config,
    db: Database,
    rendered: RenderedEdition,
    key: bytes,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
    variants: Mapping[TopicKey, RenderedEdition] | None = None,
    recipients: Iterable[Subscriber] | None = None,
) -> tuple[DeliveryReport, Path | None]:
    """Stage 8: send a rendered edition to every active subscriber through the ledger.

    A dry run writes the messages to an outbox folder and records nothing.
    """
    # One render per topic set when given (personal editions), else this one for all.
    messages = PersonalMessages(config, variants or {(): rendered}, key)
    connect, folder = transport_factory(config, rendered.edition_id, dry_run=dry_run)
    subscribers = SubscriberStore(db)
    report = deliver_edition(
        rendered.edition_id,
        # Those who chose daily mail, read a page at a time (memory does not grow with
        # the list); one render per topic set (personal editions).
        recipients if recipients is not None else SubscribersByFrequency(subscribers.pages()),
        messages.message,
        connect,
        config.delivery,
        ledger=None if dry_run else DeliveryLedger(db),
        subscriber_store=None if dry_run else subscribers,
        progress=progress,
    )
    return report, folder


def run_daily(
    config: Config,
    day: date,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
    send_only: bool = False,
    now: datetime | None = None,
) -> RunReport:
    """The daily job for ``day``, under the job lock.

    0. bounces    act on the mailbox of bounces and complaints, when one is configured
    1. ingest     read every source into the store (skipped when the day's edition exists:
                  an edition, once built, is what gets sent, however often the job runs)
    2. edition    rank, summarise, find related stories, assemble and save the edition
    3. render     HTML and text, once per distinct topic set of the subscribers
    3b. gate      stop here, nothing sent, while the edition waits for approval
                  (``delivery.require_approval``) or its send time (``delivery.send_at``,
                  compared with ``now``); a dry run passes
    4. send       one message per active subscriber who chose daily mail, through the
                  ledger; on ``edition.weekly_day`` the weekly recap to the others
    5. archive    the edition's page, the archive's index and feed (not on a dry run), so
                  that every message's "View in your browser" link answers

    ``send_only`` (``digest send``): no ingest and no build, the saved edition is sent
    (``EditionError`` when there is none), whatever ``delivery.send_at`` says.
    """
    started = time.monotonic()
    key = secret_key(config.server.secret_env)
    # The delivery settings (SMTP security, host, password) before any work, not after
    # minutes of ingesting and summarising.
    transport_factory(config, day.isoformat(), dry_run=dry_run)
    with job_lock(config), open_store(config) as db:
        _bounces_first(config, db, key, progress)
        if send_only:
            ingested = None
            saved = EditionStore(db).for_day(day)
            if saved is None:
                raise EditionError(f"no edition of {day} to send: `digest run` builds it")
            edition = saved
        else:
            ingested = _ingest_unless_built(config, db, day, progress)
            edition = build_edition(config, db, day, progress=progress)
        if len(edition.stories) < config.edition.min_stories:
            thin = f"fewer than edition.min_stories ({config.edition.min_stories})"
            return _held_report(day, edition.id, len(edition.stories), ingested, thin, started)
        if progress:
            progress("render", 0, 1, "")
        # Personal editions: one render per distinct topic set of the active subscribers.
        daily = SubscribersByFrequency(SubscriberStore(db).pages())
        variants = render_variants(config, db, edition, daily)
        rendered = variants[()]
        if progress:
            progress("render", 1, 1, rendered.subject)
        held = None
        if not dry_run:
            held = hold_reason(config, db, day, rendered, now=now, schedule=not send_only)
        if held is not None:
            return _held_report(day, edition.id, len(edition.stories), ingested, held, started)
        delivery, folder = send_rendered(
            config, db, rendered, key, dry_run=dry_run, progress=progress, variants=variants
        )
        weekly = send_weekly(config, db, day, key, dry_run=dry_run, progress=progress)
        # The recap's page too when one went out: its "View in your browser" link answers.
        pages = (edition.id,) if weekly is None else (edition.id, weekly_id(day))
        archive, archive_warning = (None, None) if dry_run else _archive(config, db, *pages)
    failed_sources = () if ingested is None else ingested.failed
    warnings = () if ingested is None else ingested.warnings
    return RunReport(
        day=day,
        edition_id=edition.id,
        stories=len(edition.stories),
        recipients=delivery.recipients,
        sent=delivery.sent,
        already_sent=delivery.already_sent,
        deferred=delivery.deferred,
        failed=delivery.failed,
        suppressed=delivery.suppressed,
        ambiguous_resent=delivery.ambiguous_resent,
        elapsed=time.monotonic() - started,
        dry_run=dry_run,
        new_articles=0 if ingested is None else ingested.new,
        undated_articles=0 if ingested is None else ingested.undated,
        ingested=ingested is not None,
        outbox=None if folder is None else str(folder),
        failed_sources=tuple(f"{s.name}: {s.reason}" for s in failed_sources),
        source_warnings=warnings if archive_warning is None else (*warnings, archive_warning),
        archive=archive,
        trimmed=rendered.trimmed,
        weekly_sent=0 if weekly is None else weekly.sent,
        weekly_unsent=0 if weekly is None else weekly.failed + weekly.deferred,
    )


def _held_report(
    day: date,
    edition_id: str,
    stories: int,
    ingested: IngestReport | None,
    held: str,
    started: float,
) -> RunReport:
    return RunReport(
        day=day,
        edition_id=edition_id,
        stories=stories,
        recipients=0,
        sent=0,
        already_sent=0,
        deferred=0,
        failed=0,
        suppressed=0,
        ambiguous_resent=0,
        elapsed=time.monotonic() - started,
        new_articles=0 if ingested is None else ingested.new,
        undated_articles=0 if ingested is None else ingested.undated,
        ingested=ingested is not None,
        failed_sources=()
        if ingested is None
        else tuple(f"{s.name}: {s.reason}" for s in ingested.failed),
        source_warnings=() if ingested is None else ingested.warnings,
        held=held,
    )


def _archive(config: Config, db: Database, *edition_ids: str) -> tuple[str | None, str | None]:
    """Stage 5: the archive's index path, or a warning: the messages are out by now, so an
    archive that cannot be written is reported, not a failed run."""
    try:
        return str(update_archive(config, db, *edition_ids).index), None
    except DigestError as exc:
        log.warning("archive: %s", exc)
        return None, f"archive: {exc}"


def send_weekly(
    config: Config,
    db: Database,
    day: date,
    key: bytes,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> DeliveryReport | None:
    """On ``edition.weekly_day``: the recap of the seven daily editions up to ``day`` to
    the subscribers who chose weekly mail (one render per topic set); None on other days,
    or with no weekly subscriber or story."""
    if WEEKDAYS[day.weekday()] != config.edition.weekly_day:
        return None
    weekly = SubscribersByFrequency(SubscriberStore(db).pages(), "weekly")
    if next(iter(weekly), None) is None:
        return None
    editions = EditionStore(db)
    found = [editions.for_day(day - timedelta(days=back)) for back in range(7)]
    title = recap_title(day, config.newsletter)
    recap = weekly_recap(
        [e for e in found if e is not None], day, edition_settings(config), title=title
    )
    if recap is None:
        return None
    variants = render_variants(config, db, recap, weekly)
    report, _ = send_rendered(
        config,
        db,
        variants[()],
        key,
        dry_run=dry_run,
        progress=progress,
        variants=variants,
        recipients=weekly,
    )
    return report


def _bounces_first(config: Config, db: Database, key: bytes, progress: Progress | None) -> None:
    """Stage 0, when a mailbox is configured (``delivery.bounces``): act on bounces,
    complaints and unsubscribe mail before anyone is sent anything."""
    options = config.delivery.bounces
    if not options.maildir and not options.imap.host:
        return
    report = process_bounces(config, db, key, mail_sources(config))
    if progress:
        progress("bounces", 1, 1, report.summary())


def _ingest_unless_built(
    config: Config, db: Database, day: date, progress: Progress | None
) -> IngestReport | None:
    """Stage 1-2, skipped (None) when the day's edition exists: an edition, once built, is
    what gets sent, however often the job runs."""
    if EditionStore(db).for_day(day) is None:
        return ingest(config, db, progress)
    if progress:
        progress("ingest", 1, 1, "skipped: the edition of this day is already built")
    return None


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
    connect, _ = transport_factory(config, f"{rendered.edition_id}-test")
    transport = connect()
    try:
        return transport.send(factory.test_message(address))
    finally:
        transport.close()
