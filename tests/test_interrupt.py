"""Ctrl-C says what was done and what to do next, in one line (issue 23, item 11)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

from digest.cli.sending import StageLines
from digest.config import load_config
from digest.store import open_database
from digest.store.ledger import DeliveryLedger
from digest.store.subscribers import SubscriberStore
from tools.smtp_sink import Received, SinkRules, SmtpSink

ROOT = Path(__file__).resolve().parent.parent
DAY = "2026-11-24"
READERS = 20
NAMES = ["Zhang Wei", "محمد علي", "عائشہ خان", "Jürgen Groß", "João Conceição"]


def test_the_line_names_the_stage_reached() -> None:
    lines = StageLines(show=False)
    assert lines.after_interrupt() == (
        "nothing sent; run the same command again: it goes on from what is stored"
    )
    lines("ingest", 2, 5, "wire")
    assert lines.after_interrupt() == (
        "2 of 5 sources read and stored, nothing sent; run the same command again to go on"
    )
    lines("ingest", 5, 5, "")
    lines("summarize", 3, 8, "")
    assert lines.after_interrupt().startswith("nothing sent (stopped at summarize); ")
    lines("send", 245, 301, "reader@example.org")
    assert lines.after_interrupt() == (
        "245 of 301 sent; run the same command again to send the rest, nobody gets it twice"
    )


@pytest.mark.slow
def test_ctrl_c_mid_send_says_how_many_went_and_a_rerun_sends_the_rest(tmp_path: Path) -> None:
    job: dict[str, subprocess.Popen[str]] = {}
    interrupted = threading.Event()

    def on_message(message: Received) -> None:
        if sink.count == 5 and "run" in job and not interrupted.is_set():
            interrupted.set()
            job["run"].send_signal(signal.SIGINT)

    sink = SmtpSink(rules=SinkRules(data_delay=0.05), on_message=on_message).start()
    try:
        config = tmp_path / "config.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "data_dir": "data",
                    "sources": [
                        {"name": "examples", "location": str(ROOT / "examples"), "kind": "folder"}
                    ],
                    "delivery": {
                        "transport": "smtp",
                        "smtp": {"host": "127.0.0.1", "port": sink.port, "timeout": 10},
                    },
                }
            ),
            "utf-8",
        )
        with open_database(load_config(config).store_path) as db:
            store = SubscriberStore(db)
            for i in range(READERS):
                store.upsert(f"reader{i:02d}@example.com", name=NAMES[i % len(NAMES)])
        env = {**os.environ, "DIGEST_CONFIG": str(config), "DIGEST_SECRET": "ctrl-c-secret"}
        command = [sys.executable, "-m", "digest", "run", "--date", DAY]
        job["run"] = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
        _, err = job["run"].communicate(timeout=300)
        assert job["run"].returncode == 130, err
        assert interrupted.is_set()
        last = err.strip().splitlines()[-1]
        assert last.startswith("interrupted: ") and "Traceback" not in err
        assert last.endswith(
            f" of {READERS} sent; run the same command again to send the rest, nobody gets it twice"
        )
        said = int(last.removeprefix("interrupted: ").split()[0])
        with open_database(load_config(config).store_path) as db:
            kept = DeliveryLedger(db).counts(f"{DAY}")
        assert 5 <= said < READERS
        assert kept["sent"] == said  # what the line says is what the ledger holds

        rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert rerun.returncode == 0, rerun.stderr
        assert f"{said} already sent" in rerun.stdout
    finally:
        sink.stop()
    copies = sink.by_recipient()
    assert sorted(copies) == [f"reader{i:02d}@example.com" for i in range(READERS)]
    assert all(len(c) == 1 for c in copies.values())
