"""The archive that always answers: pages, paginated index, the Atom feed (parsed back with
feedparser), `digest serve` on a missing or new folder, and three days of `digest run`
whose every "View in your browser" link answers 200."""

from __future__ import annotations

import contextlib
import email
import html
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from email import policy
from pathlib import Path

import feedparser
import httpx
import pytest
import yaml
from click.testing import CliRunner

from digest.cli import main
from digest.config import Config, NewsletterOptions, load_config
from digest.models import Edition
from digest.pipeline.archive import archive_folder, archive_stored
from digest.pipeline.options import page_settings
from digest.publish.archive import archive_file, write_archive
from digest.publish.messages import archive_url
from digest.store import EditionStore, open_database
from digest.store.ledger import DeliveryLedger
from digest.store.subscribers import SubscriberStore
from digest.web.app import create_app
from tests.app_server import serving as serve_app
from tests.newsletter_sample import sample_edition
from tools.smtp_sink import SmtpSink

ROOT = Path(__file__).resolve().parent.parent
KEY = b"archive-test-secret-0123"


def editions(days: int) -> list[Edition]:
    base = sample_edition()
    first = date(2026, 11, 1)
    return [
        replace(
            base,
            id=(first + timedelta(days=i)).isoformat(),
            date=first + timedelta(days=i),
            created=datetime(2026, 11, 1, 5, tzinfo=UTC) + timedelta(days=i),
        )
        for i in range(days)
    ]


def config_at(tmp_path: Path) -> Config:
    options = replace(NewsletterOptions(), base_url="https://news.example.org/")
    return replace(Config(), base_dir=str(tmp_path), newsletter=options)


@contextlib.contextmanager
def serving(config: Config) -> Iterator[httpx.Client]:
    """``digest serve``'s app on uvicorn, 127.0.0.1 and a free port."""
    db = open_database(config.store_path)
    app = create_app(config, db=db, key=KEY)
    try:
        with serve_app(app) as client:
            yield client
    finally:
        db.close()


def test_index_paginates_and_links_every_page(tmp_path: Path) -> None:
    config = config_at(tmp_path)
    written = write_archive(page_settings(config), editions(5), archive_folder(config), per_page=2)
    folder = written.folder
    assert [p.name for p in written.index_pages] == ["index.html", "page-2.html", "page-3.html"]
    first = (folder / "index.html").read_text(encoding="utf-8")
    second = (folder / "page-2.html").read_text(encoding="utf-8")
    last = (folder / "page-3.html").read_text(encoding="utf-8")
    # newest first, two a page, each page linking its neighbours
    assert re.findall(r'href="(2026-11-0\d\.html)"', first) == [
        "2026-11-05.html",
        "2026-11-04.html",
    ]
    assert re.findall(r'href="(2026-11-0\d\.html)"', last) == ["2026-11-01.html"]
    assert 'href="page-2.html"' in first and 'rel="prev"' not in first
    assert 'href="index.html"' in second and 'href="page-3.html"' in second
    assert "Page 3 of 3" in last and 'rel="next"' not in last
    # fewer editions later (another store): the stale index pages go
    write_archive(page_settings(config), editions(2), archive_folder(config), per_page=2)
    assert not (folder / "page-2.html").exists()


def test_feed_is_atom_that_feedparser_reads_back(tmp_path: Path) -> None:
    config = config_at(tmp_path)
    hostile = editions(3)
    story = hostile[0].sections[0].stories[0]
    odd = replace(story, title="Zölle & <Handel>\x0b: 关税 — الرسوم")
    section = replace(hostile[0].sections[0], stories=(odd, *hostile[0].sections[0].stories[1:]))
    hostile[0] = replace(hostile[0], sections=(section, *hostile[0].sections[1:]))
    written = write_archive(page_settings(config), hostile, archive_folder(config))
    assert written.feed is not None
    parsed = feedparser.parse(written.feed.read_bytes())
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.feed.title == "The Daily Digest"
    assert parsed.feed.id == "https://news.example.org/archive/"
    links = {link.rel: link.href for link in parsed.feed.links}
    assert links["self"] == "https://news.example.org/archive/feed.xml"
    assert [e.link for e in parsed.entries] == [
        archive_url(config.newsletter, d) for d in ("2026-11-03", "2026-11-02", "2026-11-01")
    ]
    assert [e.id for e in parsed.entries] == [e.link for e in parsed.entries]
    assert parsed.entries[0].updated == "2026-11-03T05:00:00Z"
    assert "Zölle & <Handel>: 关税 — الرسوم" in parsed.entries[2].summary
    assert parsed.feed.author == "The Daily Digest"


