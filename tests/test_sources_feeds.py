"""The feed reader on the real feeds of ../shared/data/feeds and on our own feed files.

Expected counts, titles, links and dates come from the feed files themselves, read here
with a plain XML parser, not from feedparser.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import ftfy
import lxml.etree
import lxml.html
import pytest
from click.testing import CliRunner

from digest.cli import main
from digest.errors import SourceError
from digest.sources import read_location

from .conftest import EXAMPLES, SHARED

FEEDS = SHARED / "data" / "feeds"
WELL_FORMED = sorted(p.name for p in FEEDS.glob("*.xml") if not p.name.startswith("BROKEN_"))


def _local(element: lxml.etree._Element) -> str:
    return lxml.etree.QName(element).localname


def _children(element: lxml.etree._Element, name: str) -> list[lxml.etree._Element]:
    return [c for c in element if isinstance(c.tag, str) and _local(c) == name]


def _plain(text: str) -> str:
    text = html.unescape(text or "")
    if "<" in text:
        text = lxml.html.fragment_fromstring(text, create_parent="div").text_content()
    return " ".join(text.split())


def _when(text: str) -> datetime:
    text = text.strip()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        moment = parsedate_to_datetime(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def expected_items(path: Path) -> list[dict[str, object]]:
    """Title, link and first date of each item or entry, straight from the XML."""
    root = lxml.etree.parse(str(path)).getroot()
    items = [e for e in root.iter() if isinstance(e.tag, str) and _local(e) in ("item", "entry")]
    found = []
    for item in items:
        title = _children(item, "title")
        link = None
        for candidate in _children(item, "link"):
            if candidate.get("rel") in (None, "alternate"):
                link = candidate.get("href") or (candidate.text or "").strip()
                break
        dates = [
            c.text
            for name in ("pubDate", "published", "date", "updated")
            for c in _children(item, name)
            if c.text
        ]
        found.append(
            {
                "title": _plain(title[0].text or "") if title else "",
                "link": link,
                "date": _when(dates[0]) if dates else None,
            }
        )
    return found


@pytest.mark.parametrize("name", WELL_FORMED)
def test_every_well_formed_feed_gives_its_items(shared: Path, name: str) -> None:
    path = FEEDS / name
    expected = expected_items(path)
    result = read_location(str(path))
    assert result.warnings == ()
    assert len(result.articles) == len(expected) > 0
    for article, item in zip(result.articles, expected, strict=True):
        # Titles are repaired (entities, mojibake: The Verge's "Razerâ€™s" is "Razer’s").
        expected_title = ftfy.fix_text(
            item["title"], uncurl_quotes=False, fix_character_width=False
        )
        assert article.title == expected_title or (not item["title"] and article.title)
        assert article.url is not None and article.url.startswith(("http://", "https://"))
        if item["link"]:
            assert article.url.endswith(str(item["link"]).split("://")[-1].lstrip("/"))
        if item["date"] is not None:
            assert article.published == item["date"]
            assert article.published is not None and article.published.tzinfo is not None
        assert "<" not in article.text or "<" in html.unescape(article.text)


def test_declared_encodings_decode_to_real_letters(shared: Path) -> None:
    golem = read_location(str(FEEDS / "golem_rss2_iso-8859-1_content_encoded.xml")).articles
    assert any(re.search("[äöüß]", a.text) for a in golem)
    ibash = read_location(str(FEEDS / "ibash_rss2_windows-1251.xml")).articles
    assert all(re.search("[а-яА-Я]", a.title) for a in ibash)
    urdu = read_location(str(FEEDS / "bbc_urdu_rss2.xml")).articles
    assert all(re.search("[\u0600-\u06ff]", a.title) for a in urdu)


def test_relative_links_resolve_against_the_feed(shared: Path) -> None:
    articles = read_location(str(FEEDS / "samruby_intertwingly_atom_relative_links.xml")).articles
    assert articles[0].url == "http://intertwingly.net/blog/2013/01/30/Plex"
    assert all(a.url and a.url.startswith("http://intertwingly.net/") for a in articles)


def test_html_entries_become_clean_paragraphs(shared: Path) -> None:
    articles = read_location(str(FEEDS / "theverge_frontpages_atom_fullcontent.xml")).articles
    assert len(articles) == 10  # the feed's ten entries, each with its full HTML content
    for article in articles:
        assert len(article.paragraphs) > 1
        for paragraph in article.paragraphs:
            assert not re.search(r"</?(p|div|img|a|script)\b", paragraph)
            assert paragraph == paragraph.strip() and "  " not in paragraph


def test_media_and_podcast_entries_take_their_notes(shared: Path) -> None:
    videos = read_location(str(FEEDS / "youtube_channel_atom_media.xml")).articles
    assert all(a.word_count > 0 for a in videos)  # media:description, not an empty body
    episodes = read_location(str(FEEDS / "giantbomb_bombcast_podcast_rss2.xml")).articles
    assert sum(a.word_count > 0 for a in episodes) > 0.9 * len(episodes)


def test_headline_only_entries_are_kept_as_headlines(shared: Path) -> None:
    articles = read_location(str(FEEDS / "orf_news_rss1_rdf.xml")).articles
    assert len(articles) == 50
    assert all(a.title and a.word_count == 0 for a in articles)


def test_broken_feed_with_entries_recovers_them_with_one_line_reason(shared: Path) -> None:
    result = read_location(str(FEEDS / "BROKEN_stackoverflow_atom_control_chars.xml"))
    assert len(result.articles) == 1
    assert result.articles[0].title.startswith("Decode NMEA bytes")
    [warning] = result.warnings
    assert "not well-formed" in warning and "\n" not in warning


def test_a_page_where_a_feed_should_be_is_one_line_error(shared: Path) -> None:
    path = FEEDS / "BROKEN_marketwatch_html_document_moved.xml"
    with pytest.raises(SourceError) as caught:
        read_location(str(path))
    assert "not an RSS or Atom feed" in str(caught.value) and "\n" not in str(caught.value)
    result = CliRunner().invoke(main, ["read", str(path), "--json"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and "not an RSS or Atom feed" in line


def test_our_rss_and_atom_examples(shared: Path) -> None:
    rss = read_location(str(EXAMPLES / "feeds" / "continental-desk.rss.xml")).articles
    assert [a.category for a in rss] == ["World", "Business", "Climate"]
    assert rss[1].canonical_url == (
        "https://continentaldesk.example.org/business/2026/11/23/battery-recycling-plant"
    )
    assert rss[1].title == "Battery Maker Opens Europe’s Largest Recycling Plant"
    atom = read_location(str(EXAMPLES / "feeds" / "lab-and-wire.atom.xml")).articles
    assert [a.url for a in atom] == [
        "https://labandwire.example.com/health/2026/11/22/gene-therapy-hearing",
        "https://labandwire.example.com/tech/2026/11/24/undersea-cable-service",
    ]
    assert atom[0].published == datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
    assert [s.heading for s in atom[1].sections] == [None, "Why redundancy matters"]


def test_an_undeclared_legacy_encoding_is_guessed(tmp_path: Path) -> None:
    feed = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Café</title>'
        "<link>https://cafe.example.com/</link><item><title>Crème brûlée à Genève</title>"
        "<link>/a</link><description>Déjà vu à l’école.</description></item></channel></rss>"
    )
    path = tmp_path / "latin.xml"
    path.write_bytes(feed.encode("cp1252"))
    [article] = read_location(str(path)).articles
    assert article.title == "Crème brûlée à Genève"
    assert article.url == "https://cafe.example.com/a"


def test_a_feed_date_without_a_time_is_noon_utc_like_every_reader(tmp_path: Path) -> None:
    feed = tmp_path / "feed.xml"
    feed.write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
        "<item><title>Port reopens</title><link>https://example.org/p</link>"
        "<pubDate>2026-11-24</pubDate><description>The port reopened.</description></item>"
        "<item><title>Bridge opens</title><link>https://example.org/b</link>"
        "<pubDate>Tue, 24 Nov 2026 06:30:00 +0000</pubDate>"
        "<description>The bridge opened.</description></item>"
        "</channel></rss>"
    )
    day_only, timed = read_location(str(feed)).articles
    assert day_only.published == datetime(2026, 11, 24, 12, tzinfo=UTC)
    assert timed.published == datetime(2026, 11, 24, 6, 30, tzinfo=UTC)
