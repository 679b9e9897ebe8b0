"""What a worker does for each kind of task, as plain functions (Celery calls them in
``app.py``; the tests and benchmarks can call them directly).

- ``fetch_source``: read one configured source into the store, at most one fetch per host
  per ``distributed.host_delay_seconds`` across all workers (a Redis key per host);
- ``summarize_articles``: summaries (and the encoder's vectors) of a batch of stored
  articles, into the store's caches;
- ``send_batches``: claim open send batches of an edition one at a time and send each
  through the ledger (``digest.store.batches``), until none is left or ``limit`` is reached.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from digest.config import Config
from digest.deliver import DeliveryReport, deliver_edition
from digest.errors import ConfigError, SourceError
from digest.pipeline.build import store_summarizer
from digest.pipeline.daily import transport_factory
from digest.pipeline.ingest import ingest_source
from digest.publish.messages import MessageFactory
from digest.publish.render import render_edition
from digest.publish.tokens import secret_key
from digest.store import ArticleStore, EditionStore, open_store
from digest.store.batches import RangeLedger, SendBatches, active_in_range
from digest.store.subscribers import SubscriberStore

__all__ = ["SendTotals", "fetch_source", "send_batches", "summarize_articles", "worker_name"]

log = logging.getLogger(__name__)

POLITE_KEY = "digest:polite:{host}"
POLITE_POLL_S = 0.05
POLITE_MAX_WAIT_S = 600.0  # past this, a host's queue of fetches is a config problem


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _wait_for_host(host: str, delay: float, claim: Callable[[str, int], bool]) -> None:
    """Block until this worker may fetch from ``host``: ``claim(key, ms)`` is an atomic
    set-if-absent with expiry (Redis ``SET NX PX``), shared by every worker."""
    if delay <= 0 or not host:
        return
    key = POLITE_KEY.format(host=host.lower())
    deadline = time.monotonic() + POLITE_MAX_WAIT_S
    while not claim(key, max(1, int(delay * 1000))):
        if time.monotonic() > deadline:
            raise SourceError(f"{host}: waited {POLITE_MAX_WAIT_S:.0f} s for a turn to fetch")
        time.sleep(POLITE_POLL_S)


def fetch_source(
    config: Config, name: str, claim: Callable[[str, int], bool] | None = None
) -> dict[str, Any]:
    """Ingest the source called ``name``; its ``SourceReport`` as a dict."""
    options = next((s for s in config.sources if s.name == name), None)
    if options is None:
        raise ConfigError(f"sources: no source named {name!r} in this worker's config")
    location = config.resolve(options.location)
    if claim is not None and location.startswith(("http://", "https://")):
        _wait_for_host(
            urlsplit(location).hostname or "", config.distributed.host_delay_seconds, claim
        )
    with open_store(config) as db:
        return asdict(ingest_source(config, ArticleStore(db), options))


def summarize_articles(config: Config, article_ids: Sequence[str]) -> int:
    """Summarise these stored articles into the store's cache; how many were summarised."""
    with open_store(config) as db:
        store = ArticleStore(db)
        articles = [a for a in (store.get(i) for i in article_ids) if a is not None]
        return len(store_summarizer(config, db)(articles))


@dataclass
class SendTotals:
    batches: int = 0
    recipients: int = 0
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    suppressed: int = 0
    already_sent: int = 0
    ambiguous_resent: int = 0

    def add(self, report: DeliveryReport) -> None:
        self.batches += 1
        for key in (
            "recipients",
            "sent",
            "deferred",
            "failed",
            "suppressed",
            "already_sent",
            "ambiguous_resent",
        ):
            setattr(self, key, getattr(self, key) + int(getattr(report, key)))


_factories: dict[str, MessageFactory] = {}
_factories_lock = threading.Lock()


def _factory(config: Config, day: date) -> MessageFactory:
    """This process's message factory for the edition of ``day`` (rendered once)."""
    key = day.isoformat()
    with _factories_lock:
        if key not in _factories:
            with open_store(config) as db:
                edition = EditionStore(db).for_day(day)
            if edition is None:
                raise ConfigError(f"no edition of {key} in the store: build it before sending")
            rendered = render_edition(
                edition, config.newsletter, base_dir=config.base_dir, timezone=config.tz
            )
            _factories.clear()  # one edition at a time is all a worker needs
            _factories[key] = MessageFactory(
                rendered,
                config.newsletter,
                secret_key(config),
                dkim=config.delivery.dkim,
                base_dir=config.base_dir,
            )
        return _factories[key]


def send_batches(config: Config, day: date, *, limit: int | None = None) -> SendTotals:
    """Claim open send batches of the edition of ``day`` and send them, one at a time.

    Two connections: one holds the claimed batch's row lock in an open transaction, the
    other writes the ledger (each claim before DATA and each reply, committed at once).
    """
    factory = _factory(config, day)
    edition_id = factory.rendered.edition_id
    connect, _ = transport_factory(config, edition_id)
    totals = SendTotals()
    me = worker_name()
    with open_store(config) as db, open_store(config) as claims_db:
        batches = SendBatches(claims_db)
        subscribers = SubscriberStore(db)
        while limit is None or totals.batches < limit:
            with batches.claim(edition_id, me) as batch:
                if batch is None:
                    break
                log.info(
                    "%s: batch %d (subscribers %d-%d) claimed by %s",
                    edition_id,
                    batch.batch,
                    batch.first_subscriber,
                    batch.last_subscriber,
                    me,
                )
                report = deliver_edition(
                    edition_id,
                    active_in_range(db, batch.first_subscriber, batch.last_subscriber),
                    factory.message,
                    connect,
                    config.delivery,
                    ledger=RangeLedger(db, batch.first_subscriber, batch.last_subscriber),
                    subscriber_store=subscribers,
                )
                totals.add(report)
    return totals
