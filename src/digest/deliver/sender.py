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
recorded; what it means depends on its enhanced status code (``digest.deliver.replies``):
an address refused for itself (``5.1.x``) ``suppress_after`` times is suppressed; a
refusal of the message itself (content, policy, size: ``5.7.x``/``5.6.x``/``5.3.4`` after
DATA) stops the send at once (``MessageRefused``) and counts against nobody. Refusals of
the address count towards suppression only when the run ends: the circuit breaker stops
a run in which more than ``breaker_refusals`` addresses, and more than ``breaker_ratio``
of the edition's answered messages, were refused as bad mailboxes
(``RelayRefusesEveryone``: the relay is broken), and then none of them counts. After
``error_budget`` failures in a row the run stops (``ErrorBudgetExceeded``); an address
already refused permanently before is expected to fail and does not count towards that
budget. What was not sent stays in the ledger for the next run.

The list is streamed: subscribers are read and checked against the ledger a page at a
time, and at most ``QUEUE_WINDOW`` messages wait in memory, so a send's memory does not
grow with the list.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal, assert_never

from digest.config import DeliveryOptions
from digest.deliver.transports import Transport
from digest.errors import (
    DeliveryError,
    ErrorBudgetExceeded,
    MessageRefused,
    PermanentDeliveryError,
    RelayRefusesEveryone,
    TransientDeliveryError,
)
from digest.models import OutgoingMessage, Subscriber
from digest.progress import Progress
from digest.store.ledger import PAGE_IDS, DeliveryLedger
from digest.store.subscribers import SubscriberStore

__all__ = ["DeliveryReport", "RateLimiter", "backoff_delay", "deliver_edition"]

log = logging.getLogger(__name__)

# Messages waiting or in flight at most: the reader of the list waits for room.
QUEUE_WINDOW = 256

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
    # Refused permanently before: another refusal says nothing about the relay.
    known_bad: bool = field(default=False, compare=False)


