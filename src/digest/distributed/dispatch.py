"""``digest run --distributed``: the daily job with its growing stages on Celery workers.

1. ingest     one ``fetch_source`` task per source (workers keep per-host politeness)
2. summarise  the window's candidate articles in batches of ``distributed.summarize_batch``
              (``summarize_articles`` tasks fill the store's summary and vector caches)
3. edition    rank, select and assemble here, reading the summaries the workers stored
4. render     once here (each worker renders the saved edition once for itself), then the
              same gate as the one-process job: nothing is sent while the edition waits
              for approval or its send time
5. send       queue a ledger row per active subscriber who chose daily mail (weekly ones
              get only the recap, below), cut the unfinished rows into
              batches of ``distributed.send_batch``, send one ``send_batches`` task per
              open batch, and wait, printing progress from the ledger. When every task
              has answered and batches are still open (a worker died and its task was
              lost), tasks are sent again for them. The ledger's counts are the result.
              Each worker renders the personal edition of each topic set it meets once
              (``digest.pipeline.personal``), as the one-process job does.
6. weekly     on ``edition.weekly_day``, the weekly recap to the weekly subscribers, sent
              by this process (``digest.pipeline.daily.send_weekly``), not the workers
7. archive    the day's page, and the recap's when one went out

The store must be PostgreSQL: the batches are claimed with ``FOR UPDATE SKIP LOCKED``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_time
from typing import Any

from digest.config import Config
from digest.distributed.app import FETCH_TASK, SEND_TASK, SUMMARIZE_TASK, make_app
from digest.edition.weekly import weekly_id
from digest.errors import ConfigError, DigestError
from digest.pipeline.archive import update_archive
from digest.pipeline.build import build_edition
from digest.pipeline.daily import RunReport, job_lock, send_weekly, transport_factory
from digest.pipeline.desk import hold_reason
from digest.pipeline.options import open_store
from digest.progress import Progress
from digest.publish.render import render_edition
from digest.signed import secret_key
from digest.store import ArticleStore, EditionStore
from digest.store.batches import SendBatches
from digest.store.ledger import DeliveryLedger
from digest.store.sql import SUM_AMBIGUOUS

__all__ = ["DistributedError", "SendOutcome", "run_distributed", "send_distributed", "wait_for"]

log = logging.getLogger(__name__)

TASK_TIMEOUT_S = 6 * 3600.0  # a stage that has not finished in this long is stuck
STALL_SECONDS = 15.0  # without ledger progress for this long, spare send tasks go out
MAX_TASKS_AT_ONCE = 256


class DistributedError(DigestError):
    """A distributed stage failed (a task raised, or no worker answered in time)."""


def wait_for(
    results: Sequence[Any],
    *,
    poll: float,
    progress: Callable[[int], None] | None = None,
    timeout: float = TASK_TIMEOUT_S,
) -> list[Any]:
    """The values of Celery results once all are ready; a failed task raises."""
    deadline = time.monotonic() + timeout
    while True:
        done = sum(1 for r in results if r.ready())
        if progress:
            progress(done)
        if done == len(results):
            break
        if time.monotonic() > deadline:
            raise DistributedError(
                f"{len(results) - done} of {len(results)} tasks unfinished after {timeout:.0f} s:"
                " are workers running (digest worker) on this broker?"
            )
        time.sleep(poll)
    values = []
    for result in results:
        try:
            values.append(result.get(propagate=True, disable_sync_subtasks=False))
        except Exception as exc:  # Celery re-raises the task's own error, whatever it was
            raise DistributedError(f"a task failed on a worker: {exc}") from exc
    return values


def run_distributed(config: Config, day: date, *, progress: Progress | None = None) -> RunReport:
    """The daily job for ``day``, its growing stages run by Celery workers."""
    if not config.store_is_url:
        raise ConfigError(
            "run --distributed needs a PostgreSQL store (store: postgresql://...):"
            " workers on several hosts share it"
        )
    started = time.monotonic()
    secret_key(config.server.secret_env)  # a missing secret fails now, not in every worker
    transport_factory(config, day.isoformat())
    app = make_app(config)
    poll = config.distributed.poll_seconds
    with job_lock(config), open_store(config) as db:
        new_articles, failed_sources, warnings, ingested = _ingest(
            app, config, db, day, poll, progress
        )
        _summarize(app, config, db, day, poll, progress)
        edition = build_edition(config, db, day, progress=progress)
        rendered = render_edition(
            edition, config.newsletter, base_dir=config.base_dir, timezone=config.tz
        )
        if progress:
            progress("render", 1, 1, rendered.subject)
        # The same gate as the one-process job: approval and send time.
        held = hold_reason(config, db, day, rendered, now=None, schedule=True)
        counts: dict[str, int] = {}
        ambiguous = already = 0
        archive = None
        weekly = None
        if held is None:
            sent = send_distributed(config, day, app=app, progress=progress)
            counts, ambiguous, already = sent.counts, sent.ambiguous, sent.already_sent
            # On edition.weekly_day, the recap to the weekly subscribers, sent from here
            # (one process, through the same ledger) as the one-process job sends it.
            weekly = send_weekly(
                config, db, day, secret_key(config.server.secret_env), progress=progress
            )
            pages = (edition.id,) if weekly is None else (edition.id, weekly_id(day))
            try:
                archive = str(update_archive(config, db, *pages).index)
            except DigestError as exc:  # the messages are out: reported, not a failure
                log.warning("archive: %s", exc)
                warnings = (*warnings, f"archive: {exc}")
    return RunReport(
        day=day,
        edition_id=edition.id,
        stories=len(edition.stories),
        recipients=sum(counts.values()) - already,
        sent=counts.get("sent", 0) - already,
        already_sent=already,
        deferred=counts.get("deferred", 0),
        failed=counts.get("failed", 0),
        suppressed=0,
        ambiguous_resent=ambiguous,
        elapsed=time.monotonic() - started,
        new_articles=new_articles,
        ingested=ingested,
        failed_sources=failed_sources,
        source_warnings=warnings,
        archive=archive,
        held=held,
        weekly_sent=0 if weekly is None else weekly.sent,
        weekly_unsent=0 if weekly is None else weekly.failed + weekly.deferred,
    )


def _ingest(
    app: Any, config: Config, db: Any, day: date, poll: float, progress: Progress | None
) -> tuple[int, tuple[str, ...], tuple[str, ...], bool]:
    if EditionStore(db).for_day(day) is not None or not config.sources:
        if progress:
            progress("ingest", 1, 1, "skipped: the edition of this day is already built")
        return 0, (), (), False
    names = [s.name for s in config.sources]
    results = [app.send_task(FETCH_TASK, args=[name]) for name in names]
    reports = wait_for(
        results,
        poll=poll,
        progress=(lambda n: progress("ingest", n, len(names), "")) if progress else None,
    )
    failed = tuple(f"{r['name']}: {r['reason']}" for r in reports if r["failed"])
    warnings = tuple(w for r in reports for w in r["warnings"])
    return sum(int(r["new"]) for r in reports), failed, warnings, True


def _summarize(
    app: Any, config: Config, db: Any, day: date, poll: float, progress: Progress | None
) -> None:
    if EditionStore(db).for_day(day) is not None:
        return
    until = datetime.combine(day + timedelta(days=1), day_time(), tzinfo=config.tz)
    since = until - timedelta(days=config.edition.window_days)
    ids = [a.id for a in ArticleStore(db).between(since.astimezone(UTC), until.astimezone(UTC))]
    size = config.distributed.summarize_batch
    batches = [ids[i : i + size] for i in range(0, len(ids), size)]
    results = [app.send_task(SUMMARIZE_TASK, args=[b]) for b in batches]
    wait_for(
        results,
        poll=poll,
        progress=(lambda n: progress("summarize", n, len(batches), "batches"))
        if progress
        else None,
    )


@dataclass(frozen=True, slots=True)
class SendOutcome:
    edition_id: str
    counts: dict[str, int]  # ledger rows by state
    ambiguous: int  # rows resent with the same Message-ID after a worker died
    batches: int
    tasks: int  # send tasks dispatched (more than batches when workers died)
    elapsed: float
    already_sent: int = 0  # rows sent before this dispatch (an earlier run)


def send_distributed(
    config: Config,
    day: date,
    *,
    app: Any = None,
    progress: Progress | None = None,
) -> SendOutcome:
    """Stage 5: send the saved edition of ``day`` through the workers until no batch is
    open; the ledger's counts.

    Tasks loop over batches until none is left, so a batch a dead worker let go is taken
    by any task still running. There are always as many unanswered tasks as open batches
    (up to ``MAX_TASKS_AT_ONCE``); after ``STALL_SECONDS`` without progress the unanswered
    ones are presumed lost with their workers and spares go out. A task that finds nothing
    to claim ends at once, so a spare costs next to nothing.
    """
    started = time.monotonic()
    app = app or make_app(config)
    poll = config.distributed.poll_seconds
    with open_store(config) as db:
        edition = EditionStore(db).for_day(day)
        if edition is None:
            raise ConfigError(f"no edition of {day.isoformat()} in the store: build it first")
        batches = SendBatches(db)
        ledger = DeliveryLedger(db)
        batches.enqueue_active(edition.id)
        already_sent = ledger.counts(edition.id)["sent"]
        planned = batches.plan(edition.id, config.distributed.send_batch)
        results: list[Any] = []
        deadline = time.monotonic() + TASK_TIMEOUT_S
        last_done, progressed = -1, time.monotonic()
        while True:
            open_now = batches.counts(edition.id)["open"]
            if not open_now:
                break
            waiting = [r for r in results if not r.ready()]
            failures = [str(r.result) for r in results if r.ready() and r.failed()]
            if failures:
                # A send that raised (error budget spent, a relay refusing TLS...) would
                # raise again: stop, with the ledger kept for the next run.
                raise DistributedError(
                    f"sending {edition.id}: {len(failures)} send tasks failed"
                    f" (first: {failures[0]}); {open_now} batches left open for the next run"
                )
            counts = _report(ledger, edition.id, progress)
            done = counts["sent"] + counts["failed"] + counts["deferred"]
            if done != last_done:
                last_done, progressed = done, time.monotonic()
            want = min(open_now, MAX_TASKS_AT_ONCE)
            if time.monotonic() - progressed > STALL_SECONDS:
                # No progress for a while: the tasks still counted as waiting may have
                # died with their workers. Spares are cheap (a task with nothing to
                # claim ends at once).
                waiting, progressed = [], time.monotonic()
            if len(waiting) < want:
                results.extend(
                    app.send_task(SEND_TASK, args=[day.isoformat(), None])
                    for _ in range(want - len(waiting))
                )
            if time.monotonic() > deadline:
                raise DistributedError(
                    f"sending {edition.id}: {open_now} batches still open after"
                    f" {TASK_TIMEOUT_S:.0f} s; are workers running (digest worker)?"
                )
            time.sleep(poll)
        counts = _report(ledger, edition.id, progress)
        row = db.execute(SUM_AMBIGUOUS, {"edition_id": edition.id}).fetchone()
        return SendOutcome(
            edition.id,
            counts,
            int(row["rows_resent"]),
            planned,
            len(results),
            time.monotonic() - started,
            already_sent,
        )


def _report(ledger: DeliveryLedger, edition_id: str, progress: Progress | None) -> dict[str, int]:
    counts = ledger.counts(edition_id)
    if progress:
        total = sum(counts.values())
        done = counts["sent"] + counts["failed"]
        progress("send", done, total, f"{counts['deferred']} deferred")
    return counts
