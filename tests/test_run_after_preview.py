"""`digest run` after `digest preview` of the same day: ingest runs, and a built edition
nobody has yet is rebuilt when what arrived since changes it, the editor's actions
replayed; an approved one waits for approval again (issue 23, item 12)."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from digest.cli import main
from digest.config import load_config
from digest.models import Edition
from digest.store import EditionStore, open_database
from digest.store.subscribers import SubscriberStore

ROOT = Path(__file__).resolve().parent.parent
DAY = "2026-11-24"
BASE = [
    "2026-11-24-geneva-river-accord.txt",
    "2026-11-24-shipping-rates.md",
    "2026-11-23-offshore-wind.html",
    "2026-11-23-passkey-sync.md",
]
# What arrives after the preview: an event no stored article is about.
LATE = """---
title: Hamburger Hafen eröffnet das erste Terminal für Wasserstoff-Schiffe
date: 2026-11-24T05:30:00Z
source: Nordkurier Wirtschaft
url: https://nordkurier.example.de/wirtschaft/wasserstoff-terminal
category: Wirtschaft
language: de
---

Der Hamburger Hafen hat am Montag sein erstes Terminal für Schiffe mit Wasserstoffantrieb
eröffnet. Die Anlage kann zwei Frachter gleichzeitig betanken und soll bis 2028 den
gesamten Fährverkehr auf der Elbe versorgen.

Der Senat investierte nach eigenen Angaben 140 Millionen Euro in das Projekt. Reedereien
hatten lange auf eine feste Tankstelle gewartet, bevor sie neue Schiffe bestellten.

„Wir bauen die Infrastruktur, bevor die Flotte da ist“, sagte die Wirtschaftssenatorin bei
der Eröffnung. Kritiker bemängeln, dass der Wasserstoff vorerst aus Erdgas gewonnen wird.
"""


def setup(tmp_path: Path, **delivery: object) -> tuple[Path, Path]:
    feed = tmp_path / "articles"
    feed.mkdir()
    for name in BASE:
        shutil.copy(ROOT / "examples" / name, feed / name)
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "data_dir": "data",
                "sources": [{"name": "desk", "location": str(feed), "kind": "folder"}],
                "delivery": {"transport": "outbox", **delivery},
            }
        ),
        "utf-8",
    )
    with open_database(load_config(config).store_path) as db:
        SubscriberStore(db).upsert("leitung@example.de", name="Jürgen")
    return config, feed


def digest(config: Path, *args: str) -> Result:
    result = CliRunner().invoke(
        main, ["--config", str(config), *args], env={"DIGEST_SECRET": "after-preview"}
    )
    assert result.exit_code == 0, result.output
    return result


def saved(config: Path) -> Edition:
    with open_database(load_config(config).store_path) as db:
        edition = EditionStore(db).for_day(date.fromisoformat(DAY))
    assert edition is not None
    return edition


def saved_titles(config: Path) -> list[str]:
    return [s.title for s in saved(config).stories]


@pytest.mark.slow
def test_articles_read_after_a_preview_change_the_edition_and_desk_actions_stay(
    tmp_path: Path,
) -> None:
    config, feed = setup(tmp_path)
    digest(config, "ingest")
    digest(config, "preview", "--date", DAY)
    before = saved_titles(config)
    dropped = saved(config).stories[-1]
    digest(config, "edition", "--date", DAY, "drop", dropped.article_id, "--editor", "anna")
    assert dropped.title not in saved_titles(config)

    (feed / "2026-11-24-wasserstoff.md").write_text(LATE, "utf-8")
    run = digest(config, "run", "--date", DAY)
    assert "1 new article," in run.output and "edition rebuilt" in run.output
    after = saved_titles(config)
    assert any("Wasserstoff" in t for t in after) and not any("Wasserstoff" in t for t in before)
    assert dropped.title not in after  # the editor's drop, replayed on the rebuild
    mail = next((tmp_path / "data" / "outbox" / DAY).glob("*.eml")).read_bytes()
    assert b"Wasserstoff" in mail

    again = digest(config, "run", "--date", DAY)
    assert "1 already sent" in again.output and "rebuilt" not in again.output
    assert saved_titles(config) == after


@pytest.mark.slow
def test_an_approved_edition_changed_by_new_articles_waits_for_approval_again(
    tmp_path: Path,
) -> None:
    config, feed = setup(tmp_path, require_approval=True)
    digest(config, "ingest")
    digest(config, "preview", "--date", DAY)
    digest(config, "approve", "--date", DAY, "--editor", "anna")

    # Nothing new since the approval: the saved edition stays as it is, to the second.
    created = saved(config).created
    quiet = digest(config, "run", "--date", DAY, "--dry-run")
    assert "0 new articles" in quiet.output and "rebuilt" not in quiet.output
    assert saved(config).created == created

    (feed / "2026-11-24-wasserstoff.md").write_text(LATE, "utf-8")
    held = digest(config, "run", "--date", DAY)
    assert "edition rebuilt" in held.output
    assert "waiting for approval: the edition changed after anna approved it" in held.output
    assert "nothing sent" in held.output
    assert any("Wasserstoff" in t for t in saved_titles(config))

    digest(config, "approve", "--date", DAY, "--editor", "anna")
    sent = digest(config, "run", "--date", DAY)
    assert "1 sent" in sent.output and "rebuilt" not in sent.output
