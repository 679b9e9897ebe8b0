"""The store: SQLite (one file, the embedded default) or PostgreSQL, its schema, and a
small repository per table group.

``sql.py`` holds every statement (named, standard SQL) and the SQLite migrations;
``pg.py`` is the PostgreSQL dialect (its migrations, the statements that differ, its
connection); ``db.py`` opens a store, migrates it and runs transactions; the other
modules are the repositories each stage uses, the same for both engines.
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
