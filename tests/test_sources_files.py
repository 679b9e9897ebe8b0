"""Files and folders: our examples, dispatch by content and extension, limits, identity."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from digest.errors import ConfigError, SourceError
from digest.identity import canonical_url
from digest.models import LeadImage
from digest.sources import read_location
from digest.sources.article import MAX_DOCUMENT_BYTES
from digest.sources.files import sniff

from .conftest import EXAMPLES

SAME_EVENT = (
    (
        "Forty-Two Nations Sign Geneva Accord on Shared Rivers",
        "Landmark Water Treaty Binds Upstream and Downstream States",
    ),
    (
        "Lunar Drill Strikes Water Ice Half a Metre Below the Moon’s South Pole",
        "Moon Lander Finds Ice Close to the Surface in Shadowed Crater",
    ),
)


def test_every_example_reads_with_category_date_and_source() -> None:
    result = read_location(str(EXAMPLES), kind="folder")
    assert result.warnings == ()
    articles = result.articles
    assert len(articles) >= 12
    files = [p for p in EXAMPLES.rglob("*") if p.is_file()]
    assert {p.suffix for p in files} >= {".txt", ".md", ".html", ".json", ".xml"}
    categories = Counter(a.category for a in articles)
    assert None not in categories and len(categories) >= 4
    days = {a.published.astimezone(UTC).date() for a in articles if a.published}
    assert days == {date(2026, 11, 22), date(2026, 11, 23), date(2026, 11, 24)}
    for article in articles:
        assert article.published is not None and article.published.tzinfo is not None
        assert article.url and article.url.startswith("https://")
        assert article.source != "examples"  # each names its outlet
        assert article.word_count > 100
    assert len({a.id for a in articles}) == len(articles)
    assert len({a.content_hash for a in articles}) == len(articles)


def test_examples_hold_two_same_event_pairs_from_different_outlets() -> None:
    by_title = {a.title: a for a in read_location(str(EXAMPLES)).articles}
    for first, second in SAME_EVENT:
        a, b = by_title[first], by_title[second]
        assert a.source != b.source and a.category == b.category
        assert a.text != b.text


def test_related_lines_of_examples_name_other_examples() -> None:
    articles = read_location(str(EXAMPLES)).articles
    titles = {a.title for a in articles}
    linked = [(a.title, r.title) for a in articles for r in a.related]
    assert len(linked) >= 8
    for source, target in linked:
        assert target in titles and target != source
    # At least one pair points at each other.
    assert any((t, s) in linked for s, t in linked)


def test_text_and_markdown_examples_carry_their_front_matter() -> None:
    [text] = read_location(str(EXAMPLES / "2026-11-24-geneva-river-accord.txt")).articles
    assert text.category == "World"
    assert text.author == "Lena Hoffmann"
    assert text.published == datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
    assert text.canonical_url == (
        "https://meridianwire.example.com/world/2026/11/24/geneva-river-accord"
    )
    assert "Trail Kettles" not in text.text and "Rain Barrels" not in text.text
    [md] = read_location(str(EXAMPLES / "2026-11-23-passkey-sync.md")).articles
    assert md.category == "Technology"
    assert [s.heading for s in md.sections] == [None, "How the exchange works", "Reactions"]
    assert [e.label for e in md.events] == ["November 2026", "Early 2027"]
    assert "**" not in md.text


def test_json_example_and_a_list_of_articles(tmp_path: Path) -> None:
    [article] = read_location(str(EXAMPLES / "2026-11-22-open-transit-data.json")).articles
    assert article.dek and article.sections[1].heading == "Why the authority changed course"
    listing = tmp_path / "batch.json"
    listing.write_text(
        '[{"title": "One", "body": "First body."}, "junk", {"title": "Two", "body": "<p>B</p>"}]'
    )
    result = read_location(str(listing))
    assert [a.title for a in result.articles] == ["One", "Two"]
    assert result.articles[1].paragraphs == ("B",)
    assert len(result.warnings) == 1 and "[1]" in result.warnings[0]


def test_dispatch_by_content_as_well_as_extension(tmp_path: Path) -> None:
    feed = (EXAMPLES / "feeds" / "continental-desk.rss.xml").read_bytes()
    page = (EXAMPLES / "2026-11-23-offshore-wind.html").read_bytes()
    assert sniff(feed, "feed.txt") == "feed"
    assert sniff(page, "download") == "page"
    assert sniff(b"---\ntitle: x\n---\nbody", "note") == "markdown"
    assert sniff(b"Some words\n\nMore words", "notes.txt") == "text"
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "feed.txt").write_bytes(feed)
    (folder / "page").write_bytes(page)
    (folder / "README.md").write_text("# About this folder\n\nNot an article.")
    (folder / ".hidden.txt").write_text("Hidden\n\nHidden\n\nNot read.")
    (folder / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    result = read_location(str(folder))
    assert len(result.articles) == 4  # three feed items and one page
    assert "About this folder" not in {a.title for a in result.articles}


def test_bad_files_in_a_folder_are_logged_skips(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text("A Good Headline\n\nA Good Headline\n\nSome text here.")
    (tmp_path / "empty.txt").write_text("   \n\n")
    (tmp_path / "huge.txt").write_bytes(b"word " * (MAX_DOCUMENT_BYTES // 5 + 1))
    (tmp_path / "latin1.txt").write_bytes(
        "Été à Genève\n\nLe lac gèle en décembre.".encode("cp1252")
    )
    result = read_location(str(tmp_path))
    assert sorted(a.title for a in result.articles) == ["A Good Headline", "Été à Genève"]
    reasons = " | ".join(result.warnings)
    assert "empty.txt" in reasons and "0 words" in reasons
    assert "huge.txt" in reasons and "over the" in reasons
    assert all("\n" not in w for w in result.warnings)


def test_missing_location_is_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file or folder"):
        read_location(str(tmp_path / "nowhere.txt"))
    with pytest.raises(SourceError, match="not a folder"):
        read_location(str(tmp_path / "nowhere"), kind="folder")


def test_every_read_error_names_the_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    with pytest.raises(SourceError) as info:
        read_location(str(empty))
    assert str(info.value).startswith(f"{empty}: ")
    assert str(info.value).count(str(empty)) == 1  # named once, not twice
    assert info.value.location == str(empty)


def test_a_source_error_carries_its_location_and_reader() -> None:
    error = SourceError("HTTP 404 Not Found", location="https://example.org/feed", reader="http")
    assert str(error) == "https://example.org/feed: HTTP 404 Not Found"
    assert (error.detail, error.location, error.reader) == (
        "HTTP 404 Not Found",
        "https://example.org/feed",
        "http",
    )
    unplaced = SourceError("no headline and no text (0 words)")
    assert str(unplaced) == "no headline and no text (0 words)" and unplaced.location is None


def test_the_location_is_added_by_what_the_error_names_not_by_its_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A page read without a URL is named "page" by its reader; read from a file called
    # "p", that message starts with the location's text, yet names another place.
    monkeypatch.chdir(tmp_path)
    Path("p").write_text("<html><head><title>x</title></head><body></body></html>")
    with pytest.raises(SourceError) as info:
        read_location("p")
    assert str(info.value) == "p: page: no article text found"
    assert (info.value.location, info.value.reader) == ("p", "page")
    # The same in a folder: each warning names its file once.
    Path("folder").mkdir()
    Path("folder/p.html").write_text("<html><head><title>x</title></head><body></body></html>")
    Path("folder/bad.json").write_text("{oops")
    warnings = read_location("folder").warnings
    assert warnings == (
        "folder/bad.json: not valid JSON (Expecting property name enclosed in double quotes:"
        " line 1 column 2 (char 1))",
        "folder/p.html: page: no article text found",
    )


def test_canonical_url_drops_tracking_and_normalises() -> None:
    assert canonical_url(
        "HTTPS://News.Example.com:443/a/b?utm_source=rss&id=7&fbclid=x&ref=home#top"
    ) == ("https://news.example.com/a/b?id=7")
    assert canonical_url("http://example.com") == "http://example.com/"
    assert canonical_url("mailto:someone@example.com") is None
    assert canonical_url(None) is None


def test_an_article_over_the_size_cap_is_a_logged_skip(tmp_path: Path) -> None:
    body = "\n\n".join("word " * 200 for _ in range(400))  # about 400,000 characters
    (tmp_path / "dump.json").write_text(
        json.dumps([{"title": "A Dump", "body": body}, {"title": "Fine", "body": "Short."}])
    )
    result = read_location(str(tmp_path))
    assert [a.title for a in result.articles] == ["Fine"]
    [warning] = result.warnings
    assert "over the 300,000 limit" in warning


def test_a_page_is_decoded_with_the_charset_it_declares(tmp_path: Path) -> None:
    page = (
        '<html><head><meta charset="windows-1251"><title>Новости</title></head><body>'
        "<article><h1>Мост открыт</h1>"
        + "<p>Мост через реку снова открыт для движения после ремонта.</p>" * 5
        + "</article></body></html>"
    )
    (tmp_path / "page.html").write_bytes(page.encode("cp1251"))
    [article] = read_location(str(tmp_path / "page.html")).articles
    assert "Мост через реку снова открыт" in article.text


def test_a_configured_source_tags_its_articles_with_its_name() -> None:
    from digest.config import load_config
    from digest.sources import read_source

    from .conftest import ROOT

    config = load_config(ROOT / "config.yaml")
    result = read_source(config.sources[0], config.base_dir)
    assert result.articles
    assert {a.origin for a in result.articles} == {config.sources[0].name}
    # The outlet each file names is kept as the article's source.
    assert len({a.source for a in result.articles}) > 1


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("related", 5),
        ("related", ["Bridge reopens", {"title": 3, "url": 5}]),
        ("sections", 7),
        ("sections", [{"heading": 12, "paragraphs": ["The port reopened on Monday."]}]),
        ("events", True),
        ("events", [{"label": 4, "when": [1], "text": "Talks resume"}]),
    ],
)
def test_json_fields_of_the_wrong_type_are_read_or_skipped_not_a_traceback(
    tmp_path: Path, key: str, value: object
) -> None:
    item = {"title": "Port reopens", "body": "The port reopened on Monday.", key: value}
    path = tmp_path / "item.json"
    path.write_text(json.dumps(item))
    [article] = read_location(str(path)).articles
    assert article.title == "Port reopens"
    assert all(isinstance(link.title, str) for link in article.related)
    assert all(link.url is None or isinstance(link.url, str) for link in article.related)
    assert all(s.heading is None or isinstance(s.heading, str) for s in article.sections)
    assert all(isinstance(e.label, str) for e in article.events)


def test_an_empty_feed_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "feed.xml"
    path.write_bytes(b"")  # a feed URL that answered 200 with nothing
    with pytest.raises(SourceError, match="not an RSS or Atom feed"):
        read_location(str(path), kind="feed")


def test_markdown_with_a_bare_html_tag_keeps_its_text(tmp_path: Path) -> None:
    # lxml's fragment parser fails with an AssertionError on "<html></html>".
    path = tmp_path / "story.md"
    path.write_text("---\ntitle: Port reopens\n---\n<html></html>\n\nThe port reopened.\n")
    [article] = read_location(str(path)).articles
    assert article.paragraphs == ("The port reopened.",)


def _front_matter_image(
    tmp_path: Path, image: str, url: str = "https://news.example.org/a/b"
) -> LeadImage | None:
    path = tmp_path / "artikel.md"
    path.write_text(
        f"---\ntitle: Neue Brücke über die Elbe eröffnet\nurl: {url}\n{image}\n---\n\n"
        "Die Brücke verbindet zwei Stadtteile, die bisher nur per Fähre verbunden waren.\n",
        encoding="utf-8",
    )
    [article] = read_location(str(path)).articles
    return article.image


def test_front_matter_image_fills_the_lead_image(tmp_path: Path) -> None:
    image = _front_matter_image(tmp_path, "image: https://img.example.org/bruecke.jpg")
    assert image is not None and image.url == "https://img.example.org/bruecke.jpg"
    assert (image.width, image.height, image.alt) == (None, None, "")
    mapping = (
        "image:\n  url: /bilder/bruecke.jpg\n  width: 1200\n  height: 800\n"
        "  alt: Die neue Brücke am Abend"
    )
    image = _front_matter_image(tmp_path, mapping)
    # A relative picture resolves against the article's url.
    assert image is not None and image.url == "https://news.example.org/bilder/bruecke.jpg"
    assert (image.width, image.height, image.alt) == (1200, 800, "Die neue Brücke am Abend")


@pytest.mark.parametrize(
    "image",
    [
        "image: javascript:alert(1)",
        "image: data:image/png;base64,AAAA",
        "image: ftp://img.example.org/a.jpg",
        f"image: https://img.example.org/{'a' * 2100}.jpg",
        "image: [https://img.example.org/a.jpg]",
        "image:\n  url: [1, 2]",
        "image:\n  url: https://img.example.org/pixel.gif\n  width: 1\n  height: 1",
        "image: bilder/relativ.jpg",  # relative, and the article has no http(s) url
    ],
)
def test_front_matter_image_refuses_what_is_not_a_picture(tmp_path: Path, image: str) -> None:
    assert _front_matter_image(tmp_path, image, url="file:///tmp/x") is None


def test_a_file_url_is_the_local_path_it_names(tmp_path: Path) -> None:
    """``location: file:///srv/feeds/feed.xml`` reads that file (issue 23, item 3), in a
    folder whose name needs percent-escapes in a URL."""
    from digest.config import SourceOptions, load_config
    from digest.sources import read_source

    folder = tmp_path / "Nachrichten über 新闻"
    folder.mkdir()
    source = EXAMPLES / "2026-11-24-geneva-river-accord.txt"
    (folder / source.name).write_bytes(source.read_bytes())
    url = (folder / source.name).as_uri()
    assert url.startswith("file:///") and "%" in url
    [article] = read_source(SourceOptions(name="local", location=url), base_dir="/").articles
    assert article.title == "Forty-Two Nations Sign Geneva Accord on Shared Rivers"
    # A folder by URL too, and file://localhost/ is this machine.
    local = "file://localhost" + folder.as_uri().removeprefix("file://")
    assert len(read_source(SourceOptions(name="f", location=local)).articles) == 1
    # Another machine's file is refused when the config is loaded, in one line.
    config = tmp_path / "config.yaml"
    config.write_text(
        "sources:\n  - name: far\n    location: file://fileserver/srv/feed.xml\n", "utf-8"
    )
    with pytest.raises(ConfigError, match=r"file:// location names a file of this machine"):
        load_config(config)
