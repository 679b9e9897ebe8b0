"""The readers on the real feeds of ``../shared/data/feeds/``: what each feed gives.

Prints, per feed: articles read, undated ones, the repairs the readers made (HTML entities,
mojibake; ``SourceResult.repairs``), the damage left in the text (a literal entity such as
``&#038;`` or ``&amp;``, a mojibake sequence such as ``â€™`` or ``Ã©``), the languages the
articles carry, articles with a lead image, and median words. A baseline run is the same
script on the tree before a change (``git stash``), in the same shape.

    PYTHONPATH=src python bench/readers.py [--feeds DIR]
    PYTHONPATH=src python bench/readers.py --smoke     # the 5 smallest feed files

Exit status 1 when damage is left in the text or a feed not named ``BROKEN_*`` fails to
read (the broken ones must fail cleanly, with a ``SourceError``). Without the feeds folder
it says so and exits 0.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from digest.errors import SourceError  # noqa: E402
from digest.models import Article  # noqa: E402
from digest.sources import read_location  # noqa: E402

FEEDS = ROOT.parent / "shared" / "data" / "feeds"
ENTITY = re.compile(r"&(?:#\d{2,6}|#x[0-9a-fA-F]{2,6}|amp|quot|lt|gt|apos|nbsp);")
MOJIBAKE = re.compile(r"â€|Ã[\u0080-\u00bf]|Â[\u00a0-\u00bf ]|Ã¤|Ã¶|Ã¼|â€™")


def fields(article: Article) -> list[str]:
    texts = [article.title, article.dek or "", article.author or ""]
    texts += [p for s in article.sections for p in s.paragraphs]
    return texts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=Path, default=FEEDS)
    parser.add_argument("--smoke", action="store_true", help="the 5 smallest feed files")
    args = parser.parse_args()
    if not args.feeds.is_dir():
        print(f"skipped: {args.feeds} is absent")
        return 0
    paths = sorted(args.feeds.glob("*.xml"))
    if args.smoke:
        paths = sorted(sorted(paths, key=lambda p: p.stat().st_size)[:5])
    failed = []
    print(
        f"{'feed':48} {'arts':>4} {'undated':>7} {'repairs':>7} {'left':>4} {'images':>6}"
        f" {'words':>5}  languages"
    )
    totals: Counter[str] = Counter()
    started = time.perf_counter()
    for path in paths:
        try:
            result = read_location(str(path))
        except SourceError as exc:
            print(f"{path.name:48} error: {str(exc)[:70]}")
            if not path.name.startswith("BROKEN_"):
                failed.append(path.name)
            continue
        articles = result.articles
        undated = sum(1 for a in articles if a.published is None)
        repairs = getattr(result, "repairs", None) or {}
        repaired = sum(repairs.values())
        kinds = "/".join(f"{repairs.get(k, 0)}" for k in ("entity", "mojibake", "control"))
        left = sum(
            len(ENTITY.findall(t)) + len(MOJIBAKE.findall(t)) for a in articles for t in fields(a)
        )
        images = sum(1 for a in articles if getattr(a, "image", None) is not None)
        words = statistics.median(a.word_count for a in articles) if articles else 0
        langs = Counter(a.language or "-" for a in articles)
        shown = ", ".join(f"{k} {v}" for k, v in langs.most_common(4))
        print(
            f"{path.name:48} {len(articles):4d} {undated:7d} {repaired:7d} {left:4d}"
            f" {images:6d} {words:5.0f}  {shown}  (repairs e/m/c {kinds})"
        )
        totals.update(
            articles=len(articles), undated=undated, repairs=repaired, left=left, images=images
        )
    print(
        f"{'total':48} {totals['articles']:4d} {totals['undated']:7d} {totals['repairs']:7d}"
        f" {totals['left']:4d} {totals['images']:6d}   in {time.perf_counter() - started:.1f}s"
    )
    if failed:
        print(f"error: {len(failed)} feeds not marked broken failed to read: {', '.join(failed)}")
    if totals["left"]:
        print(f"error: {totals['left']} entities or mojibake runs left in the text")
    if failed or totals["left"]:
        return 1
    print("goal: no damage left, every feed read or cleanly refused: met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
