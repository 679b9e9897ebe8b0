"""The page reader: our HTML examples, a real page, and fetching over http on loopback."""

from __future__ import annotations

import contextlib
import gzip
import http.server
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from digest.errors import SourceError
from digest.sources import read_location
from digest.sources.http import fetch
from digest.sources.pages import parse_page

from .conftest import EXAMPLES


def test_example_page_metadata_and_body() -> None:
    [article] = read_location(str(EXAMPLES / "2026-11-23-moon-ice-daily-lens.html")).articles
    assert article.title == "Moon Lander Finds Ice Close to the Surface in Shadowed Crater"
    assert article.source == "Daily Lens"
    assert article.author == "Marta Kowalski"
    assert article.category == "Science"
    assert article.language == "en"
    assert article.published == datetime(2026, 11, 23, 11, 40, tzinfo=timezone(timedelta(hours=1)))
    assert (
        article.canonical_url == "https://dailylens.example.com/science/2026/11/23/moon-lander-ice"
    )
    assert [s.heading for s in article.sections] == [
        None,
        "Why shallow ice matters",
        "Caution from other scientists",
    ]
    assert article.paragraphs[0].startswith("A lander working in the Moon’s south polar region")
    text = article.text
    for chrome in ("Subscribe", "All rights reserved", "analytics", "font-family"):
        assert chrome not in text
    assert [r.title for r in article.related] == [
        "Gene Therapy Restores Hearing in Children Born Deaf, Trial Reports"
    ]


def test_related_paragraph_in_a_page_becomes_a_link() -> None:
    [article] = read_location(str(EXAMPLES / "2026-11-23-offshore-wind.html")).articles
    assert article.published == datetime(2026, 11, 23, 8, 20, tzinfo=UTC)
    assert "cookies" not in article.text
    assert [(r.title, r.url) for r in article.related] == [
        (
            "Alpine Glaciers Lost a Record Share of Their Ice in 2026, Survey Finds",
            "https://alpineobserver.example.ch/climate/glacier-survey-2026/",
        )
    ]


def test_a_real_page_gives_title_and_body(shared: Path) -> None:
    pages = shared / "data" / "pages"
    page = sorted(pages.glob("*.html.gz"))[0]
    html = gzip.decompress(page.read_bytes()).decode("utf-8", errors="replace")
    article = parse_page(html, source="bench", url="https://example.com/story")
    assert article.title
    assert article.word_count > 100
    assert article.canonical_url is not None


def test_a_page_without_text_is_an_error() -> None:
    with pytest.raises(SourceError, match="no article text"):
        parse_page("<html><head><title>x</title></head><body></body></html>", source="t")


def test_a_relative_canonical_link_resolves_against_the_page_url() -> None:
    body = "".join(
        f"<p>Paragraph {i} of the story about the river bridge works.</p>" for i in range(6)
    )
    page = (
        "<html><head><title>Bridge</title><link rel='canonical' href='/news/bridge'></head>"
        f"<body><article><h1>Bridge</h1>{body}</article></body></html>"
    )
    article = parse_page(page, source="t", url="https://example.org/amp/news/bridge?utm_source=x")
    assert article.canonical_url == "https://example.org/news/bridge"


# --- over http, on loopback -----------------------------------------------------------

ROUTES: dict[str, Callable[[], tuple[int, str, bytes]]] = {}

TEASER_FEED = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Loop News</title><link>/</link>
<item><title>Bridge Reopens After Repairs</title><link>/story</link>
<pubDate>Mon, 23 Nov 2026 10:00:00 +0000</pubDate>
<description>The bridge is open again.</description></item>
</channel></rss>"""

STORY = (
    "<html lang='en'><head><title>Bridge Reopens After Repairs</title>"
    "<meta name='author' content='Ana Lima'></head><body><article>"
    "<h1>Bridge Reopens After Repairs</h1>"
    + "".join(
        f"<p>Paragraph {i} says that the old river bridge carries traffic again after "
        "eight months of repairs to its steel deck and its worn stone piers.</p>"
        for i in range(12)
    )
    + "</article></body></html>"
).encode()


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status, kind, body = ROUTES[self.path]()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        # The client may stop reading on purpose (the size-limit test).
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    ROUTES.update(
        {
            "/robots.txt": lambda: (404, "text/plain", b"no rules"),
            "/feed.xml": lambda: (200, "application/rss+xml", TEASER_FEED),
            "/story": lambda: (200, "text/html; charset=utf-8", STORY),
            "/big": lambda: (200, "text/html", b"x" * 5000),
            "/gone": lambda: (404, "text/html", b"not here"),
            "/slow": lambda: (time.sleep(1.5), (200, "text/html", b"late"))[1],
        }
    )
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_feed_over_http_resolves_links_against_its_url(server: str) -> None:
    [article] = read_location(
        f"{server}/feed.xml", allow_private=True, fetch_full_text=False
    ).articles
    assert article.url == f"{server}/story"
    assert article.text == "The bridge is open again."


def test_fetch_full_text_replaces_a_teaser_with_the_page(server: str) -> None:
    [article] = read_location(
        f"{server}/feed.xml", fetch_full_text=True, allow_private=True
    ).articles
    assert article.title == "Bridge Reopens After Repairs"
    assert article.word_count > 150
    assert article.author == "Ana Lima"
    assert article.published == datetime(2026, 11, 23, 10, tzinfo=UTC)


@pytest.mark.parametrize("content_type", ["text/html", "text/html; charset=no-such-codec"])
def test_fetch_full_text_decodes_the_page_by_its_meta_charset(
    server: str, content_type: str
) -> None:
    page = STORY.decode().replace("<head>", "<head><meta charset='windows-1252'>")
    page = page.replace("Paragraph 0 says", "Paragraph 0 (café) says")
    ROUTES["/story"] = lambda: (200, content_type, page.encode("cp1252"))
    [article] = read_location(
        f"{server}/feed.xml", fetch_full_text=True, allow_private=True
    ).articles
    assert "café" in article.text


def test_fetch_limits_and_errors_are_one_line(server: str) -> None:
    with pytest.raises(SourceError, match="over the 1,000 limit"):
        fetch(f"{server}/big", max_bytes=1000, allow_private=True)
    with pytest.raises(SourceError, match="HTTP 404"):
        fetch(f"{server}/gone", allow_private=True)
    with pytest.raises(SourceError, match="timed out"):
        fetch(f"{server}/slow", timeout=0.3, allow_private=True)
    with pytest.raises(SourceError, match="only http and https"):
        fetch("file:///etc/passwd")
