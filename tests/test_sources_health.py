"""Source health (``digest sources``) and OPML lists in and out, on a real SQLite file."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import listparser
import lxml.html
import pytest
from click.testing import CliRunner

from digest import pipeline
from digest.cli import main
from digest.config import load_config
from digest.pipeline.build import teaser_notes
from digest.pipeline.daily import RunReport
from digest.pipeline.options import page_settings
from digest.pipeline.sources import health_alarms
from digest.publish.preview import preview_page
from digest.store import ArticleStore, EditionStore, open_database
from digest.store.fetching import FetchStore
from tests.edition_data import make_article
from tests.newsletter_sample import sample_edition

from .conftest import EXAMPLES

DEAD = "http://127.0.0.1:9/feed.xml"  # nothing listens on the discard port

CONFIG = f"""# The newsroom's config: these comments must survive an import.
data_dir: data
fetch:
  failing_runs: 3  # name a feed failing three runs in a row
  silent_days: 2
sources:
  - name: examples      # the sample articles
    location: examples
  - name: dead
    location: {DEAD}
    allow_private: true
"""

# A feed reader's export (FreshRSS and Miniflux write it like this): nested folders,
# titles in several scripts, a feed already configured, one listed twice.
OPML = f"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>Abonnements</title></head>
  <body>
    <outline text="Nachrichten" title="Nachrichten">
      <outline text="Technik" title="Technik">
        <outline type="rss" text="heise online" title="heise online"
                 xmlUrl="https://www.heise.de/rss/heise-atom.xml" htmlUrl="https://www.heise.de/"/>
      </outline>
      <outline type="rss" text="BBC 中文" title="BBC 中文"
               xmlUrl="https://feeds.bbci.co.uk/zhongwen/simp/rss.xml"/>
    </outline>
    <outline text="عالم" title="عالم">
      <outline type="rss" text="بي بي سي عربي" title="بي بي سي عربي"
               xmlUrl="https://feeds.bbci.co.uk/arabic/rss.xml"/>
      <outline type="rss" text="BBC Urdu" title="BBC Urdu"
               xmlUrl="https://feeds.bbci.co.uk/urdu/rss.xml"/>
    </outline>
    <outline type="rss" text="Jornal de Notícias" title="Jornal de Notícias"
             xmlUrl="https://www.jn.pt/rss/"/>
    <outline type="rss" text="JN again" title="JN again" xmlUrl="https://www.jn.pt/rss/"/>
    <outline type="rss" text="the dead one" title="the dead one" xmlUrl="{DEAD}"/>
  </body>
</opml>
"""


@pytest.fixture
def newsroom(tmp_path: Path) -> Path:
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    return config


