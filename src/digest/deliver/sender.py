"""Send one edition to its subscribers: parallel connections, a rate limit, retries with
backoff, suppression after permanent failures, an error budget, all through the ledger.

Each worker thread owns one transport (one SMTP connection). For each subscriber it

1. builds the message (cheap: the edition was rendered once),
2. sends ``MAIL FROM`` and ``RCPT TO``,
3. claims the ledger row right before ``DATA`` (``queued``/``deferred``/``failed`` ->
   ``sending``, committed; a row that is ``sent`` or held by another sender is not
   sent: the transaction is reset),
4. records the reply (``sent``, ``deferred`` or ``failed``) as soon as it arrives.

A transient failure (4xx, dropped connection, timeout) goes back on a delay queue with
exponential backoff and jitter, so one slow recipient does not hold a connection; after
``max_attempts`` it stays ``deferred`` for the next run. A permanent failure (5xx) is
recorded, and an address refused ``suppress_after`` times is suppressed. After
``error_budget`` failures in a row the run stops (``ErrorBudgetExceeded``): what was not
sent stays in the ledger for the next run.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, assert_never

from digest.config import DeliveryOptions
from digest.deliver.transports import Transport
from digest.errors import (
    DeliveryError,
    ErrorBudgetExceeded,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from digest.models import OutgoingMessage, Subscriber
from digest.progress import Progress
from digest.store.ledger import DeliveryLedger
from digest.store.subscribers import SubscriberStore

__all__ = ["DeliveryReport", "RateLimiter", "backoff_delay", "deliver_edition"]

log = logging.getLogger(__name__)

# The counters of a ``DeliveryReport`` that a run adds one to as messages finish.
Tally = Literal[
    "already_sent", "sent", "deferred", "failed", "suppressed", "ambiguous_resent", "retries"
]


@dataclass(slots=True)
class DeliveryReport:
    edition_id: str
    recipients: int = 0  # messages this run set out to send
    already_sent: int = 0  # sent by an earlier run of the same edition
    sent: int = 0
    deferred: int = 0  # transient failures past max_attempts: the next run retries them
    failed: int = 0  # permanent failures (and messages that could not be built)
    suppressed: int = 0  # addresses suppressed during this run
    ambiguous_resent: int = 0  # possibly delivered before a crash or drop, resent (same ID)
    retries: int = 0
    elapsed: float = 0.0
    stopped: str | None = None
    ambiguous: list[str] = field(default_factory=list)  # their addresses

    def count(self, what: Tally) -> None:
        """One more of ``what``."""
        match what:
            case "already_sent":
                self.already_sent += 1
            case "sent":
                self.sent += 1
            case "deferred":
                self.deferred += 1
            case "failed":
                self.failed += 1
            case "suppressed":
                self.suppressed += 1
            case "ambiguous_resent":
                self.ambiguous_resent += 1
            case "retries":
                self.retries += 1
            case _:
                assert_never(what)

    def summary(self) -> str:
        parts = [
            f"{self.recipients} to send",
            f"{self.sent} sent",
            f"{self.deferred} deferred",
            f"{self.failed} failed",
        ]
        if self.already_sent:
            parts.insert(1, f"{self.already_sent} already sent")
        if self.suppressed:
            parts.append(f"{self.suppressed} suppressed")
        if self.ambiguous_resent:
            parts.append(f"{self.ambiguous_resent} ambiguous resent")
        return ", ".join(parts) + f" in {self.elapsed:.1f}s"


def backoff_delay(attempt: int, base: float, ceiling: float, rng: random.Random) -> float:
    """Seconds before retry number ``attempt`` (1 = first retry): exponential, half jittered."""
    delay: float = min(ceiling, base * float(2 ** max(0, attempt - 1)))
    return delay / 2 + rng.uniform(0, delay / 2)


class RateLimiter:
    """At most ``per_second`` messages a second (evenly spaced) and ``per_hour`` in any
    hour (a sliding window). 0 turns a limit off. Shared by all worker threads."""

    def __init__(self, per_second: float, per_hour: float) -> None:
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self.per_hour = int(per_hour) if per_hour > 0 else 0
        self._lock = threading.Lock()
        self._next = 0.0
        self._window: deque[float] = deque()

    def acquire(self, stop: threading.Event) -> bool:
        """Wait for a slot; False if ``stop`` was set while waiting."""
        if not self.interval and not self.per_hour:
            return not stop.is_set()
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            if self.per_hour:
                while self._window and self._window[0] <= now - 3600.0:
                    self._window.popleft()
                if len(self._window) >= self.per_hour:
                    slot = max(slot, self._window[len(self._window) - self.per_hour] + 3600.0)
                self._window.append(slot)
            self._next = slot + self.interval
        wait = slot - time.monotonic()
        if wait > 0:
            return not stop.wait(wait)
        return not stop.is_set()


@dataclass(order=True, slots=True)
class _Job:
    ready_at: float
    seq: int
    subscriber: Subscriber = field(compare=False)
    attempt: int = field(default=1, compare=False)
    ambiguous: bool = field(default=False, compare=False)  # a resend of a possible delivery


class _Queue:
    """Jobs ordered by the time they may run; ``get`` blocks until one is due or all done."""

    def __init__(self, stop: threading.Event) -> None:
        self._heap: list[_Job] = []
        self._cond = threading.Condition()
        self._in_flight = 0
        self._seq = itertools.count()
        self._stop = stop

    def put(
        self,
        subscriber: Subscriber,
        attempt: int = 1,
        delay: float = 0.0,
        *,
        ambiguous: bool = False,
    ) -> None:
        with self._cond:
            job = _Job(time.monotonic() + delay, next(self._seq), subscriber, attempt, ambiguous)
            heapq.heappush(self._heap, job)
            self._cond.notify()

    def get(self) -> _Job | None:
        with self._cond:
            while True:
                if self._stop.is_set():
                    return None
                if not self._heap:
                    if self._in_flight == 0:
                        return None
                    self._cond.wait()
                    continue
                wait = self._heap[0].ready_at - time.monotonic()
                if wait <= 0:
                    self._in_flight += 1
                    return heapq.heappop(self._heap)
                self._cond.wait(wait)

    def done(self) -> None:
        with self._cond:
            self._in_flight -= 1
            self._cond.notify_all()

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()


class _ClaimLost(Exception):
    """The ledger row is sent or held by another sender: this message must not go out."""


class _Claim:
    """The transport's ``before_data`` callback: claims the ledger row right before DATA."""

    __slots__ = ("edition_id", "held", "ledger", "message_id", "subscriber_id")

    def __init__(
        self, ledger: DeliveryLedger | None, edition_id: str, subscriber_id: int, message_id: str
    ) -> None:
        self.ledger = ledger
        self.edition_id = edition_id
        self.subscriber_id = subscriber_id
        self.message_id = message_id
        self.held = False

    def __call__(self) -> None:
        ledger = self.ledger
        if ledger is not None and not ledger.claim(
            self.edition_id, self.subscriber_id, self.message_id
        ):
            raise _ClaimLost(self.subscriber_id)
        self.held = True


