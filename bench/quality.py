"""Summary quality on real news: our 3 key points against Lead-3, in the same run.

ROUGE-1/2/Lsum F1 (``rouge-score``, Porter stemming on) against the reference highlights
of ``../shared/data/summaries_cnndm_dev.jsonl`` (100 CNN/Daily Mail articles). Lead-3 is
the article's first three sentences as our splitter cuts them; "Lead-3 clean" skips the
sentences our boilerplate filter rejects (bylines, "Scroll down for video") so that the
gap it shows is the selection's own. ``tests/test_summary_quality.py`` pins the floor.

    .venv/bin/python bench/quality.py [--limit N]
    .venv/bin/python bench/quality.py --smoke     # the first 3 articles

Exit status 1 when, on all 100 articles, our ROUGE-1 or ROUGE-Lsum does not beat Lead-3's;
on a subset (``--limit``, ``--smoke``) only a breakage: ROUGE-1 below ``SMOKE_FLOOR``.
Without the data file it says so and exits 0.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from rouge_score import rouge_scorer  # noqa: E402

from digest.config import SummarizerOptions  # noqa: E402
from digest.embed import VectorCache, get_encoder  # noqa: E402
from digest.models import Article  # noqa: E402
from digest.sources.plain import article_from_text  # noqa: E402
from digest.summarize.extractive import ExtractiveSummarizer, Salience  # noqa: E402
from digest.text.sentences import (  # noqa: E402
    article_sentences,
    split_sentences,
)

DATA = ROOT.parent / "shared" / "data" / "summaries_cnndm_dev.jsonl"
METRICS = ("rouge1", "rouge2", "rougeLsum")
SMOKE_FLOOR = 20.0  # ROUGE-1 on a handful of articles: noisy, but a broken summariser is ~0
SMOKE_ARTICLES = 3


@dataclass(frozen=True)
class Row:
    article: Article
    text: str
    reference: str


def load_rows(path: Path = DATA, limit: int | None = None) -> list[Row]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines()[:limit]:
        item = json.loads(line)
        rows.append(
            Row(article_from_text(item["id"], item["text"]), item["text"], item["reference"])
        )
    return rows


def rouge(predictions: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """Mean F1 x100 per metric; sentences separated by newlines (for Lsum)."""
    scorer = rouge_scorer.RougeScorer(list(METRICS), use_stemmer=True)
    totals = dict.fromkeys(METRICS, 0.0)
    for prediction, reference in zip(predictions, references, strict=True):
        scores = scorer.score(reference, prediction)
        for metric in METRICS:
            totals[metric] += scores[metric].fmeasure
    return {m: 100 * v / max(1, len(predictions)) for m, v in totals.items()}


def ours(
    rows: Sequence[Row],
    salience: Salience | None = None,
    points: int = 3,
    vectors: VectorCache | None = None,
) -> list[str]:
    """Our key points, newline-separated; ``vectors`` may cache the encoder's work."""
    options = SummarizerOptions(min_key_points=points, max_key_points=points)
    summarizer = ExtractiveSummarizer(options, get_encoder(), vectors=vectors, salience=salience)
    summaries = summarizer.summarize_many([r.article for r in rows])
    return ["\n".join(p.text for p in s.key_points) for s in summaries]


def lead3(rows: Sequence[Row]) -> list[str]:
    return ["\n".join(split_sentences(r.text)[:3]) for r in rows]


def lead3_clean(rows: Sequence[Row]) -> list[str]:
    out = []
    for r in rows:
        kept = [s.text for s in article_sentences(r.article) if not s.is_boilerplate]
        out.append("\n".join(kept[:3]))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="only the first N articles")
    parser.add_argument("--smoke", action="store_true", help=f"the first {SMOKE_ARTICLES} articles")
    args = parser.parse_args()
    if not DATA.is_file():
        print(f"skipped: {DATA} is absent")
        return 0
    rows = load_rows(limit=SMOKE_ARTICLES if args.smoke else args.limit)
    references = [r.reference for r in rows]
    started = time.perf_counter()
    table = {
        "digest (3 points)": rouge(ours(rows), references),
        "Lead-3": rouge(lead3(rows), references),
        "Lead-3 clean": rouge(lead3_clean(rows), references),
    }
    seconds = time.perf_counter() - started
    print(f"ROUGE F1 x100 on {len(rows)} CNN/DM dev articles (stemmed), {seconds:.1f} s")
    print(f"{'system':20} " + " ".join(f"{m:>9}" for m in METRICS))
    for name, scores in table.items():
        print(f"{name:20} " + " ".join(f"{scores[m]:9.2f}" for m in METRICS))
    base, mine = table["Lead-3"], table["digest (3 points)"]
    print(f"{'digest - Lead-3':20} " + " ".join(f"{mine[m] - base[m]:+9.2f}" for m in METRICS))
    print(f"ROUGE-1 ratio digest / Lead-3: {mine['rouge1'] / base['rouge1']:.3f}")
    if args.smoke or args.limit is not None:
        if mine["rouge1"] < SMOKE_FLOOR:
            print(f"error: ROUGE-1 {mine['rouge1']:.2f} below {SMOKE_FLOOR}: summariser broken?")
            return 1
        print("a subset of the articles: beating Lead-3 is judged on all 100")
        return 0
    if mine["rouge1"] <= base["rouge1"] or mine["rougeLsum"] <= base["rougeLsum"]:
        print("error: the key points no longer beat Lead-3 on ROUGE-1 and ROUGE-Lsum")
        return 1
    print("goal: beat Lead-3 on ROUGE-1 and ROUGE-Lsum: met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
