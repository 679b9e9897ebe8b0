"""The SQLite store: one database file, its schema, and a small repository per table group.

``sql.py`` holds every statement (named, standard SQL: a PostgreSQL dialect would be a
second module beside it); ``db.py`` opens the file, migrates it and runs transactions;
the other modules are the repositories each stage uses.
"""

from digest.config import Config
from digest.store.articles import ArticleStore, IngestCounts
from digest.store.db import Database, open_database
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
    return open_database(config.store_path)