class _Run:
    """The shared state of one delivery run."""

    def __init__(
        self,
        edition_id: str,
        build: Callable[[Subscriber], OutgoingMessage],
        options: DeliveryOptions,
        ledger: DeliveryLedger | None,
        subscribers: SubscriberStore | None,
        progress: Progress | None,
        rng: random.Random,
    ) -> None:
        self.edition_id = edition_id
        self.build = build
        self.options = options
        self.ledger = ledger
        self.store = subscribers
        self.progress = progress
        self.rng = rng
        self.stop = threading.Event()
        self.queue = _Queue(self.stop)
        self.rate = RateLimiter(options.rate_per_second, options.rate_per_hour)
        self.report = DeliveryReport(edition_id)
        self._lock = threading.Lock()
        self._failures_in_row = 0
        self._done = 0
        self.fatal: BaseException | None = None
        self.last_error = ""

    # bookkeeping -----------------------------------------------------------------------

    def _success(self) -> None:
        with self._lock:
            self._failures_in_row = 0

    def _failure(self, error: str) -> None:
        with self._lock:
            self._failures_in_row += 1
            self.last_error = error
            budget = self.options.error_budget
            if budget and self._failures_in_row >= budget and not self.stop.is_set():
                self.report.stopped = (
                    f"{self._failures_in_row} delivery failures in a row (last: {error})"
                )
                self.stop.set()
                self.queue.wake()

    def _finished(self, detail: str) -> None:
        with self._lock:
            self._done += 1
            done = self._done
        if self.progress is not None:
            self.progress("send", done, self.report.recipients, detail)

    def _count(self, what: Tally) -> None:
        with self._lock:
            self.report.count(what)

    # one worker ------------------------------------------------------------------------

    def work(self, transport: Transport) -> None:
        try:
            while True:
                job = self.queue.get()
                if job is None:
                    return
                try:
                    if not self.rate.acquire(self.stop):
                        return
                    self._send(transport, job)
                finally:
                    self.queue.done()
        except BaseException as exc:  # a bug or a store failure: stop everyone, re-raise later
            with self._lock:
                if self.fatal is None:
                    self.fatal = exc
            self.stop.set()
            self.queue.wake()
        finally:
            try:
                transport.close()
            except DeliveryError as exc:
                log.debug("closing a transport: %s", exc)

    def _send(self, transport: Transport, job: _Job) -> None:
        subscriber = job.subscriber
        edition, sid = self.edition_id, subscriber.id
        try:
            message = self.build(subscriber)
        except DeliveryError as exc:
            log.error("%s: message for %s not built: %s", edition, subscriber.email, exc)
            self._count("failed")
            self._failure(str(exc))
            self._finished(subscriber.email)
            return
        claim = _Claim(self.ledger, edition, sid, message.message_id)
        try:
            reply = transport.send(message, claim)
        except _ClaimLost:
            log.info("%s: %s already sent or claimed elsewhere; skipped", edition, subscriber.email)
            self._count("already_sent")
            self._finished(subscriber.email)
            return
        except TransientDeliveryError as exc:
            self._failure(str(exc))
            self._transient(job, claim, exc)
            return
        except PermanentDeliveryError as exc:
            self._record(job, claim, "failed", exc.code, str(exc))
            log.warning("%s: %s refused: %s", edition, subscriber.email, exc)
            self._count("failed")
            self._failure(str(exc))
            store = self.store
            if (
                exc.recipient
                and store
                and store.record_permanent_failure(sid, self.options.suppress_after)
            ):
                log.warning(
                    "%s suppressed after %d permanent failures",
                    subscriber.email,
                    self.options.suppress_after,
                )
                self._count("suppressed")
            self._finished(subscriber.email)
            return
        except DeliveryError as exc:
            # No retry fixes this (TLS, login, an unwritable outbox): stop the run.
            self._record(job, claim, "deferred", None, str(exc))
            with self._lock:
                if self.fatal is None:
                    self.fatal = exc
            self.stop.set()
            self.queue.wake()
            return
        self._record(job, claim, "sent", reply.code, reply.text)
        self._success()
        self._count("sent")
        if job.ambiguous:
            self._count("ambiguous_resent")
        self._finished(subscriber.email)

    def _record(
        self,
        job: _Job,
        claim: _Claim,
        state: Literal["sent", "deferred", "failed"],
        code: int | None,
        text: str,
    ) -> None:
        ledger, sid = self.ledger, job.subscriber.id
        if ledger is None:
            return
        if claim.held:
            ledger.finish(self.edition_id, sid, state, code, text, ambiguous=job.ambiguous)
        elif state != "sent":
            ledger.record_unclaimed(self.edition_id, sid, state, claim.message_id, code, text)

    def _transient(self, job: _Job, claim: _Claim, exc: TransientDeliveryError) -> None:
        subscriber = job.subscriber
        if exc.after_data:
            log.warning(
                "%s: %s: the connection failed after the message was handed over; it may"
                " have been delivered and will be resent with the same Message-ID",
                self.edition_id,
                subscriber.email,
            )
            with self._lock:
                self.report.ambiguous.append(subscriber.email)
        self._record(job, claim, "deferred", exc.code, str(exc))
        if job.attempt < self.options.max_attempts and not self.stop.is_set():
            delay = backoff_delay(
                job.attempt,
                self.options.backoff_seconds,
                self.options.backoff_max_seconds,
                self.rng,
            )
            log.info(
                "%s: %s deferred (%s); retry %d in %.1fs",
                self.edition_id,
                subscriber.email,
                exc,
                job.attempt,
                delay,
            )
            self._count("retries")
            self.queue.put(
                subscriber, job.attempt + 1, delay, ambiguous=job.ambiguous or exc.after_data
            )
        else:
            log.warning(
                "%s: %s deferred after %d attempts: %s",
                self.edition_id,
                subscriber.email,
                job.attempt,
                exc,
            )
            self._count("deferred")
            self._finished(subscriber.email)


