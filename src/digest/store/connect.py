"""Open a store by its location: a SQLite file (or ``":memory:"``), or a PostgreSQL URL.

Also the face of the PostgreSQL dialect for the code above the store (``digest store
migrate``): ``PostgresDatabase``, ``is_postgres_url`` and ``redact``; only the store's own
modules import ``sql`` and ``pg``.
"""

from __future__ import annotations

from pathlib import Path

from digest.store.db import Database, open_sqlite
from digest.store.pg import PostgresDatabase, is_postgres_url, redact

__all__ = ["PostgresDatabase", "is_postgres_url", "open_database", "redact"]


def open_database(path: str | Path, *, password: str | None = None) -> Database:
    """Open (creating and migrating) the store at ``path``: a SQLite file, ``":memory:"``
    for a throwaway, or a ``postgresql://user@host/db`` URL (``password`` from the
    config's ``store_password_env`` variable, never written in the config file)."""
    if is_postgres_url(path):
        return PostgresDatabase(str(path), password=password)
    return open_sqlite(path)
