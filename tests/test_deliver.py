"""Delivery over real SMTP (aiosmtpd on 127.0.0.1): transports, retries, suppression,
the error budget and the ledger."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from digest.config import DeliveryOptions, SmtpOptions
from digest.deliver import (
    DeliveryReport,
    OutboxTransport,
    RateLimiter,
    SmtpTransport,
    backoff_delay,
    deliver_edition,
)
from digest.errors import (
    ConfigError,
    DeliveryError,
    ErrorBudgetExceeded,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from digest.models import Subscriber
from digest.store import open_database
from digest.store.db import Database
from digest.store.ledger import DeliveryLedger
from digest.store.subscribers import SubscriberStore
from tests.smtp_sink import TlsFiles, build_message, sink, tls_files
from tools.smtp_sink import SmtpSink, free_port

SINK_PROGRAM = Path(__file__).resolve().parent.parent / "tools" / "smtp_sink.py"

__all__ = ["sink", "tls_files"]  # fixtures used below

EDITION = "2026-11-24"
FAST = DeliveryOptions(backoff_seconds=0.01, backoff_max_seconds=0.05, max_attempts=4)


def smtp_options(server: SmtpSink, **changes: object) -> SmtpOptions:
    return replace(SmtpOptions(host=server.host, port=server.port, timeout=5.0), **changes)


@pytest.fixture
def db(store_url: str) -> Iterator[Database]:
    """A fresh store: each test using it runs on SQLite and on PostgreSQL."""
    with open_database(store_url) as store:
        yield store


def add_subscribers(db: Database, n: int) -> list[Subscriber]:
    store = SubscriberStore(db)
    return [store.upsert(f"reader{i}@example.com", name=f"Reader {i}")[0] for i in range(n)]


def run_edition(
    db: Database, server: SmtpSink, options: DeliveryOptions = FAST, edition: str = EDITION
) -> DeliveryReport:
    store = SubscriberStore(db)
    return deliver_edition(
        edition,
        store.active(),
        lambda s: build_message(s, edition),
        lambda: SmtpTransport(smtp_options(server)),
        options,
        ledger=DeliveryLedger(db),
        subscriber_store=store,
        rng=random.Random(1),
    )


# --- transports --------------------------------------------------------------------------


def test_outbox_writes_one_file_per_message_id(tmp_path: Path) -> None:
    outbox = OutboxTransport(tmp_path / "outbox")
    message = build_message(Subscriber(7, "ann@example.com"))
    marks: list[str] = []
    reply = outbox.send(message, lambda: marks.append("data"))
    outbox.send(message)
    files = list((tmp_path / "outbox").iterdir())
    assert reply.code == 250 and marks == ["data"]
    assert [f.name for f in files] == ["2026-11-24.7@digest.test.eml"]
    assert files[0].read_bytes() == message.data


def test_plain_smtp_to_localhost_reuses_one_connection(tls_files: TlsFiles) -> None:
    with SmtpSink(users={"ann": "s3cret"}) as server:
        transport = SmtpTransport(smtp_options(server, username="ann"), password="s3cret")
        for i in range(3):
            reply = transport.send(build_message(Subscriber(i + 1, f"r{i}@example.com")))
            assert reply.code == 250
        transport.close()
    assert [m.message_id for m in server.messages] == [
        f"<{EDITION}.{i}@digest.test>" for i in (1, 2, 3)
    ]
    assert server.logins == ["ann"]  # one login: the connection was reused


def test_starttls_with_auth(tls_files: TlsFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIGEST_TEST_SMTP_PASSWORD", "pa55")
    with SmtpSink(
        tls=tls_files.server_context(), require_starttls=True, users={"bob": "pa55"}
    ) as server:
        options = smtp_options(
            server,
            security="starttls",
            ca_file=str(tls_files.cert),
            username="bob",
            password_env="DIGEST_TEST_SMTP_PASSWORD",
        )
        transport = SmtpTransport(options)
        transport.send(build_message(Subscriber(1, "ann@example.com")))
        transport.close()
    assert server.logins == ["bob"] and len(server.messages) == 1


def test_implicit_tls(tls_files: TlsFiles) -> None:
    with SmtpSink(tls=tls_files.server_context(), implicit_tls=True) as server:
        options = smtp_options(server, security="tls", ca_file=str(tls_files.cert))
        transport = SmtpTransport(options)
        transport.send(build_message(Subscriber(1, "ann@example.com")))
        transport.close()
    assert len(server.messages) == 1


def test_untrusted_certificate_is_a_clear_error(tls_files: TlsFiles) -> None:
    with SmtpSink(tls=tls_files.server_context(), require_starttls=True) as server:
        transport = SmtpTransport(smtp_options(server, security="starttls"))
        with pytest.raises(DeliveryError, match="TLS failed") as info:
            transport.send(build_message(Subscriber(1, "ann@example.com")))
    assert not isinstance(info.value, TransientDeliveryError | PermanentDeliveryError)
    assert server.messages == []


def test_wrong_password_is_not_retried(tls_files: TlsFiles) -> None:
    with SmtpSink(users={"ann": "right"}) as server:
        transport = SmtpTransport(smtp_options(server, username="ann"), password="wrong")
        with pytest.raises(DeliveryError, match="login as 'ann' refused") as info:
            transport.send(build_message(Subscriber(1, "ann@example.com")))
    assert not isinstance(info.value, TransientDeliveryError)


def test_plain_smtp_to_another_host_needs_allow_insecure(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="allow_insecure"):
        SmtpTransport(SmtpOptions(host="mail.example.org", security="none"))
    SmtpTransport(SmtpOptions(host="mail.example.org", security="none", allow_insecure=True))
    monkeypatch.delenv("DIGEST_SMTP_PASSWORD", raising=False)
    with pytest.raises(ConfigError, match=r"\$DIGEST_SMTP_PASSWORD"):
        SmtpTransport(SmtpOptions(username="ann"))


def test_smtp_replies_become_the_error_tree(sink: SmtpSink) -> None:
    sink.rules.rcpt_always["gone@example.com"] = "550 5.1.1 no such user"
    sink.rules.rcpt_replies["busy@example.com"] = ["451 4.3.0 try later"]
    transport = SmtpTransport(smtp_options(sink))
    with pytest.raises(PermanentDeliveryError, match="550") as permanent:
        transport.send(build_message(Subscriber(1, "gone@example.com")))
    with pytest.raises(TransientDeliveryError, match="451") as transient:
        transport.send(build_message(Subscriber(2, "busy@example.com")))
    # The connection survives refusals (RSET) and carries the next message.
    transport.send(build_message(Subscriber(3, "fine@example.com")))
    transport.close()
    assert permanent.value.recipient and permanent.value.code == 550
    assert transient.value.code == 451 and not transient.value.after_data
    assert [m.rcpt_tos for m in sink.messages] == [("fine@example.com",)]


def test_a_connection_the_server_closed_while_idle_is_reopened() -> None:
    with SmtpSink() as first:
        transport = SmtpTransport(smtp_options(first))
        transport.idle_check = 0.0  # check with NOOP before every message
        transport.send(build_message(Subscriber(1, "ann@example.com")))
    with SmtpSink(port=first.port) as second:  # the old connection is dead now
        reply = transport.send(build_message(Subscriber(2, "bob@example.com")))
        transport.close()
    assert reply.code == 250 and [m.rcpt_tos for m in second.messages] == [("bob@example.com",)]


def test_connection_refused_is_transient() -> None:
    transport = SmtpTransport(SmtpOptions(host="127.0.0.1", port=free_port(), timeout=2.0))
    with pytest.raises(TransientDeliveryError, match="cannot connect"):
        transport.send(build_message(Subscriber(1, "ann@example.com")))


# --- sending an edition ------------------------------------------------------------------


def test_every_subscriber_gets_one_copy_and_a_rerun_sends_nothing(
    db: Database, sink: SmtpSink
) -> None:
    add_subscribers(db, 30)
    report = run_edition(db, sink, replace(FAST, connections=4))
    again = run_edition(db, sink, replace(FAST, connections=4))
    copies = sink.by_recipient()
    assert report.sent == 30 and report.failed == report.deferred == 0
    assert again.recipients == 0 and again.already_sent == 30
    assert len(copies) == 30 and all(len(c) == 1 for c in copies.values())
    rows = DeliveryLedger(db).rows(EDITION)
    assert {r.state for r in rows} == {"sent"} and all(r.reply_code == 250 for r in rows)
    assert {r.message_id for r in rows} == {m.message_id for m in sink.messages}


def test_parallel_connections_share_the_work(db: Database, sink: SmtpSink) -> None:
    add_subscribers(db, 24)
    sink.rules.data_delay = 0.01  # each connection is busy a while: the others take over
    report = run_edition(db, sink, replace(FAST, connections=4))
    assert report.sent == 24
    assert len({m.peer for m in sink.messages}) == 4


def test_transient_refusals_are_retried(db: Database, sink: SmtpSink) -> None:
    subs = add_subscribers(db, 3)
    sink.rules.rcpt_replies[subs[1].email] = ["451 4.7.1 greylisted", "452 4.2.2 full"]
    report = run_edition(db, sink)
    row = DeliveryLedger(db).get(EDITION, subs[1].id)
    assert report.sent == 3 and report.retries == 2
    assert row is not None and row.state == "sent" and row.attempts == 3
    assert len(sink.by_recipient()[subs[1].email]) == 1


def test_dropped_connection_before_the_message_is_kept_is_retried(
    db: Database, sink: SmtpSink
) -> None:
    subs = add_subscribers(db, 3)
    sink.rules.drop_before_store[subs[0].email] = 1
    report = run_edition(db, sink)
    assert report.sent == 3
    assert all(len(c) == 1 for c in sink.by_recipient().values())


def test_drop_after_the_server_kept_it_resends_with_the_same_message_id(
    db: Database, sink: SmtpSink
) -> None:
    subs = add_subscribers(db, 2)
    sink.rules.drop_after_store[subs[0].email] = 1
    report = run_edition(db, sink)
    copies = sink.by_recipient()[subs[0].email]
    assert report.ambiguous == [subs[0].email] and report.ambiguous_resent == 1
    assert len(copies) == 2 and copies[0].message_id == copies[1].message_id
    row = DeliveryLedger(db).get(EDITION, subs[0].id)
    assert row is not None and row.state == "sent" and row.ambiguous == 1


def test_deferred_after_max_attempts_then_sent_by_the_next_run(
    db: Database, sink: SmtpSink
) -> None:
    subs = add_subscribers(db, 2)
    sink.rules.rcpt_replies[subs[0].email] = ["451 4.3.0 later"] * 4
    first = run_edition(db, sink)
    assert first.deferred == 1 and first.sent == 1
    assert DeliveryLedger(db).get(EDITION, subs[0].id).state == "deferred"  # type: ignore[union-attr]
    second = run_edition(db, sink)
    assert second.recipients == 1 and second.sent == 1
    assert all(len(c) == 1 for c in sink.by_recipient().values())


def test_permanent_failures_suppress_the_address(db: Database, sink: SmtpSink) -> None:
    subs = add_subscribers(db, 3)
    sink.rules.rcpt_always[subs[2].email] = "550 5.1.1 mailbox unavailable"
    options = replace(FAST, suppress_after=2)
    first = run_edition(db, sink, options, "2026-11-23")
    second = run_edition(db, sink, options, "2026-11-24")
    third = run_edition(db, sink, options, "2026-11-25")
    store = SubscriberStore(db)
    assert first.failed == 1 and first.suppressed == 0
    assert second.failed == 1 and second.suppressed == 1
    assert third.recipients == 2 and third.failed == 0
    assert store.get(subs[2].id).state == "suppressed"  # type: ignore[union-attr]
    row = DeliveryLedger(db).get("2026-11-23", subs[2].id)
    assert row is not None and row.state == "failed" and row.reply_code == 550


def test_error_budget_stops_the_run_and_keeps_the_ledger(db: Database) -> None:
    add_subscribers(db, 10)
    dead = SmtpOptions(host="127.0.0.1", port=free_port(), timeout=2.0)
    store = SubscriberStore(db)
    with pytest.raises(ErrorBudgetExceeded, match="5 delivery failures in a row"):
        deliver_edition(
            EDITION,
            store.active(),
            build_message,
            lambda: SmtpTransport(dead),
            replace(FAST, error_budget=5, max_attempts=10),
            ledger=DeliveryLedger(db),
            subscriber_store=store,
        )
    counts = DeliveryLedger(db).counts(EDITION)
    assert counts["sent"] == 0 and counts["sending"] == 0
    assert counts["queued"] + counts["deferred"] == 10


def test_a_fatal_error_stops_the_run(db: Database) -> None:
    add_subscribers(db, 3)
    with SmtpSink(users={"ann": "right"}) as server:
        store = SubscriberStore(db)
        with pytest.raises(DeliveryError, match="refused"):
            deliver_edition(
                EDITION,
                store.active(),
                build_message,
                lambda: SmtpTransport(smtp_options(server, username="ann"), password="no"),
                FAST,
                ledger=DeliveryLedger(db),
            )
    assert DeliveryLedger(db).counts(EDITION)["sent"] == 0


def test_unsubscribed_before_the_rerun_is_not_sent(db: Database, sink: SmtpSink) -> None:
    subs = add_subscribers(db, 3)
    sink.rules.rcpt_replies[subs[0].email] = ["451 later"] * 4
    run_edition(db, sink)
    SubscriberStore(db).set_state(subs[0].id, "unsubscribed")
    report = run_edition(db, sink)
    assert report.recipients == 0
    assert subs[0].email not in sink.by_recipient()


# --- the ledger --------------------------------------------------------------------------


def test_a_claim_is_won_once_across_connections(db: Database, store_url: str) -> None:
    sub = add_subscribers(db, 1)[0]
    ledger = DeliveryLedger(db)
    ledger.enqueue(EDITION, [sub.id])
    other = DeliveryLedger(open_database(store_url))  # a second sender, its own connection
    wins = [ledger.claim(EDITION, sub.id, "<m@x>"), other.claim(EDITION, sub.id, "<m@x>")]
    assert wins == [True, False]
    ledger.finish(EDITION, sub.id, "sent", 250, "OK")
    assert not other.claim(EDITION, sub.id, "<m@x>")


def test_recover_requeues_what_a_dead_run_left_in_sending(db: Database) -> None:
    a, b = add_subscribers(db, 2)
    ledger = DeliveryLedger(db)
    ledger.enqueue(EDITION, [a.id, b.id])
    ledger.claim(EDITION, b.id, "<b@x>")  # claimed at DATA, then the process died
    ambiguous = ledger.recover(EDITION)
    assert [(x.email, x.message_id) for x in ambiguous] == [(b.email, "<b@x>")]
    assert ledger.pending(EDITION) == [a.id, b.id]
    row = ledger.get(EDITION, b.id)
    assert row is not None and row.state == "queued" and row.ambiguous == 1
    assert row.message_id == "<b@x>"  # the resend carries the same Message-ID
    assert ledger.recover(EDITION) == []


def test_a_reply_on_a_row_another_sender_recovered_is_not_written(
    db: Database, store_url: str
) -> None:
    """What bench/send.py --processes did: a second sender's whole-edition ``recover`` took
    a row the first held in ``sending``; the first one's ``finish`` then says so."""
    sub = add_subscribers(db, 1)[0]
    ledger = DeliveryLedger(db)
    ledger.enqueue(EDITION, [sub.id])
    assert ledger.claim(EDITION, sub.id, "<m@x>")
    other = DeliveryLedger(open_database(store_url))
    assert [x.subscriber_id for x in other.recover(EDITION)] == [sub.id]
    assert not ledger.finish(EDITION, sub.id, "sent", 250, "OK")
    row = ledger.get(EDITION, sub.id)
    assert row is not None and (row.state, row.ambiguous) == ("queued", 1)
    assert ledger.claim(EDITION, sub.id, "<m@x>")
    assert ledger.finish(EDITION, sub.id, "sent", 250, "OK")