def deliver_edition(
    edition_id: str,
    subscribers: Sequence[Subscriber],
    build: Callable[[Subscriber], OutgoingMessage],
    connect: Callable[[], Transport],
    options: DeliveryOptions,
    *,
    ledger: DeliveryLedger | None = None,
    subscriber_store: SubscriberStore | None = None,
    progress: Progress | None = None,
    rng: random.Random | None = None,
) -> DeliveryReport:
    """Send ``edition_id`` to the active ``subscribers`` not yet sent it, per the ledger.

    Without a ledger (``--dry-run``, ``send-test``) every subscriber given gets a message
    and nothing is recorded. Raises ``ErrorBudgetExceeded`` when the run stopped after too
    many failures in a row, and ``DeliveryError`` for a failure no retry can fix; in both
    cases every reply received so far is in the ledger.
    """
    started = time.monotonic()
    run = _Run(
        edition_id, build, options, ledger, subscriber_store, progress, rng or random.Random()
    )
    report = run.report
    pending, resend = _pending(edition_id, subscribers, ledger, report)
    for subscriber in pending:
        run.queue.put(subscriber, ambiguous=subscriber.id in resend)
    workers = max(1, min(options.connections, len(pending)))
    _run_workers(run, [connect() for _ in range(workers)] if pending else [])
    report.elapsed = time.monotonic() - started
    _raise_if_stopped(run, edition_id, options)
    return report


