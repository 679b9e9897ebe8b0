"""What a re-run of the daily job prints: warnings in one style (``warning: ...``), only
those that are new since the last run, a count for the others (issue 23, item 10)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from digest.log import MAX_REMEMBERED, RepeatedWarnings, warnings_once

ROOT = Path(__file__).resolve().parent.parent
DAY = "2026-11-24"

# Headline-only items (no description): nothing to summarise. Three different events (the
# multilingual clustering would rightly merge three reports of one), each naming one of
# the subscriber's topics as a word, so each run's personal edition tries them, and warns.
FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Wire</title><link>https://wire.example.org/</link>
<item><title>Erbil: Neues Terminal am Flughafen in Betrieb genommen</title>
<link>https://wire.example.org/a</link><pubDate>Tue, 24 Nov 2026 06:00:00 GMT</pubDate></item>
<item><title>Mosul university reopens its central library to students</title>
<link>https://wire.example.org/b</link><pubDate>Tue, 24 Nov 2026 06:10:00 GMT</pubDate></item>
<item><title>Basra recebe o primeiro festival de cinema da sua história</title>
<link>https://wire.example.org/c</link><pubDate>Tue, 24 Nov 2026 06:20:00 GMT</pubDate></item>
</channel></rss>
"""


def digest(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DIGEST_CONFIG": str(config), "DIGEST_SECRET": "warn-test-secret"}
    return subprocess.run(
        [sys.executable, "-m", "digest", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.slow
def test_a_re_run_counts_the_warnings_it_gave_before(tmp_path: Path) -> None:
    (tmp_path / "feed.xml").write_text(FEED, "utf-8")
    config = tmp_path / "config.yaml"
    sources = [
        {"name": "examples", "location": str(ROOT / "examples"), "kind": "folder"},
        {"name": "wire", "location": str(tmp_path / "feed.xml"), "kind": "feed"},
    ]
    config.write_text(yaml.safe_dump({"data_dir": "data", "sources": sources}), "utf-8")
    assert (
        digest(
            config, "subscribers", "add", "ana@example.org", "--topics", "Mosul, Erbil, Basra"
        ).returncode
        == 0
    )

    first = digest(config, "run", "--date", DAY)
    assert first.returncode == 0, first.stderr
    skipped = [line for line in first.stderr.splitlines() if "headline only" in line]
    assert len(skipped) == 3, first.stderr
    assert all(line.startswith("warning: skipped ") for line in skipped)
    assert "WARNING" not in first.stderr and "digest.summarize" not in first.stderr

    again = digest(config, "run", "--date", DAY)
    assert again.returncode == 0, again.stderr
    assert "headline only" not in again.stderr
    assert "warning: 3 warnings as in the last run, not repeated" in again.stderr
    assert "1 already sent" in again.stdout

    # -v shows everything again, with the logger's name, in the same style.
    loud = digest(config, "-v", "run", "--date", DAY)
    named = [line for line in loud.stderr.splitlines() if "headline only" in line]
    assert len(named) == 3 and all(
        line.startswith("warning: digest.summarize: skipped ") for line in named
    )
    assert "as in the last run" not in loud.stderr


def test_repeats_are_held_and_every_warning_is_remembered(tmp_path: Path) -> None:
    state = tmp_path / "data" / "last.json"
    with warnings_once(state) as first:
        assert first.fresh("Quelle „Wire“: kein Datum") and first.fresh("مصدر بلا تاريخ")
    assert len(json.loads(state.read_text("utf-8"))) == 2
    with warnings_once(state) as second:
        assert not second.fresh("مصدر بلا تاريخ")
        assert second.fresh("新的警告")
        assert second.held == 1
    with warnings_once(state) as third:
        # Only the last run counts: the German line of the first run is new again.
        assert third.fresh("Quelle „Wire“: kein Datum")
        assert not third.fresh("新的警告") and not third.fresh("مصدر بلا تاريخ")
        assert third.held == 2
    with warnings_once(state, enabled=False) as loud:
        assert loud.fresh("Quelle „Wire“: kein Datum") and loud.held == 0


@pytest.mark.parametrize("text", ["{not json", '{"a": 1}', "[1, 2, null]", ""])
def test_a_damaged_state_file_starts_afresh(tmp_path: Path, text: str) -> None:
    state = tmp_path / "last.json"
    state.write_text(text, "utf-8")
    with warnings_once(state) as repeats:
        assert repeats.fresh("Aviso: fonte sem data") and repeats.held == 0
    assert isinstance(json.loads(state.read_text("utf-8")), list)


def test_the_state_is_bounded(tmp_path: Path) -> None:
    state = tmp_path / "last.json"
    with warnings_once(state) as many:
        for n in range(MAX_REMEMBERED + 50):
            many.fresh(f"warning number {n}")
    assert len(json.loads(state.read_text("utf-8"))) == MAX_REMEMBERED


def test_errors_pass_the_filter() -> None:
    import logging

    repeats = RepeatedWarnings(frozenset())
    record = logging.LogRecord("digest", logging.ERROR, __file__, 1, "same", None, None)
    assert repeats.filter(record) and repeats.filter(record) and repeats.held == 0
