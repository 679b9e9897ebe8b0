"""Whole articles fetched like a good citizen, against a small real web on loopback.

Real pages of ``../shared/data/pages/`` on their original paths, one loopback server per
original site (``tools.loopback_web``), a feed of teasers linking to them, robots.txt
rules, a Crawl-delay, a 429 with Retry-After, a paywall and a consent wall. The servers
count every request and measure how many were in flight at once.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from digest import pipeline
from digest.cli import main
from digest.config import Config, FetchOptions, load_config
from digest.models import Article, Section
from digest.pipeline.ingest import IngestReport
from digest.sources.polite import Disallowed, PoliteClient
from digest.sources.teasers import is_teaser, wall_reason
from digest.store import ArticleStore
from digest.store.fetching import FetchStore
from tools.loopback_web import LoopbackWeb, Page, Site

CRAWL_DELAY = 1.0
SLOW = 0.15  # seconds each answer takes: requests that could overlap do


@pytest.fixture
def web(shared: Path) -> Iterator[LoopbackWeb]:
    site = LoopbackWeb.build(
        shared / "data" / "pages", pages=12, disallow=2, crawl_delay=CRAWL_DELAY, slow=SLOW
    )
    yield site
    site.close()


def _config(tmp_path: Path, web: LoopbackWeb, **fetch: Any) -> Config:
    raw = {
        "data_dir": "data",
        "newsletter": {"base_url": "https://briefing.example.org"},
        "fetch": {"per_host": 1, "delay": 0.05, **fetch},
        "sources": [
            {"name": "wire", "location": web.feed_url, "allow_private": True},
            {"name": "dead", "location": "http://127.0.0.1:9/feed.xml", "allow_private": True},
        ],
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return load_config(path)


def _ingest(config: Config) -> tuple[IngestReport, dict[str, Article]]:
    with pipeline.open_store(config) as db:
        report = pipeline.ingest(config, db)
        stored = {a.url or "": a for a in ArticleStore(db).all()}
    return report, stored


def _norm(text: str) -> str:
    return " ".join(text.split())


def _own_sentences(page: Page, article: Article) -> float:
    """The share of the page's gold paragraphs (12 words or more) found in the article."""
    text = _norm(article.text)
    paragraphs = [_norm(p) for p in page.gold.split("\n") if len(p.split()) >= 12]
    return sum(p in text for p in paragraphs) / max(1, len(paragraphs))


def test_teasers_become_whole_articles_within_the_rules(tmp_path: Path, web: LoopbackWeb) -> None:
    config = _config(tmp_path, web)
    report, stored = _ingest(config)
    wire, dead = report.sources
    disallowed, allowed = web.pages[:2], web.pages[2:]

    # Each allowed page's article is its page's own text, not the feed's teaser.
    for page in allowed:
        article = stored[web.url_of(page)]
        assert article.word_count > 200, page.url
        assert _own_sentences(page, article) >= 0.6, page.url

    # Disallowed pages were never asked for; their entries keep the teaser, and say why.
    for page in disallowed:
        assert page.path not in web.site_of(page).paths()
        assert stored[web.url_of(page)].word_count < 40
        assert f"{web.url_of(page)}: kept the teaser, not fetched: robots.txt disallows it" in (
            wire.warnings
        )

    # The paywall and the consent wall are not taken for the article.
    paywall, consent = stored[f"{web.wire.origin}/paywall"], stored[f"{web.wire.origin}/consent"]
    assert "abonnieren" not in paywall.text and "cookies" not in consent.text
    assert f"{web.wire.origin}/paywall: kept the teaser, the page is a paywall" in wire.warnings
    assert f"{web.wire.origin}/consent: kept the teaser, the page is a consent wall" in (
        wire.warnings
    )

    # Never more than fetch.per_host (1) in flight to one host; hosts fetched at once.
    assert all(site.most_in_flight == 1 for site in web.sites.values())
    assert web.gauge.most > 1

    # Crawl-delay: that host's pages are asked for at least its delay apart (measured as
    # the server sees them arrive, hence a little slack).
    delayed = web.delayed_site()
    assert "Crawl-delay" in delayed.robots
    starts = [hit.started for hit in delayed.hits if hit.path != "/robots.txt"]
    assert len(starts) >= 2
    assert min(b - a for a, b in itertools.pairwise(starts)) >= CRAWL_DELAY - 0.3

    # The page answered 429 with Retry-After: 1 was asked again a second later, and read.
    retried = web.pages[2]
    hits = [h for h in web.site_of(retried).hits if h.path == retried.path]
    assert len(hits) == 2 and hits[1].started - hits[0].started >= 0.9
    assert stored[web.url_of(retried)].word_count > 200

    # Who asks: digest, with the newsletter's address to reach its owner.
    agents = {hit.agent for site in web.sites.values() for hit in site.hits}
    assert agents == {"digest/0.1 (newsletter reader; +https://briefing.example.org)"}

    # Why each stayed a teaser is kept for the editor's panel; pages read whole have no note.
    with pipeline.open_store(config) as db:
        notes = FetchStore(db)
        assert notes.note(web.url_of(disallowed[0])) == "not fetched: robots.txt disallows it"
        assert notes.note(f"{web.wire.origin}/consent") == "the page is a consent wall"
        assert all(notes.note(web.url_of(page)) is None for page in allowed)

    # The dead host fails its source in one line; the others go on.
    assert dead.failed and "Connection refused" in (dead.reason or "")
    assert not wire.failed


