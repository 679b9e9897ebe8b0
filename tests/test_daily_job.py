"""The daily job end to end: `digest run` against a real SMTP sink, killed mid-send with
SIGKILL and run again; the lock; `send-test`; the subscribers commands."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from digest.cli import main
from digest.config import load_config
from digest.pipeline.daily import job_lock
from digest.store import open_database
from digest.store.ledger import DeliveryLedger
from digest.store.subscribers import SubscriberStore
from tools.smtp_sink import Received, SinkRules, SmtpSink

ROOT = Path(__file__).resolve().parent.parent
DIGEST = Path(sys.executable).parent / "digest"
DAY = "2026-11-24"
SECRET = "job-test-secret"


def write_config(folder: Path, port: int, **delivery: object) -> Path:
    config = {
        "data_dir": "data",
        "sources": [{"name": "examples", "location": str(ROOT / "examples"), "kind": "folder"}],
        "delivery": {
            "transport": "smtp",
            "connections": 2,
            "backoff_seconds": 0.01,
            "backoff_max_seconds": 0.05,
            "smtp": {"host": "127.0.0.1", "port": port, "timeout": 10},
            **delivery,
        },
    }
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def job_env(config: Path) -> dict[str, str]:
    return {**os.environ, "DIGEST_CONFIG": str(config), "DIGEST_SECRET": SECRET}


@pytest.mark.slow
def test_killed_mid_send_then_rerun_sends_everyone_exactly_once(tmp_path: Path) -> None:
    kill_after = 12
    state: dict[str, subprocess.Popen[bytes]] = {}
    received = threading.Event()

    def on_message(message: Received) -> None:
        # Runs in the sink after it kept the message and before it answers 250: the job
        # dies in the one window no client can close.
        if sink.count == kill_after and "job" in state:
            os.kill(state["job"].pid, signal.SIGKILL)
            received.set()

    sink = SmtpSink(rules=SinkRules(data_delay=0.02), on_message=on_message).start()
    try:
        config = write_config(tmp_path, sink.port)
        with open_database(load_config(config).store_path) as db:
            store = SubscriberStore(db)
            for i in range(40):
                store.upsert(f"reader{i:02d}@example.com", name=f"Reader {i}")
        env = job_env(config)
        state["job"] = subprocess.Popen(
            [str(DIGEST), "run", "--date", DAY], env=env, stderr=subprocess.PIPE
        )
        _, err = state["job"].communicate(timeout=300)
        assert state["job"].returncode == -signal.SIGKILL, err.decode()
        assert received.is_set()
        first_count = sink.count
        assert first_count < 40

        rerun = subprocess.run(
            [str(DIGEST), "run", "--date", DAY], env=env, capture_output=True, timeout=300
        )
        assert rerun.returncode == 0, rerun.stderr.decode()
        summary = rerun.stdout.decode()
        third = subprocess.run(
            [str(DIGEST), "run", "--date", DAY], env=env, capture_output=True, timeout=300
        )
        assert third.returncode == 0, third.stderr.decode()
        assert "40 recipients, 0 sent, 0 deferred, 0 failed, 40 already sent" in (
            third.stdout.decode()
        )
    finally:
        sink.stop()

    copies = sink.by_recipient()
    assert sorted(copies) == [f"reader{i:02d}@example.com" for i in range(40)]
    with open_database(load_config(config).store_path) as db:
        rows = {r.subscriber_id: r for r in DeliveryLedger(db).rows(DAY)}
        emails = {s.id: s.email for s in SubscriberStore(db).all()}
    assert {r.state for r in rows.values()} == {"sent"}
    ambiguous = {emails[i] for i, r in rows.items() if r.ambiguous}
    duplicated = {email for email, c in copies.items() if len(c) > 1}
    # The message whose 250 never reached the killed job is the ambiguous resend...
    killed_on = sink.messages[kill_after - 1].rcpt_tos[0]
    assert killed_on in duplicated and duplicated <= ambiguous
    assert f"{len(ambiguous)} ambiguous resent" in summary
    for email in duplicated:  # ...and every second copy carries the same Message-ID.
        assert len(copies[email]) == 2 and len({c.message_id for c in copies[email]}) == 1
    ids = Counter(c[0].message_id for c in copies.values())
    assert max(ids.values()) == 1  # one Message-ID per subscriber
    assert all(r.message_id == copies[emails[i]][0].message_id for i, r in rows.items())
    for c in copies.values():  # the RFC 8058 pair is on every message
        assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click" in c[0].data


@pytest.mark.slow
def test_send_test_and_dry_run_leave_no_ledger(tmp_path: Path) -> None:
    with SmtpSink() as sink:
        config = write_config(tmp_path, sink.port)
        with open_database(load_config(config).store_path) as db:
            SubscriberStore(db).upsert("ann@example.com")
        env = job_env(config)
        dry = subprocess.run(
            [str(DIGEST), "run", "--date", DAY, "--dry-run"],
            env=env,
            capture_output=True,
            timeout=300,
        )
        test = subprocess.run(
            [str(DIGEST), "send-test", "--to", "editor@example.com", "--date", DAY],
            env=env,
            capture_output=True,
            timeout=300,
        )
    assert test.returncode == 0, test.stderr.decode()
    assert dry.returncode == 0, dry.stderr.decode()
    assert [(m.rcpt_tos, m.subject.startswith("[TEST]")) for m in sink.messages] == [
        (("editor@example.com",), True)
    ]
    outbox = tmp_path / "data" / "outbox" / f"{DAY}-dry-run"
    assert len(list(outbox.glob("*.eml"))) == 1
    with open_database(load_config(config).store_path) as db:
        assert DeliveryLedger(db).rows(DAY) == []


def test_a_second_concurrent_run_stops_on_the_lock(tmp_path: Path) -> None:
    config_path = write_config(tmp_path, 1)
    runner = CliRunner()
    with job_lock(load_config(config_path)):
        result = runner.invoke(
            main,
            ["--config", str(config_path), "run", "--date", DAY],
            env={"DIGEST_SECRET": SECRET},
        )
    assert result.exit_code == 2
    assert f"another digest run (pid {os.getpid()}) holds" in result.output
    # Released: the lock can be taken again.
    with job_lock(load_config(config_path)):
        pass


@pytest.mark.parametrize(
    "command", [["send"], ["send-test", "--to", "editor@example.com"]], ids=["send", "send-test"]
)
def test_send_and_send_test_stop_on_the_lock(tmp_path: Path, command: list[str]) -> None:
    """`digest send` sends through the ledger and `send-test` may build the day's edition:
    neither may run beside a `digest run` (nor beside each other)."""
    config_path = write_config(tmp_path, 1)
    with job_lock(load_config(config_path)):
        result = CliRunner().invoke(
            main,
            ["--config", str(config_path), *command, "--date", DAY],
            env={"DIGEST_SECRET": SECRET},
        )
    assert result.exit_code == 2, result.output
    assert f"another digest run (pid {os.getpid()}) holds" in result.output
    with open_database(load_config(config_path).store_path) as db:
        assert DeliveryLedger(db).rows(DAY) == []


def test_run_without_the_secret_is_a_clear_error(tmp_path: Path) -> None:
    config_path = write_config(tmp_path, 1)
    result = CliRunner().invoke(
        main, ["--config", str(config_path), "run"], env={"DIGEST_SECRET": ""}
    )
    assert result.exit_code == 2 and "$DIGEST_SECRET is not set" in result.output


def test_subscribers_commands(tmp_path: Path) -> None:
    config_path = write_config(tmp_path, 1)
    runner = CliRunner()

    def digest(*args: str) -> str:
        result = runner.invoke(main, ["--config", str(config_path), *args])
        assert result.exit_code == 0, result.output
        return result.output

    assert "added: ann@example.com" in digest(
        "subscribers", "add", "ann@example.com", "--name", "Ann", "--topics", "space,sea"
    )
    assert "updated" in digest("subscribers", "add", "ANN@example.com", "--name", "Ann Lee")
    assert digest("subscribers", "list").endswith("Ann Lee  [space, sea]\n1 subscriber\n")
    (tmp_path / "in.csv").write_text("email,name\nbob@example.com,Bob\nbad,X\n", encoding="utf-8")
    bad = runner.invoke(
        main, ["--config", str(config_path), "subscribers", "import", str(tmp_path / "in.csv")]
    )
    assert bad.exit_code == 1 and "line 3" in bad.output and "1 added" in bad.output
    digest("subscribers", "remove", "bob@example.com")
    listed = json.loads(digest("subscribers", "list", "--json"))
    assert [(s["email"], s["name"], s["topics"], s["state"]) for s in listed] == [
        ("ann@example.com", "Ann Lee", ["space", "sea"], "active"),
        ("bob@example.com", "Bob", [], "unsubscribed"),
    ]
    digest("subscribers", "export", str(tmp_path / "out.csv"))
    assert (tmp_path / "out.csv").read_text(encoding="utf-8").splitlines() == [
        "email,name,topics,state",
        "ann@example.com,Ann Lee,space;sea,active",
        "bob@example.com,Bob,,unsubscribed",
    ]
    hostile = runner.invoke(
        main, ["--config", str(config_path), "subscribers", "add", "x@example.com\r\nBcc: y@z.org"]
    )
    assert hostile.exit_code == 1 and "control characters" in hostile.output


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_run_reports_a_failed_source_and_a_rerun_counts_everyone(tmp_path: Path) -> None:
    """A dead feed beside a good source: the edition is still built and sent from the good
    one, but the run names the source, counts it in the summary and exits 1 (cron mails
    it). The second run sends nothing and says who already has the edition."""
    config_path = tmp_path / "config.yaml"
    dead = f"http://127.0.0.1:{closed_port()}/rss"
    config_path.write_text(
        yaml.safe_dump(
            {
                "data_dir": "data",
                "sources": [
                    {"name": "examples", "location": str(ROOT / "examples"), "kind": "folder"},
                    {"name": "deadfeed", "location": dead, "kind": "feed"},
                ],
            }
        ),
        encoding="utf-8",
    )
    runner = CliRunner()
    args = ["--config", str(config_path), "run", "--date", DAY]
    env = {"DIGEST_SECRET": SECRET}
    # The day before, nobody subscribed yet (a dry run saves that day's edition too).
    empty = runner.invoke(main, [*args[:-1], "2026-11-23", "--dry-run"], env=env)
    assert empty.exit_code == 1, empty.output
    assert "2026-11-23 (dry run): 14 new articles," in empty.output
    assert "no active subscribers" in empty.output
    assert "messages in" not in empty.output  # no folder was written
    with open_database(load_config(config_path).store_path) as db:
        SubscriberStore(db).upsert("ann@example.com")

    first = runner.invoke(main, args, env=env)
    assert first.exit_code == 1, first.output
    assert f"deadfeed: {dead}" in first.output and "1 source failed" in first.output
    assert f"edition {DAY}: 0 new articles, 8 stories, 1 recipient, 1 sent" in first.output
    assert len(list((tmp_path / "data" / "outbox" / DAY).glob("*.eml"))) == 1

    second = runner.invoke(main, args, env=env)
    assert second.exit_code == 0, second.output
    assert (
        f"edition {DAY}: 8 stories, 1 recipient, 0 sent, 0 deferred, 0 failed, 1 already sent"
        in (second.output)
    )
    assert "source" not in second.output.split("\n")[-2]  # not ingested again: no failure


def test_ctrl_c_is_one_line_and_exit_status_130(tmp_path: Path) -> None:
    """Ctrl-C in a long command (here an ingest waiting on a feed that never answers) ends
    with one line, no traceback, and the shell's 130."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.settimeout(60)
        feed = f"http://127.0.0.1:{server.getsockname()[1]}/rss"
        config_path = tmp_path / "config.yaml"
        config_path.write_text(
            yaml.safe_dump(
                {
                    "data_dir": "data",
                    "sources": [{"name": "slow", "location": feed, "allow_private": True}],
                }
            ),
            encoding="utf-8",
        )
        job = subprocess.Popen(
            [str(DIGEST), "--config", str(config_path), "ingest"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        connection, _ = server.accept()  # the request is in flight: interrupt it
        with connection:
            job.send_signal(signal.SIGINT)
            _, err = job.communicate(timeout=60)
    assert job.returncode == 130, err.decode()
    # One line that says what stays and what to do (issue 23, item 11).
    assert err.decode().strip().splitlines()[-1] == (
        "interrupted: what had finished is kept; run the same command again to go on"
    )
    assert "Traceback" not in err.decode()


def test_stage_lines_show_long_stages_and_every_finished_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from digest.cli.sending import StageLines

    quiet = StageLines(every=3600)  # a short job: one line per finished stage
    for done in range(4):
        quiet("summarize", done, 3, "done")
    quiet("send", 0, 2, "")
    quiet("send", 1, 2, "ann@example.com")
    quiet("send", 2, 2, "bob@example.com")
    lines = [line.split("] ", 1)[1] for line in capsys.readouterr().err.splitlines()]
    assert lines == ["summarize 3/3  done", "send      2/2"]

    chatty = StageLines(every=0)  # a long one: the work in between shows as well
    for done in range(3):
        chatty("summarize", done, 2, "")
    lines = [line.split("] ", 1)[1] for line in capsys.readouterr().err.splitlines()]
    assert lines == ["summarize 1/2", "summarize 2/2"]


def test_a_bad_smtp_setting_stops_the_run_before_any_work(tmp_path: Path) -> None:
    config_path = write_config(tmp_path, 2525)
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    config["delivery"]["smtp"] |= {"host": "mail.example.org", "security": "none"}
    config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
    result = CliRunner().invoke(
        main, ["--config", str(config_path), "run", "--date", DAY], env={"DIGEST_SECRET": SECRET}
    )
    assert result.exit_code == 2
    assert "plain SMTP to mail.example.org would send mail unencrypted" in result.output
    assert "ingest" not in result.output  # nothing was read, ranked or summarised first


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_mid_send_finishes_the_message_in_flight(
    tmp_path: Path, stop: signal.Signals
) -> None:
    """Ctrl-C (or systemd's SIGTERM) while a message waits for its 250: the run records
    that message as sent before it stops, so the next run has nothing ambiguous to resend
    and sends the rest."""
    state: dict[str, subprocess.Popen[bytes]] = {}

    def on_message(message: Received) -> None:
        # The sink has kept the 3rd message; its 250 comes only after this returns.
        if sink.count == 3 and "job" in state:
            os.kill(state["job"].pid, stop)
            time.sleep(0.5)  # the job sees Ctrl-C well before the 250 arrives

    sink = SmtpSink(on_message=on_message).start()
    try:
        config = write_config(tmp_path, sink.port, connections=1)
        with open_database(load_config(config).store_path) as db:
            for i in range(10):
                SubscriberStore(db).upsert(f"reader{i}@example.com")
        env = job_env(config)
        state["job"] = subprocess.Popen(
            [str(DIGEST), "run", "--date", DAY], env=env, stderr=subprocess.PIPE
        )
        _, err = state["job"].communicate(timeout=300)
        assert state["job"].returncode == 130, err.decode()
        with open_database(load_config(config).store_path) as db:
            states = Counter(r.state for r in DeliveryLedger(db).rows(DAY))
        assert states["sent"] == sink.count == 3 and "sending" not in states, (states, err.decode())
        rerun = subprocess.run(
            [str(DIGEST), "run", "--date", DAY], env=env, capture_output=True, timeout=300
        )
        assert rerun.returncode == 0, rerun.stderr.decode()
        assert "7 sent" in rerun.stdout.decode() and "ambiguous" not in rerun.stdout.decode()
    finally:
        sink.stop()
    assert all(len(copies) == 1 for copies in sink.by_recipient().values())
    assert len(sink.by_recipient()) == 10


@pytest.mark.slow
def test_the_job_runs_the_stages_it_is_given_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One orchestrator: run_daily and run_distributed differ only in the Stages they hand
    # run_job. It calls them in order, and a re-run of a built edition neither ingests
    # nor summarises again.
    from datetime import date

    from digest.deliver import DeliveryReport
    from digest.models import Edition
    from digest.pipeline.daily import LocalStages, Variants, run_job
    from digest.pipeline.ingest import IngestReport
    from digest.store import Database

    monkeypatch.setenv("DIGEST_SECRET", SECRET)
    path = tmp_path / "config.yaml"
    sources = [{"name": "examples", "location": str(ROOT / "examples"), "kind": "folder"}]
    path.write_text(yaml.safe_dump({"data_dir": "data", "sources": sources}), encoding="utf-8")
    config = load_config(path)
    with open_database(config.store_path) as db:
        SubscriberStore(db).upsert("reader@example.com", name="Reader")
    calls: list[str] = []

    class Recorded(LocalStages):
        def ingest(self, db: Database) -> IngestReport:
            calls.append("ingest")
            return super().ingest(db)

        def summarize(self, db: Database, day: date) -> None:
            calls.append("summarize")

        def render(self, db: Database, edition: Edition) -> Variants:
            calls.append("render")
            return super().render(db, edition)

        def send(
            self, db: Database, day: date, variants: Variants
        ) -> tuple[DeliveryReport, Path | None]:
            calls.append("send")
            return super().send(db, day, variants)

    day = date.fromisoformat(DAY)
    first = run_job(config, day, Recorded(config))
    assert calls == ["ingest", "summarize", "render", "send"]
    assert (first.ingested, first.sent, first.held) == (True, 1, None)
    assert first.new_articles > 0 and first.outbox is not None and first.archive is not None
    calls.clear()
    again = run_job(config, day, Recorded(config))
    assert calls == ["render", "send"]
    assert (again.ingested, again.sent, again.already_sent) == (False, 0, 1)
