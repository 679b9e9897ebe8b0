from __future__ import annotations

import pytest

from digest.config import SummarizerOptions
from digest.embed import get_encoder
from digest.models import Article, KeyPoint, Summary
from digest.sources.plain import article_from_text
from digest.store import open_database
from digest.store.embeddings import EmbeddingStore
from digest.store.summaries import SummaryCache
from digest.summarize import summarize_many
from digest.summarize.extractive import ExtractiveSummarizer

TEXTS = [
    "The council approved a new bridge on Monday. It will cost 40 million pounds."
    " Residents had asked for it for a decade. Opponents wanted schools instead.",
    "A storm closed the port for two days. Ships waited offshore."
    " The harbour master said damage was light. Trade resumed on Friday.",
]


def test_summaries_round_trip_through_the_store(store_url: str) -> None:
    summary = Summary(
        key_points=(KeyPoint("A point.", (0, 2)),),
        conclusion=KeyPoint("An end.", (3,)),
        method="generative",
        model="m",
        prompt_version="keypoints-1",
        dropped_points=2,
        fallback_reason=None,
    )
    with open_database(store_url) as db:
        cache = SummaryCache(db)
        assert cache.get("h", "generative", "m", "v1") is None
        cache.put("h", "generative", "m", "v1", summary)
        assert cache.get("h", "generative", "m", "v1") == summary
        assert cache.get("h", "generative", "m", "v2") is None  # another version, no hit
        assert cache.get("h", "extractive", "m", "v1") is None


@pytest.mark.slow
def test_a_rerun_serves_cached_summaries_and_computes_nothing(store_url: str) -> None:
    articles = [article_from_text(str(i), t) for i, t in enumerate(TEXTS)]
    path = store_url
    options = SummarizerOptions(min_key_points=2, max_key_points=2)
    with open_database(path) as db:
        summarizer = ExtractiveSummarizer(options, get_encoder(), vectors=EmbeddingStore(db))
        first = summarize_many(articles, summarizer, SummaryCache(db))
        assert SummaryCache(db).count() == 2
    with open_database(path) as db:  # a new run: a fresh connection, the same file
        inner = ExtractiveSummarizer(options, get_encoder())
        encoded = inner.encoder.tokens_encoded
        assert summarize_many(articles, inner, SummaryCache(db)) == first
        assert inner.encoder.tokens_encoded == encoded  # nothing computed
        # Other limits are another cache key: computed afresh, and stored beside.
        wider = ExtractiveSummarizer(
            SummarizerOptions(min_key_points=1, max_key_points=1), get_encoder()
        )
        fresh = summarize_many(articles, wider, SummaryCache(db))
        assert [len(fresh.by_id[a.id].key_points) for a in articles] == [1, 1]
        assert SummaryCache(db).count() == 4


def test_a_new_sentence_numbering_is_a_new_cache_key(monkeypatch: pytest.MonkeyPatch) -> None:
    # Cached points cite sentence indices: a splitter that numbers differently must not
    # serve them again.
    summarizer = ExtractiveSummarizer(SummarizerOptions(), get_encoder())
    before = summarizer.cache_version
    monkeypatch.setattr("digest.summarize.extractive.SPLITTER_VERSION", 999)
    assert summarizer.cache_version != before


def test_a_headline_only_article_is_skipped_without_failing_its_batch(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bare = Article(id="bare", source="feed", title="Port strike ends", content_hash="h0")
    articles = [article_from_text(str(i), t) for i, t in enumerate(TEXTS)]
    summarizer = ExtractiveSummarizer(
        SummarizerOptions(min_key_points=1, max_key_points=1), get_encoder()
    )
    with caplog.at_level("WARNING", logger="digest.summarize"):
        seen: list[tuple[str, int, int, str]] = []
        found = summarize_many([bare, *articles], summarizer, progress=lambda *p: seen.append(p))
    assert set(found.by_id) == {"0", "1"}
    assert set(found.failures) == {"bare"}  # and why, for the caller to say
    assert seen[-1] == ("summarize", 3, 3, "")  # the skipped article counts as done
    assert "bare" in caplog.text and "headline only" in caplog.text
    assert "batch summary failed" not in caplog.text  # the others were not redone one by one
