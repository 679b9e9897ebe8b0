"""The daily job and the editor's preview, stage by stage.

The flow, one stage per module:

1. ingest     (``sources``)    read every configured source into ``Article`` values
2. store      (``store``)      keep them, de-duplicated, in SQLite
3. rank       (``rank``)       score the day's candidates, cluster same-event articles
4. summarize  (``summarize``)  key points and a conclusion per story
5. related    (``related``)    related stories for each story
6. edition    (``edition``)    the dated edition, saved so that a re-run gives the same one
7. render     (``render``)     HTML (premailer, once) and text, with per-subscriber slots
8. deliver    (``deliver``)    one message per subscriber, through the ledger

Each function below runs one or more stages and reports progress through an optional
callback; none of them prints.
"""

from __future__ import annotations

from collections.abc import Callable

from digest.config import Config
from digest.store import Database, open_database

__all__ = ["Progress", "open_store"]

# A progress callback: (stage, done, total, detail). The CLI turns it into a bar or a line.
Progress = Callable[[str, int, int, str], None]


def open_store(config: Config) -> Database:
    """The configured store, created and migrated when needed."""
    return open_database(config.store_path)
