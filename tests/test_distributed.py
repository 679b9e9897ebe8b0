"""Distributed sending: batches claimed with FOR UPDATE SKIP LOCKED on a real PostgreSQL,
real SMTP (aiosmtpd), and real Celery workers (Redis) killed with SIGKILL mid-edition."""

from __future__ import annotations

import email
import email.policy
import os
import random
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from digest.config import load_config
from digest.distributed import work
from digest.errors import StoreError
from digest.pipeline import open_store
from digest.store import EditionStore, open_database
from digest.store.batches import SendBatches
from digest.store.ledger import DeliveryLedger
from digest.store.subscribers import SubscriberStore
from tests.conftest import PostgresForTests
from tests.newsletter_sample import sample_edition
from tools.smtp_sink import SinkRules, SmtpSink
from tools.workers import Copies, SendRig, kill_during_send

NAMES = ["Ana Lima", "王芳", "محمد علي", "اردو قاری", "अनीता शर्मा", "Jürgen Groß", "João Sá"]


def write_config(folder: Path, store: str, sink: SmtpSink, **distributed: Any) -> Path:
    path = folder / "config.yaml"
    raw = {
        "data_dir": str(folder / "data"),
        "store": store,
        "delivery": {"transport": "smtp", "smtp": {"host": sink.host, "port": sink.port}},
        "server": {"secret_env": "DIGEST_TEST_SECRET"},
        "distributed": {"send_batch": 7, **distributed},
    }
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIGEST_TEST_SECRET", "a test secret of thirty-two bytes")


def test_concurrent_senders_share_an_edition_and_resend_only_a_dead_workers_row(
    tmp_path: Path, postgres: PostgresForTests
) -> None:
    with SmtpSink(keep=True) as sink:
        config = load_config(write_config(tmp_path, postgres.fresh_url(), sink))
        edition = sample_edition()
        with open_store(config) as db:
            EditionStore(db).save(edition)
            people = SubscriberStore(db)
            subs = [
                people.upsert(f"leser{i}@beispiel.de", name=NAMES[i % len(NAMES)])[0]
                for i in range(60)
            ]
            people.set_state(subs[5].id, "unsubscribed")
            batches = SendBatches(db)
            batches.enqueue_active(edition.id)
            assert batches.plan(edition.id, 7) == 9  # 59 active rows in batches of 7
            # A worker died between DATA and the reply: its row is left in 'sending'.
            dead = subs[17]
            ledger = DeliveryLedger(db)
            assert ledger.claim(edition.id, dead.id, "<dead-worker@example.org>")

        results: list[work.SendTotals] = []

        def one_sender() -> None:
            results.append(work.send_batches(config, edition.date))

        threads = [threading.Thread(target=one_sender) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)

        received = sink.by_recipient()
        assert len(received) == 59 and subs[5].email not in received
        assert all(len(copies) == 1 for copies in received.values())  # nobody twice
        assert sum(r.batches for r in results) == 9
        assert sum(r.ambiguous_resent for r in results) == 1
        with open_store(config) as db:
            assert DeliveryLedger(db).counts(edition.id)["sent"] == 59
            row = DeliveryLedger(db).get(edition.id, dead.id)
            # Counted when requeued and again when the resend is recorded (the ledger's rule).
            assert row is not None and row.state == "sent" and row.ambiguous >= 1
            others = [r for r in DeliveryLedger(db).rows(edition.id) if r.subscriber_id != dead.id]
            assert not [r for r in others if r.ambiguous]
            assert SendBatches(db).counts(edition.id) == {"open": 0, "done": 9}
            # The resend kept the edition's Message-ID for that subscriber (a stable HMAC).
            assert received[dead.email][0].message_id == row.message_id


def test_workers_send_the_daily_edition_to_daily_subscribers_only(
    tmp_path: Path, postgres: PostgresForTests
) -> None:
    """Weekly subscribers get no ledger row and no message of the day's edition from the
    workers (they get the recap), as in the one-process job; a subscriber who turns weekly
    after an earlier run is not queued again."""
    with SmtpSink(keep=True) as sink:
        config = load_config(write_config(tmp_path, postgres.fresh_url(), sink))
        edition = sample_edition()
        with open_store(config) as db:
            EditionStore(db).save(edition)
            people = SubscriberStore(db)
            daily = [people.upsert(f"taeglich{i}@beispiel.de")[0] for i in range(9)]
            weekly = [people.upsert(f"woche{i}@beispiel.de")[0] for i in range(4)]
            for subscriber in weekly:
                people.set_preferences(subscriber.id, (), "weekly")
            batches = SendBatches(db)
            batches.enqueue_active(edition.id)
            assert batches.plan(edition.id, 7) == 2  # 9 daily rows
            ids = {r.subscriber_id for r in DeliveryLedger(db).rows(edition.id)}
            assert ids == {s.id for s in daily}
        totals = work.send_batches(config, edition.date)
        assert (totals.sent, totals.recipients) == (9, 9)
        received = sink.by_recipient()
        assert sorted(received) == sorted(s.email for s in daily)
        with open_store(config) as db:
            assert DeliveryLedger(db).counts(edition.id)["sent"] == 9


