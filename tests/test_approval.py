"""The approval gate and the send time: `digest run` stops before any message while the
edition waits for `digest approve` (or its send time); approve + run sends; a change after
approval needs approval again. Against a real aiosmtpd sink, on a saved edition."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from digest.cli import main
from digest.config import load_config
from digest.errors import ConfigError
from digest.pipeline import run_daily
from digest.store import EditionStore, open_database
from digest.store.ledger import DeliveryLedger
from digest.store.subscribers import SubscriberStore
from tests.newsletter_sample import sample_edition
from tools.smtp_sink import SmtpSink

DAY = "2026-11-24"


def write_config(folder: Path, port: int, **delivery: object) -> Path:
    config = {
        "data_dir": "data",
        "timezone": "Europe/Berlin",
        "sources": [],
        "delivery": {
            "transport": "smtp",
            "smtp": {"host": "127.0.0.1", "port": port},
            **delivery,
        },
    }
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    with open_database(load_config(path).store_path) as db:
        EditionStore(db).save(sample_edition())
        SubscriberStore(db).upsert("amara@example.org", name="Amara")
        SubscriberStore(db).upsert("jonas@example.de")
    return path


def digest(path: Path, *args: str) -> Result:
    return CliRunner().invoke(
        main, ["--config", str(path), *args], env={"DIGEST_SECRET": "approval-test-secret"}
    )


def test_require_approval_stops_the_run_and_approve_lets_it_send(tmp_path: Path) -> None:
    with SmtpSink() as sink:
        path = write_config(tmp_path, sink.port, require_approval=True)
        held = digest(path, "run", "--date", DAY)
        assert held.exit_code == 0, held.output
        assert "waiting for approval (digest approve --date 2026-11-24); nothing sent" in (
            held.stdout
        )
        assert sink.messages == []
        with open_database(load_config(path).store_path) as db:
            assert DeliveryLedger(db).rows(DAY) == []
        # `digest send` is held the same way
        assert "waiting for approval" in digest(path, "send", "--date", DAY).stdout
        assert sink.messages == []

        archive = tmp_path / "data" / "archive"
        # a draft waiting for approval is never published in the archive
        assert digest(path, "archive").exit_code == 0
        assert not (archive / f"{DAY}.html").exists()
        assert "No editions yet" in (archive / "index.html").read_text(encoding="utf-8")

        approved = digest(path, "approve", "--date", DAY, "--editor", "Zeynep")
        assert approved.exit_code == 0, approved.output
        assert "approved: edition 2026-11-24 by Zeynep" in approved.stdout

        sent = digest(path, "run", "--date", DAY)
        assert sent.exit_code == 0, sent.output
        assert "2 recipients, 2 sent" in sent.stdout
        assert (archive / f"{DAY}.html").is_file()
        assert sorted(m.rcpt_tos[0] for m in sink.messages) == [
            "amara@example.org",
            "jonas@example.de",
        ]


def test_a_change_after_approval_needs_approval_again(tmp_path: Path) -> None:
    with SmtpSink() as sink:
        path = write_config(tmp_path, sink.port, require_approval=True)
        assert digest(path, "approve", "--date", DAY, "--editor", "Ana").exit_code == 0
        with open_database(load_config(path).store_path) as db:
            edition = sample_edition()
            first = edition.sections[0]
            story = replace(first.stories[0], title="Ceasefire talks: a new headline")
            changed = replace(first, stories=(story, *first.stories[1:]))
            EditionStore(db).save(replace(edition, sections=(changed, *edition.sections[1:])))
        held = digest(path, "run", "--date", DAY)
        assert held.exit_code == 0
        assert "waiting for approval: the edition changed after Ana approved it at" in held.stdout
        assert sink.messages == []
        again = digest(path, "approve", "--date", DAY, "--editor", "Ana")
        assert "approved (again)" in again.stdout
        assert "2 sent" in digest(path, "run", "--date", DAY).stdout
    assert all("a new headline" in m.subject for m in sink.messages)


def test_approve_without_an_edition_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("data_dir: data\nsources: []\n", encoding="utf-8")
    result = digest(path, "approve", "--date", "2026-01-01")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "error: no edition of 2026-01-01 to approve: `digest run` or `digest preview` builds it"
    ]
    editor = digest(path, "approve", "--date", DAY, "--editor", "x\x1b[31m")
    assert editor.exit_code == 1 and "control character" in editor.stderr


def test_send_at_holds_an_early_run_and_a_later_run_sends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIGEST_SECRET", "approval-test-secret")
    with SmtpSink() as sink:
        path = write_config(tmp_path, sink.port, send_at="07:00")
        config = load_config(path)
        day = date(2026, 11, 24)
        # 06:59 in Berlin (UTC+1 in November) is 05:59 UTC
        early = run_daily(config, day, now=datetime(2026, 11, 24, 5, 59, tzinfo=UTC))
        assert early.held is not None and early.sent == 0
        assert "waiting for the send time, 07:00 Europe/Berlin" in early.summary()
        assert sink.messages == []
        on_time = run_daily(config, day, now=datetime(2026, 11, 24, 6, 0, tzinfo=UTC))
        assert on_time.held is None and on_time.sent == 2
    assert len(sink.messages) == 2


def test_send_ignores_the_send_time(tmp_path: Path) -> None:
    with SmtpSink() as sink:
        # A send time far in the future for the edition's day: `digest send` sends anyway.
        path = write_config(tmp_path, sink.port, send_at="23:59")
        config = load_config(path)
        assert config.delivery.send_at == "23:59"
        result = digest(path, "send", "--date", DAY)
        assert result.exit_code == 0, result.output
        assert "2 sent" in result.stdout
    assert len(sink.messages) == 2


def test_send_without_an_edition_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("data_dir: data\nsources: []\n", encoding="utf-8")
    result = digest(path, "send", "--date", "2026-01-01")
    assert result.exit_code == 1
    assert (
        result.stderr.strip() == "error: no edition of 2026-01-01 to send: `digest run` builds it"
    )


@pytest.mark.parametrize("value", ["7", "25:00", "07:60", "seven", "07:00:00", "٠٧:٠٠"])
def test_a_bad_send_time_is_a_config_error(tmp_path: Path, value: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"delivery": {"send_at": value}}), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"delivery\.send_at"):
        load_config(path)
