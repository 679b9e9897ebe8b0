"""Stored subscribers: one row per address (merged case-insensitively), with a state.

Validation and normalisation live in ``digest.subscribers``; this module stores what it
is given. ``email_key`` (the lower-cased address) is the unique key, so ``Ann@X.org``
and ``ann@x.org`` are one subscriber.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Literal

from digest.errors import SubscriberError
from digest.models import Frequency, Subscriber, SubscriberState
from digest.store import sql
from digest.store.db import Database

__all__ = ["SubscriberPages", "SubscriberStore", "UpsertOutcome", "subscriber_from_row"]

STATES: tuple[SubscriberState, ...] = ("active", "unsubscribed", "suppressed")
PAGE_SIZE = 500  # subscribers read per query by ``SubscriberPages``

# What ``SubscriberStore.upsert`` did with an address.
UpsertOutcome = Literal["added", "updated", "unchanged"]


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _subscriber(row: sqlite3.Row) -> Subscriber:
    state = row["state"]
    if state not in STATES:
        raise SubscriberError(f"subscriber {row['id']}: unknown state {state!r} in the store")
    return Subscriber(
        id=int(row["id"]),
        email=row["email"],
        name=row["name"],
        topics=tuple(json.loads(row["topics"])),
        state=state,
        token_version=int(row["token_version"]),
        frequency="weekly" if row["frequency"] == "weekly" else "daily",
    )


# The row reader, for other repositories that select subscribers (store/batches.py).
subscriber_from_row = _subscriber


class SubscriberStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, subscriber_id: int) -> Subscriber | None:
        row = self.db.execute(sql.SUBSCRIBER_BY_ID, {"id": subscriber_id}).fetchone()
        return None if row is None else _subscriber(row)

    def by_email(self, email: str) -> Subscriber | None:
        row = self.db.execute(sql.SUBSCRIBER_BY_KEY, {"email_key": email.lower()}).fetchone()
        return None if row is None else _subscriber(row)

    def permanent_failures(self, subscriber_id: int) -> int:
        row = self.db.execute(sql.SUBSCRIBER_BY_ID, {"id": subscriber_id}).fetchone()
        return 0 if row is None else int(row["permanent_failures"])

    def upsert(
        self,
        email: str,
        *,
        name: str | None = None,
        topics: tuple[str, ...] | None = None,
        state: SubscriberState | None = None,
        reactivate: bool = False,
    ) -> tuple[Subscriber, UpsertOutcome]:
        """Add ``email`` or merge into the subscriber it already names.

        Returns the stored subscriber and what happened: ``added``, ``updated`` or
        ``unchanged``. ``None`` leaves a field as stored. An unsubscribed or suppressed
        address becomes active again only with ``reactivate=True`` (an explicit
        ``subscribers add``), never through a merge: re-importing an old list must not
        re-subscribe people who left.
        """
        key = email.lower()
        with self.db.transaction():
            row = self.db.execute(sql.SUBSCRIBER_BY_KEY, {"email_key": key}).fetchone()
            if row is None:
                self.db.execute(
                    sql.INSERT_SUBSCRIBER,
                    {
                        "email": email,
                        "email_key": key,
                        "name": name or "",
                        "topics": json.dumps(list(topics or ())),
                        "state": state or "active",
                        "now": _now(),
                    },
                )
                added = self.db.execute(sql.SUBSCRIBER_BY_KEY, {"email_key": key}).fetchone()
                return _subscriber(added), "added"
            old = _subscriber(row)
            new_state = old.state
            failures = int(row["permanent_failures"])
            if state is not None and (state != "active" or reactivate):
                new_state = state
            if reactivate and new_state == "active":
                failures = 0 if old.state != "active" else failures
            merged = Subscriber(
                id=old.id,
                email=old.email,
                name=old.name if name is None else name,
                topics=old.topics if topics is None else topics,
                state=new_state,
                # as UPDATE_SUBSCRIBER counts it: active again, a new version
                token_version=old.token_version
                + (1 if old.state != "active" and new_state == "active" else 0),
                frequency=old.frequency,
            )
            if merged == old and failures == int(row["permanent_failures"]):
                return old, "unchanged"
            self.db.execute(
                sql.UPDATE_SUBSCRIBER,
                {
                    "id": old.id,
                    "email": merged.email,
                    "name": merged.name,
                    "topics": json.dumps(list(merged.topics)),
                    "state": merged.state,
                    "permanent_failures": failures,
                    "now": _now(),
                },
            )
            return merged, "updated"

    def set_state(self, subscriber_id: int, state: SubscriberState) -> bool:
        """Move a subscriber to ``state``; whether anything changed."""
        cursor = self.db.execute(
            sql.SET_SUBSCRIBER_STATE, {"id": subscriber_id, "state": state, "now": _now()}
        )
        return cursor.rowcount == 1

    def unsubscribe(self, subscriber_id: int) -> bool:
        """A subscriber's own unsubscribe request (a link, a mail): an active address
        becomes unsubscribed; a suppressed one stays suppressed, so that a new sign-up
        mails no confirmation to a person who complained. Whether anything changed."""
        cursor = self.db.execute(sql.UNSUBSCRIBE_SUBSCRIBER, {"id": subscriber_id, "now": _now()})
        return cursor.rowcount == 1

    def set_preferences(
        self, subscriber_id: int, topics: tuple[str, ...], frequency: Frequency
    ) -> None:
        """The preferences page: a subscriber's topics and how often they get mail."""
        self.db.execute(
            sql.SET_SUBSCRIBER_PREFERENCES,
            {
                "id": subscriber_id,
                "topics": json.dumps(list(topics)),
                "frequency": frequency,
                "now": _now(),
            },
        )

    def delete(self, subscriber_id: int) -> None:
        """Forget a subscriber and their delivery rows."""
        with self.db.transaction():
            self.db.execute(sql.DELETE_DELIVERIES_OF_SUBSCRIBER, {"subscriber_id": subscriber_id})
            self.db.execute(sql.DELETE_SUBSCRIBER, {"id": subscriber_id})

    def record_permanent_failure(self, subscriber_id: int, threshold: int) -> bool:
        """Count a permanent (5xx) failure; whether the address is now suppressed."""
        self.db.execute(
            sql.RECORD_PERMANENT_FAILURE,
            {"id": subscriber_id, "threshold": threshold, "now": _now()},
        )
        current = self.get(subscriber_id)
        return current is not None and current.state == "suppressed"

    def all(self, state: SubscriberState | None = None) -> list[Subscriber]:
        if state is None:
            rows = self.db.query(sql.ALL_SUBSCRIBERS)
        else:
            rows = self.db.query(sql.SUBSCRIBERS_IN_STATE, {"state": state})
        return [_subscriber(r) for r in rows]

    def active(self) -> list[Subscriber]:
        return self.all("active")

    def pages(self, state: SubscriberState = "active") -> SubscriberPages:
        """The subscribers in ``state``, read a page at a time (what a send of a long list
        iterates, so that its memory does not grow with the list)."""
        return SubscriberPages(self.db, state)

    def counts(self) -> dict[str, int]:
        found = {r["state"]: int(r["n"]) for r in self.db.query(sql.COUNT_SUBSCRIBERS_BY_STATE)}
        return {state: found.get(state, 0) for state in STATES}


class SubscriberPages:
    """The subscribers in one state, in id order, read ``page_size`` rows at a time.

    Iterable any number of times (each pass reads the store again); ``len`` counts them.
    """

    def __init__(
        self, db: Database, state: SubscriberState = "active", page_size: int = PAGE_SIZE
    ) -> None:
        self.db = db
        self.state = state
        self.page_size = page_size

    def __iter__(self) -> Iterator[Subscriber]:
        after = 0
        while True:
            rows = self.db.query(
                sql.SUBSCRIBERS_PAGE,
                {"state": self.state, "after": after, "limit": self.page_size},
            )
            if not rows:
                return
            for row in rows:
                yield _subscriber(row)
            after = int(rows[-1]["id"])

    def __len__(self) -> int:
        return int(self.db.scalar(sql.COUNT_SUBSCRIBERS_IN_STATE, {"state": self.state}))
