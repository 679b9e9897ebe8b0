"""SMTP refusals by their enhanced status code (RFC 3463), against a fault-injecting aiosmtpd
relay on 127.0.0.1: what suppresses an address, what stops a send and blames nobody, the
error budget on addresses already known bad, and exact "left" figures."""

from __future__ import annotations

import logging
import random
import re
from dataclasses import replace
from pathlib import Path

import pytest

from digest.config import DeliveryOptions, SmtpOptions
from digest.deliver import DeliveryReport, SmtpTransport, deliver_edition
from digest.deliver.replies import enhanced_status, reply_scope
from digest.deliver.transports import check_smtp_options
from digest.errors import (
    ErrorBudgetExceeded,
    MessageRefused,
    PermanentDeliveryError,
    RelayRefusesEveryone,
)
from digest.models import Subscriber
from digest.store import open_database
from digest.store.db import Database
from digest.store.ledger import DeliveryLedger
from digest.store.subscribers import SubscriberStore
from tests.smtp_sink import build_message, sink
from tools.smtp_sink import SmtpSink

__all__ = ["sink"]  # the fixture

FAST = DeliveryOptions(backoff_seconds=0.01, backoff_max_seconds=0.05, max_attempts=2)


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return open_database(tmp_path / "digest.sqlite3")


def add(db: Database, n: int) -> list[Subscriber]:
    store = SubscriberStore(db)
    return [store.upsert(f"reader{i:03d}@example.com")[0] for i in range(n)]


def send(
    db: Database, server: SmtpSink, edition: str, options: DeliveryOptions = FAST
) -> DeliveryReport:
    store = SubscriberStore(db)
    return deliver_edition(
        edition,
        store.pages(),
        lambda s: build_message(s, edition),
        lambda: SmtpTransport(SmtpOptions(host=server.host, port=server.port, timeout=5.0)),
        options,
        ledger=DeliveryLedger(db),
        subscriber_store=store,
        rng=random.Random(3),
    )


def failures(db: Database, subscribers: list[Subscriber]) -> list[int]:
    store = SubscriberStore(db)
    return [store.permanent_failures(s.id) for s in subscribers]


# --- the classification -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "text", "stage", "scope"),
    [
        (550, "5.1.1 <a@b.org>: no such user", "rcpt", "recipient"),
        (550, "5.1.1 no such user", "data", "recipient"),  # checked at end of DATA
        (553, "5.1.3 bad address syntax", "rcpt", "recipient"),
        (550, "5.1.10 null MX", "rcpt", "recipient"),
        (550, "5.2.1 mailbox disabled", "rcpt", "recipient"),
        (553, "5.1.7 bad sender address", "rcpt", "message"),
        (554, "5.7.1 message content rejected", "data", "message"),
        (550, "5.7.26 DMARC policy", "data", "message"),
        (554, "5.6.0 bad media", "data", "message"),
        (552, "5.3.4 message too big", "data", "message"),
        (552, "5.2.3 over the size limit", "data", "message"),
        (550, "5.7.1 relaying denied", "rcpt", "other"),  # never a subscriber's fault
        (552, "5.2.2 mailbox full", "rcpt", "other"),
        (554, "5.4.4 unable to route", "rcpt", "other"),
        (550, "no such user here", "rcpt", "recipient"),  # bare codes: RFC 5321 meaning
        (551, "user not local", "rcpt", "recipient"),
        (554, "transaction failed", "data", "message"),
        (552, "too much mail data", "data", "message"),
        (550, "rejected", "data", "other"),
        (554, "no thanks", "rcpt", "other"),
        (501, "syntax", "rcpt", "other"),
        (550, "sender refused", "mail", "message"),
        (550, "4.1.1 mismatched class", "rcpt", "recipient"),  # a bad enhanced code is ignored
        (550, "5.1.1x not a code", "data", "other"),
    ],
)
def test_reply_scope(code: int, text: str, stage: str, scope: str) -> None:
    assert reply_scope(code, text, stage) == scope  # type: ignore[arg-type]


def test_enhanced_status_parsing() -> None:
    assert str(enhanced_status(550, "5.1.1 user unknown")) == "5.1.1"
    assert str(enhanced_status(451, "  4.7.1 greylisted")) == "4.7.1"
    assert enhanced_status(550, "2.0.0 ok") is None
    assert enhanced_status(550, "user 5.1.1 unknown") is None
    assert enhanced_status(550, "5.1234.1 too long") is None


# --- a relay that refuses the content ------------------------------------------------------


