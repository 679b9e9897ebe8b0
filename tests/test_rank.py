"""Each score term, the explanation, and novelty against saved editions."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from digest import pipeline
from digest.config import Config, RankOptions, RankWeights, SourceOptions
from digest.edition.rank import (
    TERMS,
    PastSends,
    Ranking,
    ScoreTerms,
    edition_end,
    freshness,
    novelty,
    rank_articles,
    substance,
)
from digest.edition.vectors import embed_articles, embed_topics
from digest.models import Article, Event
from digest.pipeline.options import edition_settings
from digest.store import ArticleStore, Database, open_database
from digest.store.embeddings import EmbeddingStore
from tests.edition_data import make_article, make_config, summaries

DAY = date(2026, 11, 24)

GLACIERS = make_article(
    "glaciers",
    "Alpine Glaciers Lost a Record Share of Their Ice in 2026, Survey Finds",
    "Glaciers in the Alps lost about four per cent of their remaining ice volume this year,"
    " the largest annual loss since measurements began, according to a survey released on"
    " Sunday by university glaciologists.",
)
DERBY = make_article(
    "derby",
    "Striker Scores Twice as City Win Derby",
    "A late double from the striker gave City a 2-1 win over United on Saturday in front of"
    " 70,000 fans.",
)


def test_freshness_halves_every_half_life_from_the_end_of_the_day() -> None:
    config = Config()
    end = edition_end(DAY, config.tz)
    assert end == datetime(2026, 11, 25, tzinfo=UTC)
    at_end = dataclasses.replace(DERBY, published=end)
    one_half_life = dataclasses.replace(DERBY, published=end - timedelta(hours=36))
    assert freshness(at_end, end, 36)[0] == pytest.approx(1.0)
    assert freshness(one_half_life, end, 36)[0] == pytest.approx(0.5)
    undated = dataclasses.replace(DERBY, published=None)
    value, note = freshness(undated, end, 36)
    assert value == 0.5 and "no publication date" in note


def test_freshness_uses_the_configured_timezone() -> None:
    config = Config(timezone="America/New_York")
    end = edition_end(DAY, config.tz)
    # Midnight in New York is 05:00 UTC the next day.
    assert end.astimezone(UTC) == datetime(2026, 11, 25, 5, tzinfo=UTC)
    late_evening = dataclasses.replace(DERBY, published=datetime(2026, 11, 25, 4, tzinfo=UTC))
    assert freshness(late_evening, end, 36)[0] == pytest.approx(0.5 ** (1 / 36))


def test_substance_rewards_length_named_facts_and_dated_events() -> None:
    thin = make_article("thin", "Short note", "Something happened today.")
    rich = make_article(
        "rich",
        "Rich report",
        "On May 11, 2025, Vladimir Putin proposed talks in Istanbul with Volodymyr Zelenskyy.",
        more=tuple(
            f"Paragraph {i} cites Kyiv, Moscow and 30 officials among {i * 1000} people"
            " who spoke in Brussels on May 12." + " More words here." * 10
            for i in range(8)
        ),
        events=(Event("May 9, 2025", date(2025, 5, 9), "A ceasefire began."),),
    )
    thin_value, _ = substance(thin)
    rich_value, note = substance(rich)
    assert 0.0 <= thin_value < rich_value <= 1.0
    assert "dated events" in note


def test_interest_follows_the_configured_topics(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    with open_database(tmp_path / "s.db") as db:
        ranking = pipeline_ranking(config, db, [GLACIERS, DERBY])
    terms = {r.article.id: r.terms for r in ranking.ranked}
    assert terms["glaciers"].interest > 0.4
    assert terms["derby"].interest < 0.1
    assert "climate" in terms["glaciers"].notes["interest"]


def test_source_weight_comes_from_the_config(tmp_path: Path) -> None:
    config = dataclasses.replace(
        make_config(tmp_path),
        sources=(SourceOptions(name="wire", location="x", weight=1.5),),
    )
    other = dataclasses.replace(GLACIERS, id="g2", source="blog", content_hash="x")
    with open_database(tmp_path / "s.db") as db:
        ranking = pipeline_ranking(config, db, [GLACIERS, other])
    by_id = {r.article.id: r for r in ranking.ranked}
    assert by_id["glaciers"].terms.source == 1.5
    assert by_id["g2"].terms.source == 1.0
    assert "not configured" in by_id["g2"].terms.notes["source"]
    # Same text, same time: the heavier source ranks first.
    assert ranking.ranked[0].article.id == "glaciers"


def test_source_weight_follows_the_configured_source_not_the_outlet(tmp_path: Path) -> None:
    config = dataclasses.replace(
        make_config(tmp_path),
        sources=(SourceOptions(name="trusted-folder", location="x", weight=2.0),),
    )
    # The outlet named in the file differs from the configured source it came in through.
    tagged = dataclasses.replace(GLACIERS, source="Alpine Observer", origin="trusted-folder")
    with open_database(tmp_path / "s.db") as db:
        ranking = pipeline_ranking(config, db, [tagged])
    assert ranking.ranked[0].terms.source == 2.0


def test_novelty_penalises_sent_articles_and_sent_events() -> None:
    vector = np.eye(384, dtype=np.float32)[0]
    past = PastSends(
        articles={"derby": "2026-11-23"},
        story_vectors=np.vstack([vector]),
        story_editions=("2026-11-23",),
    )
    assert novelty(DERBY, vector, past, 0.6) == (-1.0, "already sent in edition 2026-11-23")
    same_event, note = novelty(GLACIERS, vector, past, 0.6)
    assert same_event == pytest.approx(-1.0) and "same event" in note
    unrelated = np.eye(384, dtype=np.float32)[1]
    assert novelty(GLACIERS, unrelated, past, 0.6)[0] == 0.0
    # The encoder reads English only: no event penalty on what it cannot read.
    german = dataclasses.replace(GLACIERS, language="de")
    assert novelty(german, vector, past, 0.6) == (0.0, "not sent before")


def test_explanation_adds_up_to_the_score(tmp_path: Path) -> None:
    config = dataclasses.replace(
        make_config(tmp_path),
        rank=RankOptions(weights=RankWeights(freshness=2.0, interest=1.0, substance=0.5)),
    )
    with open_database(tmp_path / "s.db") as db:
        ranking = pipeline_ranking(config, db, [GLACIERS, DERBY])
    for ranked in ranking.ranked:
        assert ranked.score == ranked.terms.total(config.rank.weights)
        lines = ranked.terms.explain(config.rank.weights)
        assert [line.split()[0] for line in lines] == [
            "freshness",
            "interest",
            "source",
            "substance",
            "novelty",
            "score",
        ]
        assert float(lines[-1].split()[-1]) == pytest.approx(ranked.score, abs=1e-3)
        contributions = [float(line.split("=")[1].split()[0]) for line in lines[:-1]]
        assert sum(contributions) == pytest.approx(ranked.score, abs=1e-2)
        assert "x 2.00" in lines[0]


def test_score_terms_weigh_explain_and_round_with_the_weights_config() -> None:
    terms = ScoreTerms(
        freshness=0.5,
        interest=1.0,
        source=1.5,
        substance=0.123456789,
        novelty=-1.0,
        notes={"interest": "topic 'space'"},
    )
    weights = RankWeights(freshness=2.0, interest=1.0, source=0.5, substance=4.0, novelty=3.0)
    assert [name for name, _ in terms.items()] == list(TERMS)
    assert terms.total(weights) == pytest.approx(1.0 + 1.0 + 0.75 + 0.493827156 - 3.0)
    assert terms.explain(weights) == [
        "freshness   0.500 x 2.00 = +1.000",
        "interest    1.000 x 1.00 = +1.000  (topic 'space')",
        "source      1.500 x 0.50 = +0.750",
        "substance   0.123 x 4.00 = +0.494",
        "novelty    -1.000 x 3.00 = -3.000",
        "score      +0.244",
    ]
    # What a saved edition keeps: plain values by name.
    assert terms.rounded() == {
        "freshness": 0.5,
        "interest": 1.0,
        "source": 1.5,
        "substance": 0.123457,
        "novelty": -1.0,
    }


@pytest.mark.slow
def test_a_story_sent_yesterday_is_penalised_today(tmp_path: Path) -> None:
    config = make_config(tmp_path, stories=1, more_news=0)
    yesterday = dataclasses.replace(GLACIERS, published=datetime(2026, 11, 23, 12, tzinfo=UTC))
    with open_database(tmp_path / "s.db") as db:
        ArticleStore(db).add_many([yesterday, DERBY])
        first = pipeline.build_edition(config, db, DAY - timedelta(days=1), summarize=summaries)
        assert [s.article_id for s in first.stories] == ["glaciers"]
        today = pipeline.rank_candidates(config, db, DAY)
        edition = pipeline.build_edition(config, db, DAY, summarize=summaries)
    terms = {r.article.id: r.terms for r in today.ranking.ranked}
    assert terms["glaciers"].novelty == -1.0
    assert terms["derby"].novelty == 0.0
    assert "2026-11-23" in terms["glaciers"].notes["novelty"]
    # Whether an earlier edition sent it is data, not a note to parse.
    assert (terms["glaciers"].sent_in, terms["derby"].sent_in) == ("2026-11-23", None)
    assert [s.article_id for s in edition.stories] == ["derby"]
    assert [(x.article_id, x.kind, x.reason) for x in edition.left_out] == [
        ("glaciers", "already_sent", "already sent in edition 2026-11-23")
    ]


def pipeline_ranking(config: Config, db: Database, articles: list[Article]) -> Ranking:
    cache = EmbeddingStore(db)
    settings = edition_settings(config)
    vectors = embed_articles(settings, articles, cache=cache)
    return rank_articles(settings, articles, vectors, embed_topics(settings, cache), DAY)
