"""Open the store, bring its schema up to date, and run transactions.

``Database`` is the SQLite store; ``digest.store.pg.PostgresDatabase`` the PostgreSQL one,
with the same methods. ``digest.store.connect.open_database`` picks by the location: a
``postgresql://`` URL or a file path (``":memory:"`` for a throwaway).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from digest.errors import StoreError
from digest.store import sql

__all__ = ["Cursor", "Database", "open_sqlite"]

log = logging.getLogger(__name__)


class Cursor(Protocol):
    """What a statement returns, whatever the engine (sqlite3 or psycopg)."""

    @property
    def rowcount(self) -> int: ...

    @property
    def lastrowid(self) -> int | None: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> Any: ...


class Database:
    """One SQLite connection (WAL, foreign keys on), migrated on open.

    A ``Database`` may be shared between threads: statements are serialised by a lock.
    Code that needs its own connection (another process, a sender thread) opens another
    ``Database`` on the same path; WAL lets readers and one writer proceed together.
    """

    dialect = "sqlite"

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            try:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"{self.path}: cannot create the store's folder ({exc.strerror})"
                ) from exc
        try:
            self._conn = sqlite3.connect(
                self.path, timeout=30.0, isolation_level=None, check_same_thread=False
            )
            self._conn.row_factory = sqlite3.Row
            self._conn.execute("PRAGMA foreign_keys = ON")
            if self.path != ":memory:":
                self._conn.execute("PRAGMA journal_mode = WAL")
                self._conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot open the store ({exc})") from exc
        self._lock = threading.RLock()
        self._depth = 0
        self._migrate()

    @property
    def schema_version(self) -> int:
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        version = self.schema_version
        if version > len(sql.MIGRATIONS):
            raise StoreError(
                f"{self.path}: schema version {version} is newer than this digest"
                f" ({len(sql.MIGRATIONS)}); upgrade digest"
            )
        for target, script in enumerate(sql.MIGRATIONS[version:], start=version + 1):
            log.info("migrating %s to schema version %d", self.path, target)
            try:
                with self._lock:
                    self._conn.executescript(
                        f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {target};\nCOMMIT;"
                    )
            except sqlite3.Error as exc:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise StoreError(
                    f"{self.path}: migration to version {target} failed: {exc}"
                ) from exc

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """All statements inside commit together or not at all; nests (inner blocks join)."""
        with self._lock:
            outer = self._depth == 0
            try:
                if outer:
                    self._begin()
                self._depth += 1
                try:
                    yield self
                finally:
                    self._depth -= 1
                if outer:
                    self._commit()
            except BaseException:
                if outer and self._in_transaction():
                    self._rollback()
                raise

    # The dialect's part of ``transaction`` (PostgresDatabase overrides these four).
    def _begin(self) -> None:
        self.execute("BEGIN IMMEDIATE")

    def _commit(self) -> None:
        self.execute("COMMIT")

    def _in_transaction(self) -> bool:
        return self._conn.in_transaction

    def _rollback(self) -> None:
        self._conn.execute("ROLLBACK")

    def execute(self, statement: str, params: Any = ()) -> Cursor:
        try:
            with self._lock:
                return self._conn.execute(statement, params)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: {exc}") from exc

    def executemany(self, statement: str, rows: Any) -> Cursor:
        try:
            with self._lock:
                return self._conn.executemany(statement, rows)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: {exc}") from exc

    # Read under the lock to the last row: the ingest's threads share the connection, and a
    # cursor stepped in one thread while another runs its statement corrupts memory.
    def query(self, statement: str, params: Any = ()) -> list[Any]:
        with self._lock:
            return list(self.execute(statement, params).fetchall())

    def scalar(self, statement: str, params: Any = ()) -> Any:
        with self._lock:
            row = self.execute(statement, params).fetchone()
        return None if row is None else row[0]

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_sqlite(path: str | Path) -> Database:
    """Open (creating and migrating) the SQLite store at ``path``; ``":memory:"`` for a
    throwaway. ``digest.store.open_database`` also opens PostgreSQL stores."""
    return Database(path)