def _digest(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--config", str(config), *args])
    return result.exit_code, result.stdout, result.stderr


def test_a_dead_feed_is_named_the_run_it_reaches_the_limit(newsroom: Path) -> None:
    for run in range(1, 4):
        code, _, err = _digest(newsroom, "ingest")
        assert code == 1  # the dead source failed
        named = "warning: source dead: failing for 3 runs in a row" in err
        assert named is (run == 3), err

    code, out, _ = _digest(newsroom, "sources", "--json")
    assert code == 0
    examples, dead = json.loads(out)
    assert dead["consecutive_failures"] == 3
    assert "Connection refused" in dead["last_error"]
    assert dead["last_success"] is None
    assert dead["alarm"].startswith("source dead: failing for 3 runs")
    assert examples["consecutive_failures"] == 0 and examples["alarm"] is None
    assert examples["last_new_item"] is not None
    assert examples["items_per_day"] == pytest.approx(14 / 7, abs=0.01)

    code, out, _ = _digest(newsroom, "sources")
    assert "dead: failing 3x, last success never" in out
    assert "  look at it: source dead: failing for 3 runs" in out
    assert "examples: ok" in out


def test_the_editors_panel_names_a_failing_source(tmp_path: Path) -> None:
    config_file = tmp_path / "config.yaml"
    config_file.write_text(
        "data_dir: data\nfetch:\n  failing_runs: 1\nsources:\n"
        f"  - name: dead\n    location: {DEAD}\n    allow_private: true\n",
        encoding="utf-8",
    )
    with open_database(load_config(config_file).store_path) as db:
        EditionStore(db).save(sample_edition())  # the edition of 2026-11-24, built already
    assert _digest(config_file, "ingest")[0] == 1
    code, _, err = _digest(config_file, "preview", "--date", "2026-11-24")
    assert code == 0, err
    page = (tmp_path / "data" / "previews" / "2026-11-24.html").read_text(encoding="utf-8")
    doc = lxml.html.document_fromstring(page)
    line = doc.get_element_by_id("digest-editor-sources").text_content()
    assert line.startswith("Sources to look at: source dead: failing for 1 run in a row (")
    assert "Connection refused" in line
    # The mail itself never says it.
    mail = (tmp_path / "data" / "previews" / "2026-11-24.txt").read_text(encoding="utf-8")
    assert "Sources to look at" not in mail


def test_the_panel_says_why_a_story_is_only_a_teaser(tmp_path: Path) -> None:
    edition = sample_edition()
    first, second = edition.stories[0], edition.stories[1]
    config_file = tmp_path / "config.yaml"
    config_file.write_text("data_dir: data\nsources: []\n", encoding="utf-8")
    config = load_config(config_file)
    now = datetime.now(UTC)
    with open_database(config.store_path) as db:
        ArticleStore(db).add_many(
            [
                make_article(first.article_id, first.title, "Ein kurzer Anriss des Artikels."),
                make_article(second.article_id, second.title, "Um resumo curto da notícia."),
            ]
        )
        teaser_url = f"https://wire.example.org/{first.article_id}"
        FetchStore(db).put_notes(
            {
                teaser_url: "not fetched: robots.txt disallows it",
                f"https://wire.example.org/{second.article_id}": None,
            },
            now,
        )
        notes = teaser_notes(db, edition)
    assert notes == {first.article_id: "not fetched: robots.txt disallows it"}
    page = preview_page(page_settings(config), edition, teaser_notes=notes)
    doc = lxml.html.document_fromstring(page.html)
    [shown] = doc.find_class("teaser-note")
    assert shown.text_content() == "· teaser only: not fetched: robots.txt disallows it"
    assert "teaser only" not in page.rendered.html  # never in the mail


def test_a_silent_source_is_named_after_silent_days(newsroom: Path) -> None:
    config = load_config(newsroom)
    now = datetime.now(UTC)
    with pipeline.open_store(config) as db:
        store = FetchStore(db)
        store.record("examples", "examples", now - timedelta(days=5), new=4)
        store.record("examples", "examples", now - timedelta(days=1), new=0)
        alarms = health_alarms(config, store.health(now), now)
    assert [(a.source, a.days, a.short) for a in alarms] == [
        ("examples", 5, "examples (silent 5 days)")
    ]


def test_the_run_summary_names_the_sources_to_look_at() -> None:
    report = RunReport(
        day=datetime(2026, 11, 23).date(),
        edition_id="2026-11-23",
        stories=5,
        recipients=1,
        sent=1,
        already_sent=0,
        deferred=0,
        failed=0,
        suppressed=0,
        ambiguous_resent=0,
        elapsed=1.0,
        source_alarms=("dead (failing 3 runs)", "blog (silent 4 days)"),
    )
    assert report.summary().endswith(
        "in 1.0s; sources to look at: dead (failing 3 runs), blog (silent 4 days)"
    )


def test_opml_import_adds_feeds_beside_the_config_and_export_gives_them_back(
    newsroom: Path, tmp_path: Path
) -> None:
    before = newsroom.read_text(encoding="utf-8")
    opml = tmp_path / "reader-export.opml"
    opml.write_text(OPML, encoding="utf-8")

    code, out, err = _digest(newsroom, "sources", "import", str(opml))
    assert code == 0, err
    assert "5 feeds added to" in err and "1 already configured" in err
    assert newsroom.read_text(encoding="utf-8") == before  # comments and all

    config = load_config(newsroom)
    added = {s.name: (s.location, s.category) for s in config.sources[2:]}
    assert added == {
        "heise online": ("https://www.heise.de/rss/heise-atom.xml", "Technik"),
        "BBC 中文": ("https://feeds.bbci.co.uk/zhongwen/simp/rss.xml", "Nachrichten"),
        "بي بي سي عربي": ("https://feeds.bbci.co.uk/arabic/rss.xml", "عالم"),
        "BBC Urdu": ("https://feeds.bbci.co.uk/urdu/rss.xml", "عالم"),
        "Jornal de Notícias": ("https://www.jn.pt/rss/", None),
    }
    assert all(s.fetch_full_text == "auto" for s in config.sources)

    # Importing again adds nothing.
    code, _, err = _digest(newsroom, "sources", "import", str(opml))
    assert code == 0 and "0 feeds added" in err and "6 already configured" in err

    # Export: OPML 2.0 that a feed reader (listparser here) reads back, folders included.
    code, out, err = _digest(newsroom, "sources", "export")
    assert code == 0 and "1 local source left out" in err
    parsed = listparser.parse(out.encode("utf-8"))
    assert not parsed.bozo and parsed.version == "opml2"
    back = {f.url: (f.categories[0][-1] if f.categories else None) for f in parsed.feeds}
    assert back == {DEAD: None} | {url: category for url, category in added.values()}


def test_a_file_that_is_not_opml_is_one_line_and_writes_nothing(
    newsroom: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "notes.opml"
    bad.write_text("Einkaufsliste: Milch, Brot, Käse", encoding="utf-8")
    code, _, err = _digest(newsroom, "sources", "import", str(bad))
    assert code == 1
    assert err.strip() == f"error: {bad}: no feed found in this OPML file"
    assert not (newsroom.parent / "sources.yaml").exists()
