"""The two dialects stay in step: every migration and every named statement of sql.py has a
PostgreSQL form that a real PostgreSQL accepts against the migrated schema."""

from __future__ import annotations

import gc
import re

import pytest

from digest.errors import StoreError
from digest.store import open_database, pg, sql
from tests.conftest import PostgresForTests


def named_statements() -> dict[str, str]:
    return {
        name: value
        for name, value in vars(sql).items()
        if name.isupper() and isinstance(value, str) and name != "MIGRATIONS"
    }


def test_every_migration_has_a_postgresql_version() -> None:
    missing = [
        f"sql.MIGRATIONS[{i}] (schema version {i + 1}: {script.strip().splitlines()[0][:60]!r})"
        for i, script in enumerate(sql.MIGRATIONS)
        if i >= len(pg.MIGRATIONS)
    ]
    assert not missing, "no PostgreSQL version in digest/store/pg.py MIGRATIONS for: " + "; ".join(
        missing
    )
    assert len(pg.MIGRATIONS) == len(sql.MIGRATIONS), "pg.py has migrations sql.py lacks"


def test_every_statement_has_a_postgresql_form() -> None:
    refused = []
    for name, text in named_statements().items():
        try:
            pg.translate(text)
        except StoreError:
            refused.append(name)
    assert not refused, (
        "SQLite-only statements with no PostgreSQL version in pg.STATEMENTS: " + ", ".join(refused)
    )
    assert set(pg.STATEMENTS) <= set(named_statements()), "pg.STATEMENTS names unknown statements"


def test_placeholders_are_rewritten_outside_quotes_only() -> None:
    text = "SELECT ':not' || x::text, '50%' FROM t WHERE a = :a AND b IN (?, ?) AND c LIKE 'x%'"
    assert pg._rewrite(text) == (
        "SELECT ':not' || x::text, '50%%' FROM t WHERE a = %(a)s AND b IN (%s, %s) AND c LIKE 'x%%'"
    )


def test_a_sqlite_only_statement_without_a_version_is_refused_by_name() -> None:
    with pytest.raises(StoreError, match="SQLite-only syntax"):
        pg.translate("INSERT OR IGNORE INTO things (a) VALUES (:a)")


def test_postgresql_plans_every_statement_against_the_schema(postgres: PostgresForTests) -> None:
    """EXPLAIN each statement, placeholders set to NULL: a typo, a wrong column or a
    SQLite-only construct fails here, naming the statement."""
    with open_database(postgres.fresh_url()) as db:
        assert isinstance(db, pg.PostgresDatabase)
        conn = db.connection
        for name, text in named_statements().items():
            translated = pg.translate(text.format(marks="?, ?") if "{marks}" in text else text)
            plain = re.sub(r"%\(\w+\)s|%s", "NULL", translated).replace("%%", "%")
            try:
                conn.execute(f"EXPLAIN {plain}", prepare=False)
            except Exception as exc:  # the message names the statement that failed
                pytest.fail(f"{name} does not run on PostgreSQL: {exc}")


def test_ids_continue_after_copied_rows(postgres: PostgresForTests) -> None:
    """An identity column given explicit ids (a migrated store) still hands out new ones."""
    from digest.store.subscribers import SubscriberStore

    with open_database(postgres.fresh_url()) as db:
        db.execute(
            "INSERT INTO subscribers (id, email, email_key, created_at, updated_at)"
            " VALUES (41, 'a@x.org', 'a@x.org', 'now', 'now')"
        )
        assert isinstance(db, pg.PostgresDatabase)
        pg.reset_identities(db)
        added, outcome = SubscriberStore(db).upsert("Ленa@пример.рф")
        assert outcome == "added" and added.id == 42


def test_an_insert_reports_the_new_id_on_both_engines(store_url: str) -> None:
    with open_database(store_url) as db:
        params = {
            "email": "Zoë@example.org",
            "email_key": "zoë@example.org",
            "name": "Zoë",
            "topics": "[]",
            "state": "active",
            "now": "2026-11-24T06:00:00+00:00",
        }
        first = db.execute(sql.INSERT_SUBSCRIBER, params).lastrowid
        second = db.execute(
            sql.INSERT_SUBSCRIBER, {**params, "email_key": "zoe2@example.org"}
        ).lastrowid
        assert (first, second) == (1, 2)


def test_a_dropped_postgresql_store_closes_its_connection(postgres: PostgresForTests) -> None:
    """The weakref finalizer closes the connection of a store dropped without close(), even
    one in a reference cycle; no ``__del__`` (the base class's ``_conn`` is never set here,
    and a finalizer already runs first)."""
    assert "__del__" not in vars(pg.PostgresDatabase)
    db = pg.PostgresDatabase(postgres.fresh_url())
    connection = db._pg
    assert not connection.closed
    db.cycle = db  # type: ignore[attr-defined]
    del db
    gc.collect()
    assert connection.closed