class _Queue:
    """Jobs ordered by the time they may run; ``get`` blocks until one is due, or returns
    None once the feeder closed the queue and nothing is left."""

    def __init__(self, stop: threading.Event) -> None:
        self._heap: list[_Job] = []
        self._cond = threading.Condition()
        self._in_flight = 0
        self._closed = False
        self._seq = itertools.count()
        self._stop = stop

    def put(
        self,
        subscriber: Subscriber,
        attempt: int = 1,
        delay: float = 0.0,
        *,
        ambiguous: bool = False,
        known_bad: bool = False,
    ) -> None:
        with self._cond:
            job = _Job(
                time.monotonic() + delay,
                next(self._seq),
                subscriber,
                attempt,
                ambiguous,
                known_bad,
            )
            heapq.heappush(self._heap, job)
            self._cond.notify()

    def wait_room(self, limit: int) -> bool:
        """Wait until fewer than ``limit`` jobs wait or run; False if the run stopped."""
        with self._cond:
            while not self._stop.is_set() and len(self._heap) + self._in_flight >= limit:
                self._cond.wait(0.5)  # a timeout, so that Ctrl-C reaches the main thread
            return not self._stop.is_set()

    def close(self) -> None:
        """No more new jobs: ``get`` returns None once the last one is done."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def get(self) -> _Job | None:
        with self._cond:
            while True:
                if self._stop.is_set():
                    return None
                if not self._heap:
                    if self._in_flight == 0 and self._closed:
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
        self.claims_lost = 0  # rows another sender had sent or held
        self.fatal: BaseException | None = None
        self.last_error = ""
        # The circuit breaker: refusals of addresses (5.1.x) in this run, the ids to count
        # towards suppression once the run ends without tripping it, and what tripped it.
        self.refusals = 0
        self.refused_ids: list[tuple[int, str]] = []
        self.tripped: str | None = None

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

    def _halt(self, exc: BaseException) -> None:
        """Stop every worker; ``exc`` is what the run raises at the end."""
        with self._lock:
            if self.fatal is None:
                self.fatal = exc
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
            self._halt(exc)
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
            with self._lock:
                self.claims_lost += 1
            self._finished(subscriber.email)
            return
        except TransientDeliveryError as exc:
            self._failure(str(exc))
            self._transient(job, claim, exc)
            return
        except PermanentDeliveryError as exc:
            self._record(job, claim, "failed", exc.code, str(exc))
            self._count("failed")
            if exc.scope == "message":
                # The same message would be refused for everyone: stop, blame nobody.
                log.error("%s: the relay refused the message itself: %s", edition, exc)
                self._halt(exc)
                self._finished(subscriber.email)
                return
            log.warning("%s: %s refused: %s", edition, subscriber.email, exc)
            if exc.recipient and self._refused(sid, subscriber.email, exc):
                self._finished(subscriber.email)
                return
            if not job.known_bad:
                self._failure(str(exc))
            self._finished(subscriber.email)
            return
        except DeliveryError as exc:
            # No retry fixes this (TLS, login, an unwritable outbox): stop the run.
            self._record(job, claim, "deferred", None, str(exc))
            self._halt(exc)
            return
        self._record(job, claim, "sent", reply.code, reply.text)
        self._success()
        self._count("sent")
        if job.ambiguous:
            self._count("ambiguous_resent")
        self._finished(subscriber.email)

    def _refused(self, sid: int, email: str, exc: PermanentDeliveryError) -> bool:
        """Note a refusal of the address (counted towards suppression when the run ends);
        whether it tripped the circuit breaker, which stops the run."""
        options = self.options
        with self._lock:
            if self.tripped is not None:
                return True
            self.refusals += 1
            self.refused_ids.append((sid, email))
            report = self.report
            # What the relay answered for this edition: earlier runs' accepted messages
            # count too, so a re-run of the few refused rows does not look like a broken
            # relay.
            answered = report.already_sent + report.sent + report.failed
            if not (
                options.breaker_refusals
                and self.refusals > options.breaker_refusals
                and self.refusals > options.breaker_ratio * answered
            ):
                return False
            self.tripped = str(exc)
            refusals = self.refusals
        log.error(
            "%s: the relay refused %d of %d addresses as bad mailboxes (last: %s):"
            " circuit breaker tripped, nobody counted against",
            self.edition_id,
            refusals,
            answered,
            self.tripped,
        )
        self._halt(
            RelayRefusesEveryone(
                f"sending {self.edition_id} stopped: the relay refused {refusals} of the"
                f" {answered} addresses answered as bad mailboxes (last: {self.tripped});"
                " that is the relay's fault, not the list's: no subscriber was counted"
                " against for this run; fix the relay, then run again"
            )
        )
        return True

    def count_refusals(self) -> None:
        """After the run: count this run's refusals towards suppression, unless the
        circuit breaker tripped (then the relay, not the addresses, was at fault)."""
        store = self.store
        if store is None or self.tripped is not None:
            return
        for sid, email in self.refused_ids:
            if store.record_permanent_failure(sid, self.options.suppress_after):
                log.warning(
                    "%s: %s suppressed after %d permanent failures",
                    self.edition_id,
                    email,
                    self.options.suppress_after,
                )
                self.report.count("suppressed")
        self.refused_ids.clear()

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
            if not ledger.finish(self.edition_id, sid, state, code, text, ambiguous=job.ambiguous):
                log.warning(
                    "%s: the ledger row of %s left 'sending' before its reply (%s %s) was"
                    " written: another sender recovered it (share an edition only through"
                    " the job lock or distributed batches)",
                    self.edition_id,
                    job.subscriber.email,
                    code,
                    state,
                )
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
                subscriber,
                job.attempt + 1,
                delay,
                ambiguous=job.ambiguous or exc.after_data,
                known_bad=job.known_bad,
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
    subscribers: Iterable[Subscriber],
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

    ``subscribers`` is read twice, a page at a time (first to queue the ledger rows and
    count, then to send): pass something iterable more than once, such as
    ``SubscriberStore.pages()``, to keep memory flat; a one-shot iterator is read into a
    list first. Without a ledger (``--dry-run``, ``send-test``) every active subscriber
    given gets a message and nothing is recorded. Raises ``MessageRefused`` when the relay
    refused the message itself, ``ErrorBudgetExceeded`` when the run stopped after too
    many failures in a row, and ``DeliveryError`` for a failure no retry can fix; in each
    case every reply received so far is in the ledger.
    """
    started = time.monotonic()
    run = _Run(
        edition_id, build, options, ledger, subscriber_store, progress, rng or random.Random()
    )
    report = run.report
    listed = subscribers if iter(subscribers) is not subscribers else list(subscribers)
    resend = _plan(run, listed)
    workers = max(1, min(options.connections, report.recipients))
    transports = [connect() for _ in range(workers)] if report.recipients else []
    try:
        _run_workers(run, transports, lambda: _feed(run, listed, resend))
    finally:
        run.count_refusals()
    report.elapsed = time.monotonic() - started
    _raise_if_stopped(run, edition_id, options)
    return report