def test_a_refusal_before_data_is_recorded_without_a_claim(db: Database, sink: SmtpSink) -> None:
    subs = add_subscribers(db, 2)
    sink.rules.rcpt_always[subs[0].email] = "550 5.1.1 unknown"
    run_edition(db, sink)
    row = DeliveryLedger(db).get(EDITION, subs[0].id)
    assert row is not None and row.state == "failed" and row.reply_code == 550
    assert row.attempts == 1 and row.message_id == f"<{EDITION}.{subs[0].id}@digest.test>"


def test_a_row_sent_by_another_sender_is_not_sent_again(
    db: Database, sink: SmtpSink, store_url: str
) -> None:
    subs = add_subscribers(db, 2)
    ledger = DeliveryLedger(db)
    ledger.enqueue(EDITION, [s.id for s in subs])
    store = SubscriberStore(db)
    # Another sender claims subs[0] after this run listed it as pending.
    original = ledger.claim

    def racing_claim(edition: str, subscriber_id: int, message_id: str) -> bool:
        if subscriber_id == subs[0].id:
            other = DeliveryLedger(open_database(store_url))
            assert other.claim(edition, subscriber_id, message_id)
            other.finish(edition, subscriber_id, "sent", 250, "sent by the other sender")
        return original(edition, subscriber_id, message_id)

    ledger.claim = racing_claim  # type: ignore[method-assign]
    report = deliver_edition(
        EDITION,
        store.active(),
        build_message,
        lambda: SmtpTransport(smtp_options(sink)),
        FAST,
        ledger=ledger,
    )
    assert report.sent == 1 and report.already_sent == 1
    assert [m.rcpt_tos for m in sink.messages] == [(subs[1].email,)]


