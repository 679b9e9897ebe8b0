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

    .venv/bin/python bench/summarize.py [--limit N] [--repeat N] [--dtypes float32,bfloat16]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from digest.config import EncoderOptions, SummarizerOptions  # noqa: E402
from digest.embed import BF16_FLAGS, CPUINFO, Encoder, native_bf16, resolve_dtype  # noqa: E402
from digest.models import Article  # noqa: E402
from digest.sources.plain import article_from_text  # noqa: E402
from digest.summarize.extractive import ExtractiveSummarizer, _Plan  # noqa: E402
from digest.text.sentences import split_sentences  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "summaries_cnndm_dev.jsonl"


def thousand_words(articles: list[Article]) -> Article:
    """Dev articles' sentences, in order, up to about 1,000 words, as one article."""
    taken: list[str] = []
    words = 0
    for article in articles:
        for sentence in split_sentences(article.text):
            if words >= 1000:
                return article_from_text("thousand", " ".join(taken))
            taken.append(sentence)
            words += len(sentence.split())
    return article_from_text("thousand", " ".join(taken))


def run(
    dtype: str, articles: list[Article], long_article: Article, repeat: int
) -> tuple[float, np.ndarray]:
    """Print one dtype's figures; its summariser rate (articles/s) and its sentence vectors."""
    encoder = Encoder(EncoderOptions(dtype=dtype))  # type: ignore[arg-type]
    encoder.load()
    texts = [t for a in articles for t in _Plan.of(a).texts]
    encoder.forward(texts[:32])  # warm-up: first calls pay one-off allocation costs
    summarizer = ExtractiveSummarizer(SummarizerOptions(), encoder)

    # Ceiling and summariser alternate, best of `repeat`: a shared machine's noise hits both.
    ceiling_s = batch_s = float("inf")
    ceiling_tokens = batch_tokens = 0
    for _ in range(repeat):
        before = encoder.tokens_encoded
        started = time.perf_counter()
        encoder.forward(texts)
        ceiling_s = min(ceiling_s, time.perf_counter() - started)
        ceiling_tokens = encoder.tokens_encoded - before

        encoder._memory.clear()  # nothing cached: the summariser encodes every sentence
        before = encoder.tokens_encoded
        started = time.perf_counter()
        summaries = summarizer.summarize_many(articles)
        batch_s = min(batch_s, time.perf_counter() - started)
        batch_tokens = encoder.tokens_encoded - before
        assert len(summaries) == len(articles)

    times = []
    for _ in range(5):
        encoder._memory.clear()
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
    print(f"ratio summariser / ceiling: {rate / ceiling:.2f}")
    print(
        f"one {long_article.word_count}-word article: median {statistics.median(times):.3f} s"
        f" (min {min(times):.3f} s), model loaded, vectors not cached"
    )
    return len(articles) / batch_s, encoder.forward(texts[:200])


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=40, help="first N articles (0: all 100)")
    parser.add_argument("--dtypes", default="float32,bfloat16", help="comma-separated")
    parser.add_argument("--repeat", type=int, default=1, help="best of N passes")
    args = parser.parse_args()
    lines = DATA.read_text(encoding="utf-8").splitlines()[: args.limit or None]
    articles = [article_from_text(str(i), json.loads(line)["text"]) for i, line in enumerate(lines)]
    plans_started = time.perf_counter()
    for article in articles:
        _Plan.of(article)
    plan_s = time.perf_counter() - plans_started
    words = sum(a.word_count for a in articles)
    print(f"{len(articles)} articles, {words} words; sentence split + plan {plan_s * 1000:.0f} ms")
    long_article = thousand_words(articles)
    results = {d: run(d, articles, long_article, args.repeat) for d in args.dtypes.split(",")}
    if {"float32", "bfloat16"} <= results.keys():
        (f32, v32), (b16, v16) = results["float32"], results["bfloat16"]
        cosine = float(np.min(np.sum(v32 * v16, axis=1)))
        print(
            f"\nbfloat16 / float32 summariser speed: {b16 / f32:.2f}x;"
            f" least cosine between their sentence vectors: {cosine:.5f}"
        )
    print(
        f"encoder.dtype auto chose {resolve_dtype('auto')} on this CPU"
        f" (native bf16: {'yes' if native_bf16() else 'no'}; {cpu_flags()})"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak memory (max RSS of the process): {peak:.0f} MiB")


if __name__ == "__main__":
    main()