def test_digest_read_says_why_an_entry_stayed_a_teaser(web: LoopbackWeb) -> None:
    result = CliRunner().invoke(main, ["read", "--allow-private", web.feed_url])
    assert result.exit_code == 0, result.stderr
    url = web.url_of(web.pages[0])
    assert f"warning: {url}: kept the teaser, not fetched: robots.txt disallows it" in (
        result.stderr.splitlines()
    )
    assert web.pages[0].path not in web.site_of(web.pages[0]).paths()


def test_the_second_ingest_asks_conditionally_and_reads_nothing_new(
    tmp_path: Path, web: LoopbackWeb
) -> None:
    config = _config(tmp_path, web)
    _, first = _ingest(config)
    robots_before = sum(h.path == "/robots.txt" for h in web.wire.hits)

    # The feed changed (a new build): the stored whole articles are asked for with their
    # validators, and the 304s keep them whole.
    web.touch_feed()
    for site in web.sites.values():
        site.hits.clear()
    report, second = _ingest(config)
    page_hits = [h for s in web.sites.values() for h in s.hits if h.path != "/robots.txt"]
    assert page_hits and all(h.conditional for h in page_hits)
    assert {url: a.word_count for url, a in second.items()} == {
        url: a.word_count for url, a in first.items()
    }
    assert report.sources[0].new == 0

    # Unchanged since: the feed answers 304 and no page is asked for.
    for site in web.sites.values():
        site.hits.clear()
    web.wire.hits.clear()
    report, _ = _ingest(config)
    assert [(h.path, h.conditional) for h in web.wire.hits] == [("/feed.xml", True)]
    assert all(not site.hits for site in web.sites.values())
    assert report.sources[0].not_modified
    # robots.txt was read once and kept on disk for the runs after.
    assert robots_before == 1


def test_a_host_that_keeps_failing_is_skipped_for_the_run(tmp_path: Path, web: LoopbackWeb) -> None:
    site = next(s for s in web.sites.values() if len(s.routes) == 2 and "Disallow" not in s.robots)
    for path in site.routes:
        site.flaky[path] = 100  # 429 to every request, with a Retry-After past max_wait
    config = _config(tmp_path, web, host_failures=1, max_wait=0.5)
    report, _ = _ingest(config)
    asked = [h.path for h in site.hits if h.path != "/robots.txt"]
    assert len(asked) == 1  # the second page was not asked once the host was skipped
    assert any(
        line.startswith(site.origin) and "skipped for the rest of the run" in line
        for line in report.notices
    )
    skipped = [w for w in report.sources[0].warnings if "failed 1 times in a row" in w]
    assert len(skipped) == 1


