"""Send batches: one edition's ledger cut into ranges of subscribers that workers claim.

The ledger (``deliveries``) stays the single truth of who was sent what; a batch only says
which worker may work on which range right now. ``SendBatches.claim`` takes the next open
batch with ``SELECT ... FOR UPDATE SKIP LOCKED`` inside a transaction that lasts while the
worker sends the range: the row lock *is* the claim. If the worker dies (SIGKILL, a lost
host), PostgreSQL ends its session and drops the lock, and the next worker claims the same
batch. Holding the lock, that worker knows any row of the range still in ``sending`` was
left by a dead worker between DATA and its reply: ``RangeLedger.recover`` requeues those
rows as ambiguous (resent with the same Message-ID), exactly as the one-process sender
does for a whole edition after a crash.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from digest.errors import StoreError
from digest.models import Frequency, Subscriber
from digest.store import sql
from digest.store.db import Database
from digest.store.ledger import DeliveryLedger
from digest.store.subscribers import subscriber_from_row

__all__ = ["RangeLedger", "SendBatch", "SendBatches", "active_in_range"]

log = logging.getLogger(__name__)


def _now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass(frozen=True, slots=True)
class SendBatch:
    edition_id: str
    batch: int
    first_subscriber: int
    last_subscriber: int


class SendBatches:
    """The batches of each edition, on a PostgreSQL store."""

    def __init__(self, db: Database) -> None:
        if db.dialect != "postgresql":
            raise StoreError(
                f"{db.path}: distributed sending needs a postgresql:// store"
                " (several workers claim its rows with SELECT ... FOR UPDATE SKIP LOCKED)"
            )
        self.db = db

    def enqueue_active(self, edition_id: str, frequency: Frequency = "daily") -> None:
        """A queued ledger row for every active subscriber of ``frequency`` (daily: the
        day's edition; weekly: the recap) without one (one statement)."""
        self.db.execute(
            sql.ENQUEUE_ACTIVE_DELIVERIES,
            {"edition_id": edition_id, "now": _now(), "frequency": frequency},
        )

    def counts(self, edition_id: str) -> dict[str, int]:
        found = {
            r["state"]: int(r["n"])
            for r in self.db.query(sql.COUNT_SEND_BATCHES_BY_STATE, {"edition_id": edition_id})
        }
        return {s: found.get(s, 0) for s in ("open", "done")}

    def plan(self, edition_id: str, size: int) -> int:
        """Cut the unfinished rows into batches of ``size``, unless open batches exist (a
        dispatcher that died left them: they are reused as they are). How many are open."""
        with self.db.transaction():
            open_now = self.counts(edition_id)["open"]
            if open_now:
                return open_now
            self.db.execute(sql.DELETE_SEND_BATCHES, {"edition_id": edition_id})
            ranges = self.db.query(
                sql.PLAN_SEND_BATCHES, {"edition_id": edition_id, "size": max(1, size)}
            )
            now = _now()
            self.db.executemany(
                sql.INSERT_SEND_BATCH,
                [
                    {
                        "edition_id": edition_id,
                        "batch": i,
                        "first_subscriber": int(r["first_subscriber"]),
                        "last_subscriber": int(r["last_subscriber"]),
                        "now": now,
                    }
                    for i, r in enumerate(ranges)
                ],
            )
            return len(ranges)

    @contextmanager
    def claim(self, edition_id: str, worker: str) -> Iterator[SendBatch | None]:
        """The next open batch nobody holds (None when there is none), held until the block
        ends; a block that ends normally marks it done, one that raises leaves it open.

        Use a ``Database`` of its own for the claims: its transaction stays open while the
        batch is sent, and the ledger writes must commit one by one on another connection.
        """
        with self.db.transaction():
            row = self.db.execute(sql.CLAIM_SEND_BATCH, {"edition_id": edition_id}).fetchone()
            if row is None:
                yield None
                return
            batch = SendBatch(
                edition_id,
                int(row["batch"]),
                int(row["first_subscriber"]),
                int(row["last_subscriber"]),
            )
            yield batch
            self.db.execute(
                sql.FINISH_SEND_BATCH,
                {"edition_id": edition_id, "batch": batch.batch, "worker": worker, "now": _now()},
            )


def active_in_range(
    db: Database, first: int, last: int, frequency: Frequency = "daily"
) -> list[Subscriber]:
    """The active subscribers of ``frequency`` with ids in ``[first, last]``."""
    rows = db.query(
        sql.ACTIVE_SUBSCRIBERS_IN_RANGE, {"first": first, "last": last, "frequency": frequency}
    )
    return [subscriber_from_row(r) for r in rows]


class RangeLedger(DeliveryLedger):
    """The ledger of one batch: recovery, pending rows and counts within its range only
    (``recover`` requeues the range's rows a dead worker left in ``sending``: the batch
    lock proves no live worker holds them)."""

    # The base class's statements, for the range.

    def __init__(self, db: Database, first: int, last: int) -> None:
        super().__init__(db)
        self.first, self.last = first, last

    _AMBIGUOUS = sql.AMBIGUOUS_DELIVERIES_IN_RANGE
    _REQUEUE_AMBIGUOUS = sql.REQUEUE_AMBIGUOUS_IN_RANGE
    _PENDING = sql.PENDING_DELIVERIES_IN_RANGE
    _COUNT_BY_STATE = sql.COUNT_DELIVERIES_IN_RANGE_BY_STATE
    _LEFT_BY = "a worker died"

    def _params(self, edition_id: str) -> dict[str, object]:
        return {"edition_id": edition_id, "first": self.first, "last": self.last}

    def enqueue(self, edition_id: str, subscriber_ids: Iterable[int]) -> None:
        """Nothing: the dispatcher queued every row before it cut the batches
        (``SendBatches.enqueue_active``), and a batch sends only rows it planned."""
