"""Summaries for the command line: articles of a location, or a JSONL file of texts.

The store caches both the encoder's vectors and the summaries, so a re-run over the same
input computes nothing again. ``--jsonl`` input lines are ``{"id", "text", "title"?}``;
output lines are ``{"id", "key_points": [str], "conclusion": str}``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from digest.config import Config
from digest.errors import SummaryError
from digest.models import Article, Summary
from digest.pipeline.options import configured_summarizer, open_store
from digest.progress import Progress
from digest.sources.plain import article_from_text
from digest.store.embeddings import EmbeddingStore
from digest.store.summaries import SummaryCache
from digest.summarize import BatchSummarizer, Summaries, summarize_many
from digest.text.sentences import article_sentences

__all__ = ["JsonlReport", "summarize_articles", "summarize_jsonl", "summary_json"]


@contextmanager
def _summarizer(
    config: Config, cache: bool
) -> Iterator[tuple[BatchSummarizer, SummaryCache | None]]:
    if not cache:
        yield configured_summarizer(config), None
        return
    with open_store(config) as db:
        yield configured_summarizer(config, vectors=EmbeddingStore(db)), SummaryCache(db)


def summarize_articles(
    config: Config,
    articles: Sequence[Article],
    *,
    cache: bool = True,
    progress: Progress | None = None,
) -> Summaries:
    """Summaries by article id with the configured summariser (cached in the store), and
    the id and reason of each article that could not be summarised."""
    with _summarizer(config, cache) as (summarizer, store):
        return summarize_many(articles, summarizer, store, progress=progress)


@dataclass(frozen=True, slots=True)
class JsonlReport:
    written: int
    skipped: tuple[str, ...]  # one line per input line left out, with the reason


def summarize_jsonl(
    config: Config,
    source: Path,
    target: Path,
    *,
    cache: bool = True,
    progress: Progress | None = None,
) -> JsonlReport:
    """Summarise every ``{"id", "text", "title"?}`` line of ``source`` into ``target``."""
    articles, skipped = _read_jsonl(source)
    found = summarize_articles(config, articles, cache=cache, progress=progress).by_id
    written = 0
    try:
        with target.open("w", encoding="utf-8") as out:
            for article in articles:
                summary = found.get(article.id)
                if summary is None:
                    skipped.append(f"{article.id}: could not be summarised")
                    continue
                line = {
                    "id": article.id,
                    "key_points": [p.text for p in summary.key_points],
                    "conclusion": summary.conclusion.text if summary.conclusion else "",
                }
                out.write(json.dumps(line, ensure_ascii=False) + "\n")
                written += 1
    except OSError as exc:
        raise SummaryError(f"{target}: cannot write ({exc.strerror})") from exc
    # The skipped lines are the caller's to report (the CLI prints each once).
    return JsonlReport(written=written, skipped=tuple(skipped))


def _read_jsonl(source: Path) -> tuple[list[Article], list[str]]:
    try:
        lines = source.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise SummaryError(f"{source}: cannot read ({exc})") from exc
    articles: list[Article] = []
    skipped: list[str] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{source}:{number}"
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            skipped.append(f"{where}: not JSON ({exc.msg})")
            continue
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            skipped.append(f"{where}: no 'text' string")
            continue
        ident = str(item.get("id", number))
        title = item.get("title") if isinstance(item.get("title"), str) else None
        if ident in seen:
            skipped.append(f"{where}: id {ident!r} repeated")
            continue
        article = article_from_text(ident, item["text"], title)
        if not article.paragraphs:
            skipped.append(f"{where}: empty text")
            continue
        seen.add(ident)
        articles.append(article)
    return articles, skipped


def summary_json(article: Article, summary: Summary) -> dict[str, Any]:
    """The ``--json`` shape: each point with its source sentences' indices and text."""
    sentences = article_sentences(article)

    def point(p: Any) -> dict[str, Any]:
        return {
            "text": p.text,
            "sources": list(p.sources),
            "source_text": [sentences[i].text for i in p.sources if 0 <= i < len(sentences)],
        }

    return {
        "id": article.id,
        "title": article.title,
        "key_points": [point(p) for p in summary.key_points],
        "conclusion": point(summary.conclusion) if summary.conclusion else None,
        "method": summary.method,
        "model": summary.model,
        "prompt_version": summary.prompt_version,
        "dropped_points": summary.dropped_points,
        "fallback_reason": summary.fallback_reason,
        "note": summary.note,
    }
