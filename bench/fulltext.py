"""Whole articles by default: the same feed of teasers with ``fetch_full_text: false`` and
with the default (``auto``), side by side, on a loopback web of real pages.

The web (``tools/loopback_web.py``): real pages of ``../shared/data/pages/`` on their
original paths, one loopback server per site, robots.txt disallowing 2 of them, a
Crawl-delay on one site, a 429 + Retry-After, a paywall and a consent wall; a feed of
teasers (the article's first 24 words and a "Read more" tail) links to them all.

For each setting, in a fresh store with the shipped fetch options: ingest time, words per
story, key points per story (the extractive summariser on the bundled encoder), the share
of stories with 2 points or more whose words are the article body's, the most requests in
flight to one host; then a second ingest after the feed changed, and the share of the
pages asked again that answered 304.

    .venv/bin/python bench/fulltext.py [--pages 40]
    .venv/bin/python bench/fulltext.py --smoke     # 6 pages, short delays, no encoder:
                                                   # a story counts when it holds its page's
                                                   # body (150 words or more), points are 0

Exit status 1 when, with the default: fewer than 90% of the stories whose page could be
read (not disallowed, not a wall) have 2 or more points from the article body, a
disallowed path was requested, or a host had more requests in flight than
``fetch.per_host``. Without ../shared/data/pages it says so and exits 0.
"""

from __future__ import annotations

import argparse
import logging
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from digest import pipeline  # noqa: E402
from digest.config import Config, SummarizerOptions, load_config  # noqa: E402
from digest.embed import get_encoder  # noqa: E402
from digest.errors import SummaryError  # noqa: E402
from digest.models import Article  # noqa: E402
from digest.store import ArticleStore  # noqa: E402
from digest.summarize.extractive import TEASER_WORDS, ExtractiveSummarizer  # noqa: E402
from tools.loopback_web import LoopbackWeb  # noqa: E402

PAGES = ROOT.parent / "shared" / "data" / "pages"
GOAL_SHARE = 0.90
WORD = re.compile(r"\w+")


@dataclass
class Figures:
    stories: int
    words: float
    points: float
    two_points_all: float  # of every story
    two_points_readable: float  # of the stories whose page may be read
    seconds: float
    most_in_flight: int
    disallowed_asked: int
    share_304: float


def _from_body(point: str, body: set[str]) -> bool:
    words = [w.lower() for w in WORD.findall(point)]
    return bool(words) and sum(w in body for w in words) / len(words) >= 0.9


