"""Open a store by its location: a SQLite file (or ``":memory:"``), or a PostgreSQL URL."""

from __future__ import annotations

from pathlib import Path

from digest.store.db import Database, open_sqlite
from digest.store.pg import PostgresDatabase, is_postgres_url

__all__ = ["open_database"]


def open_database(path: str | Path, *, password: str | None = None) -> Database:
    """Open (creating and migrating) the store at ``path``: a SQLite file, ``":memory:"``
    for a throwaway, or a ``postgresql://user@host/db`` URL (``password`` from the
    config's ``store_password_env`` variable, never written in the config file)."""
    if is_postgres_url(path):
        return PostgresDatabase(str(path), password=password)
    return open_sqlite(path)