@pytest.mark.parametrize(
    ("status", "read"),
    [(404, True), (503, False)],
)
def test_a_missing_robots_txt_allows_all_and_an_unreadable_one_nothing(
    tmp_path: Path, status: int, read: bool
) -> None:
    site = Site("nachrichten", robots_status=status)
    site.routes["/artikel"] = (200, "text/html; charset=utf-8", ARTIKEL.encode())
    site.start()
    try:
        client = PoliteClient(FetchOptions(delay=0), contact="https://briefing.example.org")
        url = f"{site.origin}/artikel"
        if read:
            assert b"Stadtrat" in client.fetch(url, allow_private=True).content
        else:
            with pytest.raises(Disallowed, match=r"robots.txt could not be read \(HTTP 503"):
                client.fetch(url, allow_private=True)
            # nor asked again this run: one robots.txt request, no page request
            with pytest.raises(Disallowed):
                client.fetch(url, allow_private=True)
        assert site.paths() == ["/robots.txt", "/artikel"] if read else ["/robots.txt"]
    finally:
        site.close()


def test_robots_txt_is_kept_on_disk_for_robots_hours(tmp_path: Path) -> None:
    site = Site("nachrichten", robots="User-agent: *\nDisallow: /intern/\n")
    site.routes["/artikel"] = (200, "text/html; charset=utf-8", ARTIKEL.encode())
    site.start()
    try:
        for hours, asked in ((24, 1), (24, 1), (0, 2)):
            client = PoliteClient(
                FetchOptions(delay=0, robots_hours=hours),
                contact="https://briefing.example.org",
                cache_dir=tmp_path / "robots",
            )
            client.fetch(f"{site.origin}/artikel", allow_private=True)
            with pytest.raises(Disallowed):
                client.fetch(f"{site.origin}/intern/gehalt", allow_private=True)
            assert site.paths().count("/robots.txt") == asked
    finally:
        site.close()


