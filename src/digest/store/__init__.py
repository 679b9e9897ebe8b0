"""The store: SQLite (one file, the embedded default) or PostgreSQL, its schema, and a
small repository per table group.

``sql.py`` holds every statement (named, standard SQL) and the SQLite migrations;
``pg.py`` is the PostgreSQL dialect (its migrations, the statements that differ, its
connection); ``db.py`` opens a store, migrates it and runs transactions; ``connect.py``
opens either engine by its location, and ``copy.py`` copies a SQLite store into an empty
PostgreSQL one (``digest store migrate``). The other modules are the repositories each
stage uses, the same for both engines:

    articles.py     articles, de-duplicated by id, canonical URL and content hash
    embeddings.py   encoder vectors by (model, text hash)
    summaries.py    summaries by (content hash, backend, model, prompt version)
    editions.py     saved editions, and which articles each sent in which role
    desk.py         the editor's actions on each day's edition, and its approval
    subscribers.py  subscribers, one row per address, with a state
    consent.py      consent records and pending sign-ups (double opt-in)
    ledger.py       the delivery ledger: one row per (edition, subscriber)
    batches.py      one edition's ledger cut into the ranges distributed workers claim
    bounces.py      bounce scores, bounce events and the mail ``digest bounces`` handled
"""

from digest.config import Config, secret
from digest.store.articles import ArticleStore, IngestCounts
from digest.store.connect import open_database
from digest.store.db import Database
from digest.store.editions import EditionStore

__all__ = [
    "ArticleStore",
    "Database",
    "EditionStore",
    "IngestCounts",
    "open_database",
    "open_store",
]


def open_store(config: Config) -> Database:
    """The configured store (``config.store_path``), created and migrated when needed."""
    password = secret(config.store_password_env) if config.store_is_url else None
    return open_database(config.store_path, password=password)
