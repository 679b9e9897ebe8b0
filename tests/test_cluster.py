"""Same-event clustering with the real encoder: paraphrases join, look-alikes stay apart."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from digest.config import EditionOptions
from digest.edition.cluster import cluster_articles, link_scores
from digest.edition.rank import rank_articles
from digest.edition.settings import EditionSettings
from digest.edition.vectors import embed_articles, embed_topics, has_headline_vector, headline_text
from digest.models import Article
from tests.edition_data import make_article

DAY = date(2026, 11, 24)

ACCORD = make_article(
    "accord",
    "Forty-Two Nations Sign Geneva Accord on Shared Rivers",
    "Delegates from forty-two countries signed a binding accord in Geneva on Tuesday that"
    " obliges governments to share river-flow data in real time and to consult neighbours"
    " before building new dams.",
    source="meridian",
)
TREATY = make_article(
    "treaty",
    "Landmark Water Treaty Binds Upstream and Downstream States",
    "Governments from 42 countries put their names on Tuesday to a treaty on shared rivers in"
    " Geneva, agreeing to publish live readings from river gauges and to warn neighbours"
    " before they dam or divert water that flows across borders.",
    source="harbour",
    more=("The treaty was three years in the making and names a secretariat in Geneva.",) * 4,
)
QUAKE_PERU = make_article(
    "quake-peru",
    "Strong Earthquake Shakes Southern Peru",
    "A magnitude 6.8 earthquake struck near Arequipa in southern Peru on Monday, damaging"
    " homes and cutting power to thousands, the national emergency agency said.",
    source="wire",
)
QUAKE_JAPAN = make_article(
    "quake-japan",
    "Powerful Earthquake Jolts Northern Japan",
    "A magnitude 6.1 earthquake struck off Aomori in northern Japan on Monday, briefly halting"
    " bullet trains; no tsunami warning was issued, the Japan Meteorological Agency said.",
    source="daily",
)
MOON_A = make_article(
    "moon-a",
    "Lunar Drill Strikes Water Ice Half a Metre Below the Moon's South Pole",
    "A robotic lander near the Moon's south pole has drilled into a layer of water ice about"
    " half a metre beneath the surface, mission scientists announced on Monday.",
    source="orbital",
    category="Science",
)
MOON_B = make_article(
    "moon-b",
    "Moon Lander Finds Ice Close to the Surface in Shadowed Crater",
    "A drill on the lunar south pole reached ice less than a metre down, the mission team"
    " said on Monday, the first direct sample of buried lunar water.",
    source="lens",
    category="Science",
)


def clusters_of(articles: list[Article], tmp_path: Path, **options: float) -> list[set[str]]:
    config = EditionSettings(edition=EditionOptions(**options))  # type: ignore[arg-type]
    vectors = embed_articles(config, articles)
    ranking = rank_articles(config, articles, vectors, embed_topics(config), DAY)
    return [
        {m.article.id for m in c.members}
        for c in cluster_articles(ranking.ranked, vectors, config.edition)
    ]


def test_paraphrased_headlines_of_one_event_form_one_cluster(tmp_path: Path) -> None:
    groups = clusters_of([ACCORD, TREATY, MOON_A, MOON_B, QUAKE_PERU], tmp_path)
    assert {"accord", "treaty"} in groups
    assert {"moon-a", "moon-b"} in groups
    assert {"quake-peru"} in groups


def test_same_topic_different_event_stays_apart(tmp_path: Path) -> None:
    groups = clusters_of([QUAKE_PERU, QUAKE_JAPAN], tmp_path)
    assert sorted(map(sorted, groups)) == [["quake-japan"], ["quake-peru"]]


def test_the_time_window_separates_repeats_of_an_event(tmp_path: Path) -> None:
    assert ACCORD.published is not None
    later = dataclasses.replace(
        TREATY, id="treaty-later", published=ACCORD.published + timedelta(hours=100)
    )
    assert {"accord", "treaty-later"} not in clusters_of([ACCORD, later], tmp_path)
    assert {"accord", "treaty-later"} in clusters_of(
        [ACCORD, later], tmp_path, cluster_window_hours=120.0
    )


def test_the_best_written_article_leads_and_the_other_is_also_reported(tmp_path: Path) -> None:
    config = EditionSettings()
    articles = [ACCORD, TREATY]
    vectors = embed_articles(config, articles)
    ranking = rank_articles(config, articles, vectors, embed_topics(config), DAY)
    (cluster,) = cluster_articles(ranking.ranked, vectors, config.edition)
    # The treaty article is the longer one, with more names and figures.
    assert cluster.lead.article.id == "treaty"
    (also,) = cluster.also_reported()
    assert (also.article_id, also.source, also.url) == ("accord", "meridian", ACCORD.url)
    assert cluster.score == max(r.score for r in ranking.ranked)


def test_undated_articles_cluster_by_content_alone(tmp_path: Path) -> None:
    a = dataclasses.replace(MOON_A, published=None)
    b = dataclasses.replace(MOON_B, published=datetime(2020, 1, 1, tzinfo=UTC))
    assert {"moon-a", "moon-b"} in clusters_of([a, b], tmp_path)


# Two NYT teasers of 7 January 2017 about the intelligence report: the first one's dek is a
# photo caption about Trump, which pulls its opening vector towards every Trump story.
PUTIN = dataclasses.replace(
    make_article(
        "putin",
        "Putin Led a Complex Cyberattack Scheme to Aid Trump, Report Finds",
        "U.S. intelligence agencies presented their unanimous conclusions to Donald J. Trump,"
        " bringing the leaders of these agencies face to face with their most vocal skeptic,"
        " the president-elect.",
        source="nyt",
    ),
    dek="President-elect Donald J. Trump left One World Trade Center after a meeting on Friday.",
)
AGENCIES = make_article(
    "agencies",
    "News Analysis: What Intelligence Agencies Concluded About the Russian Attack on the U.S."
    " Election",
    "In unequivocal language, the unclassified version of the report for President Obama pins"
    " responsibility directly on President Vladimir V. Putin.",
    source="nyt-analysis",
)


def test_headline_text_drops_genre_labels_and_the_dek() -> None:
    assert headline_text(AGENCIES).startswith("What Intelligence Agencies Concluded")
    assert "One World Trade Center" not in headline_text(PUTIN)
    video = dataclasses.replace(MOON_A, title="Moon Lander Finds Ice – video")
    assert headline_text(video).startswith("Moon Lander Finds Ice. A robotic lander")
    # A second vector only where the headline + lede differ from the opening's start.
    assert [has_headline_vector(a) for a in (PUTIN, AGENCIES, video, MOON_A)] == [
        True,
        True,
        True,
        False,
    ]


def test_a_teaser_joins_its_event_by_headline_and_lede(tmp_path: Path) -> None:
    config = EditionSettings()
    articles = [PUTIN, AGENCIES]
    vectors = embed_articles(config, articles)
    threshold = config.edition.cluster_threshold
    openings_only = link_scores(articles, vectors.matrix(articles), config.edition)
    both = link_scores(
        articles, vectors.matrix(articles), config.edition, vectors.headline_matrix(articles)
    )
    assert openings_only[0, 1] < threshold <= both[0, 1]
    assert {"putin", "agencies"} in clusters_of(articles, tmp_path)
