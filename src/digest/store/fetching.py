"""What fetching remembers between runs: HTTP validators per URL, why teaser pages were not
read, and each source's health.

A *note* says why a feed entry kept its teaser (robots.txt, a wall), for the editor's panel.
A *validator* is the ETag and Last-Modified a URL answered with, sent back next run as a
conditional GET. A source's *health* is its last run, last success, last new item,
failures in a row and last error; new items are counted per day for the week's rate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from digest.store import sql
from digest.store.db import Database

__all__ = ["FetchStore", "SourceHealth"]

# Validators not seen for this long are dropped (the URL left its feed long ago).
VALIDATOR_DAYS = 60
# Days of per-source counts kept; the rate is over the last WEEK_DAYS.
KEEP_DAYS = 30
WEEK_DAYS = 7


@dataclass(frozen=True)
class SourceHealth:
    source: str
    location: str
    last_run: datetime
    last_success: datetime | None = None
    last_new_item: datetime | None = None
    consecutive_failures: int = 0
    last_error: str | None = None
    per_day: float = 0.0  # new items per day over the last week


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class FetchStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # --- validators ---------------------------------------------------------------------

    def validators(self) -> dict[str, tuple[str | None, str | None]]:
        """Every kept URL's (etag, last_modified)."""
        rows = self.db.query(sql.HTTP_VALIDATORS)
        return {r["url"]: (r["etag"], r["last_modified"]) for r in rows}

    def put_validators(
        self, found: Mapping[str, tuple[str | None, str | None]], now: datetime
    ) -> None:
        """Keep what this run learnt, and forget what was not seen for ``VALIDATOR_DAYS``."""
        with self.db.transaction():
            self.db.executemany(
                sql.PUT_HTTP_VALIDATOR,
                [
                    {"url": url, "etag": etag, "last_modified": modified, "now": now.isoformat()}
                    for url, (etag, modified) in found.items()
                ],
            )
            before = (now - timedelta(days=VALIDATOR_DAYS)).isoformat()
            self.db.execute(sql.PRUNE_HTTP_VALIDATORS, {"before": before})

    # --- why a teaser stayed one ---------------------------------------------------------

    def put_notes(self, notes: Mapping[str, str | None], now: datetime) -> None:
        """Keep why each teaser page was not read (robots.txt, a wall, an error); a URL
        read whole (None) loses its note."""
        with self.db.transaction():
            for url, note in notes.items():
                if note is None:
                    self.db.execute(sql.DELETE_PAGE_NOTE, {"url": url})
                else:
                    self.db.execute(
                        sql.PUT_PAGE_NOTE, {"url": url, "note": note, "now": now.isoformat()}
                    )
            before = (now - timedelta(days=VALIDATOR_DAYS)).isoformat()
            self.db.execute(sql.PRUNE_PAGE_NOTES, {"before": before})

    def note(self, url: str) -> str | None:
        """Why the page at ``url`` was kept as a teaser, if it was."""
        value = self.db.scalar(sql.PAGE_NOTE, {"url": url})
        return None if value is None else str(value)

    # --- source health ------------------------------------------------------------------

    def record(
        self,
        source: str,
        location: str,
        now: datetime,
        *,
        new: int = 0,
        error: str | None = None,
    ) -> SourceHealth:
        """One run of ``source``: a success with ``new`` new items, or a failure."""
        rows = self.db.query(sql.SOURCE_HEALTH_OF, {"source": source})
        row = rows[0] if rows else None
        last_success = _time(row["last_success"]) if row else None
        last_new = _time(row["last_new_item"]) if row else None
        failures = int(row["consecutive_failures"]) if row else 0
        if error is None:
            last_success, failures = now, 0
            if new:
                last_new = now
        else:
            failures += 1
        health = SourceHealth(source, location, now, last_success, last_new, failures, error)
        with self.db.transaction():
            self.db.execute(
                sql.PUT_SOURCE_HEALTH,
                {
                    "source": source,
                    "location": location,
                    "last_run": now.isoformat(),
                    "last_success": last_success.isoformat() if last_success else None,
                    "last_new_item": last_new.isoformat() if last_new else None,
                    "consecutive_failures": failures,
                    "last_error": error,
                },
            )
            if new:
                self.db.execute(
                    sql.ADD_SOURCE_DAY,
                    {"source": source, "day": now.date().isoformat(), "new": new},
                )
            before = (now - timedelta(days=KEEP_DAYS)).date().isoformat()
            self.db.execute(sql.PRUNE_SOURCE_DAYS, {"before": before})
        return health

    def health(self, now: datetime) -> list[SourceHealth]:
        """Every source that ran, by name, with its rate over the last week."""
        since = (now - timedelta(days=WEEK_DAYS - 1)).date().isoformat()
        counts = {
            r["source"]: int(r["new"])
            for r in self.db.query(sql.SOURCE_NEW_SINCE, {"since": since})
        }
        return [
            SourceHealth(
                source=r["source"],
                location=r["location"],
                last_run=datetime.fromisoformat(r["last_run"]),
                last_success=_time(r["last_success"]),
                last_new_item=_time(r["last_new_item"]),
                consecutive_failures=int(r["consecutive_failures"]),
                last_error=r["last_error"],
                per_day=counts.get(r["source"], 0) / WEEK_DAYS,
            )
            for r in self.db.query(sql.SOURCE_HEALTH)
        ]