def test_without_a_ledger_nothing_is_recorded(db: Database, tmp_path: Path) -> None:
    subs = add_subscribers(db, 2)
    report = deliver_edition(
        EDITION, subs, build_message, lambda: OutboxTransport(tmp_path / "out"), FAST
    )
    assert report.sent == 2 and DeliveryLedger(db).rows(EDITION) == []
    assert len(list((tmp_path / "out").glob("*.eml"))) == 2


# --- pacing ------------------------------------------------------------------------------


def test_backoff_grows_exponentially_with_jitter_and_a_ceiling() -> None:
    rng = random.Random(3)
    for attempt, full in [(1, 1.0), (2, 2.0), (3, 4.0), (8, 60.0)]:
        delay = backoff_delay(attempt, 1.0, 60.0, rng)
        assert full / 2 <= delay <= full


def test_per_second_limit_spaces_messages() -> None:
    limiter = RateLimiter(per_second=0.5, per_hour=0)
    stop = threading.Event()
    assert limiter.acquire(stop)
    threading.Timer(0.05, stop.set).start()
    assert not limiter.acquire(stop)  # the next slot is two seconds away


def test_hourly_limit_blocks_until_stopped() -> None:
    limiter = RateLimiter(per_second=0, per_hour=2)
    stop = threading.Event()
    assert limiter.acquire(stop) and limiter.acquire(stop)
    threading.Timer(0.05, stop.set).start()
    assert not limiter.acquire(stop)  # the third would wait an hour


