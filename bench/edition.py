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
from digest.embed import get_encoder  # noqa: E402
from digest.models import Article, Section  # noqa: E402
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
T = TypeVar("T")


def base_articles() -> list[Article]:
    out: list[Article] = []
    for line in (DATA / "summaries_cnndm_dev.jsonl").read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        article = article_from_text(item["id"][-16:], item["text"], source="cnndm")
        sentences = split_sentences(article.text)
        paragraphs = tuple(" ".join(sentences[i : i + 3]) for i in range(0, len(sentences), 3))
        out.append(dataclasses.replace(article, sections=(Section(None, paragraphs),)))
    out += read_location(str(ROOT / "examples")).articles
    for name in FEEDS:
        out += [a for a in read_location(str(DATA / "feeds" / name)).articles if a.paragraphs]
    return out


def pile(count: int) -> list[Article]:
    bases = base_articles()
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
        end = edition_end(DAY, config)
        window = ArticleStore(db).between(end - timedelta(days=config.edition.window_days), end)
        embed_articles(config, window, cache=cache)
        embed_topics(config, cache=cache)

    timed(times, "vectors (read + embed)", vectors)
    candidates = timed(times, "rank + cluster", lambda: pipeline.rank_candidates(config, db, DAY))
    selection = timed(
        times,
        "select",
        lambda: select_stories(candidates.clusters, candidates.vectors, config),
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
    args = parser.parse_args()
    articles = pile(args.articles)
    with tempfile.TemporaryDirectory() as folder:
        config = with_overrides(load_config(ROOT / "config.yaml"), data_dir=folder)
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
            encoder._memory.clear()  # the warm run reads every vector from the store
            warm = run(config, db, rebuild=True)
    print(f"cold (every vector computed; {int(cold['clusters'])} events):")
    print("\n".join(lines(cold)))
    print("warm (vectors from the store):")
    print("\n".join(lines(warm)))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (max RSS, encoder included): {peak:.0f} MiB")
    goal = warm["= with vectors"]
    print(f"goal: vectors + rank + cluster + select well under 10 s warm: {goal:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