def test_archive_file_answers_only_what_the_archive_writes(tmp_path: Path) -> None:
    folder = tmp_path / "archive"
    assert archive_file(folder, "index.html") is None  # no folder: none, no error
    folder.mkdir()
    (folder / "2026-11-24.html").write_text("x", encoding="utf-8")
    (tmp_path / "secret.html").write_text("x", encoding="utf-8")
    assert archive_file(folder, "2026-11-24.html") == folder / "2026-11-24.html"
    for name in ("../secret.html", "..%2Fsecret.html", "/etc/passwd", ".hidden.html", "a/b.html"):
        assert archive_file(folder, name) is None, name


def test_serve_answers_404_never_500_and_serves_a_new_archive(tmp_path: Path) -> None:
    config = config_at(tmp_path)
    assert not (config.data_path / "archive").exists()
    with serving(config) as client:
        empty = client.get("/archive/")
        assert empty.status_code == 200 and "No editions yet" in empty.text
        for path in ("/archive/2026-11-24.html", "/archive/feed.xml", "/archive/../x.html"):
            assert client.get(path).status_code == 404, path
        assert client.get("/archive", follow_redirects=False).headers["location"] == "/archive/"
        # the folder appears while the server runs: served at once
        write_archive(page_settings(config), editions(2), archive_folder(config))
        page = client.get("/archive/2026-11-02.html")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert client.get("/archive/").text.count('class="when"') == 2
        feed = client.get("/archive/feed.xml")
        assert feed.headers["content-type"].startswith("application/atom+xml")
        assert client.get("/archive/2026-10-01.html").status_code == 404


def write_job_config(folder: Path, port: int, **extra: object) -> Path:
    config = {
        **extra,
        "data_dir": "data",
        "sources": [{"name": "examples", "location": str(ROOT / "examples"), "kind": "folder"}],
        "delivery": {"transport": "smtp", "smtp": {"host": "127.0.0.1", "port": port}},
    }
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def browser_links(data: bytes) -> list[str]:
    message = email.message_from_bytes(data, policy=policy.default)
    html = message.get_body(preferencelist=("html",))
    assert html is not None
    return re.findall(r'href="([^"]*/archive/[^"]*)"', html.get_content())


@pytest.mark.slow
def test_three_days_of_run_only_every_browser_link_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIGEST_SECRET", KEY.decode())
    days = ("2026-11-22", "2026-11-23", "2026-11-24")
    with SmtpSink() as sink:
        path = write_job_config(tmp_path, sink.port)
        config = load_config(path)
        with open_database(config.store_path) as db:
            SubscriberStore(db).upsert("leyla@example.org", name="Leyla")
            SubscriberStore(db).upsert("ravi@example.org")
        for day in days:
            result = CliRunner().invoke(main, ["--config", str(path), "run", "--date", day])
            assert result.exit_code == 0, result.output
    assert len(sink.messages) == 6
    # Each message's last archive link is its "view in your browser" link (the footer); the
    # others are related items' earlier coverage ("Earlier: ..., 22 Nov": that edition's page).
    per_message = [browser_links(m.data) for m in sink.messages]
    links = [found[-1] for found in per_message]
    assert len(links) == 6
    paths = {link.removeprefix(config.newsletter.base_url.rstrip("/")) for link in links}
    assert paths == {f"/archive/{day}.html" for day in days}
    base = config.newsletter.base_url.rstrip("/")
    assert {link.removeprefix(base) for found in per_message for link in found} <= paths
    with serving(config) as client:
        for page in sorted(paths):
            answer = client.get(page)
            assert answer.status_code == 200, page
            assert "<html" in answer.text.lower()
        feed = feedparser.parse(client.get("/archive/feed.xml").content)
    assert not feed.bozo
    assert [e.link.rsplit("/", 1)[1] for e in feed.entries] == [f"{d}.html" for d in reversed(days)]


