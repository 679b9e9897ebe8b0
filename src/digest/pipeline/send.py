"""Sending a rendered edition from this process, through the ledger: the daily job's
one-process send, its weekly recap, and the configured transport for a batch of messages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, timedelta
from pathlib import Path

from digest.config import Config
from digest.deliver import DeliveryReport, Transport, deliver_edition, transport_factory
from digest.edition.personal import TopicKey
from digest.edition.weekly import WEEKDAYS, weekly_recap
from digest.models import RenderedEdition, Subscriber
from digest.pipeline.options import edition_settings
from digest.pipeline.personal import PersonalMessages, SubscribersByFrequency, render_variants
from digest.progress import Progress
from digest.publish.render import recap_title
from digest.store import Database, EditionStore
from digest.store.ledger import DeliveryLedger
from digest.store.subscribers import SubscriberStore

__all__ = ["outbox_folder", "send_rendered", "send_weekly", "transports"]


def outbox_folder(config: Config, name: str, *, dry_run: bool = False) -> Path:
    """Where the .eml files of ``name`` (an edition's id) go: ``data_dir/<outbox>/name``,
    a folder of its own for a dry run."""
    folder = f"{name}-dry-run" if dry_run else name
    return config.data_path / config.delivery.outbox / folder


def transports(
    config: Config, name: str, *, dry_run: bool = False
) -> tuple[Callable[[], Transport], Path | None]:
    """The configured transport for the messages of ``name`` (``transport_factory``)."""
    folder = outbox_folder(config, name, dry_run=dry_run)
    return transport_factory(config.delivery, folder, base_dir=config.base_dir, dry_run=dry_run)


def send_rendered(
    config: Config,
    db: Database,
    rendered: RenderedEdition,
    key: bytes,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
    variants: Mapping[TopicKey, RenderedEdition] | None = None,
    recipients: Iterable[Subscriber] | None = None,
) -> tuple[DeliveryReport, Path | None]:
    """Send a rendered edition to every active subscriber through the ledger.

    A dry run writes the messages to an outbox folder and records nothing.
    """
    # One render per topic set when given (personal editions), else this one for all.
    messages = PersonalMessages(config, variants or {(): rendered}, key)
    connect, folder = transports(config, rendered.edition_id, dry_run=dry_run)
    subscribers = SubscriberStore(db)
    report = deliver_edition(
        rendered.edition_id,
        # Those who chose daily mail, read a page at a time (memory does not grow with
        # the list); one render per topic set (personal editions).
        recipients if recipients is not None else SubscribersByFrequency(subscribers.pages()),
        messages.message,
        connect,
        config.delivery,
        ledger=None if dry_run else DeliveryLedger(db),
        subscriber_store=None if dry_run else subscribers,
        progress=progress,
    )
    return report, folder


def send_weekly(
    config: Config,
    db: Database,
    day: date,
    key: bytes,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> DeliveryReport | None:
    """On ``edition.weekly_day``: the recap of the seven daily editions up to ``day`` to
    the subscribers who chose weekly mail (one render per topic set); None on other days,
    or with no weekly subscriber or story."""
    if WEEKDAYS[day.weekday()] != config.edition.weekly_day:
        return None
    weekly = SubscribersByFrequency(SubscriberStore(db).pages(), "weekly")
    if next(iter(weekly), None) is None:
        return None
    editions = EditionStore(db)
    found = [editions.for_day(day - timedelta(days=back)) for back in range(7)]
    title = recap_title(day, config.newsletter)
    recap = weekly_recap(
        [e for e in found if e is not None], day, edition_settings(config), title=title
    )
    if recap is None:
        return None
    variants = render_variants(config, db, recap, weekly)
    report, _ = send_rendered(
        config,
        db,
        variants[()],
        key,
        dry_run=dry_run,
        progress=progress,
        variants=variants,
        recipients=weekly,
    )
    return report
