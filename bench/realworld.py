"""The daily edition on real feeds nobody here wrote: ingest -> edition, feed by feed.

For every feed in ``../shared/data/feeds/`` (the ``BROKEN_*`` ones included: they must
fail cleanly), in a fresh temporary store with the shipped ``config.yaml``'s options:

1. read the feed once to find its own dates; the edition day is the one whose candidate
   window (``edition.window_days`` days up to it) holds most of its items;
2. ingest it and build the edition of that day; print stories filled / asked, stories
   summarised / failed (``could not be summarised``), the undated items, the entity and
   mojibake repairs the ingest reports (0 where the reader reports none), the number of
   same-event clusters among the candidates, caps relaxed;
3. record a send of that edition to one subscriber (the ledger's ``sent``), build the next
   day's edition and count the stories repeated from the first (an article or event sent
   on day 1 that is a story again on day 2, updates excepted): must be 0.

    .venv/bin/python bench/realworld.py [--feeds DIR] [--only NAME]
    .venv/bin/python bench/realworld.py --smoke     # the 2 smallest feed files (one broken)

Exit status 1 when a story of day 1 is repeated on day 2, or a feed not named ``BROKEN_*``
cannot be read or ingested. Without the feeds folder it says so and exits 0.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from digest.config import Config, SourceOptions, load_config  # noqa: E402
from digest.errors import DigestError  # noqa: E402
from digest.models import Edition  # noqa: E402
from digest.pipeline import open_store  # noqa: E402
from digest.pipeline.build import build_edition, rank_candidates  # noqa: E402
from digest.pipeline.ingest import ingest  # noqa: E402
from digest.sources import read_location  # noqa: E402
from digest.store.ledger import DeliveryLedger  # noqa: E402
from digest.store.subscribers import SubscriberStore  # noqa: E402

FEEDS = ROOT.parent / "shared" / "data" / "feeds"


def feed_day(path: Path, window_days: int) -> tuple[date | None, int, int]:
    """The day whose edition window (``window_days`` days up to it) holds the most of the
    feed's items (the latest such day), the item count and the undated count."""
    try:
        articles = read_location(str(path), source=path.stem, kind="feed").articles
    except DigestError:
        return None, 0, 0
    days = Counter(a.published.astimezone(UTC).date() for a in articles if a.published)
    undated = sum(a.published is None for a in articles)
    if not days:
        return None, len(articles), undated

    def held(day: date) -> int:
        return sum(days.get(day - timedelta(days=k), 0) for k in range(window_days))

    best = max(held(d) for d in days)
    return max(d for d in days if held(d) == best), len(articles), undated


def _repairs(report: Any) -> int:
    """Entity and mojibake repairs the ingest counted (by kind, summed; 0 if none)."""
    total = 0
    for source in report.sources:
        counted = getattr(source, "repairs", None)
        if isinstance(counted, Mapping):
            total += sum(int(v) for v in counted.values())
        elif isinstance(counted, int):
            total += counted
    return total


def _undated(report: Any, fallback: int) -> int:
    values = [getattr(s, "undated", None) for s in report.sources]
    counted = [v for v in values if isinstance(v, int)]
    return sum(counted) if counted else fallback


def _story_sets(edition: Edition) -> list[set[str]]:
    return [{s.article_id, *(a.article_id for a in s.also_reported)} for s in edition.stories]


def _record_send(config: Config, db: Any, edition: Edition) -> None:
    """One subscriber, who got ``edition`` (the ledger says ``sent``)."""
    subscriber, _ = SubscriberStore(db).upsert("reader@example.org", name="Reader")
    ledger = DeliveryLedger(db)
    ledger.enqueue(edition.id, [subscriber.id])
    ledger.claim(edition.id, subscriber.id, f"<{edition.id}@bench>")
    ledger.finish(edition.id, subscriber.id, "sent", 250, "OK")


