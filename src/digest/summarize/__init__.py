"""Summaries: a few key points and a conclusion per article, each traceable to its sentences.

A summariser is anything with ``summarize(article) -> Summary``. Three ship:

- ``extractive.py`` (the default): picks and trims the article's own sentences with the
  encoder; every word of a point is a word of its source sentences.
- ``generative.py``: a local ``transformers`` model writes the points from a prompt;
  every point is checked against the article and unsupported ones are dropped, with a
  fall back to the extractive summary when too few remain.
- ``server.py``: the same, written by a model behind an OpenAI-compatible server the
  operator runs (Ollama, llama.cpp, vLLM); the same prompts, check and fallback
  (``support.py``, shared by both model backends).

``make_summarizer(options, encoder)`` builds the one ``options.backend`` names, with the
encoder the caller made from its ``EncoderOptions``; ``summarize_many`` is what the
edition stage calls: it serves summaries from the store's cache, batches the encoder work
of the rest across articles, stores what it computed, and says which articles got none.

    __init__.py    the protocols, ``make_summarizer``, ``summarize_many``
    extractive.py  the default: the article's own sentences, chosen and trimmed
    generative.py  a local transformers model's points, each checked against the article
    server.py      an OpenAI-compatible model server's points, under bounds, checked alike
    support.py     what both model backends share: prompts, answers, map-reduce, the check
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from digest.config import SummarizerOptions
from digest.embed import Encoder, VectorCache
from digest.errors import SummaryError
from digest.models import Article, Summary
from digest.progress import Progress
from digest.summarize.extractive import ExtractiveSummarizer, unsummarisable
from digest.summarize.generative import GenerativeSummarizer
from digest.summarize.server import ServerSummarizer, unanswered

__all__ = [
    "BatchSummarizer",
    "Summaries",
    "Summarizer",
    "make_summarizer",
    "summarize_many",
]

log = logging.getLogger(__name__)


@runtime_checkable
class Summarizer(Protocol):
    """Anything that turns an article into a ``Summary``."""

    def summarize(self, article: Article) -> Summary: ...


@runtime_checkable
class BatchSummarizer(Summarizer, Protocol):
    """A summariser that can say what it would cache under, and do many articles at once."""

    backend: str
    model: str

    @property
    def cache_version(self) -> str:
        """Everything besides backend and model that changes the output (prompt, limits)."""
        ...

    def summarize_many(self, articles: Sequence[Article]) -> list[Summary]: ...


class SummaryStore(Protocol):
    """The cache side of ``summarize_many`` (``digest.store.summaries.SummaryCache``)."""

    def get(self, content_hash: str, backend: str, model: str, version: str) -> Summary | None: ...

    def put(
        self, content_hash: str, backend: str, model: str, version: str, s: Summary
    ) -> None: ...


def make_summarizer(
    options: SummarizerOptions,
    encoder: Encoder,
    *,
    vectors: VectorCache | None = None,
    base_dir: str = ".",
) -> BatchSummarizer:
    """The summariser ``options.backend`` names, with ``encoder`` (the caller's, made from
    its ``EncoderOptions``); ``base_dir`` resolves a relative generative model folder."""
    if options.backend == "generative":
        return GenerativeSummarizer(options, encoder, vectors=vectors, base_dir=base_dir)
    if options.backend == "openai":
        return ServerSummarizer(options, encoder, vectors=vectors)
    return ExtractiveSummarizer(options, encoder, vectors=vectors)


@dataclass(frozen=True)
class Summaries:
    """What ``summarize_many`` gives back: the summaries by article id, and for each
    article that got none its one-line reason (``failures``), by article id."""

    by_id: Mapping[str, Summary] = field(default_factory=dict)
    failures: Mapping[str, str] = field(default_factory=dict)


def summarize_many(
    articles: Sequence[Article],
    summarizer: BatchSummarizer,
    cache: SummaryStore | None = None,
    *,
    progress: Progress | None = None,
    batch: int = 32,
) -> Summaries:
    """Summaries by article id: cached ones as stored, the others computed in batches
    (the encoder sees a whole batch of articles at once) and stored.

    An article that cannot be summarised (a headline-only one, with no text) is logged and
    left out of ``by_id``; ``failures`` holds its id and the one-line reason.
    """
    reasons: dict[str, str] = {}
    out: dict[str, Summary] = {}
    todo: list[Article] = []
    skipped = 0
    version = summarizer.cache_version
    for article in articles:
        if article.word_count == 0:
            # Nothing to summarise; in a batch it would fail the batch for all the others.
            reasons[article.id] = unsummarisable(article)
            log.warning("skipped %s: %s", article.id, reasons[article.id])
            skipped += 1
            continue
        found = (
            cache.get(article.content_hash, summarizer.backend, summarizer.model, version)
            if cache is not None
            else None
        )
        if found is not None:
            out[article.id] = found
        else:
            todo.append(article)
    done = len(out) + skipped
    if progress is not None:
        progress("summarize", done, len(articles), "")
    for start in range(0, len(todo), max(1, batch)):
        chunk = todo[start : start + max(1, batch)]
        try:
            pairs = list(zip(chunk, summarizer.summarize_many(chunk), strict=True))
        except SummaryError as exc:
            log.warning("batch summary failed (%s); summarising one by one", exc)
            pairs = []
            for article in chunk:
                try:
                    pairs.append((article, summarizer.summarize(article)))
                except SummaryError as one:
                    reasons[article.id] = str(one).removeprefix(f"{article.id}: ")
                    log.warning("skipped %s: %s", article.id, reasons[article.id])
        for article, summary in pairs:
            out[article.id] = summary
            if cache is not None and not unanswered(summary):  # asked again next run
                cache.put(
                    article.content_hash, summarizer.backend, summarizer.model, version, summary
                )
        done += len(chunk)
        if progress is not None:
            progress("summarize", done, len(articles), "")
    return Summaries(out, reasons)
