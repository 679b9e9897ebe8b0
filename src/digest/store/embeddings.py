"""Encoder vectors cached in the store by (model, text hash): computed once per text."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from digest.embed import Vectors
from digest.store import sql
from digest.store.db import Database

__all__ = ["EmbeddingStore"]


class EmbeddingStore:
    """The store side of ``digest.embed.VectorCache``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get_vectors(self, model: str, hashes: Sequence[str]) -> dict[str, Vectors]:
        found: dict[str, Vectors] = {}
        # One query per few hundred hashes keeps under SQLite's variable limit.
        for start in range(0, len(hashes), 500):
            chunk = list(hashes[start : start + 500])
            marks = ", ".join("?" for _ in chunk)
            rows = self.db.query(sql.EMBEDDINGS_IN.format(marks=marks), [model, *chunk])
            for row in rows:
                found[row["text_hash"]] = np.frombuffer(row["vector"], dtype=np.float32)
        return found

    def put_vectors(self, model: str, vectors: dict[str, Vectors]) -> None:
        rows = [
            {"model": model, "text_hash": h, "vector": np.asarray(v, np.float32).tobytes()}
            for h, v in vectors.items()
        ]
        with self.db.transaction():
            self.db.executemany(sql.INSERT_EMBEDDING, rows)
