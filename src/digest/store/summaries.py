"""Summaries cached in the store by (content hash, backend, model, version).

The version is the summariser's ``cache_version``: its prompt or algorithm version and
the length limits, so a change to any of them computes fresh summaries while a plain
re-run serves the stored ones.
"""

from __future__ import annotations

from datetime import UTC, datetime

from digest import serialize
from digest.models import Summary
from digest.store import sql
from digest.store.db import Database

__all__ = ["SummaryCache"]


class SummaryCache:
    """The store side of ``digest.summarize.SummaryStore``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, content_hash: str, backend: str, model: str, version: str) -> Summary | None:
        body = self.db.scalar(
            sql.SUMMARY_BY_KEY,
            {
                "content_hash": content_hash,
                "backend": backend,
                "model": model,
                "prompt_version": version,
            },
        )
        return None if body is None else serialize.loads(Summary, body)

    def put(self, content_hash: str, backend: str, model: str, version: str, s: Summary) -> None:
        with self.db.transaction():
            self.db.execute(
                sql.PUT_SUMMARY,
                {
                    "content_hash": content_hash,
                    "backend": backend,
                    "model": model,
                    "prompt_version": version,
                    "body": serialize.dumps(s),
                    "created_at": datetime.now(UTC).isoformat(),
                },
            )

    def count(self) -> int:
        return int(self.db.scalar(sql.COUNT_SUMMARIES))