@pytest.mark.slow
def test_weekly_recap_links_answer_and_the_archive_lists_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Monday and the Tuesday (``edition.weekly_day``) of `digest run`: the weekly
    subscriber's recap links to its archive page, which answers 200 on `digest serve`, and
    the index and the feed list it beside the dailies."""
    monkeypatch.setenv("DIGEST_SECRET", KEY.decode())
    days = ("2026-11-23", "2026-11-24")  # Monday, Tuesday
    with SmtpSink() as sink:
        path = write_job_config(tmp_path, sink.port, edition={"weekly_day": "tuesday"})
        config = load_config(path)
        with open_database(config.store_path) as db:
            store = SubscriberStore(db)
            store.upsert("leyla@example.org", name="Leyla")
            weekly, _ = store.upsert("ravi@example.org")
            store.set_preferences(weekly.id, (), "weekly")
        for day in days:
            result = CliRunner().invoke(main, ["--config", str(path), "run", "--date", day])
            assert result.exit_code == 0, result.output
    by_to: dict[str, list[bytes]] = {}
    for m in sink.messages:
        parsed = email.message_from_bytes(m.data, policy=policy.default)
        by_to.setdefault(parsed["To"].addresses[0].addr_spec, []).append(m.data)
    assert len(by_to["leyla@example.org"]) == 2
    assert len(by_to["ravi@example.org"]) == 1  # the recap only
    recap_links = browser_links(by_to["ravi@example.org"][0])
    assert recap_links, "the recap has a View in your browser link"
    base = config.newsletter.base_url.rstrip("/")
    paths = {link.removeprefix(base) for link in recap_links}
    assert paths == {"/archive/2026-11-24-weekly.html"}
    with serving(config) as client:
        for page in sorted(paths):
            answer = client.get(page)
            assert answer.status_code == 200, page
            # the page is the recap, not the day's edition: its subject is the recap's
            recap = email.message_from_bytes(by_to["ravi@example.org"][0], policy=policy.default)
            assert html.escape(str(recap["Subject"]), quote=False) in answer.text
        index = client.get("/archive/").text
        feed = feedparser.parse(client.get("/archive/feed.xml").content)
    assert "2026-11-24-weekly.html" in index and "2026-11-23.html" in index
    assert index.count("Weekly recap") == 1  # the recap marked, the dailies not
    assert not feed.bozo
    weekly_entries = [e for e in feed.entries if e.link.endswith("-weekly.html")]
    assert [t.term for e in weekly_entries for t in e.tags] == ["weekly"]
    assert {e.link.rsplit("/", 1)[1] for e in feed.entries} == {
        "2026-11-23.html",
        "2026-11-24.html",
        "2026-11-24-weekly.html",
    }


def test_archive_publishes_only_recaps_that_were_sent(tmp_path: Path) -> None:
    """Stored dailies over a Sunday, but no recap in the ledger: no weekly page; once the
    ledger shows one sent, `digest archive` writes it and lists it."""
    config = config_at(tmp_path)
    week = editions(7)  # 2026-11-01 (a Sunday) to 11-07 (a Saturday)
    sunday = replace(week[0], id="2026-11-08", date=date(2026, 11, 8), created=week[-1].created)
    with open_database(config.store_path) as db:
        for edition in [*week, sunday]:
            EditionStore(db).save(edition)
    written = archive_stored(config)
    assert not (written.folder / "2026-11-08-weekly.html").exists()
    with open_database(config.store_path) as db:
        reader, _ = SubscriberStore(db).upsert("weekly@example.org")
        ledger = DeliveryLedger(db)
        ledger.enqueue("2026-11-08-weekly", [reader.id])
        assert ledger.claim("2026-11-08-weekly", reader.id, "<m@example.org>")
        ledger.finish("2026-11-08-weekly", reader.id, "sent", 250, "OK")
    written = archive_stored(config)
    page = written.folder / "2026-11-08-weekly.html"
    assert page.is_file()
    assert page.read_text(encoding="utf-8") != (written.folder / "2026-11-08.html").read_text(
        encoding="utf-8"
    )
    index = written.index.read_text(encoding="utf-8")
    assert "2026-11-08-weekly.html" in index and index.count("Weekly recap") == 1
    # the Sunday of 11-01 had no recap sent: none
    assert not (written.folder / "2026-11-01-weekly.html").exists()
