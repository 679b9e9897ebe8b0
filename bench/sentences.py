"""Sentence splitting on the 100 CNN/DM dev articles: our splitter next to pysbd.

Prints, for each splitter, the time taken and counts of obvious errors: a sentence that
starts with a lowercase letter (a false split), one that ends on a title abbreviation
such as "Mr." or "Gov." (a false split), one of more than 70 words (a missed split), and
how many reference highlight sentences have a matching article sentence nearly word for
word (CNN/DM highlights are often lifted from the article, so a better splitter finds
more of them).

    .venv/bin/python bench/sentences.py [--smoke]     # --smoke: the first 10 articles

No goal is judged; without the data file it says so and exits 0.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pysbd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from digest.text.sentences import split_sentences  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "summaries_cnndm_dev.jsonl"
TITLE_END = re.compile(r"\b(?:Mr|Mrs|Ms|Dr|St|Gov|Sen|Rep|Gen|Col|Lt|Sgt|Capt|Prof)\.$")


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def overlap(a: list[str], b: list[str]) -> float:
    if not a or not b:
        return 0.0
    common = len(set(a) & set(b))
    return 2 * common / (len(set(a)) + len(set(b)))


def measure(name: str, split: Callable[[str], list[str]], rows: list[dict[str, str]]) -> float:
    """Print one splitter's counts; the seconds it took."""
    started = time.perf_counter()
    splits = [split(r["text"]) for r in rows]
    seconds = time.perf_counter() - started
    sentences = [s for doc in splits for s in doc]
    lower = sum(1 for s in sentences if s[:1].islower())
    title = sum(1 for s in sentences if TITLE_END.search(s))
    long = sum(1 for s in sentences if len(s.split()) > 70)
    matched = total = 0
    for row, doc in zip(rows, splits, strict=True):
        doc_words = [words(s) for s in doc]
        for ref in row["reference"].splitlines():
            total += 1
            ref_words = words(ref)
            if any(overlap(ref_words, w) >= 0.9 for w in doc_words):
                matched += 1
    print(
        f"{name:8} {seconds * 1000:8.0f} ms {len(sentences):6d} sentences"
        f"  lowercase-start {lower:3d}  ends-on-title {title:3d}  >70 words {long:3d}"
        f"  highlights found {matched}/{total}"
    )
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="the first 10 articles")
    args = parser.parse_args()
    if not DATA.is_file():
        print(f"skipped: {DATA} is absent")
        return 0
    lines = DATA.read_text(encoding="utf-8").splitlines()[: 10 if args.smoke else None]
    rows = [json.loads(line) for line in lines]
    segmenter = pysbd.Segmenter(language="en", clean=False)
    print(f"{len(rows)} articles, {sum(len(r['text'].split()) for r in rows)} words")
    ours = measure("digest", split_sentences, rows)
    theirs = measure("pysbd", lambda text: [s.strip() for s in segmenter.segment(text)], rows)
    print(f"time ratio digest / pysbd: {ours / theirs:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
