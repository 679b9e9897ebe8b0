"""``digest run --distributed``: the daily job (``digest.pipeline.daily.run_job``) with
its growing stages on Celery workers, by ``CeleryStages``:

- ingest     one ``fetch_source`` task per source (workers keep per-host politeness); each
             answers its ``SourceReport``
- summarise  the window's candidate articles in batches of ``distributed.summarize_batch``
             (``summarize_articles`` tasks fill the store's summary and vector caches), so
             that the edition built here reads the summaries the workers stored
- render     the default edition only, here, to gate on: each worker renders the personal
             edition of each topic set it meets once (``digest.pipeline.personal``)
- send       ``send_distributed``: queue a ledger row per active subscriber who chose
             daily mail, cut the unfinished rows into batches of
             ``distributed.send_batch``, send one ``send_batches`` task per open batch,
             and wait, printing progress from the ledger. When every task has answered
             and batches are still open (a worker died and its task was lost), tasks are
             sent again for them. The ledger's counts are the result.

Everything else is the one-process job's own code: bounces, the build, the gate
(approval, send time), the weekly recap (sent by this process), the archive, the report.
The store must be PostgreSQL: the batches are claimed with ``FOR UPDATE SKIP LOCKED``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_time
from pathlib import Path
from typing import Any

from digest.config import Config
from digest.deliver import DeliveryReport
from digest.distributed.app import (
    FETCH_TASK,
    SEND_TASK,
    SUMMARIZE_TASK,
    DistributedError,
    broker_lost,
    check_broker,
    make_app,
)
from digest.errors import ConfigError
from digest.models import Edition
from digest.pipeline.daily import RunReport, Variants, run_job
from digest.pipeline.ingest import IngestReport, SourceReport
from digest.pipeline.options import open_store
from digest.pipeline.sources import health_alarms
from digest.progress import Progress
from digest.publish.render import render_edition
from digest.serialize import from_jsonable
from digest.store import ArticleStore, Database, EditionStore
from digest.store.batches import SendBatches
from digest.store.fetching import FetchStore
from digest.store.ledger import DeliveryLedger

__all__ = [
    "CeleryStages",
    "DistributedError",
    "SendOutcome",
    "run_distributed",
    "send_distributed",
    "wait_for",
]

log = logging.getLogger(__name__)

TASK_TIMEOUT_S = 6 * 3600.0  # a stage that has not finished in this long is stuck
STALL_SECONDS = 15.0  # without ledger progress for this long, spare send tasks go out
MAX_TASKS_AT_ONCE = 256


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
    check_broker(config)  # one clear line, in bounded time, when it is down or refuses us
    stages = CeleryStages(config, make_app(config), progress=progress)
    with broker_lost(config):
        return run_job(config, day, stages, progress=progress)


class CeleryStages:
    """The stages that grow with the load, on the workers of ``app`` (``run_job``'s
    ``Stages``)."""

    def __init__(self, config: Config, app: Any, *, progress: Progress | None = None) -> None:
        self.config = config
        self.app = app
        self.progress = progress
        self.poll = config.distributed.poll_seconds

    def ingest(self, db: Database) -> IngestReport:
        """One ``fetch_source`` task per source; their reports, rebuilt from JSON."""
        names = [s.name for s in self.config.sources]
        results = [self.app.send_task(FETCH_TASK, args=[name]) for name in names]
        answers = wait_for(results, poll=self.poll, progress=self._tick("ingest", len(names)))
        reports = tuple(from_jsonable(SourceReport, a) for a in answers)
        now = datetime.now(UTC)  # the workers kept each source's health in the store
        alarms = health_alarms(self.config, FetchStore(db).health(now), now)
        return IngestReport(reports, tuple(a.line for a in alarms), alarms)

    def summarize(self, db: Database, day: date) -> None:
        """The window's articles in ``summarize_articles`` batches, into the store's cache."""
        until = datetime.combine(day + timedelta(days=1), day_time(), tzinfo=self.config.tz)
        since = until - timedelta(days=self.config.edition.window_days)
        found = ArticleStore(db).between(since.astimezone(UTC), until.astimezone(UTC))
        ids = [a.id for a in found]
        size = self.config.distributed.summarize_batch
        batches = [ids[i : i + size] for i in range(0, len(ids), size)]
        results = [self.app.send_task(SUMMARIZE_TASK, args=[b]) for b in batches]
        wait_for(results, poll=self.poll, progress=self._tick("summarize", len(batches), "batches"))

    def render(self, db: Database, edition: Edition) -> Variants:
        # The default edition only, to gate on: each worker renders the personal editions
        # of the topic sets it meets.
        config = self.config
        rendered = render_edition(
            edition, config.newsletter, base_dir=config.base_dir, timezone=config.tz
        )
        return {(): rendered}

    def send(
        self, db: Database, day: date, variants: Variants
    ) -> tuple[DeliveryReport, Path | None]:
        """``send_distributed``; never an outbox folder (a dry run is one process)."""
        outcome = send_distributed(self.config, day, app=self.app, progress=self.progress)
        return outcome.delivery(), None

    def _tick(self, stage: str, total: int, detail: str = "") -> Callable[[int], None] | None:
        progress = self.progress
        if progress is None:
            return None
        return lambda done: progress(stage, done, total, detail)


@dataclass(frozen=True, slots=True)
class SendOutcome:
    edition_id: str
    counts: dict[str, int]  # ledger rows by state
    ambiguous: int  # rows resent with the same Message-ID after a worker died
    batches: int
    tasks: int  # send tasks dispatched (more than batches when workers died)
    elapsed: float
    already_sent: int = 0  # rows sent before this dispatch (an earlier run)

    def delivery(self) -> DeliveryReport:
        """The ledger's counts as a one-process send reports them: what an earlier run
        sent apart from this one's."""
        return DeliveryReport(
            self.edition_id,
            recipients=sum(self.counts.values()) - self.already_sent,
            already_sent=self.already_sent,
            sent=self.counts["sent"] - self.already_sent,
            deferred=self.counts["deferred"],
            failed=self.counts["failed"],
            ambiguous_resent=self.ambiguous,
            elapsed=self.elapsed,
        )


