"""An edition from 1,000 articles: time per stage and peak memory, cold and warm.

The pile: the 100 CNN/Daily Mail dev texts, ``examples/`` and the readable feeds of
``../shared/data/feeds/`` (read through ``digest.sources``), repeated until there are
``--articles`` of them. Each repeat is another "outlet's" version of the story: the same
headline, its sentences rotated so the lede differs, its own source and time in the last
three days; so repeats are real same-event clusters, and every text is new to the
encoder.

Two runs on one store:

- cold: an empty store; the encoder computes every vector (and stores it); the
  "vectors" stage is the encoder, and ranking then finds them in memory;
- warm: a second build (``rebuild``) with the encoder's in-memory cache emptied, so
  every vector comes back from the store, as on a re-run or the next day.

The goal is on the warm run: ranking, clustering and selection of 1,000 articles well
under 10 s on 2 cores. Summaries use the configured summariser (cached in the store after
the cold run).

    .venv/bin/python bench/edition.py [--articles N]
    .venv/bin/python bench/edition.py --smoke     # 30 articles, 2 of each source, 3 stories

Without ``../shared/data`` the pile is made of ``examples/`` alone. Exit status 1 when the
warm run computes a vector (they must all come from the store) or, except with
``--smoke``, when the warm rank + cluster + select with vectors takes ``GOAL_S`` or more.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from digest import pipeline  # noqa: E402
from digest.config import load_config, with_overrides  # noqa: E402
from digest.edition.rank import edition_end  # noqa: E402
from digest.edition.select import select_stories  # noqa: E402
from digest.edition.vectors import embed_articles, embed_topics  # noqa: E402
from digest.embed import Encoder, get_encoder  # noqa: E402
from digest.models import Article, Section  # noqa: E402
from digest.pipeline.options import edition_settings  # noqa: E402
from digest.sources import read_location  # noqa: E402
from digest.sources.plain import article_from_text  # noqa: E402
from digest.store import ArticleStore, open_database  # noqa: E402
from digest.store.embeddings import EmbeddingStore  # noqa: E402
from digest.text.sentences import split_sentences  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
FEEDS = [
    "guardian_us_rss2.xml",
    "nytimes_homepage_rss2.xml",
    "bbc_urdu_rss2.xml",
    "orf_news_rss1_rdf.xml",
    "golem_rss2_iso-8859-1_content_encoded.xml",
    "theverge_frontpages_atom_fullcontent.xml",
    "codehollow_wordpress_rss2_content_encoded.xml",
]
DAY = date(2026, 11, 24)
GOAL_S = 10.0  # warm: vectors from the store, rank, cluster and select 1,000 articles
T = TypeVar("T")


def base_articles(per_source: int | None = None) -> list[Article]:
    """The CNN/DM dev texts, the examples and the feeds' articles with text (the examples
    alone where ``../shared/data`` is absent); ``per_source``: the first few of each."""
    out: list[Article] = []
    if DATA.is_dir():
        rows = (DATA / "summaries_cnndm_dev.jsonl").read_text(encoding="utf-8").splitlines()
        for line in rows[:per_source]:
            item = json.loads(line)
            article = article_from_text(item["id"][-16:], item["text"], source="cnndm")
            sentences = split_sentences(article.text)
            paragraphs = tuple(" ".join(sentences[i : i + 3]) for i in range(0, len(sentences), 3))
            out.append(dataclasses.replace(article, sections=(Section(None, paragraphs),)))
    out += read_location(str(ROOT / "examples")).articles[:per_source]
    if DATA.is_dir():
        for name in FEEDS:
            found = read_location(str(DATA / "feeds" / name)).articles
            out += [a for a in found if a.paragraphs][:per_source]
    return out


def forget_vectors(encoder: Encoder) -> None:
    """Empty the encoder's in-memory vectors, so the next run reads them from the store:
    with a limit of 0 an ``encode`` call keeps none."""
    limit, encoder.memory_limit = encoder.memory_limit, 0
    encoder.encode(["an edition benchmark"])
    encoder.memory_limit = limit


def pile(count: int, per_source: int | None = None) -> list[Article]:
    bases = base_articles(per_source)
    end = datetime(2026, 11, 24, 23, tzinfo=UTC)
    out: list[Article] = []
    for n in range(count):
        base = bases[n % len(bases)]
        copy = n // len(bases)
        paragraphs = list(base.paragraphs)
        sentences = [s for p in paragraphs for s in split_sentences(p)] or [base.title]
        shift = copy % len(sentences)
        rotated = sentences[shift:] + sentences[:shift]
        paras = tuple(" ".join(rotated[i : i + 3]) for i in range(0, len(rotated), 3))
        seed = int(hashlib.blake2b(f"{base.id}{copy}".encode(), digest_size=4).hexdigest(), 16)
        out.append(
            dataclasses.replace(
                base,
                id=f"{base.id}-{copy}",
                source=f"{base.source}-{copy}" if copy else base.source,
                url=f"https://bench.example.org/{base.id}/{copy}",
                canonical_url=None,
                content_hash=hashlib.sha1(f"{base.content_hash}{copy}".encode()).hexdigest(),
                published=end - timedelta(minutes=seed % (3 * 24 * 60)),
                sections=(Section(None, paras),),
                events=base.events,
            )
        )
    return out


def timed(times: dict[str, float], stage: str, work: Callable[[], T]) -> T:
    started = time.perf_counter()
    result = work()
    times[stage] = time.perf_counter() - started
    return result


def run(config: Any, db: Any, rebuild: bool) -> dict[str, float]:
    times: dict[str, float] = {}
    cache = EmbeddingStore(db)

    def vectors() -> None:
        end = edition_end(DAY, config.tz)
        window = ArticleStore(db).between(end - timedelta(days=config.edition.window_days), end)
        embed_articles(edition_settings(config), window, cache=cache)
        embed_topics(edition_settings(config), cache=cache)

    timed(times, "vectors (read + embed)", vectors)
    candidates = timed(times, "rank + cluster", lambda: pipeline.rank_candidates(config, db, DAY))
    selection = timed(
        times,
        "select",
        lambda: select_stories(candidates.clusters, candidates.vectors, edition_settings(config)),
    )
    times["= rank + cluster + select"] = times["rank + cluster"] + times["select"]
    times["= with vectors"] = times["= rank + cluster + select"] + times["vectors (read + embed)"]
    summarize = pipeline.store_summarizer(config, db)
    timed(
        times, "summarize (stories)", lambda: summarize([c.lead.article for c in selection.stories])
    )
    timed(
        times,
        "related",
        lambda: pipeline.related_stories(config, db, DAY, selection.stories),
    )
    # The whole stage as the CLI runs it (summaries now cached), saved in the store.
    timed(
        times,
        "build_edition (all, saved)",
        lambda: pipeline.build_edition(config, db, DAY, rebuild=rebuild),
    )
    times["clusters"] = float(len(candidates.clusters))
    return times


def lines(times: dict[str, float]) -> Iterator[str]:
    for stage, seconds in times.items():
        if stage != "clusters":
            yield f"  {stage:<30} {seconds:7.2f} s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument(
        "--smoke", action="store_true", help="30 articles from 2 of each source, 3 stories"
    )
    args = parser.parse_args()
    if not DATA.is_dir():
        print(f"{DATA} is absent: the pile is made of examples/ alone")
    articles = pile(30, per_source=2) if args.smoke else pile(args.articles)
    with tempfile.TemporaryDirectory() as folder:
        config = with_overrides(load_config(ROOT / "config.yaml"), data_dir=folder)
        if args.smoke:  # summarising is most of a small pile's time
            config = with_overrides(config, **{"edition.stories": 3})
        encoder = get_encoder(config.encoder)
        encoder.load()
        with open_database(config.store_path) as db:
            started = time.perf_counter()
            ArticleStore(db).add_many(articles)
            stored = time.perf_counter() - started
            print(
                f"{len(articles)} articles ({len({a.source for a in articles})} sources),"
                f" stored in {stored:.2f} s; encoder loaded in {encoder.load_seconds:.1f} s"
            )
            cold = run(config, db, rebuild=False)
            forget_vectors(encoder)  # the warm run reads every vector from the store
            tokens = encoder.tokens_encoded
            warm = run(config, db, rebuild=True)
            computed = encoder.tokens_encoded - tokens
    print(f"cold (every vector computed; {int(cold['clusters'])} events):")
    print("\n".join(lines(cold)))
    print("warm (vectors from the store):")
    print("\n".join(lines(warm)))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (max RSS, encoder included): {peak:.0f} MiB")
    goal = warm["= with vectors"]
    ratio = cold["= with vectors"] / goal if goal else float("inf")
    print(
        f"goal: vectors + rank + cluster + select well under {GOAL_S:g} s warm: {goal:.2f} s"
        f" ({ratio:.1f}x faster than cold)"
    )
    if computed:
        print(f"error: the warm run encoded {computed} tokens: a vector missed the store")
        return 1
    if goal >= GOAL_S and not args.smoke:
        print(f"error: goal missed: {goal:.2f} s >= {GOAL_S:g} s")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