def test_claims_skip_held_batches_and_a_failed_block_leaves_its_batch_open(
    tmp_path: Path, postgres: PostgresForTests
) -> None:
    with SmtpSink(keep=True) as sink:
        config = load_config(write_config(tmp_path, postgres.fresh_url(), sink))
    edition = sample_edition()
    with (
        open_store(config) as a,
        open_store(config) as b,
        open_store(config) as c,
        open_store(config) as d,
    ):
        EditionStore(a).save(edition)
        for i in range(15):
            SubscriberStore(a).upsert(f"leser{i}@beispiel.de")
        SendBatches(a).enqueue_active(edition.id)
        assert SendBatches(a).plan(edition.id, 5) == 3
        with SendBatches(a).claim(edition.id, "w1") as first:
            assert first is not None and first.batch == 0
            with SendBatches(b).claim(edition.id, "w2") as second:  # skips the held batch 0
                assert second is not None and second.batch == 1
                with SendBatches(c).claim(edition.id, "w3") as third:
                    assert third is not None and third.batch == 2
                    with SendBatches(d).claim(edition.id, "w4") as none_left:
                        assert none_left is None
        assert SendBatches(c).counts(edition.id) == {"open": 0, "done": 3}
        # A block that raises leaves its batch open for the next claimer.
        SendBatches(a).db.execute("UPDATE delivery_batches SET state = 'open' WHERE batch = 2")
        with pytest.raises(RuntimeError), SendBatches(a).claim(edition.id, "w1") as again:
            assert again is not None and again.batch == 2
            raise RuntimeError("the relay went away")
        assert SendBatches(b).counts(edition.id) == {"open": 1, "done": 2}
        # A second plan while a batch is open reuses the open one.
        assert SendBatches(b).plan(edition.id, 5) == 1


def test_distributed_sending_refuses_a_sqlite_store(tmp_path: Path) -> None:
    with (
        open_database(tmp_path / "digest.sqlite3") as db,
        pytest.raises(StoreError, match="needs a postgresql:// store"),
    ):
        SendBatches(db)


def _why_no_rig() -> str | None:
    from tools.services import why_no_postgres

    if shutil.which("redis-server") is None:
        return "no redis-server binary (apt-get install redis-server)"
    try:
        import celery  # noqa: F401
    except ImportError:
        return "celery is not installed (the distributed extra)"
    return why_no_postgres()


@pytest.mark.slow
def test_sigkilled_workers_lose_nothing_and_double_only_the_reported(tmp_path: Path) -> None:
    """3 Celery workers (processes) send one edition through a PostgreSQL ledger to a real
    SMTP sink; a random worker is SIGKILLed at 5 random moments and started again.
    (bench/kill.py runs the same at 20,000 subscribers.)"""
    reason = _why_no_rig()
    if reason:
        pytest.skip(reason)
    subscribers = 600
    seed = int(os.environ.get("DIGEST_KILL_SEED", time.time_ns() % 100_000))
    copies = Copies()
    # A slow sink (10 ms before each reply) keeps messages in flight when a kill comes.
    with (
        SmtpSink(keep=False, on_message=copies, rules=SinkRules(data_delay=0.01)) as sink,
        SendRig.start(tmp_path, sink.host, sink.port, send_batch=20) as rig,
    ):
        edition = rig.load(subscribers)
        rig.start_workers(3)
        report = kill_during_send(
            rig, edition, subscribers, copies, 5, random.Random(seed), timeout=240
        )
        counts = rig.ledger_counts(edition.id)
    print(f"\nkill test (seed {seed}): {report.summary()}")
    assert len(report.kills) == 5, "the edition finished before the fifth kill"
    assert counts["sent"] == subscribers and counts["sending"] == counts["queued"] == 0
    assert report.lost == []
    assert report.unreported == {}
    assert report.mixed_ids == []  # a resend carries the same Message-ID