def send_distributed(
    config: Config,
    day: date,
    *,
    app: Any = None,
    progress: Progress | None = None,
) -> SendOutcome:
    """Send the saved edition of ``day`` through the workers until no batch is open; the
    ledger's counts.

    Tasks loop over batches until none is left, so a batch a dead worker let go is taken
    by any task still running. There are always as many unanswered tasks as open batches
    (up to ``MAX_TASKS_AT_ONCE``); after ``STALL_SECONDS`` without progress the unanswered
    ones are presumed lost with their workers and spares go out. A task that finds nothing
    to claim ends at once, so a spare costs next to nothing.
    """
    started = time.monotonic()
    with open_store(config) as db:
        edition = EditionStore(db).for_day(day)
        if edition is None:
            raise ConfigError(f"no edition of {day.isoformat()} in the store: build it first")
        batches, ledger = SendBatches(db), DeliveryLedger(db)
        batches.enqueue_active(edition.id)
        already_sent = ledger.counts(edition.id)["sent"]
        planned = batches.plan(edition.id, config.distributed.send_batch)
        tasks = _SendTasks(app or make_app(config), day, edition.id, batches, ledger, progress)
        tasks.run(config.distributed.poll_seconds)
        return SendOutcome(
            edition.id,
            _report(ledger, edition.id, progress),
            ledger.ambiguous_resent(edition.id),
            planned,
            len(tasks.results),
            time.monotonic() - started,
            already_sent,
        )


class _SendTasks:
    """The send tasks of one edition, kept at one unanswered task per open batch."""

    def __init__(
        self,
        app: Any,
        day: date,
        edition_id: str,
        batches: SendBatches,
        ledger: DeliveryLedger,
        progress: Progress | None,
    ) -> None:
        self.app = app
        self.day = day
        self.edition_id = edition_id
        self.batches = batches
        self.ledger = ledger
        self.progress = progress
        self.results: list[Any] = []
        self.last_done = -1
        self.progressed = time.monotonic()

    def run(self, poll: float) -> None:
        """Send tasks until no batch is open; ``DistributedError`` when a task failed or
        the edition is not sent in ``TASK_TIMEOUT_S``."""
        deadline = time.monotonic() + TASK_TIMEOUT_S
        while open_now := self.batches.counts(self.edition_id)["open"]:
            self.top_up(open_now)
            if time.monotonic() > deadline:
                raise DistributedError(
                    f"sending {self.edition_id}: {open_now} batches still open after"
                    f" {TASK_TIMEOUT_S:.0f} s; are workers running (digest worker)?"
                )
            time.sleep(poll)

    def top_up(self, open_now: int) -> None:
        """One unanswered task per open batch, spares for those presumed lost."""
        waiting = [r for r in self.results if not r.ready()]
        failures = [str(r.result) for r in self.results if r.ready() and r.failed()]
        if failures:
            # A send that raised (error budget spent, a relay refusing TLS...) would
            # raise again: stop, with the ledger kept for the next run.
            raise DistributedError(
                f"sending {self.edition_id}: {len(failures)} send tasks failed"
                f" (first: {failures[0]}); {open_now} batches left open for the next run"
            )
        counts = _report(self.ledger, self.edition_id, self.progress)
        done = counts["sent"] + counts["failed"] + counts["deferred"]
        if done != self.last_done:
            self.last_done, self.progressed = done, time.monotonic()
        if time.monotonic() - self.progressed > STALL_SECONDS:
            # No progress for a while: the tasks still counted as waiting may have died
            # with their workers. Spares are cheap (a task with nothing to claim ends at
            # once).
            waiting, self.progressed = [], time.monotonic()
        missing = min(open_now, MAX_TASKS_AT_ONCE) - len(waiting)
        self.results.extend(
            self.app.send_task(SEND_TASK, args=[self.day.isoformat(), None]) for _ in range(missing)
        )


def _report(ledger: DeliveryLedger, edition_id: str, progress: Progress | None) -> dict[str, int]:
    counts = ledger.counts(edition_id)
    if progress:
        total = sum(counts.values())
        done = counts["sent"] + counts["failed"]
        progress("send", done, total, f"{counts['deferred']} deferred")
    return counts
