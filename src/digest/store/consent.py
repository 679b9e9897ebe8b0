"""Consent records and pending sign-ups (double opt-in).

A *consent* is kept per subscriber: when and how they agreed (``double-opt-in`` through
the form, ``import`` with the date a file gives, ``cli``), where (the form's page, the
file), and the topics they chose then. A *sign-up* is an address waiting for its
confirmation: what it asked for, when it expires, and how many confirmation mails it was
sent in the current window (the per-address rate limit).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from digest.store import sql
from digest.store.db import Database

__all__ = ["Consent", "ConsentStore", "PendingSignup"]


@dataclass(frozen=True)
class Consent:
    subscriber_id: int
    consented_at: datetime
    method: str
    source: str = ""
    topics: tuple[str, ...] = ()


@dataclass(frozen=True)
class PendingSignup:
    email: str
    topics: tuple[str, ...]
    source: str
    requested_at: datetime
    expires_at: datetime
    mails: int
    window_start: datetime


def _pending(row: sqlite3.Row) -> PendingSignup:
    return PendingSignup(
        email=row["email"],
        topics=tuple(json.loads(row["topics"])),
        source=row["source"],
        requested_at=datetime.fromisoformat(row["requested_at"]),
        expires_at=datetime.fromisoformat(row["expires_at"]),
        mails=int(row["mails"]),
        window_start=datetime.fromisoformat(row["window_start"]),
    )


class ConsentStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # --- consent ------------------------------------------------------------------------

    def put(self, consent: Consent) -> None:
        self.db.execute(
            sql.PUT_CONSENT,
            {
                "subscriber_id": consent.subscriber_id,
                "consented_at": consent.consented_at.isoformat(),
                "method": consent.method,
                "source": consent.source,
                "topics": json.dumps(list(consent.topics), ensure_ascii=False),
            },
        )

    def get(self, subscriber_id: int) -> Consent | None:
        row = self.db.execute(sql.CONSENT_OF, {"subscriber_id": subscriber_id}).fetchone()
        if row is None:
            return None
        return Consent(
            subscriber_id=subscriber_id,
            consented_at=datetime.fromisoformat(row["consented_at"]),
            method=row["method"],
            source=row["source"],
            topics=tuple(json.loads(row["topics"])),
        )

    def forget(self, subscriber_id: int) -> None:
        self.db.execute(sql.DELETE_CONSENT, {"subscriber_id": subscriber_id})

    # --- pending sign-ups -----------------------------------------------------------------

    def pending(self, email: str) -> PendingSignup | None:
        row = self.db.execute(sql.SIGNUP_BY_KEY, {"email_key": email.lower()}).fetchone()
        return None if row is None else _pending(row)

    def put_pending(self, signup: PendingSignup) -> None:
        self.db.execute(
            sql.PUT_SIGNUP,
            {
                "email_key": signup.email.lower(),
                "email": signup.email,
                "topics": json.dumps(list(signup.topics), ensure_ascii=False),
                "source": signup.source,
                "requested_at": signup.requested_at.isoformat(),
                "expires_at": signup.expires_at.isoformat(),
                "mails": signup.mails,
                "window_start": signup.window_start.isoformat(),
            },
        )

    def drop_pending(self, email: str) -> None:
        self.db.execute(sql.DELETE_SIGNUP, {"email_key": email.lower()})

    def unmailed(self, page: int = 500) -> Iterator[PendingSignup]:
        """The pending sign-ups never sent a confirmation mail, in address order, read
        ``page`` rows at a time (the rows may be updated between pages)."""
        after = ""
        while True:
            rows = self.db.query(sql.UNMAILED_SIGNUPS, {"after": after, "limit": page})
            if not rows:
                return
            for row in rows:
                yield _pending(row)
            after = rows[-1]["email_key"]

    def expire(self, now: datetime) -> int:
        """Forget the sign-ups that expired before ``now``; how many."""
        return self.db.execute(sql.DELETE_EXPIRED_SIGNUPS, {"now": now.isoformat()}).rowcount
