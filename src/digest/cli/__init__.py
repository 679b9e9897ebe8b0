"""The ``digest`` command: a thin shell over ``digest.pipeline`` and the store.

Each command parses its options, makes one library call and prints the result. The group,
its shared options and exit codes are in ``base.py``; the commands live in one module per
stage of the flow, and register themselves on ``main`` when imported here:

    ingest.py      ingest, read, articles
    summaries.py   summarize
    edition.py     rank, edition
    newsletter.py  preview, archive
    sending.py     run, send-test, subscribers, serve
    desk.py        approve, send, and the editor's actions under `edition`
    store.py       store migrate
    worker.py      worker (Celery), for run --distributed
    mailbox.py     bounces
    sources.py     sources (health), sources import / export (OPML)
"""

from digest.cli import (
    desk,
    edition,
    ingest,
    mailbox,
    newsletter,
    sending,
    sources,
    store,
    summaries,
    worker,
)
from digest.cli.base import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, main

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_USAGE",
    "desk",
    "edition",
    "ingest",
    "mailbox",
    "main",
    "newsletter",
    "sending",
    "sources",
    "store",
    "summaries",
    "worker",
]