def test_fetch_source_stores_a_source_and_waits_its_turn_per_host(
    tmp_path: Path, postgres: PostgresForTests
) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "hafen.md").write_text(
        "---\ntitle: Hamburger Hafen meldet Rekordumschlag\ndate: 2026-11-24\n---\n\n"
        "Der Hamburger Hafen hat im dritten Quartal mehr Container umgeschlagen als je zuvor."
        " Die Reedereien verweisen auf neue Linien nach Asien.\n",
        encoding="utf-8",
    )
    with SmtpSink() as sink:
        path = write_config(tmp_path, postgres.fresh_url(), sink)
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["sources"] = [{"name": "lokal", "location": str(folder), "kind": "folder"}]
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    config = load_config(path)
    report = work.fetch_source(config, "lokal", claim=None)
    assert (report.failed, report.new) == (False, 1)
    with pytest.raises(Exception, match="no source named"):
        work.fetch_source(config, "missing")

    # Politeness: the claim is an atomic set-if-absent with expiry, shared by all workers.
    held: dict[str, float] = {}
    turns: list[str] = []

    def claim(key: str, ms: int) -> bool:
        now = time.monotonic()
        if held.get(key, 0.0) > now:
            turns.append("wait")
            return False
        held[key] = now + ms / 1000
        turns.append("go")
        return True

    work._wait_for_host("news.example.org", 0.1, claim)
    work._wait_for_host("NEWS.example.org", 0.1, claim)  # the same host: waits its turn
    work._wait_for_host("other.example.net", 0.1, claim)  # another host: no wait
    assert turns[0] == "go" and "wait" in turns and turns[-1] == "go"
    assert list(held) == ["digest:polite:news.example.org", "digest:polite:other.example.net"]


def test_run_distributed_needs_a_postgresql_store(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from digest.cli import main

    config = tmp_path / "config.yaml"
    config.write_text("data_dir: data\n")
    result = CliRunner().invoke(main, ["--config", str(config), "run", "--distributed"])
    assert result.exit_code != 0 and "needs a PostgreSQL store" in result.output


@pytest.mark.slow
def test_run_distributed_fetches_summarises_and_sends_through_workers(tmp_path: Path) -> None:
    """`digest run --distributed` end to end: the examples fetched, summarised and sent by
    two Celery workers, the edition built here, one message per daily subscriber, the one
    with topics their personal edition (another lead story); on ``edition.weekly_day``
    the weekly subscriber gets the recap only."""
    reason = _why_no_rig()
    if reason:
        pytest.skip(reason)
    from click.testing import CliRunner

    from digest.cli import main
    from tests.conftest import EXAMPLES

    sources = [{"name": "examples", "location": str(EXAMPLES), "kind": "folder"}]
    extra = {"sources": sources, "edition": {"weekly_day": "tuesday"}}  # 2026-11-24
    with (
        SmtpSink(keep=True) as sink,
        SendRig.start(tmp_path, sink.host, sink.port, extra=extra) as rig,
    ):
        with open_store(rig.config) as db:
            people = SubscriberStore(db)
            for i, name in enumerate(NAMES[:3]):
                people.upsert(f"leser{i}@beispiel.de", name=name)
            people.upsert("leser1@beispiel.de", topics=("passkeys",))
            reader, _ = people.upsert("woche@beispiel.de", name="Woche")
            people.set_preferences(reader.id, (), "weekly")
        rig.start_workers(2)
        rig.wait_ready(2)
        args = ["--config", str(rig.config_path), "run", "--distributed", "--date", "2026-11-24"]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
        assert "14 new articles" in result.output and "3 sent" in result.output
        assert "weekly recap 1 sent, 0 not" in result.output
        again = CliRunner().invoke(main, args)  # a re-run sends nobody anything twice
        assert again.exit_code == 0, again.output
        assert "0 sent" in again.output and "3 already sent" in again.output
        with open_store(rig.config) as db:
            assert DeliveryLedger(db).counts("2026-11-24")["sent"] == 3
            assert DeliveryLedger(db).counts("2026-11-24-weekly")["sent"] == 1
            assert not DeliveryLedger(db).rows("2026-11-24")[3:]  # no daily row for Woche
    received = sink.by_recipient()
    assert sorted(received) == [*(f"leser{i}@beispiel.de" for i in range(3)), "woche@beispiel.de"]
    assert all(len(copies) == 1 for copies in received.values())
    subjects = {
        to: str(email.message_from_bytes(c[0].data, policy=email.policy.default)["Subject"])
        for to, c in received.items()
    }
    # The subject names the lead story: the passkey reader's leads with passkeys.
    assert "Passkeys" in subjects["leser1@beispiel.de"], subjects
    assert subjects["leser0@beispiel.de"] == subjects["leser2@beispiel.de"]
    assert "Passkeys" not in subjects["leser0@beispiel.de"], subjects