def test_a_content_refusal_stops_the_send_blames_nobody_and_a_rerun_after_the_fix_sends(
    db: Database, sink: SmtpSink
) -> None:
    subscribers = add(db, 300)
    sink.rules.data_reply = "554 5.7.1 message content rejected"
    options = replace(FAST, connections=4, suppress_after=3)
    for _ in range(3):
        with pytest.raises(MessageRefused, match=r"0 sent, 300 left in the ledger") as stop:
            send(db, sink, "2026-11-24", options)
        assert "554 5.7.1 message content rejected" in str(stop.value)
    assert set(failures(db, subscribers)) == {0}
    assert SubscriberStore(db).counts()["suppressed"] == 0
    counts = DeliveryLedger(db).counts("2026-11-24")
    assert counts["sent"] == 0 and counts["sending"] == 0
    assert 1 <= counts["failed"] <= 4 * 3  # only what was in flight was tried
    sink.rules.data_reply = None  # the fix
    report = send(db, sink, "2026-11-24", options)
    assert report.sent == 300 and report.failed == 0
    assert all(len(c) == 1 for c in sink.by_recipient().values())
    assert len(sink.by_recipient()) == 300


@pytest.mark.parametrize(
    "reply", ["552 5.3.4 message too big", "554 5.6.1 bad content", "554 transaction failed"]
)
def test_size_and_media_refusals_after_data_stop_the_send(
    db: Database, sink: SmtpSink, reply: str
) -> None:
    subscribers = add(db, 5)
    sink.rules.data_reply = reply
    with pytest.raises(MessageRefused, match="0 sent, 5 left"):
        send(db, sink, "2026-11-24")
    assert set(failures(db, subscribers)) == {0}


def test_a_refused_sender_stops_the_send(db: Database, sink: SmtpSink) -> None:
    add(db, 5)
    store = SubscriberStore(db)
    with pytest.raises(MessageRefused, match="MAIL FROM: 553"):
        deliver_edition(
            "2026-11-24",
            store.pages(),
            lambda s: replace(build_message(s), mail_from="nobody@bad..example"),
            lambda: SmtpTransport(SmtpOptions(host=sink.host, port=sink.port, timeout=5.0)),
            FAST,
            ledger=DeliveryLedger(db),
            subscriber_store=store,
        )
    assert store.counts()["suppressed"] == 0


# --- per-recipient refusals ------------------------------------------------------------------


def test_per_recipient_replies_count_by_their_code(db: Database, sink: SmtpSink) -> None:
    subs = add(db, 6)
    sink.rules.rcpt_always[subs[0].email] = "550 5.1.1 no such user"
    sink.rules.rcpt_always[subs[1].email] = "550 5.7.1 recipient refused by policy"
    sink.rules.data_always[subs[2].email] = "550 5.1.1 unknown at delivery"
    sink.rules.data_always[subs[3].email] = "550 rejected"
    options = replace(FAST, suppress_after=2)
    first = send(db, sink, "2026-11-23", options)
    second = send(db, sink, "2026-11-24", options)
    assert first.sent == second.sent == 2 and first.failed == second.failed == 4
    assert failures(db, subs[:4]) == [2, 0, 2, 0]
    store = SubscriberStore(db)
    assert [store.get(s.id).state for s in subs[:4]] == [  # type: ignore[union-attr]
        "suppressed",
        "active",
        "suppressed",
        "active",
    ]
    assert second.suppressed == 2


def test_thirty_bad_addresses_are_all_suppressed_after_three_runs(
    db: Database, sink: SmtpSink
) -> None:
    subs = add(db, 300)
    bad = subs[5::10]  # 30 addresses spread through the list
    for subscriber in bad:
        sink.rules.rcpt_always[subscriber.email] = "550 5.1.1 no such user"
    options = replace(FAST, connections=4, suppress_after=3, error_budget=20)
    first = send(db, sink, "2026-11-24", options)
    assert first.sent == 270 and first.failed == 30
    # Re-runs of the same edition retry only the 30 refused rows, all in a row: they are
    # known bad, so they do not spend the error budget and none is left behind.
    for _ in range(2):
        again = send(db, sink, "2026-11-24", options)
        assert again.recipients == 30 and again.failed == 30
    assert failures(db, bad) == [3] * 30
    assert SubscriberStore(db).counts()["suppressed"] == 30
    assert send(db, sink, "2026-11-24", options).recipients == 0


def test_the_error_budget_still_stops_a_relay_that_refuses_new_addresses(
    db: Database, sink: SmtpSink
) -> None:
    subs = add(db, 300)
    for subscriber in subs:
        sink.rules.rcpt_always[subscriber.email] = "550 5.1.1 no such user"
    # With the circuit breaker off (breaker_refusals: 0) the budget is what stops it.
    options = replace(FAST, connections=1, error_budget=20, breaker_refusals=0)
    with pytest.raises(ErrorBudgetExceeded, match=r"0 sent, 300 left in the ledger"):
        send(db, sink, "2026-11-24", options)
    assert failures(db, subs).count(1) == 20