# --- the sink as a program (make demo) ---------------------------------------------------


def test_the_sink_program_writes_what_it_receives(tmp_path: Path) -> None:
    port = free_port()
    sink = subprocess.Popen(
        [sys.executable, str(SINK_PROGRAM), "--port", str(port), "--dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert sink.stdout is not None
        assert f"listening on 127.0.0.1:{port}" in sink.stdout.readline()
        transport = SmtpTransport(SmtpOptions(host="127.0.0.1", port=port, timeout=5.0))
        message = build_message(Subscriber(5, "ann@example.com"))
        transport.send(message)
        transport.close()
    finally:
        sink.send_signal(signal.SIGTERM)
        out, _ = sink.communicate(timeout=30)
    assert sink.returncode == 0 and "1 messages received" in out
    files = list(tmp_path.glob("*.eml"))
    assert [f.name for f in files] == ["000001-2026-11-24.5@digest.test.eml"]
    assert files[0].read_bytes() == message.data


def test_data_is_dot_stuffed_exactly_as_smtplib_does(sink: SmtpSink) -> None:
    """Lines that start with '.' (a quoted-printable soft break can leave one there) reach
    the server whole: the transport's own dot-stuffing matches smtplib's."""
    import re
    import smtplib as std

    from digest.deliver.transports import _data

    bodies = [
        b".starts with a dot\r\nx\r\n..two\r\n.\r\nend",
        b"Subject: t\r\n\r\nGood morning=\r\n. 7 stories\r\n\xe4\xb8\xad\xe6\x96\x87.\r\n",
        b"last line without CRLF\r\n.",
    ]
    for body in [*bodies, b"bare LF\n.dot\r\n"]:
        # The stuffing on the wire is smtplib's own regular expression's, byte for byte.
        ours = body.replace(b"\n.", b"\n..")
        ours = b"." + ours if ours.startswith(b".") else ours
        assert ours == re.sub(rb"(?m)^\.", b"..", body)
    for body in bodies:
        conn = std.SMTP(sink.host, sink.port, timeout=5)
        conn.ehlo()
        conn.mail("digest@example.org")
        conn.rcpt("ana@example.com")
        code, _ = _data(conn, body)
        conn.quit()
        assert code == 250
        kept = sink.messages[-1].data
        assert kept.rstrip(b"\r\n") == body.rstrip(b"\r\n"), body
