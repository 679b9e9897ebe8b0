"""The delivery ledger: one row per (edition, subscriber), the proof of what was sent.

A row moves ``queued -> sending -> sent | deferred | failed``:

- ``claim`` moves a row to ``sending`` right before SMTP ``DATA`` (after the server
  accepted ``MAIL FROM`` and ``RCPT TO``), with an ``UPDATE ... WHERE state IN (...)``
  whose row count says whether this sender won it, so two senders can never both send
  one (edition, subscriber); it is committed before the first byte of the message leaves;
- ``finish`` records the server's reply as soon as it arrives (one autocommitted
  statement): two writes per message;
- ``record_unclaimed`` records a failure that came before ``DATA`` (a refusal at
  ``MAIL``/``RCPT``, no connection): nothing was handed over, so nothing was claimed.

A row found in ``sending`` when a run starts belongs to a run that died between ``DATA``
and the ledger write: the server may have accepted the message (the one window no client
can close). It is *ambiguous*: reported, and resent with the same ``Message-ID`` so that
the recipient's mail system can recognise the copy.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from digest.models import DeliveryState
from digest.store import sql
from digest.store.db import Database

__all__ = ["AmbiguousDelivery", "DeliveryLedger", "DeliveryRow", "LedgerState"]

log = logging.getLogger(__name__)

# Subscriber ids per ``states`` query: well under SQLite's 999 variables of old builds.
PAGE_IDS = 500

FinalState = Literal["sent", "deferred", "failed"]
# The states a run (re)sends: never tried, deferred, or refused by an earlier run.
PENDING_STATES = frozenset({"queued", "deferred", "failed"})


def _now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    edition_id: str
    subscriber_id: int
    message_id: str
    state: DeliveryState
    attempts: int
    ambiguous: int
    reply_code: int | None
    reply_text: str | None


@dataclass(frozen=True, slots=True)
class LedgerState:
    """Where one subscriber stands for an edition: the row's state, and whether the
    subscriber is still active and has been refused permanently before."""

    subscriber_id: int
    state: DeliveryState
    active: bool
    permanent_failures: int

    @property
    def pending(self) -> bool:
        """Whether a run should send this one."""
        return self.active and self.state in PENDING_STATES


@dataclass(frozen=True, slots=True)
class AmbiguousDelivery:
    subscriber_id: int
    email: str
    message_id: str


class DeliveryLedger:
    """The ledger of one store. Thread-safe: ``Database`` serialises its statements."""

    # The statements of the whole edition; ``RangeLedger`` names its range's instead.
    _AMBIGUOUS = sql.AMBIGUOUS_DELIVERIES
    _REQUEUE_AMBIGUOUS = sql.REQUEUE_AMBIGUOUS
    _PENDING = sql.PENDING_DELIVERIES
    _COUNT_BY_STATE = sql.COUNT_DELIVERIES_BY_STATE
    # Who left a row in ``sending`` (for the warning).
    _LEFT_BY = "the last run stopped"

    def __init__(self, db: Database) -> None:
        self.db = db

    def _params(self, edition_id: str) -> dict[str, object]:
        """The parameters of the statements above."""
        return {"edition_id": edition_id}

    def enqueue(self, edition_id: str, subscriber_ids: Iterable[int]) -> None:
        """A ``queued`` row for each subscriber that has none yet for this edition."""
        now = _now()
        with self.db.transaction():
            self.db.executemany(
                sql.ENQUEUE_DELIVERY,
                (
                    {"edition_id": edition_id, "subscriber_id": s, "now": now}
                    for s in subscriber_ids
                ),
            )

    def recover(self, edition_id: str) -> list[AmbiguousDelivery]:
        """Requeue what a dead run left in ``sending``: the rows that may have been delivered.

        Only call this while no other sender works on the edition (the daily job's lock).
        """
        with self.db.transaction():
            ambiguous = [
                AmbiguousDelivery(int(r["subscriber_id"]), r["email"], r["message_id"])
                for r in self.db.query(self._AMBIGUOUS, self._params(edition_id))
            ]
            self.db.execute(self._REQUEUE_AMBIGUOUS, {**self._params(edition_id), "now": _now()})
        for item in ambiguous:
            log.warning(
                "%s: %s between DATA and the ledger write for %s;"
                " resending with the same Message-ID %s",
                edition_id,
                self._LEFT_BY,
                item.email,
                item.message_id,
            )
        return ambiguous

    def pending(self, edition_id: str) -> list[int]:
        """Subscriber ids whose message is still to send (and who are still active)."""
        rows = self.db.query(self._PENDING, self._params(edition_id))
        return [int(r["subscriber_id"]) for r in rows]

    def states(self, edition_id: str, subscriber_ids: Sequence[int]) -> list[LedgerState]:
        """The rows of these subscribers (a page: at most ``PAGE_IDS`` ids), in no order."""
        if len(subscriber_ids) > PAGE_IDS:
            raise ValueError(f"at most {PAGE_IDS} subscriber ids at a time")
        if not subscriber_ids:
            return []
        statement = sql.DELIVERIES_AMONG.format(marks=",".join("?" * len(subscriber_ids)))
        return [
            LedgerState(
                int(r["subscriber_id"]),
                r["state"],
                r["subscriber_state"] == "active",
                int(r["permanent_failures"]),
            )
            for r in self.db.query(statement, (edition_id, *subscriber_ids))
        ]

    def claim(self, edition_id: str, subscriber_id: int, message_id: str) -> bool:
        """Take the row right before DATA; False if it is sent or another sender holds it."""
        cursor = self.db.execute(
            sql.CLAIM_DELIVERY,
            {
                "edition_id": edition_id,
                "subscriber_id": subscriber_id,
                "message_id": message_id,
                "now": _now(),
            },
        )
        return cursor.rowcount == 1

    def record_unclaimed(
        self,
        edition_id: str,
        subscriber_id: int,
        state: Literal["deferred", "failed"],
        message_id: str,
        reply_code: int | None,
        reply_text: str | None,
    ) -> None:
        """A failure before DATA, on a row this sender never claimed."""
        self.db.execute(
            sql.RECORD_UNCLAIMED,
            {
                "edition_id": edition_id,
                "subscriber_id": subscriber_id,
                "state": state,
                "message_id": message_id,
                "reply_code": reply_code,
                "reply_text": reply_text,
                "now": _now(),
            },
        )

    def finish(
        self,
        edition_id: str,
        subscriber_id: int,
        state: FinalState,
        reply_code: int | None,
        reply_text: str | None,
        *,
        ambiguous: bool = False,
    ) -> bool:
        """Record the reply on a row this sender claimed; False when the row was no longer
        in ``sending`` (another sender's ``recover`` took it: senders sharing an edition
        without the job lock or a range of their own), so nothing was written."""
        cursor = self.db.execute(
            sql.FINISH_DELIVERY,
            {
                "edition_id": edition_id,
                "subscriber_id": subscriber_id,
                "state": state,
                "reply_code": reply_code,
                "reply_text": reply_text,
                "ambiguous": 1 if ambiguous else 0,
                "now": _now(),
            },
        )
        return cursor.rowcount == 1

    def get(self, edition_id: str, subscriber_id: int) -> DeliveryRow | None:
        row = self.db.execute(
            sql.DELIVERY, {"edition_id": edition_id, "subscriber_id": subscriber_id}
        ).fetchone()
        return None if row is None else _row(row)

    def rows(self, edition_id: str) -> list[DeliveryRow]:
        return [
            _row(r) for r in self.db.query(sql.DELIVERIES_OF_EDITION, {"edition_id": edition_id})
        ]

    def counts(self, edition_id: str) -> dict[str, int]:
        found = {
            r["state"]: int(r["n"])
            for r in self.db.query(self._COUNT_BY_STATE, self._params(edition_id))
        }
        return {s: found.get(s, 0) for s in ("queued", "sending", "sent", "deferred", "failed")}

    def went_out(self, edition_id: str) -> int:
        """How many subscribers may have the edition: its ``sent`` and ``sending`` rows."""
        counts = self.counts(edition_id)
        return counts["sent"] + counts["sending"]

    def ambiguous_resent(self, edition_id: str) -> int:
        """How many rows of the edition were resent after a sender died between ``DATA``
        and the ledger write (each counted once, however often it was resent)."""
        row = self.db.execute(sql.SUM_AMBIGUOUS, {"edition_id": edition_id}).fetchone()
        return int(row["rows_resent"])


def _row(row: sqlite3.Row) -> DeliveryRow:
    return DeliveryRow(
        edition_id=row["edition_id"],
        subscriber_id=int(row["subscriber_id"]),
        message_id=row["message_id"],
        state=row["state"],
        attempts=int(row["attempts"]),
        ambiguous=int(row["ambiguous"]),
        reply_code=row["reply_code"],
        reply_text=row["reply_text"],
    )
