"""Summariser speed on the 100 CNN/DM dev articles, next to the encoder's own ceiling.

For each encoder dtype (float32 and bfloat16, on the same articles), side by side in one run:
model load time; the
raw encoder forward pass over exactly the sentences the summariser encodes (tokens/s: the
practical ceiling on this machine); the extractive summariser over the articles with an
empty vector cache (articles/s, encoder tokens/s, and the ratio to the ceiling); and one
article of about 1,000 words summarised alone once the model is loaded (median of 5,
vectors not cached). Then the ratio bfloat16 / float32, the least cosine between the two
dtypes' sentence vectors, and which one ``encoder.dtype: auto`` chose on this CPU and why.
Peak memory is the process's maximum resident set size.

The sentences of the ceiling are the ones the summariser handed the encoder in the same
pass (an ``Encoder`` that records what its forward pass is given), and no vector is kept
between calls (``memory_limit = 0``), so both sides encode the same texts every time.

Exit status 1 when the summariser's rate falls below ``RATIO_GOAL`` of the ceiling or the
two dtypes' vectors part (least cosine below ``COSINE_FLOOR``); with ``--smoke`` (one
article, one pass, a 150-word article for the 1,000-word one) only the cosine is judged.
Without the data file it says so and exits 0.

    .venv/bin/python bench/summarize.py [--limit N] [--repeat N] [--dtypes float32,bfloat16]
    .venv/bin/python bench/summarize.py --smoke
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from digest.config import EncoderOptions, SummarizerOptions  # noqa: E402
from digest.embed import BF16_FLAGS, CPUINFO, Encoder, native_bf16, resolve_dtype  # noqa: E402
from digest.models import Article  # noqa: E402
from digest.sources.plain import article_from_text  # noqa: E402
from digest.summarize.extractive import ExtractiveSummarizer  # noqa: E402
from digest.text.sentences import article_sentences, split_sentences  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "summaries_cnndm_dev.jsonl"
RATIO_GOAL = 0.7  # summariser tokens/s over the raw forward pass's
COSINE_FLOOR = 0.999  # bfloat16 against float32 sentence vectors
WORDS_GOAL_S = 0.2  # one 1,000-word article; reported, not judged (see docs/benchmarks.md)


class RecordingEncoder(Encoder):
    """The encoder, remembering every text its forward pass was given since ``reset``."""

    def __init__(self, options: EncoderOptions) -> None:
        super().__init__(options)
        self.seen: list[str] = []

    def reset(self) -> None:
        self.seen = []

    def forward(self, texts: Sequence[str]) -> np.ndarray:
        self.seen.extend(texts)
        return super().forward(texts)


def thousand_words(articles: list[Article], limit: int = 1000) -> Article:
    """Dev articles' sentences, in order, up to about ``limit`` words, as one article."""
    taken: list[str] = []
    words = 0
    for article in articles:
        for sentence in split_sentences(article.text):
            if words >= limit:
                return article_from_text("thousand", " ".join(taken))
            taken.append(sentence)
            words += len(sentence.split())
    return article_from_text("thousand", " ".join(taken))