def test_a_page_source_that_is_a_wall_is_not_stored(tmp_path: Path, web: LoopbackWeb) -> None:
    raw = {
        "data_dir": "data",
        "fetch": {"delay": 0},
        "sources": [
            {"name": "porto", "location": f"{web.wire.origin}/consent", "allow_private": True},
            {"name": "haushalt", "location": f"{web.wire.origin}/paywall", "allow_private": True},
            {"name": "story", "location": web.url_of(web.pages[3]), "allow_private": True},
        ],
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    report, stored = _ingest(load_config(tmp_path / "config.yaml"))
    porto, haushalt, story = report.sources
    assert porto.warnings == (f"{web.wire.origin}/consent: not stored, the page is a consent wall",)
    assert haushalt.warnings == (f"{web.wire.origin}/paywall: not stored, the page is a paywall",)
    assert (porto.read, haushalt.read, story.read) == (0, 0, 1)
    assert list(stored) == [web.url_of(web.pages[3])]


def test_a_slow_host_is_cut_at_the_fetch_timeout_robots_txt_included(tmp_path: Path) -> None:
    site = Site("langsam", slow=5.0)  # every answer, robots.txt too, takes 5 s
    site.routes["/artikel"] = (200, "text/html; charset=utf-8", ARTIKEL.encode())
    site.start()
    try:
        client = PoliteClient(FetchOptions(delay=0), contact="https://briefing.example.org")
        started = time.monotonic()
        with pytest.raises(Disallowed, match=r"robots.txt could not be read \(timed out after 1 s"):
            client.fetch(f"{site.origin}/artikel", timeout=1.0, allow_private=True)
        assert time.monotonic() - started < 4
        assert site.paths() == ["/robots.txt"]
    finally:
        site.close()


@pytest.mark.parametrize(
    ("retry_after", "least"),
    [
        # an HTTP date 2 s ahead (whole seconds: between 1 and 2 s of waiting)
        (lambda: format_datetime(datetime.now(UTC) + timedelta(seconds=2), usegmt=True), 0.9),
        (lambda: None, 1.9),  # no Retry-After: backoff, 2 s before the second try
    ],
)
def test_503_waits_for_a_retry_after_date_or_backs_off(
    retry_after: Callable[[], str | None], least: float
) -> None:
    site = Site("überlastet", flaky_status=503, retry_after=retry_after())
    site.routes["/artikel"] = (200, "text/html; charset=utf-8", ARTIKEL.encode())
    site.flaky["/artikel"] = 1
    site.start()
    try:
        client = PoliteClient(FetchOptions(delay=0), contact="https://briefing.example.org")
        fetched = client.fetch(f"{site.origin}/artikel", allow_private=True)
        assert b"Stadtrat" in fetched.content
        first, second = [h.started for h in site.hits if h.path == "/artikel"]
        assert second - first >= least
        assert site.statuses == [503, 200]
    finally:
        site.close()


ARTIKEL = (
    "<html lang='de'><head><title>Stadtrat beschließt Haushalt</title></head><body><article>"
    + "<p>Der Stadtrat hat am Dienstag den Haushalt für das kommende Jahr beschlossen.</p>" * 20
    + "</article></body></html>"
)


@pytest.mark.parametrize(
    ("text", "teaser"),
    [
        ("The council met on Tuesday to discuss the budget. Continue reading", True),
        ("Der Stadtrat hat am Dienstag über den Haushalt beraten … Weiterlesen", True),
        ("O governo anunciou novas medidas para a habitação. Leia mais", True),
        ("市政府周二公布了新的交通计划，将在明年实施。阅读全文", True),
        ("أعلنت الحكومة خطة جديدة للنقل العام في المدينة. اقرأ المزيد", True),
        ("حکومت نے شہر میں پبلک ٹرانسپورٹ کا نیا منصوبہ پیش کیا۔ مزید پڑھیں", True),
        ("The opening of a story [...]", True),
        ("", True),
        (" ".join(["The committee heard evidence from engineers and residents."] * 30), False),
        # Long, but cut off mid-sentence: only the opening of the article.
        (" ".join(["Der Ausschuss hörte Ingenieure und Anwohner an."] * 30) + " Danach", True),
        (" ".join(["委员会听取了工程师和居民的意见。"] * 30), False),
    ],
)
def test_a_teaser_is_told_from_an_article(text: str, teaser: bool) -> None:
    sections = (Section(heading=None, paragraphs=(text,)),) if text else ()
    article = Article(id="x", source="Wire", title="A story", content_hash="h", sections=sections)
    assert is_teaser(article) is teaser


@pytest.mark.parametrize(
    ("text", "wall"),
    [
        ("Wir und unsere Partner verwenden Cookies. Alle Cookies akzeptieren", "a consent wall"),
        ("Nós utilizamos cookies. Aceitar todos os cookies para continuar.", "a consent wall"),
        ("Dieser Artikel ist nur für Abonnenten. Jetzt abonnieren.", "a paywall"),
        ("Conteúdo exclusivo para assinantes. Assine para continuar a ler.", "a paywall"),
        ("هذا المحتوى للمشتركين فقط", "a paywall"),
        ("请登录后阅读全文", "a login page"),
        ("Please sign in to continue reading this story.", "a login page"),
        ("The city council approved the budget after a long debate on Tuesday.", None),
        # A rate limit's bot check, served for any article of the site.
        ('We noticed unusual traffic from your network. Tick "I\'m not a robot".', "a bot check"),
        (
            "Zu viele Anfragen von Ihrer Adresse. Bitte bestätigen: Ich bin kein Roboter.",
            "a bot check",
        ),
        ("Detectámos muitos acessos. Confirme que não sou um robô para continuar.", "a bot check"),
        ("访问过于频繁，请完成人机验证后继续。", "a bot check"),
        ("تم رصد عدد كبير من الطلبات. يرجى التأكيد: أنا لست روبوت", "a bot check"),
        ("بہت زیادہ درخواستیں۔ تصدیق کریں کہ میں روبوٹ نہیں ہوں", "a bot check"),
        # An article about robots is an article.
        ("Der Roboter der Firma sortiert seit Montag Pakete im Lager in Leipzig.", None),
        ("O robô cirúrgico operou o primeiro paciente no hospital de Coimbra.", None),
    ],
)
def test_walls_are_recognised_in_several_languages(text: str, wall: str | None) -> None:
    assert wall_reason(text, len(re.findall(r"\w+", text))) == wall