def run_feed(base: Config, path: Path, work: Path) -> dict[str, Any]:
    day, items, undated_read = feed_day(path, base.edition.window_days)
    row: dict[str, Any] = {"feed": path.stem[:34], "items": items, "day": day}
    if day is None:
        row["note"] = "no dated items" if items else "unreadable or empty"
        return row
    config = dataclasses.replace(
        base,
        base_dir=str(work),
        data_dir="data",
        sources=(SourceOptions(name=path.stem, location=str(path), kind="feed"),),
    )
    with open_store(config) as db:
        report = ingest(config, db)
        if report.failed:
            row["note"] = f"ingest failed: {report.failed[0].reason}"[:70]
            return row
        row["undated"] = _undated(report, undated_read)
        row["repairs"] = _repairs(report)
        try:
            candidates = rank_candidates(config, db, day)
            first = build_edition(config, db, day)
        except DigestError as exc:
            row["note"] = str(exc)[:70]
            return row
        row["clusters"] = len(candidates.clusters)
        row["events"] = sum(1 for c in candidates.clusters if c.lead.article.word_count > 0)
        row["filled"] = len(first.stories)
        row["asked"] = config.edition.stories
        kinds = Counter(item.kind for item in first.left_out)
        row["failed"] = kinds.get("unsummarised", 0)
        row["relaxed"] = sum(1 for item in first.left_out if "relaxed" in item.reason)
        _record_send(config, db, first)
        try:
            second = build_edition(config, db, day + timedelta(days=1))
        except DigestError as exc:
            row["note"] = f"day 2: {exc}"[:70]
            return row
        sent = set().union(*_story_sets(first)) if first.stories else set()
        repeated = 0
        updates = 0
        for story, members in zip(second.stories, _story_sets(second), strict=True):
            if getattr(story, "update_of", None):
                updates += 1
                if story.article_id in sent:
                    repeated += 1  # an update must lead with a new article
            elif members & sent:
                repeated += 1
        row["day2"] = len(second.stories)
        row["repeated"] = repeated
        row["updates"] = updates
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=Path, default=FEEDS, help="a folder of feed files")
    parser.add_argument("--only", help="only the feeds whose file name contains this")
    parser.add_argument("--smoke", action="store_true", help="the 2 smallest feed files")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    if not args.feeds.is_dir():
        print(f"skipped: {args.feeds} is absent")
        return 0
    base = load_config(ROOT / "config.yaml")
    paths = sorted(p for p in args.feeds.iterdir() if p.suffix == ".xml")
    if args.only:
        paths = [p for p in paths if args.only in p.name]
    if args.smoke:
        paths = sorted(sorted(paths, key=lambda p: p.stat().st_size)[:2])
    unreadable = []
    if not paths:
        print(f"no feeds in {args.feeds}", file=sys.stderr)
        return 2
    header = (
        f"{'feed':<34} {'day':<10} {'items':>5} {'undated':>7} {'repairs':>7} {'clusters':>8}"
        f" {'filled/asked':>12} {'failed':>6} {'relaxed':>7} {'day2':>4} {'repeated':>8}"
        f" {'updates':>7}"
    )
    print(header)
    totals: Counter[str] = Counter()
    started = time.perf_counter()
    for path in paths:
        with tempfile.TemporaryDirectory(prefix="digest-realworld-") as work:
            row = run_feed(base, path, Path(work))
        day = row["day"].isoformat() if row.get("day") else "-"
        if "note" in row and "filled" not in row:
            print(f"{row['feed']:<34} {day:<10} {row['items']:>5}  {row['note']}")
            failed = "ingest failed" in row["note"] or row["note"] == "unreadable or empty"
            if failed and not path.name.startswith("BROKEN_"):
                unreadable.append(path.name)
            continue
        filled = f"{row['filled']}/{min(row['asked'], row['events'])} ({row['asked']})"
        print(
            f"{row['feed']:<34} {day:<10} {row['items']:>5} {row['undated']:>7}"
            f" {row['repairs']:>7} {row['clusters']:>8} {filled:>12} {row['failed']:>6}"
            f" {row['relaxed']:>7} {row.get('day2', '-'):>4} {row.get('repeated', '-'):>8}"
            f" {row.get('updates', '-'):>7}" + (f"  {row['note']}" if "note" in row else "")
        )
        for key in ("filled", "failed", "repeated", "updates", "day2"):
            totals[key] += int(row.get(key, 0))
        totals["wanted"] += min(row["asked"], row["events"])
    print(
        f"total: {totals['filled']} stories filled of {totals['wanted']} possible"
        f" (min(stories, events with text) per feed), {totals['failed']} unsummarised,"
        f" day 2: {totals['day2']} stories, {totals['repeated']} repeated,"
        f" {totals['updates']} updates; {time.perf_counter() - started:.0f} s"
    )
    if totals["wanted"]:
        print(f"ratio filled / possible: {totals['filled'] / totals['wanted']:.2f}")
    if unreadable:
        print(f"error: feeds not marked broken could not be read: {', '.join(unreadable)}")
    if totals["repeated"]:
        print(f"error: {totals['repeated']} stories of day 1 repeated on day 2 (must be 0)")
    return 1 if unreadable or totals["repeated"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
