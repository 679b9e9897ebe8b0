"""Summaries cached in the store by (content hash, backend, model, version).

The version is the summariser's ``cache_version``: its prompt or algorithm version and
the length limits, so a change to any of them computes fresh summaries while a plain
re-run serves the stored ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from digest import serialize
from digest.models import Article, Summary
from digest.store import sql
from digest.store.db import Database

__all__ = ["CachedSummarizer", "SummaryCache"]


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


class CachedSummarizer:
    """A summariser that answers from the cache and stores what it computes.

    ``inner`` is a ``digest.summarize.BatchSummarizer``; ``computed`` counts the
    summaries it had to compute (a re-run over the same articles leaves it at 0).
    """

    def __init__(self, inner: object, cache: SummaryCache) -> None:
        from digest.summarize import BatchSummarizer

        if not isinstance(inner, BatchSummarizer):
            raise TypeError("CachedSummarizer needs a summariser with cache_version")
        self.inner: BatchSummarizer = inner
        self.cache = cache
        self.backend = inner.backend
        self.model = inner.model
        self.computed = 0

    @property
    def cache_version(self) -> str:
        return self.inner.cache_version

    def summarize(self, article: Article) -> Summary:
        return self.summarize_many([article])[0]

    def summarize_many(self, articles: Sequence[Article]) -> list[Summary]:
        key = (self.backend, self.model, self.cache_version)
        found = {a.content_hash: self.cache.get(a.content_hash, *key) for a in articles}
        todo = list({a.content_hash: a for a in articles if found[a.content_hash] is None}.values())
        if todo:
            for article, summary in zip(todo, self.inner.summarize_many(todo), strict=True):
                self.cache.put(article.content_hash, *key, summary)
                found[article.content_hash] = summary
            self.computed += len(todo)
        return [s for s in (found[a.content_hash] for a in articles) if s is not None]
