from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from digest.config import SummarizerOptions
from digest.embed import get_encoder
from digest.models import Article, Section, Summary
from digest.sources.plain import article_from_text
from digest.summarize.extractive import ExtractiveSummarizer, trim_point
from digest.text.sentences import article_sentences

pytestmark = pytest.mark.slow  # loads the real encoder

WORD = re.compile(r"[\w’'-]+")


def words(text: str) -> list[str]:
    return [w.lower() for w in WORD.findall(text)]


def assert_faithful(article: Article, summary: Summary) -> None:
    """Every word of every point is a word of its own source sentences."""
    sentences = article_sentences(article)
    points = [*summary.key_points, *([summary.conclusion] if summary.conclusion else [])]
    for point in points:
        assert point.sources, point
        source = set(words(" ".join(sentences[i].text for i in point.sources)))
        extra = [w for w in words(point.text) if w not in source]
        assert not extra, (point.text, extra)
        assert not any(sentences[i].is_boilerplate for i in point.sources)


def seed(seed_article: Path) -> Article:
    from digest.sources import read_location

    return read_location(str(seed_article)).articles[0]


def test_seed_article_gives_3_to_5_faithful_points_and_its_own_conclusion(
    seed_article: Path,
) -> None:
    article = seed(seed_article)
    summary = ExtractiveSummarizer(SummarizerOptions(), get_encoder()).summarize(article)
    assert 3 <= len(summary.key_points) <= 5
    assert_faithful(article, summary)
    sentences = article_sentences(article)
    text = " ".join(p.text for p in summary.key_points)
    assert "Gravity Filters" not in text and "Signal Mirror" not in text
    assert summary.conclusion is not None
    assert all(sentences[i].is_conclusion for i in summary.conclusion.sources)
    sources = [p.sources[0] for p in summary.key_points]
    assert sources == sorted(sources)  # the article's (and the timeline's) order
    assert summary.method == "extractive" and summary.prompt_version


def test_points_on_real_news_are_faithful_and_within_limits(shared: Path) -> None:
    lines = (shared / "data" / "summaries_cnndm_dev.jsonl").read_text().splitlines()[:8]
    articles = [article_from_text(str(i), json.loads(line)["text"]) for i, line in enumerate(lines)]
    options = SummarizerOptions(min_key_points=2, max_key_points=4, words_per_point=20)
    summaries = ExtractiveSummarizer(options, get_encoder()).summarize_many(articles)
    for article, summary in zip(articles, summaries, strict=True):
        assert 2 <= len(summary.key_points) <= 4
        for point in summary.key_points:
            assert len(point.text.split()) <= 20
        assert_faithful(article, summary)


def test_boilerplate_is_never_chosen_even_first_in_the_article() -> None:
    article = Article(
        id="b",
        source="test",
        title="Council approves new bridge",
        content_hash="b1",
        sections=(
            Section(
                None,
                (
                    "By Jane Smith and Tom Jones",
                    "Click here to sign up for our free daily newsletter about the bridge.",
                    "Share this article on Facebook and tell your friends about the bridge.",
                    "The city council approved a new bridge over the river on Monday.",
                    "The bridge will cost 40 million dollars and open in 2028.",
                    "Residents had asked for a second crossing for a decade.",
                    "Opponents said the money should fund schools instead.",
                ),
            ),
            Section(
                None,
                (
                    "Bridge Kits – Get yours today — the best bridge kits for kids.",
                    "Related: Council debates the river park",
                ),
            ),
        ),
    )
    summary = ExtractiveSummarizer(SummarizerOptions(), get_encoder()).summarize(article)
    assert_faithful(article, summary)
    points = [*summary.key_points, *([summary.conclusion] if summary.conclusion else [])]
    chosen = " ".join(p.text for p in points)
    for junk in ("Jane Smith", "Click here", "Share this", "Bridge Kits", "Related:"):
        assert junk not in chosen
    assert summary.key_points[0].text.startswith("The city council approved")


def test_key_point_count_follows_the_options(seed_article: Path) -> None:
    article = seed(seed_article)
    for count in (1, 3, 5):
        options = SummarizerOptions(min_key_points=count, max_key_points=count)
        assert (
            len(ExtractiveSummarizer(options, get_encoder()).summarize(article).key_points) == count
        )


def test_trim_point_only_removes_words() -> None:
    text = "However, the mayor (pictured) said the plan, which costs $4 million, would pass."
    trimmed = trim_point(text, 45)
    assert trimmed == "The mayor said the plan, which costs $4 million, would pass."
    cut = trim_point("One two three four five, six seven eight nine ten eleven twelve.", 9)
    assert cut.endswith("…")
    assert len(cut.rstrip("…").split()) <= 9
    assert set(words(cut)) <= set(words(text + " One two three four five six seven eight nine"))


def test_without_a_conclusion_section_the_conclusion_is_a_late_unused_sentence(
    shared: Path,
) -> None:
    line = (shared / "data" / "summaries_cnndm_dev.jsonl").read_text().splitlines()[0]
    article = article_from_text("n", json.loads(line)["text"])
    options = SummarizerOptions(min_key_points=3, max_key_points=3)
    summary = ExtractiveSummarizer(options, get_encoder()).summarize(article)
    assert summary.conclusion is not None
    candidates = [s for s in article_sentences(article) if not s.is_boilerplate]
    [index] = summary.conclusion.sources
    assert index not in {i for p in summary.key_points for i in p.sources}
    assert index >= candidates[len(candidates) * 2 // 3].index
    assert summary.conclusion.text[:1] not in "\"'“‘"
