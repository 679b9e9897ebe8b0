"""Bounce scores, bounce events and the mail ``digest bounces`` has handled.

A subscriber's bounce score decays: each soft bounce adds one to the score left after
halving it every ``half_life_days`` since the last bounce, and only one soft bounce a day
counts (a day of retries by one relay is one bounce), the way Mailman keeps its score.
Hard bounces are counted apart. The decisions (when to suppress) are the caller's; this
module stores and computes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from digest.store import sql
from digest.store.db import Database

__all__ = ["BounceScore", "BounceStore", "decayed"]


@dataclass(frozen=True)
class BounceScore:
    score: float = 0.0
    hard: int = 0
    soft: int = 0
    last_at: datetime | None = None


def decayed(score: float, since: datetime | None, now: datetime, half_life_days: float) -> float:
    """``score`` halved for every ``half_life_days`` from ``since`` to ``now``."""
    if since is None or score <= 0:
        return max(0.0, score)
    days = max(0.0, (now - since).total_seconds() / 86400)
    return float(score * 0.5 ** (days / half_life_days))


def _now() -> str:
    return datetime.now(UTC).isoformat()


class BounceStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # --- handled mail -------------------------------------------------------------------

    def handled(self, message_key: str) -> str | None:
        """The outcome recorded for a message handled before, or None."""
        value = self.db.scalar(sql.MAIL_HANDLED, {"message_key": message_key})
        return None if value is None else str(value)

    def mark_handled(self, message_key: str, outcome: str) -> None:
        self.db.execute(
            sql.MARK_MAIL_HANDLED, {"message_key": message_key, "outcome": outcome, "now": _now()}
        )

    def sent_to(self, subscriber_id: int, message_ids: Iterable[str]) -> bool:
        """Whether the ledger records one of ``message_ids`` as sent to this subscriber."""
        return any(
            self.db.scalar(
                sql.DELIVERY_WITH_MESSAGE_ID,
                {"subscriber_id": subscriber_id, "message_id": message_id},
            )
            is not None
            for message_id in message_ids
        )

    # --- scores and events ---------------------------------------------------------------

    def score(self, subscriber_id: int) -> BounceScore:
        row = self.db.execute(sql.BOUNCE_SCORE, {"subscriber_id": subscriber_id}).fetchone()
        if row is None:
            return BounceScore()
        return BounceScore(
            float(row["score"]),
            int(row["hard"]),
            int(row["soft"]),
            datetime.fromisoformat(row["last_at"]),
        )

    def record(
        self,
        subscriber_id: int,
        message_key: str,
        kind: str,
        status: str,
        when: datetime,
        *,
        half_life_days: float,
    ) -> BounceScore | None:
        """Record one bounce (``hard``/``soft``) or event (``complaint``/``unsubscribe``);
        the subscriber's new score, or None when this message was recorded before."""
        with self.db.transaction():
            added = self.db.execute(
                sql.INSERT_BOUNCE_EVENT,
                {
                    "subscriber_id": subscriber_id,
                    "message_key": message_key,
                    "kind": kind,
                    "status": status,
                    "happened_at": when.isoformat(),
                },
            )
            if added.rowcount == 0:
                return None
            old = self.score(subscriber_id)
            if kind not in ("hard", "soft"):
                return old
            # The score is a sum of bounces each halved every half-life since it happened,
            # measured at the latest bounce, so the order mail is read in changes nothing:
            # a bounce older than the latest one adds its own decayed weight.
            if old.last_at is None or when >= old.last_at:
                score, weight, last = (
                    decayed(old.score, old.last_at, when, half_life_days),
                    1.0,
                    when,
                )
            else:
                score, last = old.score, old.last_at
                weight = decayed(1.0, when, old.last_at, half_life_days)
            same_day = old.last_at is not None and old.last_at.date() == when.date()
            hard, soft = old.hard, old.soft
            if kind == "hard":
                hard += 1
            elif not same_day or old.soft == 0:
                soft += 1
                score += weight
            new = BounceScore(score, hard, soft, last)
            self.db.execute(
                sql.PUT_BOUNCE_SCORE,
                {
                    "subscriber_id": subscriber_id,
                    "score": score,
                    "hard": hard,
                    "soft": soft,
                    "last_at": last.isoformat(),
                },
            )
            return new

    def events(self, subscriber_id: int) -> list[tuple[str, str]]:
        """``(kind, status)`` of each recorded event, oldest first."""
        rows = self.db.query(sql.BOUNCE_EVENTS_OF, {"subscriber_id": subscriber_id})
        return [(r["kind"], r["status"]) for r in rows]

    def forget(self, subscriber_id: int) -> None:
        """Delete a subscriber's bounce score and history."""
        with self.db.transaction():
            self.db.execute(sql.DELETE_BOUNCE_HISTORY, {"subscriber_id": subscriber_id})
            self.db.execute(sql.DELETE_BOUNCE_SCORE, {"subscriber_id": subscriber_id})