def _config(folder: Path, web: LoopbackWeb, full_text: Any, delay: float | None) -> Config:
    source: dict[str, Any] = {"name": "wire", "location": web.feed_url, "allow_private": True}
    if full_text is not None:
        source["fetch_full_text"] = full_text
    raw: dict[str, Any] = {"data_dir": "data", "sources": [source]}
    if delay is not None:
        raw["fetch"] = {"delay": delay}
    (folder / "config.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    return load_config(folder / "config.yaml")


def _run(
    web: LoopbackWeb,
    full_text: Any,
    summarizer: ExtractiveSummarizer | None,
    delay: float | None,
) -> Figures:
    with tempfile.TemporaryDirectory() as tmp:
        config = _config(Path(tmp), web, full_text, delay)
        web.reset()
        started = time.perf_counter()
        with pipeline.open_store(config) as db:
            pipeline.ingest(config, db)
            stored = {a.url or "": a for a in ArticleStore(db).all()}
        seconds = time.perf_counter() - started
        most = max(site.most_in_flight for site in web.sites.values())
        disallowed = sum(
            hit.path == page.path for page in web.pages[:2] for hit in web.site_of(page).hits
        )
        web.touch_feed()
        web.reset()
        with pipeline.open_store(config) as db:
            pipeline.ingest(config, db)
        answers = [s for site in web.sites.values() for s in site.statuses]
        share_304 = answers.count(304) / len(answers) if answers else 0.0

    bodies = {web.url_of(p): {w.lower() for w in WORD.findall(p.gold)} for p in web.pages}
    articles: list[Article] = list(stored.values())
    counts: list[int] = []
    good: dict[str, bool] = {}
    for article in articles:
        body = bodies.get(article.url or "", set())
        if summarizer is None:
            # --smoke: no encoder (loading it takes longer than the smoke may); a story
            # counts when its text is the page's body, long enough for the summariser's
            # full set of points (its teaser threshold, 150 words).
            counts.append(0)
            good[article.url or ""] = article.word_count >= TEASER_WORDS and _from_body(
                article.text, body
            )
            continue
        try:
            summary = summarizer.summarize(article)
        except SummaryError:  # a headline only (the paywall's entry): no point at all
            counts.append(0)
            continue
        counts.append(len(summary.key_points))
        points = [p for p in summary.key_points if _from_body(p.text, body)]
        good[article.url or ""] = len(points) >= 2
    readable = [web.url_of(p) for p in web.pages[2:]]
    return Figures(
        stories=len(articles),
        words=statistics.mean(a.word_count for a in articles),
        points=statistics.mean(counts),
        two_points_all=sum(good.values()) / len(articles),
        two_points_readable=sum(good.get(u, False) for u in readable) / len(readable),
        seconds=seconds,
        most_in_flight=most,
        disallowed_asked=disallowed,
        share_304=share_304,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=40)
    parser.add_argument("--smoke", action="store_true", help="6 pages, short delays")
    args = parser.parse_args()
    if not (PAGES / "ground-truth.json").is_file():
        print(f"{PAGES} is absent: nothing to measure (the benchmark needs ../shared)")
        return 0
    logging.basicConfig(level=logging.ERROR)
    pages = 6 if args.smoke else args.pages
    # Smoke: 0.1 s between requests to a host and a 0.5 s Crawl-delay; else the shipped
    # fetch options (1 s) and a 2 s Crawl-delay.
    delay = 0.1 if args.smoke else None
    web = LoopbackWeb.build(PAGES, pages=pages, crawl_delay=0.5 if args.smoke else 2.0, slow=0.05)
    try:
        summarizer = (
            None if args.smoke else ExtractiveSummarizer(SummarizerOptions(), get_encoder())
        )
        clock = time.perf_counter()
        off = _run(web, False, summarizer, delay)
        auto = _run(web, None, summarizer, delay)
        took = time.perf_counter() - clock
    finally:
        web.close()

    print(f"{len(web.pages)} real pages on {len(web.sites)} loopback sites, 2 disallowed,")
    print(f"plus a paywall and a consent wall; fetch.per_host 2; both runs in {took:.1f}s")
    print(f"{'':34} {'false':>10} {'auto':>10}")
    rows = [
        ("stories", "stories", "{:10d}"),
        ("words per story", "words", "{:10.0f}"),
        ("key points per story", "points", "{:10.2f}"),
        ("stories with >= 2 body points", "two_points_all", "{:10.0%}"),
        ("  of those whose page is readable", "two_points_readable", "{:10.0%}"),
        ("ingest seconds", "seconds", "{:10.1f}"),
        ("most in flight to one host", "most_in_flight", "{:10d}"),
        ("requests to disallowed paths", "disallowed_asked", "{:10d}"),
        ("304s of the second ingest's pages", "share_304", "{:10.0%}"),
    ]
    for label, name, form in rows:
        print(f"{label:34} {form.format(getattr(off, name))} {form.format(getattr(auto, name))}")
    failures = []
    if auto.two_points_readable < GOAL_SHARE:
        failures.append(f"{auto.two_points_readable:.0%} of readable stories have 2+ points")
    if auto.disallowed_asked:
        failures.append(f"{auto.disallowed_asked} requests to disallowed paths")
    if auto.most_in_flight > 2:
        failures.append(f"{auto.most_in_flight} requests in flight to one host")
    if failures:
        print("error: " + "; ".join(failures))
        return 1
    print("goal: >= 90% of readable stories with 2+ body points, 0 disallowed, <= 2 per host: met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
