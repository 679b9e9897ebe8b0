"""What a worker does for each kind of task, as plain functions (Celery calls them in
``app.py``; the tests and benchmarks can call them directly).

- ``fetch_source``: read one configured source into the store, at most one fetch per host
  per ``distributed.host_delay_seconds`` across all workers (a Redis key per host); its
  ``SourceReport`` (the task turns it into JSON, the dispatcher back);
- ``summarize_articles``: summaries (and the encoder's vectors) of a batch of stored
  articles, into the store's caches;
- ``send_batches``: claim open send batches of an edition one at a time and send each
  through the ledger (``digest.store.batches``), until none is left or ``limit`` is reached:
  the batch's daily subscribers, each the personal edition of their topic set (rendered
  once per topic set per worker process).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlsplit

from digest.config import Config
from digest.deliver import DeliveryReport, Transport, deliver_edition, transport_factory
from digest.edition.personal import TopicKey, topic_key
from digest.errors import ConfigError, SourceError
from digest.models import OutgoingMessage, Subscriber
from digest.pipeline.build import store_summarizer
from digest.pipeline.ingest import SourceReport, ingest_source
from digest.pipeline.options import open_store
from digest.pipeline.personal import render_variants
from digest.pipeline.send import outbox_folder
from digest.publish.messages import MessageFactory
from digest.signed import secret_key
from digest.store import ArticleStore, Database, EditionStore
from digest.store.batches import RangeLedger, SendBatch, SendBatches, active_in_range
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
) -> SourceReport:
    """Ingest the source called ``name``; what that did."""
    options = next((s for s in config.sources if s.name == name), None)
    if options is None:
        raise ConfigError(f"sources: no source named {name!r} in this worker's config")
    location = config.resolve(options.location)
    if claim is not None and location.startswith(("http://", "https://")):
        _wait_for_host(
            urlsplit(location).hostname or "", config.distributed.host_delay_seconds, claim
        )
    with open_store(config) as db:
        return ingest_source(config, ArticleStore(db), options)


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


_factories: dict[tuple[str, TopicKey], MessageFactory] = {}
_factories_lock = threading.Lock()


class _Messages:
    """This process's messages for the edition of ``day``: one render (and one
    ``MessageFactory``) per topic set, made the first time a batch holds a subscriber
    with it and kept for the next batches (personal editions, as the one-process job
    makes them: ``digest.pipeline.personal``)."""

    def __init__(self, config: Config, day: date) -> None:
        self.config = config
        self.day = day
        self.key = day.isoformat()
        with open_store(config) as db:
            edition = EditionStore(db).for_day(day)
        if edition is None:
            raise ConfigError(f"no edition of {self.key} in the store: build it before sending")
        self.edition = edition

    def prepare(self, db: Database, subscribers: Sequence[Subscriber]) -> None:
        """Render the topic sets of ``subscribers`` this process has not rendered yet."""
        with _factories_lock:
            if any(k[0] != self.key for k in _factories):
                _factories.clear()  # one edition at a time is all a worker needs
            missing = [s for s in subscribers if (self.key, topic_key(s.topics)) not in _factories]
            if not missing and (self.key, ()) in _factories:
                return
            rendered = render_variants(self.config, db, self.edition, missing)
            for topics, render in rendered.items():
                _factories.setdefault(
                    (self.key, topics),
                    MessageFactory(
                        render,
                        self.config.newsletter,
                        secret_key(self.config.server.secret_env),
                        dkim=self.config.delivery.dkim,
                        base_dir=self.config.base_dir,
                    ),
                )

    def message(self, subscriber: Subscriber) -> OutgoingMessage:
        factory = _factories.get((self.key, topic_key(subscriber.topics)))
        return (factory or _factories[(self.key, ())]).message(subscriber)


def send_batches(config: Config, day: date, *, limit: int | None = None) -> SendTotals:
    """Claim open send batches of the edition of ``day`` and send them, one at a time.

    Two connections: one holds the claimed batch's row lock in an open transaction, the
    other writes the ledger (each claim before DATA and each reply, committed at once).
    """
    messages = _Messages(config, day)
    edition_id = messages.edition.id
    outbox = outbox_folder(config, edition_id)
    connect, _ = transport_factory(config.delivery, outbox, base_dir=config.base_dir)
    totals = SendTotals()
    me = worker_name()
    with open_store(config) as db, open_store(config) as claims_db:
        batches = SendBatches(claims_db)
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
                totals.add(_send_batch(config, db, batch, messages, connect))
    return totals


def _send_batch(
    config: Config,
    db: Database,
    batch: SendBatch,
    messages: _Messages,
    connect: Callable[[], Transport],
) -> DeliveryReport:
    """One claimed batch: its daily subscribers (weekly ones get the recap), each the
    render of their topic set, through the ledger of the batch's range."""
    first, last = batch.first_subscriber, batch.last_subscriber
    people = active_in_range(db, first, last)
    messages.prepare(db, people)
    return deliver_edition(
        batch.edition_id,
        people,
        messages.message,
        connect,
        config.delivery,
        ledger=RangeLedger(db, first, last),
        subscriber_store=SubscriberStore(db),
    )