# --- the circuit breaker ---------------------------------------------------------------------


def test_a_relay_refusing_everyone_trips_the_breaker_blames_nobody_and_the_fixed_relay_sends(
    db: Database, sink: SmtpSink, caplog: pytest.LogCaptureFixture
) -> None:
    subs = add(db, 300)
    sink.rules.rcpt_all = "550 5.1.1 no such user"
    options = replace(FAST, connections=4, suppress_after=3, error_budget=20)
    for day in ("2026-11-24", "2026-11-25", "2026-11-26", "2026-11-26"):
        with pytest.raises(RelayRefusesEveryone) as stopped:
            send(db, sink, day, options)
        line = str(stopped.value)
        assert "\n" not in line
        assert "550 5.1.1 no such user" in line
        assert "no subscriber was counted against" in line
        assert re.search(r"refused (\d+) of the \1 addresses answered", line), line
        assert "0 sent, 300 left in the ledger" in line
    assert failures(db, subs) == [0] * 300
    assert SubscriberStore(db).counts()["active"] == 300
    assert "circuit breaker tripped" in caplog.text
    assert sink.messages == []
    sink.rules.rcpt_all = None  # the relay is fixed
    fixed = send(db, sink, "2026-11-26", options)
    assert fixed.sent == 300 and fixed.failed == 0 and fixed.suppressed == 0
    assert DeliveryLedger(db).counts("2026-11-26")["sent"] == 300


def test_refusals_counted_before_the_breaker_trips_are_not_counted(
    db: Database, sink: SmtpSink
) -> None:
    subs = add(db, 100)
    # 5 truly bad addresses early in the list, then the relay breaks for the rest.
    for subscriber in subs[:5]:
        sink.rules.rcpt_always[subscriber.email] = "550 5.1.1 no such user"
    for subscriber in subs[5:]:
        sink.rules.rcpt_always[subscriber.email] = "550 5.1.1 relay lost its user table"
    options = replace(FAST, connections=1, suppress_after=1, error_budget=50)
    with pytest.raises(RelayRefusesEveryone, match="relay lost its user table"):
        send(db, sink, "2026-11-24", options)
    assert failures(db, subs) == [0] * 100
    assert SubscriberStore(db).counts()["suppressed"] == 0


def test_few_refusals_below_the_ratio_do_not_trip_the_breaker(db: Database, sink: SmtpSink) -> None:
    subs = add(db, 60)
    bad = subs[::4]  # 15 refused of 60: over breaker_refusals, under half
    for subscriber in bad:
        sink.rules.rcpt_always[subscriber.email] = "550 5.1.1 no such user"
    options = replace(FAST, connections=1, suppress_after=1, breaker_refusals=10)
    report = send(db, sink, "2026-11-24", options)
    assert report.sent == 45 and report.failed == 15 and report.suppressed == 15
    assert failures(db, bad) == [1] * 15


def test_left_is_exact_when_the_budget_stops_a_run_midway(db: Database, sink: SmtpSink) -> None:
    subs = add(db, 300)
    for subscriber in subs[100:130]:
        sink.rules.rcpt_always[subscriber.email] = "550 5.7.1 relay refuses this one"
    options = replace(FAST, connections=1, error_budget=20)
    with pytest.raises(ErrorBudgetExceeded, match=r"100 sent, 200 left in the ledger"):
        send(db, sink, "2026-11-24", options)
    ledger = DeliveryLedger(db)
    counts = ledger.counts("2026-11-24")
    assert counts["sent"] == 100 and counts["queued"] + counts["failed"] == 200


def test_permanent_error_scope_defaults_keep_the_old_meaning() -> None:
    assert PermanentDeliveryError("x").recipient
    assert not PermanentDeliveryError("x", recipient=False).recipient
    assert PermanentDeliveryError("x", scope="message").scope == "message"


# --- allow_insecure -----------------------------------------------------------------------------


def test_a_password_in_the_clear_is_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    options = SmtpOptions(
        host="mail.example.org", port=25, security="none", allow_insecure=True, username="ann"
    )
    with caplog.at_level(logging.WARNING, logger="digest.deliver.transports"):
        check_smtp_options(options)
        check_smtp_options(options)  # once per process
        check_smtp_options(replace(options, username=None))  # no password: no warning
        check_smtp_options(replace(options, host="127.0.0.1", port=2526))  # loopback
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1
    assert "in the clear" in warnings[0] and "AUTH PLAIN" in warnings[0]
    assert "mail.example.org:25" in warnings[0]
