"""Article body extraction: our page reader against trafilatura's defaults.

Reads ``../shared/data/pages/*.html.gz`` and scores each extracted body against
``ground-truth.json`` with the article-extraction-benchmark's measure, written here:
the text is cut into ``\\w+`` tokens, those into overlapping 4-token shingles; per page,
true positives, false positives and false negatives are counted over the shingle
multisets and normalised by the page's total, so every page weighs the same; precision and
recall are averaged over pages, and F1 is taken of the two averages.

    python bench/extraction.py [--limit N]
    python bench/extraction.py --smoke     # the first 5 pages

Exit status 1 when, on all the pages, our F1 is below ``F1_FLOOR`` or below trafilatura's;
on a subset (``--limit``, ``--smoke``) only a breakage is judged: F1 below ``SMOKE_FLOOR``.
Without ``../shared/data/pages`` it says so and exits 0.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import trafilatura

from digest.sources.decode import decode_bytes
from digest.sources.pages import extract_blocks

ROOT = Path(__file__).resolve().parent.parent
PAGES = ROOT.parent / "shared" / "data" / "pages"
_TOKEN = re.compile(r"\w+")
F1_FLOOR = 0.95  # tests/test_extraction_quality.py pins the same floor
SMOKE_FLOOR = 0.6  # a handful of pages: far below the floor, but a broken reader scores ~0
SMOKE_PAGES = 5


def shingles(text: str, size: int = 4) -> Counter[tuple[str, ...]]:
    tokens = _TOKEN.findall(text)
    if len(tokens) < size:
        return Counter([tuple(tokens)]) if tokens else Counter()
    return Counter(tuple(tokens[i : i + size]) for i in range(len(tokens) - size + 1))


def page_scores(predicted: str, truth: str) -> tuple[float, float]:
    """(precision, recall) of one page, from its normalised TP, FP and FN."""
    pred, gold = shingles(predicted), shingles(truth)
    tp = sum((pred & gold).values())
    fp = sum((pred - gold).values())
    fn = sum((gold - pred).values())
    total = tp + fp + fn
    if total == 0:  # nothing expected and nothing extracted
        return 1.0, 1.0
    tp, fp, fn = tp / total, fp / total, fn / total
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall


@dataclass(frozen=True)
class Score:
    precision: float
    recall: float
    pages_per_second: float

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def evaluate(extract: Callable[[str, str], str], pages: Iterable[tuple[str, str, str]]) -> Score:
    precisions: list[float] = []
    recalls: list[float] = []
    started = time.perf_counter()
    for html, url, truth in pages:
        precision, recall = page_scores(extract(html, url), truth)
        precisions.append(precision)
        recalls.append(recall)
    elapsed = time.perf_counter() - started
    n = len(precisions)
    return Score(sum(precisions) / n, sum(recalls) / n, n / elapsed if elapsed else 0.0)


def load_pages(limit: int | None = None) -> list[tuple[str, str, str]]:
    truth = json.loads((PAGES / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for key in sorted(truth)[:limit]:
        html = decode_bytes(gzip.decompress((PAGES / f"{key}.html.gz").read_bytes()), where=key)
        pages.append((html, truth[key]["url"], truth[key]["articleBody"]))
    return pages


def ours(html: str, url: str) -> str:
    blocks, _ = extract_blocks(html, url)
    return "\n".join(b.text for b in blocks)


def trafilatura_defaults(html: str, url: str) -> str:
    return trafilatura.extract(html, url=url) or ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="Only the first N pages.")
    parser.add_argument("--smoke", action="store_true", help=f"the first {SMOKE_PAGES} pages")
    args = parser.parse_args()
    if not PAGES.is_dir():
        print(f"skipped: {PAGES} is absent")
        return 0
    pages = load_pages(SMOKE_PAGES if args.smoke else args.limit)
    whole = not args.smoke and args.limit is None
    print(f"{len(pages)} pages from {PAGES}")
    print(f"{'reader':<24} {'precision':>9} {'recall':>7} {'F1':>7} {'pages/s':>8}")
    scores = {}
    for name, extract in (("trafilatura defaults", trafilatura_defaults), ("digest pages", ours)):
        score = scores[name] = evaluate(extract, pages)
        print(
            f"{name:<24} {score.precision:>9.4f} {score.recall:>7.4f} {score.f1:>7.4f}"
            f" {score.pages_per_second:>8.1f}"
        )
    ours_f1, theirs_f1 = scores["digest pages"].f1, scores["trafilatura defaults"].f1
    print(f"F1 ratio ours / trafilatura defaults: {ours_f1 / theirs_f1:.3f}")
    if whole:
        if ours_f1 < F1_FLOOR or ours_f1 < theirs_f1:
            print(f"error: F1 {ours_f1:.4f}: below {F1_FLOOR} or trafilatura's {theirs_f1:.4f}")
            return 1
        print(f"goal F1 >= {F1_FLOOR} and above trafilatura's defaults: met")
    elif ours_f1 < SMOKE_FLOOR:
        print(f"error: F1 {ours_f1:.4f} below {SMOKE_FLOOR} on {len(pages)} pages: reader broken?")
        return 1
    else:
        print(f"a subset of the pages: the floor of {F1_FLOOR} is judged on all of them")
    return 0


if __name__ == "__main__":
    sys.exit(main())
