"""A small real web on loopback, for the fetching tests and ``bench/fulltext.py``.

Real article pages of ``../shared/data/pages/`` are served under their original paths, one
loopback server (one port) per original site, each with its own robots.txt; a "wire" site
serves an RSS feed of teasers linking to them. Every answer carries an ETag and a
Last-Modified, and a conditional request that matches gets a 304. Each site counts what
it was asked for and measures the most requests it had in flight at once.

    web = LoopbackWeb.build(PAGES, pages=12)
    web.feed_url          # the feed of teasers
    web.sites[...].hits   # (path, conditional?, start time) per request
    web.close()

What the web holds besides the real pages (the parts a polite fetcher must handle):
a robots.txt that disallows some pages, a Crawl-delay on one site, a page that answers
429 with Retry-After once and then 200, a paywall page, a consent wall, and a slow site
(every answer takes ``slow`` seconds). Nothing here is shipped in the package.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import html
import http.server
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

__all__ = ["Gauge", "Hit", "LoopbackWeb", "Page", "Site", "teaser_of"]

# Words of the article's opening a teaser keeps.
TEASER_WORDS = 24
# The tails a teaser ends with, by language (as feeds write them).
TAILS = ("… Read more", "[…]", "… Weiterlesen", "… Leia mais", "…")
LAST_MODIFIED = format_datetime(datetime(2026, 11, 23, 8, 0, tzinfo=UTC), usegmt=True)

PAYWALL = """<html lang="de"><head><title>Haushalt: Einigung in der Nacht</title></head>
<body><article><h1>Haushalt: Einigung in der Nacht</h1>
<p>Nach langen Verhandlungen haben sich die Fraktionen geeinigt.</p>
<p>Dieser Artikel ist nur für Abonnenten. Jetzt abonnieren und weiterlesen: Sie haben
bereits ein Abo? Hier anmelden.</p><p>Already a subscriber? Subscribe now to continue
reading.</p></article></body></html>"""

CONSENT = """<html lang="pt"><head><title>Chuvas fortes no Porto</title></head><body>
<div class="consent"><h1>Chuvas fortes no Porto</h1>
<p>Nós e os nossos parceiros utilizamos cookies. Clique em Aceitar todos os cookies para
continuar, ou gerir as suas preferências.</p>
<p>We value your privacy. Accept all cookies to continue to the site.</p>
<p>我们重视您的隐私。接受所有 cookie 以继续。</p></div></body></html>"""


@dataclass(frozen=True)
class Page:
    """A real page of the data set, at its original path on its site."""

    key: str  # the data set's file name (its hash)
    url: str  # the original URL
    path: str
    body: bytes  # the HTML as crawled
    gold: str  # the data set's article body text
    title: str


@dataclass(frozen=True)
class Hit:
    path: str
    conditional: bool
    started: float
    agent: str


@dataclass
class Gauge:
    """Requests in flight across all the sites, and the most at once."""

    now: int = 0
    most: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, step: int) -> None:
        with self.lock:
            self.now += step
            self.most = max(self.most, self.now)


@dataclass
class Site:
    """One loopback server standing for one original site."""

    name: str
    routes: dict[str, tuple[int, str, bytes]] = field(default_factory=dict)
    robots: str = "User-agent: *\nAllow: /\n"
    robots_status: int = 200  # 404: no rules; 503: rules that cannot be read
    slow: float = 0.0  # seconds every answer takes
    flaky: dict[str, int] = field(default_factory=dict)  # path -> 429s still to answer
    flaky_status: int = 429  # or 503
    retry_after: str | None = "1"  # the Retry-After of those answers (None: no header)
    hits: list[Hit] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # of every answer but robots.txt's
    in_flight: int = 0
    most_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    httpd: http.server.ThreadingHTTPServer | None = None
    gauge: Gauge = field(default_factory=Gauge)

    @property
    def origin(self) -> str:
        assert self.httpd is not None
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def reset(self) -> None:
        """Forget what was asked (between the runs of a benchmark)."""
        with self.lock:
            self.hits.clear()
            self.statuses.clear()
            self.most_in_flight = 0

    def paths(self) -> list[str]:
        return [h.path for h in self.hits]

    def start(self) -> None:
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                with site.lock:
                    site.in_flight += 1
                    site.most_in_flight = max(site.most_in_flight, site.in_flight)
                    conditional = bool(
                        self.headers.get("If-None-Match") or self.headers.get("If-Modified-Since")
                    )
                    site.hits.append(
                        Hit(
                            self.path,
                            conditional,
                            time.monotonic(),
                            self.headers.get("User-Agent", ""),
                        )
                    )
                site.gauge.add(1)
                try:
                    if site.slow:
                        time.sleep(site.slow)
                    self._answer()
                finally:
                    site.gauge.add(-1)
                    with site.lock:
                        site.in_flight -= 1

            def _answer(self) -> None:
                if self.path == "/robots.txt":
                    body = site.robots.encode() if site.robots_status == 200 else b"no"
                    return self._send(site.robots_status, "text/plain; charset=utf-8", body)
                with site.lock:
                    left = site.flaky.get(self.path, 0)
                    if left:
                        site.flaky[self.path] = left - 1
                if left:
                    wait = {} if site.retry_after is None else {"Retry-After": site.retry_after}
                    return self._send(site.flaky_status, "text/plain", b"slow down", wait)
                route = site.routes.get(self.path)
                if route is None:
                    return self._send(404, "text/plain", b"not here")
                status, kind, body = route
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match") == etag:
                    return self._send(304, kind, b"", {"ETag": etag})
                self._send(status, kind, body, {"ETag": etag, "Last-Modified": LAST_MODIFIED})

            def _send(
                self, status: int, kind: str, body: bytes, headers: dict[str, str] | None = None
            ) -> None:
                if self.path != "/robots.txt":
                    with site.lock:
                        site.statuses.append(status)
                self.send_response(status)
                self.send_header("Content-Type", kind)
                if status != 304:
                    self.send_header("Content-Length", str(len(body)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    if status != 304:
                        self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()


def load_pages(folder: Path, count: int) -> list[Page]:
    """``count`` real pages of ``folder`` (``ground-truth.json`` and ``*.html.gz``), those
    with the longest gold bodies first among sites, in a stable order."""
    truth: dict[str, dict[str, str]] = json.loads(
        (folder / "ground-truth.json").read_text(encoding="utf-8")
    )
    pages: list[Page] = []
    for key in sorted(truth):
        gold = truth[key].get("articleBody", "")
        url = truth[key].get("url", "")
        file = folder / f"{key}.html.gz"
        if len(gold.split()) < 250 or not url or not file.is_file():
            continue
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        body = gzip.decompress(file.read_bytes())
        found = re.search(rb"<title[^>]*>(.*?)</title>", body, re.S | re.I)
        heading = html.unescape(found.group(1).decode("utf-8", "replace")) if found else ""
        title = " ".join(heading.split()) or " ".join(gold.split()[:8])
        pages.append(Page(key, url, path or "/", body, gold, title))
    # Sites with more than one page first: the per-host limits have something to limit.
    per_site = Counter(urlsplit(p.url).netloc for p in pages)
    pages.sort(key=lambda p: (-per_site[urlsplit(p.url).netloc], urlsplit(p.url).netloc))
    return pages[:count]


def teaser_of(gold: str, index: int) -> str:
    """The opening of the article as a feed would give it, with one of ``TAILS``."""
    words = gold.split()
    return " ".join(words[:TEASER_WORDS]) + " " + TAILS[index % len(TAILS)]


class LoopbackWeb:
    """The sites, the wire's feed, and what each was asked."""

    def __init__(
        self, pages: Sequence[Page], sites: dict[str, Site], wire: Site, gauge: Gauge
    ) -> None:
        self.pages = list(pages)
        self.sites = sites
        self.wire = wire
        self.gauge = gauge  # in flight across all sites
        self.builds = 0

    @classmethod
    def build(
        cls,
        folder: Path,
        *,
        pages: int = 12,
        disallow: int = 2,
        crawl_delay: float = 0.0,
        slow: float = 0.0,
    ) -> LoopbackWeb:
        """Serve ``pages`` real pages; robots.txt disallows the first ``disallow`` of them;
        the site of the last page asks for ``crawl_delay`` (when not 0); every site takes
        ``slow`` seconds an answer."""
        chosen = load_pages(folder, pages)
        gauge = Gauge()
        sites: dict[str, Site] = {}
        for page in chosen:
            name = urlsplit(page.url).netloc
            site = sites.setdefault(name, Site(name, slow=slow, gauge=gauge))
            site.routes[page.path] = (200, "text/html; charset=utf-8", page.body)
        rules: dict[str, list[str]] = {}
        for page in chosen[:disallow]:
            rules.setdefault(urlsplit(page.url).netloc, []).append(urlsplit(page.url).path)
        for name, paths in rules.items():
            sites[name].robots = "User-agent: *\n" + "".join(f"Disallow: {p}\n" for p in paths)
        if crawl_delay and chosen:
            site = sites[urlsplit(cls._delayed(chosen, disallow).url).netloc]
            site.robots += f"Crawl-delay: {crawl_delay:g}\n"
        wire = Site("wire", slow=slow, gauge=gauge)
        wire.routes["/paywall"] = (200, "text/html; charset=utf-8", PAYWALL.encode())
        wire.routes["/consent"] = (200, "text/html; charset=utf-8", CONSENT.encode())
        if len(chosen) > disallow:  # a page answered 429 once, then itself
            retried = chosen[disallow]
            sites[urlsplit(retried.url).netloc].flaky[retried.path] = 1
        web = cls(chosen, sites, wire, gauge)
        for site in (*sites.values(), wire):
            site.start()
        wire.routes["/feed.xml"] = (200, "application/rss+xml; charset=utf-8", web.feed())
        return web

    @staticmethod
    def _delayed(pages: Sequence[Page], disallow: int) -> Page:
        """The page whose site asks for a Crawl-delay: the last of a site with two pages
        or more (none of them disallowed, none the 429 page)."""
        count = Counter(urlsplit(p.url).netloc for p in pages)
        banned = {urlsplit(p.url).netloc for p in pages[: disallow + 1]}
        fits = [
            p
            for p in pages
            if count[urlsplit(p.url).netloc] >= 2 and urlsplit(p.url).netloc not in banned
        ]
        return (fits or list(pages))[-1]

    def delayed_site(self, disallow: int = 2) -> Site:
        """The site whose robots.txt sets a Crawl-delay (``build``'s ``crawl_delay``)."""
        return self.site_of(self._delayed(self.pages, disallow))

    def site_of(self, page: Page) -> Site:
        return self.sites[urlsplit(page.url).netloc]

    def url_of(self, page: Page) -> str:
        return self.sites[urlsplit(page.url).netloc].origin + page.path

    @property
    def feed_url(self) -> str:
        return f"{self.wire.origin}/feed.xml"

    def touch_feed(self) -> None:
        """Publish the feed again, changed (a new build date): its ETag changes."""
        self.builds += 1
        self.wire.routes["/feed.xml"] = (200, "application/rss+xml; charset=utf-8", self.feed())

    def feed(self) -> bytes:
        """An RSS feed of teasers: one per real page, the 429 page, the paywall, the wall."""
        published = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
        items = [(p.title, self.url_of(p), teaser_of(p.gold, i)) for i, p in enumerate(self.pages)]
        items.append(("Haushalt: Einigung in der Nacht", f"{self.wire.origin}/paywall", ""))
        items.append(("Chuvas fortes no Porto", f"{self.wire.origin}/consent", "Chuvas …"))
        parts = [
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Loopback wire</title><link>{self.wire.origin}/</link>"
            f"<description>Teasers of real pages, build {self.builds}</description>"
        ]
        for i, (title, link, teaser) in enumerate(items):
            when = format_datetime(published - timedelta(minutes=7 * i), usegmt=True)
            parts.append(
                f"<item><title>{escape(title)}</title><link>{escape(link)}</link>"
                f"<guid>{escape(link)}</guid><pubDate>{when}</pubDate>"
                f"<description>{escape(teaser)}</description></item>"
            )
        parts.append("</channel></rss>")
        return "".join(parts).encode("utf-8")

    def all_sites(self) -> list[Site]:
        return [*self.sites.values(), self.wire]

    def reset(self) -> None:
        for site in self.all_sites():
            site.reset()
        self.gauge.most = 0

    def close(self) -> None:
        for site in self.all_sites():
            site.close()
