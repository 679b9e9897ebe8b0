"""Newcomer paths: without --date, commands take the newest stored day with articles when
today has none (and say so), the daily job names that day instead of guessing; the demo
leaves a config that points `digest` at its store."""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from digest.cli import main
from digest.config import load_config
from digest.pipeline.days import default_day
from digest.store import ArticleStore, EditionStore, open_database
from tests.edition_data import make_article
from tests.newsletter_sample import sample_edition

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def old_store(tmp_path: Path) -> Path:
    """A store whose articles and edition are of 24 November 2026, long before today."""
    path = tmp_path / "config.yaml"
    path.write_text("data_dir: data\nsources: []\ntimezone: Asia/Karachi\n", encoding="utf-8")
    with open_database(load_config(path).store_path) as db:
        ArticleStore(db).add_many(
            [
                make_article(
                    "ur-1",
                    "کراچی میں بارش",
                    "شہر میں تیز بارش ہوئی۔",
                    published=datetime(2026, 11, 24, 10, tzinfo=UTC),
                ),
                make_article(
                    "de-1",
                    "Regen in Karachi",
                    "Starker Regen fiel.",
                    published=datetime(2026, 11, 23, 8, tzinfo=UTC),
                ),
            ]
        )
        EditionStore(db).save(sample_edition())
    return path


def test_default_day_is_today_when_today_has_articles(old_store: Path) -> None:
    config = load_config(old_store)
    with open_database(config.store_path) as db:
        on_the_day = default_day(config, db, datetime(2026, 11, 25).date())
        later = default_day(config, db, datetime(2026, 12, 30).date())
        before_any = default_day(config, db, datetime(2026, 11, 1).date())
    assert on_the_day.day.isoformat() == "2026-11-25" and on_the_day.note is None  # in window
    assert later.day.isoformat() == "2026-11-24"
    assert later.note == (
        "no articles in the 3 days up to today (2026-12-30); using 2026-11-24, the newest"
        " day with stored articles (--date picks another)"
    )
    assert before_any.day.isoformat() == "2026-11-01" and before_any.note is None


def test_preview_without_date_uses_the_newest_day_and_says_so(old_store: Path) -> None:
    result = CliRunner().invoke(main, ["--config", str(old_store), "preview"])
    assert result.exit_code == 0, result.output
    assert "using 2026-11-24, the newest day with stored articles" in result.stderr
    assert "preview of 2026-11-24:" in result.stdout


def test_run_without_date_never_falls_back_but_names_the_newest_day(
    old_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIGEST_SECRET", "newcomer-secret")
    result = CliRunner().invoke(main, ["--config", str(old_store), "run"])
    assert result.exit_code == 1
    line = result.stderr.strip().splitlines()[-1]  # after the stage lines
    assert line.startswith("error: no articles published in the 3 days up to ")
    assert line.endswith("(the newest stored articles are of 2026-11-24: --date 2026-11-24)")


def test_the_demo_leaves_a_config_for_its_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(ROOT / "tools"))  # demo.py imports its sink by path
    monkeypatch.delitem(sys.modules, "demo", raising=False)
    import demo  # the script, as `make demo` runs it

    config = replace(demo.demo_config(), data_dir=str(tmp_path / "demo-data"))
    written = demo.write_demo_config(config)
    assert written == tmp_path / "demo-data" / "config.yaml"
    again = load_config(written)
    assert again.data_path.resolve() == (tmp_path / "demo-data").resolve()
    assert Path(again.store_path).resolve() == (tmp_path / "demo-data" / "digest.sqlite3").resolve()
    [source] = again.sources
    assert Path(again.resolve(source.location)) == ROOT / "examples"
    assert again.delivery.transport == "outbox"  # the sink is gone after the demo