def _pages(subscribers: Iterable[Subscriber]) -> Iterator[list[Subscriber]]:
    """The active subscribers, ``PAGE_IDS`` at a time."""
    page: list[Subscriber] = []
    for subscriber in subscribers:
        if subscriber.state != "active":
            continue
        page.append(subscriber)
        if len(page) == PAGE_IDS:
            yield page
            page = []
    if page:
        yield page


def _plan(run: _Run, subscribers: Iterable[Subscriber]) -> set[int]:
    """First pass: a ledger row for everyone, and the report's recipients, already-sent
    and ambiguous figures; returns the ids to resend as ambiguous."""
    report, ledger = run.report, run.ledger
    if ledger is None:
        report.recipients = sum(len(page) for page in _pages(subscribers))
        return set()
    recovered = ledger.recover(run.edition_id)
    report.ambiguous = [a.email for a in recovered]
    for page in _pages(subscribers):
        ids = [s.id for s in page]
        ledger.enqueue(run.edition_id, ids)
        for row in ledger.states(run.edition_id, ids):
            if row.pending:
                report.recipients += 1
            elif row.state == "sent":
                report.already_sent += 1
    return {a.subscriber_id for a in recovered}


def _feed(run: _Run, subscribers: Iterable[Subscriber], resend: set[int]) -> None:
    """Second pass: queue each page's pending subscribers, waiting for room in the queue."""
    if not run.report.recipients:
        return
    for page in _pages(subscribers):
        if run.ledger is None:
            todo = [(s, False) for s in page]
        else:
            rows = {
                r.subscriber_id: r for r in run.ledger.states(run.edition_id, [s.id for s in page])
            }
            todo = [
                (s, rows[s.id].permanent_failures > 0)
                for s in page
                if s.id in rows and rows[s.id].pending
            ]
        for subscriber, known_bad in todo:
            if not run.queue.wait_room(QUEUE_WINDOW):
                return
            run.queue.put(subscriber, ambiguous=subscriber.id in resend, known_bad=known_bad)


def _run_workers(run: _Run, transports: Sequence[Transport], feed: Callable[[], None]) -> None:
    """One thread per transport while ``feed`` fills the queue in this thread, until the
    queue is empty, the run stops, or Ctrl-C."""
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
        try:
            feed()
        finally:
            run.queue.close()
        for done in ended:
            done.wait()
    except BaseException:
        # Ctrl-C (or a failure reading the list): no new message starts, and each
        # connection finishes and records the one in flight, so that the next run finds
        # no ambiguous row (a second Ctrl-C is final).
        run.stop.set()
        run.queue.wake()
        for done in ended:
            done.wait()
        raise


def _raise_if_stopped(run: _Run, edition_id: str, options: DeliveryOptions) -> None:
    """The error that stopped the run, or the spent error budget, as a ``DeliveryError``."""
    report = run.report
    # Everything this run set out to send is still to send, but what went out, what
    # another sender had, and the addresses suppressed on the way.
    left = report.recipients - report.sent - report.suppressed - run.claims_lost
    fatal = run.fatal
    if isinstance(fatal, RelayRefusesEveryone):
        raise RelayRefusesEveryone(f"{fatal}; {report.sent} sent, {left} left in the ledger")
    if isinstance(fatal, PermanentDeliveryError) and fatal.scope == "message":
        raise MessageRefused(
            f"sending {edition_id} stopped: the relay refused the message itself ({fatal});"
            f" no subscriber was counted against for it; {report.sent} sent, {left} left in"
            " the ledger: fix the message or the relay, then run again"
        ) from fatal
    if run.fatal is not None:
        if isinstance(run.fatal, DeliveryError):
            raise DeliveryError(
                f"sending {edition_id} stopped: {run.fatal} ({report.summary()};"
                " the rest stays in the ledger for the next run)"
            ) from run.fatal
        raise run.fatal
    if report.stopped is not None:
        raise ErrorBudgetExceeded(
            f"sending {edition_id} stopped after {report.stopped};"
            f" {report.sent} sent, {left} left in the ledger for the next run"
            f" (error_budget: {options.error_budget})"
        )
