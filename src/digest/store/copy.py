"""Copy a SQLite store into an empty PostgreSQL one (``digest store migrate --to URL``).

Every table of the SQLite file is copied (whatever migrations added them), parents before
children (by their foreign keys), with PostgreSQL's ``COPY`` in one transaction: all of it
lands or none. Then the identity sequences move past the copied ids, and the row count of
every table is compared on both sides; a difference is a ``StoreError`` and nothing stays
(the transaction is rolled back before the check can pass).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from digest.errors import StoreError
from digest.store import pg
from digest.store.db import Database

__all__ = ["CopyReport", "copy_store"]

log = logging.getLogger(__name__)

BATCH_ROWS = 5_000  # rows read from SQLite at a time: memory stays flat on a big store


@dataclass(frozen=True, slots=True)
class CopyReport:
    counts: dict[str, int]  # rows per table, the same on both sides

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _tables(source: Database) -> list[str]:
    """The SQLite store's tables, each after the tables its foreign keys point to."""
    names = [
        r["name"]
        for r in source.query(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " ORDER BY name"
        )
    ]
    parents = {
        name: {r["table"] for r in source.query(f'PRAGMA foreign_key_list("{name}")')}
        for name in names
    }
    ordered: list[str] = []
    while len(ordered) < len(names):
        ready = [n for n in names if n not in ordered and parents[n] <= {*ordered, n}]
        if not ready:  # a cycle of foreign keys: none in digest's schema
            raise StoreError(f"cannot order tables by their foreign keys: {sorted(parents)}")
        ordered.extend(ready)
    return ordered


def copy_store(
    source: Database,
    target: pg.PostgresDatabase,
    progress: Callable[[str, int, int], None] | None = None,
) -> CopyReport:
    """Copy every row of ``source`` (SQLite) into ``target`` (PostgreSQL, migrated, empty)."""
    if source.dialect != "sqlite":
        raise StoreError(f"{source.path}: the source of a copy is a SQLite store")
    if source.schema_version != target.schema_version:
        raise StoreError(
            f"schema versions differ: {source.path} is at {source.schema_version},"
            f" {target.path} at {target.schema_version}; open both with this digest first"
        )
    tables = _tables(source)
    counts = {t: int(source.scalar(f'SELECT COUNT(*) FROM "{t}"')) for t in tables}
    conn = target.connection
    with target.transaction():
        for table in tables:
            existing = conn.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]
            if existing:
                raise StoreError(
                    f"{target.path}: table {table} already holds {existing} rows;"
                    " the target of a copy must be empty"
                )
        for table in tables:
            _copy_table(source, conn, table, counts[table], progress)
        pg.reset_identities(target)
        copied = {t: int(conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0]) for t in tables}
        wrong = {t: (counts[t], copied[t]) for t in tables if counts[t] != copied[t]}
        if wrong:
            detail = ", ".join(f"{t}: {a} in SQLite, {b} copied" for t, (a, b) in wrong.items())
            raise StoreError(f"the copy does not match ({detail}); nothing was kept")
    return CopyReport(counts)


def _copy_table(
    source: Database,
    conn: Any,
    table: str,
    total: int,
    progress: Callable[[str, int, int], None] | None,
) -> None:
    cursor: Any = source.execute(f'SELECT * FROM "{table}"')  # sqlite3: fetchmany
    columns = [d[0] for d in getattr(cursor, "description", ())]
    quoted = ", ".join(f'"{c}"' for c in columns)
    done = 0
    with (
        conn.cursor() as pg_cursor,
        pg_cursor.copy(f'COPY "{table}" ({quoted}) FROM STDIN') as copy,
    ):
        while True:
            rows = cursor.fetchmany(BATCH_ROWS)
            if not rows:
                break
            for row in rows:
                copy.write_row(tuple(row))
            done += len(rows)
            if progress is not None:
                progress(table, done, total)
    log.info("copied %d rows of %s", done, table)
