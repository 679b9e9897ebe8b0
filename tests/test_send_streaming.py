"""A send streams its list: subscribers are read a page at a time, not all before the first
message, and the result is the same as from a list (everyone once, a re-run sends nothing)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from digest.config import DeliveryOptions
from digest.deliver import OutboxTransport, deliver_edition
from digest.models import OutgoingMessage, Subscriber
from digest.store import open_database
from digest.store.ledger import PAGE_IDS, DeliveryLedger
from digest.store.subscribers import SubscriberPages, SubscriberStore
from tests.smtp_sink import build_message

EDITION = "2026-11-24"


class CountingPages:
    """A re-iterable list of subscribers that counts what each pass has read so far."""

    def __init__(self, subscribers: list[Subscriber]) -> None:
        self.subscribers = subscribers
        self.passes: list[int] = []

    def __iter__(self) -> Iterator[Subscriber]:
        self.passes.append(0)
        for subscriber in self.subscribers:
            self.passes[-1] += 1
            yield subscriber


def test_subscribers_are_read_a_page_at_a_time(tmp_path: Path) -> None:
    db = open_database(tmp_path / "digest.sqlite3")
    store = SubscriberStore(db)
    people = [store.upsert(f"leser{i:04d}@example.de")[0] for i in range(2 * PAGE_IDS + 7)]
    listed = CountingPages(people)
    read_at_first_message: list[list[int]] = []

    def build(subscriber: Subscriber) -> OutgoingMessage:
        if not read_at_first_message:
            read_at_first_message.append(list(listed.passes))
        return build_message(subscriber, EDITION)

    outbox = tmp_path / "out"
    report = deliver_edition(
        EDITION,
        listed,
        build,
        lambda: OutboxTransport(outbox),
        DeliveryOptions(connections=2),
        ledger=DeliveryLedger(db),
        subscriber_store=store,
    )
    assert report.recipients == report.sent == len(people)
    assert len(list(outbox.glob("*.eml"))) == len(people)
    # The first pass (ledger rows, counts) read everyone; when the first message was
    # built the second pass had read one page, not the list.
    (first,) = read_at_first_message
    assert first[0] == len(people) and first[1] <= PAGE_IDS
    again = deliver_edition(
        EDITION,
        store.pages(),
        build,
        lambda: OutboxTransport(outbox),
        DeliveryOptions(),
        ledger=DeliveryLedger(db),
    )
    assert again.recipients == 0 and again.already_sent == len(people)
    db.close()


def test_a_one_shot_iterator_is_still_accepted(tmp_path: Path) -> None:
    db = open_database(tmp_path / "digest.sqlite3")
    store = SubscriberStore(db)
    people = [store.upsert(f"leitor{i}@example.pt")[0] for i in range(5)]
    report = deliver_edition(
        EDITION,
        (p for p in people),
        lambda s: build_message(s, EDITION),
        lambda: OutboxTransport(tmp_path / "out"),
        DeliveryOptions(),
        ledger=DeliveryLedger(db),
    )
    assert report.sent == 5
    db.close()


def test_subscriber_pages_are_keyset_pages_in_id_order(tmp_path: Path) -> None:
    db = open_database(tmp_path / "digest.sqlite3")
    store = SubscriberStore(db)
    people = [store.upsert(f"reader{i}@example.jp", name=f"読者 {i}")[0] for i in range(7)]
    store.set_state(people[2].id, "unsubscribed")
    store.set_state(people[5].id, "suppressed")
    pages = SubscriberPages(db, "active", page_size=2)
    active = [p.id for p in people if p.id not in (people[2].id, people[5].id)]
    assert [s.id for s in pages] == active
    assert [s.id for s in pages] == active  # iterable again
    assert len(pages) == 5 and len(store.pages("suppressed")) == 1
    db.close()
