"""Consent records and pending sign-ups (double opt-in).

A *consent* is kept per subscriber: when and how they agreed (``double-opt-in`` through
the form, ``import`` with the date a file gives, ``cli``), where (the form's page, the
file), and the topics they chose then. A *sign-up* is an address waiting for its
confirmation: what it asked for, when it expires, and how many confirmation mails it was
sent in the current window (the per-address rate limit). A *sign-up request* is one
request of the form that was mailed a link: what that request asked for, named by its
link's expiry, so that each link confirms what its own request asked and nothing else.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from digest.store import sql
from digest.store.db import Database

__all__ = ["Consent", "ConsentStore", "PendingSignup", "SignupRequestRecord"]


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


@dataclass(frozen=True)
class SignupRequestRecord:
    """One form request that was mailed a link; ``expires`` (seconds since the epoch) is
    the link's expiry, which names it."""

    email: str
    expires: int
    topics: tuple[str, ...]
    source: str
    requested_at: datetime
    expires_at: datetime


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
        """Forget the address's pending sign-up and every request of it."""
        self.db.execute(sql.DELETE_SIGNUP, {"email_key": email.lower()})
        self.db.execute(sql.DELETE_SIGNUP_REQUESTS, {"email_key": email.lower()})

    def put_request(self, request: SignupRequestRecord) -> None:
        self.db.execute(
            sql.PUT_SIGNUP_REQUEST,
            {
                "email_key": request.email.lower(),
                "expires": request.expires,
                "email": request.email,
                "topics": json.dumps(list(request.topics), ensure_ascii=False),
                "source": request.source,
                "requested_at": request.requested_at.isoformat(),
                "expires_at": request.expires_at.isoformat(),
            },
        )

    def request(self, email: str, expires: int) -> SignupRequestRecord | None:
        """The request whose link expires at ``expires``, if it is still kept."""
        # query, not execute: read under the lock (the web's threads share the connection)
        rows = self.db.query(sql.SIGNUP_REQUEST, {"email_key": email.lower(), "expires": expires})
        if not rows:
            return None
        row = rows[0]
        return SignupRequestRecord(
            email=row["email"],
            expires=int(row["expires"]),
            topics=tuple(json.loads(row["topics"])),
            source=row["source"],
            requested_at=datetime.fromisoformat(row["requested_at"]),
            expires_at=datetime.fromisoformat(row["expires_at"]),
        )

    def latest_request(self, email: str) -> int | None:
        """The expiry of the address's latest kept request (None: none is kept)."""
        rows = self.db.query(sql.LATEST_SIGNUP_REQUEST, {"email_key": email.lower()})
        return None if not rows or rows[0]["latest"] is None else int(rows[0]["latest"])

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
        """Forget the sign-ups (and requests) that expired before ``now``; how many
        sign-ups."""
        self.db.execute(sql.DELETE_EXPIRED_SIGNUP_REQUESTS, {"now": now.isoformat()})
        return self.db.execute(sql.DELETE_EXPIRED_SIGNUPS, {"now": now.isoformat()}).rowcount