def run(
    dtype: str, articles: list[Article], long_article: Article, repeat: int, long_runs: int
) -> tuple[float, float, np.ndarray]:
    """Print one dtype's figures; its summariser rate (articles/s), its ratio to the
    ceiling, and its vectors of the first sentences."""
    encoder = RecordingEncoder(EncoderOptions(dtype=dtype))  # type: ignore[arg-type]
    encoder.memory_limit = 0  # nothing cached: every pass encodes every sentence
    encoder.load()
    summarizer = ExtractiveSummarizer(SummarizerOptions(), encoder)
    encoder.forward(split_sentences(articles[0].text)[:16])  # warm-up: one-off allocations

    # Summariser and ceiling alternate, best of `repeat`: a shared machine's noise hits both.
    ceiling_s = batch_s = float("inf")
    ceiling_tokens = batch_tokens = 0
    texts: list[str] = []
    for _ in range(repeat):
        encoder.reset()
        before = encoder.tokens_encoded
        started = time.perf_counter()
        summaries = summarizer.summarize_many(articles)
        batch_s = min(batch_s, time.perf_counter() - started)
        batch_tokens = encoder.tokens_encoded - before
        texts = list(encoder.seen)  # a copy: the ceiling's forward pass records too
        if len(summaries) != len(articles):
            raise SystemExit(f"error: {len(summaries)} summaries for {len(articles)} articles")

        before = encoder.tokens_encoded
        started = time.perf_counter()
        encoder.forward(texts)
        ceiling_s = min(ceiling_s, time.perf_counter() - started)
        ceiling_tokens = encoder.tokens_encoded - before

    times = []
    for _ in range(long_runs):
        started = time.perf_counter()
        summarizer.summarize(long_article)
        times.append(time.perf_counter() - started)

    ceiling = ceiling_tokens / ceiling_s
    rate = batch_tokens / batch_s
    print(f"\n== encoder {dtype}: loaded in {encoder.load_seconds:.2f} s")
    print(
        f"raw forward (ceiling) {len(texts)} sentences, {ceiling_tokens} tokens in"
        f" {ceiling_s:.2f} s: {ceiling:7.0f} tokens/s, {len(texts) / ceiling_s:5.0f} sentences/s"
    )
    print(
        f"summariser            {len(articles)} articles in {batch_s:.2f} s:"
        f" {len(articles) / batch_s:5.1f} articles/s, {rate:7.0f} tokens/s"
    )
    print(f"ratio summariser / ceiling: {rate / ceiling:.2f} (goal >= {RATIO_GOAL})")
    median = statistics.median(times)
    verdict = "met" if median < WORDS_GOAL_S else "not met"
    print(
        f"one {long_article.word_count}-word article: median {median:.3f} s"
        f" (min {min(times):.3f} s, {long_runs} runs), model loaded, vectors not cached"
        + (f"; goal < {WORDS_GOAL_S} s: {verdict}" if long_article.word_count >= 1000 else "")
    )
    return len(articles) / batch_s, rate / ceiling, encoder.forward(texts[:200])


def cpu_flags() -> str:
    try:
        text = CPUINFO.read_text("ascii", "replace")
    except OSError:
        return "no /proc/cpuinfo"
    flags = next(
        (ln.partition(":")[2].split() for ln in text.splitlines() if ln.startswith("flags")), []
    )
    found = sorted(BF16_FLAGS.intersection(flags))
    return "flags " + (", ".join(found) if found else "without amx_bf16/avx512_bf16")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=40, help="first N articles (0: all 100)")
    parser.add_argument("--dtypes", default="float32,bfloat16", help="comma-separated")
    parser.add_argument("--repeat", type=int, default=1, help="best of N passes")
    parser.add_argument("--smoke", action="store_true", help="1 article, one pass")
    args = parser.parse_args()
    long_runs = 5
    if args.smoke:
        args.limit, args.repeat, long_runs = 1, 1, 1
    if not DATA.is_file():
        print(f"skipped: {DATA} is absent")
        return 0
    lines = DATA.read_text(encoding="utf-8").splitlines()[: args.limit or None]
    articles = [article_from_text(str(i), json.loads(line)["text"]) for i, line in enumerate(lines)]
    split_started = time.perf_counter()
    for article in articles:
        article_sentences(article)
    split_s = time.perf_counter() - split_started
    words = sum(a.word_count for a in articles)
    print(f"{len(articles)} articles, {words} words; sentence split {split_s * 1000:.0f} ms")
    # Smoke: a short "long" article; the 1,000-word one costs seconds on a loaded machine.
    long_article = thousand_words(articles, 150 if args.smoke else 1000)
    results = {
        d: run(d, articles, long_article, args.repeat, long_runs) for d in args.dtypes.split(",")
    }
    failures = []
    if not args.smoke:
        failures += [
            f"{d}: summariser at {ratio:.2f} of the ceiling, goal {RATIO_GOAL}"
            for d, (_, ratio, _) in results.items()
            if ratio < RATIO_GOAL
        ]
    if {"float32", "bfloat16"} <= results.keys():
        (f32, _, v32), (b16, _, v16) = results["float32"], results["bfloat16"]
        cosine = float(np.min(np.sum(v32 * v16, axis=1)))
        print(
            f"\nbfloat16 / float32 summariser speed: {b16 / f32:.2f}x;"
            f" least cosine between their sentence vectors: {cosine:.5f}"
        )
        if cosine < COSINE_FLOOR:
            failures.append(f"least cosine bfloat16 / float32 {cosine:.5f} < {COSINE_FLOOR}")
    print(
        f"encoder.dtype auto chose {resolve_dtype('auto')} on this CPU"
        f" (native bf16: {'yes' if native_bf16() else 'no'}; {cpu_flags()})"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak memory (max RSS of the process): {peak:.0f} MiB")
    for why in failures:
        print(f"error: {why}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
