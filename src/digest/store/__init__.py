"""The store: SQLite (one file, the embedded default) or PostgreSQL, its schema, and a
small repository per table group. ``open_location`` opens the store at a location (the
configured one is ``digest.pipeline.open_store``).

    __init__.py    ``open_location`` and the repositories most callers use
    sql.py         every statement (named, standard SQL) and the SQLite migrations
    pg.py          the PostgreSQL dialect: its migrations, the statements that differ,
                   its connection
    db.py          open a SQLite store, migrate it, run transactions
    connect.py     open a store by its location: a SQLite file or a PostgreSQL URL
    copy.py        copy a SQLite store into an empty PostgreSQL one
    articles.py    stored articles, de-duplicated
    embeddings.py  the encoder's vectors, cached by (model, text hash)
    summaries.py   summaries, cached by (content hash, backend, model, version)
    editions.py    saved editions and the articles each sent
    desk.py        the editor's actions and approvals
    ledger.py      the delivery ledger, one row per (edition, subscriber)
    batches.py     send batches that workers claim
    subscribers.py stored subscribers and their state
    consent.py     consent records and pending sign-ups (double opt-in)
    bounces.py     bounce scores, bounce events and handled mail
    fetching.py    HTTP validators per URL (conditional GET) and each source's health

The repositories are the same for both engines.
"""

from pathlib import Path

from digest.config import secret
from digest.store.articles import ArticleStore, IngestCounts
from digest.store.connect import open_database
from digest.store.db import Database
from digest.store.editions import EditionStore
from digest.store.pg import is_postgres_url

__all__ = [
    "ArticleStore",
    "Database",
    "EditionStore",
    "IngestCounts",
    "open_database",
    "open_location",
]


def open_location(location: str | Path, password_env: str) -> Database:
    """The store at ``location`` (a SQLite file, ``":memory:"`` or a ``postgresql://``
    URL), created and migrated when needed; a URL's password comes from the environment
    variable ``password_env``, never from the config file."""
    password = secret(password_env) if is_postgres_url(location) else None
    return open_database(location, password=password)