def _pending(
    edition_id: str,
    subscribers: Sequence[Subscriber],
    ledger: DeliveryLedger | None,
    report: DeliveryReport,
) -> tuple[list[Subscriber], set[int]]:
    """Who is still to be sent the edition, and which of them are ambiguous resends; fills
    the report's recipients, already-sent and ambiguous counts."""
    by_id = {s.id: s for s in subscribers if s.state == "active"}
    if ledger is not None:
        recovered = ledger.recover(edition_id)
        ledger.enqueue(edition_id, by_id)
        pending = [by_id[i] for i in ledger.pending(edition_id) if i in by_id]
        report.already_sent = ledger.counts(edition_id)["sent"]
        resend = {a.subscriber_id for a in recovered}
        report.ambiguous = [a.email for a in recovered]
    else:
        pending, resend = list(by_id.values()), set()
    report.recipients = len(pending)
    return pending, resend


def _run_workers(run: _Run, transports: Sequence[Transport]) -> None:
    """One thread per transport until the queue is empty, the run stops, or Ctrl-C."""
    # Each worker sets its event when it ends. The main thread waits on those, not on
    # Thread.join: a join that Ctrl-C interrupted returns at once from then on (CPython
    # 3.11), which would let the process exit under a message in flight.
    ended = [threading.Event() for _ in transports]

    def work(transport: Transport, done: threading.Event) -> None:
        try:
            run.work(transport)
        finally:
            done.set()

    threads = [
        threading.Thread(target=work, args=(t, e), name=f"digest-send-{i}", daemon=True)
        for i, (t, e) in enumerate(zip(transports, ended, strict=True))
    ]
    for thread in threads:
        thread.start()
    try:
        for done in ended:
            done.wait()
    except KeyboardInterrupt:
        # Ctrl-C: no new message starts, and each connection finishes and records the one
        # in flight, so that the next run finds no ambiguous row (a second Ctrl-C is final).
        run.stop.set()
        run.queue.wake()
        for done in ended:
            done.wait()
        raise


def _raise_if_stopped(run: _Run, edition_id: str, options: DeliveryOptions) -> None:
    """The error that stopped the run, or the spent error budget, as a ``DeliveryError``."""
    report = run.report
    if run.fatal is not None:
        if isinstance(run.fatal, DeliveryError):
            raise DeliveryError(
                f"sending {edition_id} stopped: {run.fatal} ({report.summary()};"
                " the rest stays in the ledger for the next run)"
            ) from run.fatal
        raise run.fatal
    if report.stopped is not None:
        left = report.recipients - report.sent - report.failed - report.deferred
        raise ErrorBudgetExceeded(
            f"sending {edition_id} stopped after {report.stopped};"
            f" {report.sent} sent, {left} left in the ledger for the next run"
            f" (error_budget: {options.error_budget})"
        )
