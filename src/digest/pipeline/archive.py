"""The archive's editions, read from the store, and handed to the archive writer.

``digest.publish.archive.write_archive`` renders what it is given; this module says what
that is: every stored edition the archive shows (with ``delivery.require_approval``,
only approved ones) and each weekly recap that was sent, built again as the send built it.
``digest run`` calls ``update_archive`` after each send, ``digest archive``
``archive_stored``, and ``digest serve`` serves ``archive_folder``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

from digest.config import Config
from digest.edition.weekly import WEEKDAYS, weekly_id, weekly_recap
from digest.models import Edition
from digest.pipeline.options import edition_settings, open_store, page_settings
from digest.publish.archive import ArchiveWritten, write_archive
from digest.publish.render import recap_title
from digest.store import Database, EditionStore
from digest.store.desk import DeskStore
from digest.store.ledger import DeliveryLedger

__all__ = ["archive_folder", "archive_stored", "stored_editions", "update_archive"]


def archive_folder(config: Config) -> Path:
    """Where ``digest archive`` writes by default and ``digest serve`` reads."""
    return config.data_path / "archive"


def _editions_of(config: Config, db: Database) -> list[Edition]:
    """The stored editions the archive shows, newest first: all of them, or, with
    ``delivery.require_approval``, those approved (a draft waiting is never published);
    and each weekly recap that was sent to someone (``_weekly_recaps``)."""
    editions = EditionStore(db)
    desk = DeskStore(db)
    gate = config.delivery.require_approval
    days = [d for d in editions.days() if not gate or desk.approval(d) is not None]
    found = [editions.for_day(day) for day in days]
    dailies = [e for e in found if e is not None]
    recaps = _weekly_recaps(config, db, editions.days())
    return sorted([*dailies, *recaps], key=lambda e: e.date, reverse=True)


def _weekly_recaps(config: Config, db: Database, days: Sequence[date]) -> list[Edition]:
    """The weekly recaps the ledger shows were sent: the recap of each ``weekly_day``
    among the stored days, built again from that week's dailies as the send built it
    (``digest.edition.weekly``, deterministic), so that its "View in your browser" link
    answers. A recap never sent (no weekly subscriber, a dry run) is not published."""
    if not days:
        return []
    editions = EditionStore(db)
    ledger = DeliveryLedger(db)
    settings = edition_settings(config)
    wanted = WEEKDAYS.index(config.edition.weekly_day)
    first, last = min(days), max(days)
    recaps: list[Edition] = []
    day = last - timedelta(days=(last.weekday() - wanted) % 7)
    while day >= first:
        if ledger.counts(weekly_id(day))["sent"]:
            week = [editions.for_day(day - timedelta(days=back)) for back in range(7)]
            recap = weekly_recap(
                [e for e in week if e is not None],
                day,
                settings,
                title=recap_title(day, config.newsletter),
            )
            if recap is not None:
                recaps.append(recap)
        day -= timedelta(days=7)
    return recaps


def stored_editions(config: Config) -> list[Edition]:
    """Every edition of the store the archive shows (see ``_editions_of``), newest first."""
    with open_store(config) as db:
        return _editions_of(config, db)


def archive_stored(config: Config, out: Path | None = None) -> ArchiveWritten:
    """``write_archive`` over every stored edition the archive shows, into ``out``
    (default: ``archive_folder``)."""
    folder = out if out is not None else archive_folder(config)
    return write_archive(page_settings(config), stored_editions(config), folder)


def update_archive(config: Config, db: Database, *edition_ids: str) -> ArchiveWritten:
    """After a send: the pages of ``edition_ids`` (rendered again: they are what was sent,
    the day's edition and the weekly recap sent with it), any page missing, the index
    pages and the feed, over the editions the archive shows."""
    return write_archive(
        page_settings(config),
        _editions_of(config, db),
        archive_folder(config),
        only=set(edition_ids),
    )
