"""Related items within one edition: never a story or a More news line of the same page,
each related article under one story at most (the closest), the next candidate moving up.

The articles are written for these tests (Urdu, Arabic, Chinese, German, English); the
vectors are set by hand, so that which story is closest is the test's own choice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest

from digest import pipeline
from digest.config import Config, EditionOptions
from digest.edition.cluster import Cluster
from digest.edition.rank import RankedArticle
from digest.edition.related import RelatedPool, edition_related, without_repeats
from digest.edition.settings import EditionSettings
from digest.embed import Vectors
from digest.models import (
    Article,
    Edition,
    EditionSection,
    Headline,
    RelatedItem,
    RelatedLink,
    Story,
)
from digest.store import ArticleStore, open_database
from tests.edition_data import make_article
from tests.edition_data import test_summary as summary_of

DAY = date(2026, 11, 24)


def _unit(*weights: float) -> Vectors:
    row = np.zeros(384, dtype=np.float32)
    row[: len(weights)] = weights
    return row / np.linalg.norm(row)


def _no_title_match(titles: Sequence[str]) -> Vectors:
    """Title vectors that match nothing: a cited title no stored article has stays bare."""
    return np.zeros((len(titles), 384), dtype=np.float32)


def _pool(articles: list[Article]) -> tuple[RelatedPool, dict[str, Vectors]]:
    # Non-English articles: the vectors are never read (no cosine outside English).
    vectors = {a.id: _unit(1.0, float(i)) for i, a in enumerate(articles)}
    pool = RelatedPool(articles, np.vstack([vectors[a.id] for a in articles]), _no_title_match)
    return pool, vectors


def _lang(article: Article, language: str) -> Article:
    return dataclasses.replace(article, language=language)


def _ids(items: Sequence[RelatedItem]) -> list[str | None]:
    return [i.article_id for i in items]


def _outside(items: Sequence[RelatedItem]) -> list[str | None]:
    """The items that link out of the mail (not cross-references to another story)."""
    return [i.article_id for i in items if i.kind != "in_edition"]


def _kinds(items: Sequence[RelatedItem]) -> list[tuple[str, str | None]]:
    return [(i.kind, i.article_id) for i in items]


# Urdu: three stories of one day that cite each other, a headline and a shared backgrounder.
X = _lang(
    make_article("x", "امریکی امداد بند ہونے کی تاریخ", "ستر برس میں امداد کئی بار رکی۔"),
    "ur",
)
Y = _lang(make_article("y", "کوئٹہ میں سرد موسم کی شدت", "شہر میں درجہ حرارت گر گیا۔"), "ur")
Z = _lang(make_article("z", "کراچی بندرگاہ پر نئی کرینیں", "بندرگاہ پر چار کرینیں لگ گئیں۔"), "ur")
W = _lang(make_article("w", "لاہور میں کتاب میلہ", "تین روزہ میلہ شروع ہو گیا۔"), "ur")
HEADLINE = _lang(make_article("h", "پشاور میں بارش", "شہر میں ہلکی بارش ہوئی۔"), "ur")
B = _lang(
    make_article(
        "b",
        "دفتر خارجہ کا ردعمل",
        "ترجمان نے کہا کہ یک طرفہ بیانات مددگار نہیں۔",
        related=(RelatedLink(X.title), RelatedLink(W.title)),
    ),
    "ur",
)
A = _lang(
    make_article(
        "a",
        "فوجی تعاون معطل کر دیا گیا",
        "وزیر دفاع نے تعاون روکنے کا اعلان کیا۔",
        related=(
            RelatedLink(B.title),  # another story of the edition
            RelatedLink(X.title),  # closer to story C
            RelatedLink(HEADLINE.title),  # a More news line
            RelatedLink(Y.title),
            RelatedLink(Z.title),
        ),
    ),
    "ur",
)
C = _lang(
    make_article(
        "c",
        "امریکی امداد بند ہونے سے معیشت پر دباؤ",
        "ماہرین کے مطابق امداد بند ہونے سے دباؤ بڑھے گا۔",
        related=(RelatedLink(A.title), RelatedLink(X.title)),
    ),
    "ur",
)


def test_urdu_cited_items_never_repeat_the_page_and_go_to_the_closest_story() -> None:
    pool, vectors = _pool([A, B, C, X, Y, Z, W, HEADLINE])
    related = edition_related(
        [[A], [B], [C]], vectors, pool, EditionOptions(related_max=3), headlines=[[HEADLINE]]
    )
    # Story 1 cited story 2, story 3 and a More news line: none of them is an outside
    # link here; story 2 becomes a cross-reference ("Also in this edition"), story 3 is
    # closer to the backgrounder, which stays under story 3 alone; the line is dropped.
    assert _kinds(related["a"]) == [("in_edition", "b"), ("link", "y"), ("link", "z")]
    assert _kinds(related["b"]) == [("link", "w")]
    assert _kinds(related["c"]) == [("link", "x"), ("in_edition", "a")]
    everywhere = [i for items in related.values() for i in _outside(items)]
    assert len(everywhere) == len(set(everywhere))
    assert "h" not in [i.article_id for items in related.values() for i in items]
    # A cross-reference carries its target story's own title and the score's terms.
    assert related["a"][0].title == B.title and related["a"][0].terms


def test_an_item_taken_by_a_closer_story_is_replaced_by_the_next_candidate() -> None:
    pool, vectors = _pool([A, B, C, X, Y, Z, W, HEADLINE])
    one = EditionOptions(related_max=1)
    related = edition_related([[A], [B], [C]], vectors, pool, one, headlines=[[HEADLINE]])
    # Story 1's one place goes to its cross-reference to story 2 (its closest candidate).
    assert {k: _ids(v) for k, v in related.items()} == {"a": ["b"], "b": ["w"], "c": ["x"]}
    # Without story 3 on the page, the backgrounder is free: story 1's one place is taken,
    # so it moves up to story 2, which cited it too.
    alone = edition_related([[A], [B]], vectors, pool, one, headlines=[[HEADLINE]])
    assert {k: _kinds(v) for k, v in alone.items()} == {
        "a": [("in_edition", "b")],
        "b": [("link", "x")],
    }


def test_an_article_of_a_stories_cluster_or_a_headlines_event_is_never_related() -> None:
    other_outlet = _lang(
        make_article("x-2", "امداد کی تاریخ پر ایک اور رپورٹ", "ایک اور اخبار کی رپورٹ۔"), "ur"
    )
    cites = _lang(
        make_article(
            "d",
            "سینیٹ میں امداد پر بحث",
            "ارکان نے امداد پر بات کی۔",
            related=(RelatedLink(other_outlet.title), RelatedLink(W.title)),
        ),
        "ur",
    )
    pool, vectors = _pool([cites, other_outlet, W, HEADLINE, X])
    # other_outlet reported the same event as a More news line: the page shows that event.
    related = edition_related(
        [[cites]], vectors, pool, EditionOptions(), headlines=[[HEADLINE, other_outlet]]
    )
    assert _ids(related["d"]) == ["w"]


def test_bare_links_are_held_to_the_rule_by_url_and_title() -> None:
    """Arabic, Chinese and German stories whose related links name no stored article."""
    more = _lang(
        make_article(
            "more-1",
            "Bahn streicht Nachtzüge nach Wien",
            "Die Bahn stellt zwei Verbindungen ein.",
            url="https://news.example.org/more-1",
        ),
        "de",
    )
    analysis = RelatedLink(
        "Analyse: Was die Wahl in Sachsen bedeutet", "https://blog.example.net/analyse"
    )
    arabic = _lang(
        make_article(
            "ar",
            "البرلمان يقر ميزانية العام المقبل",
            "صوت النواب بالأغلبية على الميزانية الجديدة.",
            related=(
                # The More news line's page, with tracking parameters and another title.
                RelatedLink("قطارات الليل", "https://news.example.org/more-1?utm_source=rss"),
                RelatedLink("تحليل: ماذا تعني الميزانية", "https://ar.example.net/budget"),
            ),
        ),
        "ar",
    )
    chinese = _lang(
        make_article(
            "zh",
            "萨克森州选举结果公布",
            "选举委员会周一公布了最终结果。",
            related=(analysis, RelatedLink("选举前瞻", "https://zh.example.net/preview")),
        ),
        "zh",
    )
    german = _lang(
        make_article(
            "de",
            "Wahl in Sachsen: Regierung verliert Mehrheit",
            "Die Wahl in Sachsen kostet die Regierung ihre Mehrheit.",
            related=(analysis,),
        ),
        "de",
    )
    pool, vectors = _pool([arabic, chinese, german, more])
    related = edition_related(
        [[arabic], [chinese], [german]],
        vectors,
        pool,
        EditionOptions(),
        headlines=[[more]],
    )
    assert [i.url for i in related["ar"]] == ["https://ar.example.net/budget"]
    # The German story shares "Wahl" and "Sachsen" with the analysis: it is closer.
    assert [i.url for i in related["de"]] == ["https://blog.example.net/analyse"]
    assert [i.url for i in related["zh"]] == ["https://zh.example.net/preview"]
    assert all(i.article_id is None and i.reason == "cited" for v in related.values() for i in v)


def test_english_similar_items_go_to_the_closest_story_never_to_a_page_article() -> None:
    first = make_article(
        "s1", "Rail Strike Halts Trains Across Northern England", "Drivers walked out at dawn."
    )
    second = make_article(
        "s2", "Unions Plan Further Stoppages on Regional Lines", "A second strike is planned."
    )
    shared = make_article(
        "p1", "Commuters Face Weeks of Disruption", "Travellers were told to work from home."
    )
    fallback = make_article(
        "p2", "Operators Promise Replacement Buses", "Coaches will run on the main routes."
    )
    headline = make_article(
        "h1", "Minister Calls Talks With Drivers", "The minister invited both sides."
    )
    vectors = {
        "s1": _unit(1.0, 0.0, 0.0),
        "s2": _unit(0.8, 0.6, 0.0),
        "p1": _unit(0.7, 0.7, 0.14),  # closer to s2 (0.98) than to s1 (0.70)
        "p2": _unit(0.62, 0.0, 0.78),  # 0.62 to s1: s1's next candidate
        "h1": _unit(0.99, 0.1, 0.0),  # the closest to s1 of all, but on the page
    }
    articles = [first, second, shared, fallback, headline]
    pool = RelatedPool(articles, np.vstack([vectors[a.id] for a in articles]), _no_title_match)
    options = EditionOptions(related_max=2, related_threshold=0.55)
    related = edition_related([[first], [second]], vectors, pool, options, headlines=[[headline]])
    # Each story refers to the other inside the mail (cosine 0.8); the outside links go
    # to the closest story, never to the More news line.
    assert {k: _kinds(v) for k, v in related.items()} == {
        "s1": [("in_edition", "s2"), ("window", "p2")],
        "s2": [("window", "p1"), ("in_edition", "s1")],
    }
    assert all(i.reason == "similar" for v in related.values() for i in v)


def _story(article: Article, related: tuple[RelatedItem, ...]) -> Story:
    return Story(
        article_id=article.id,
        title=article.title,
        url=article.url,
        source=article.source,
        section="News",
        summary=summary_of(article),
        score=1.0,
        related=related,
    )


def test_without_repeats_drops_what_breaks_the_rule_in_a_finished_edition() -> None:
    def item(article: Article) -> RelatedItem:
        return RelatedItem(article.title, article.url, article_id=article.id)

    edition = Edition(
        id=DAY.isoformat(),
        date=DAY,
        title="t",
        sections=(
            EditionSection(
                "News",
                (
                    _story(A, (item(C), item(X), RelatedItem(Y.title, Y.url))),
                    _story(C, (item(A), item(X), RelatedItem(HEADLINE.title))),
                ),
            ),
        ),
        more_news=(Headline(HEADLINE.id, HEADLINE.title, HEADLINE.source, HEADLINE.url),),
    )
    kept = without_repeats(edition)
    assert [[i.title for i in s.related] for s in kept.stories] == [[X.title, Y.title], []]
    assert without_repeats(kept) is kept  # nothing left to drop: the same edition


@pytest.mark.slow
def test_pipeline_related_stories_keeps_the_page_out_with_the_real_encoder(
    tmp_path: Path,
) -> None:
    config = Config(base_dir=str(tmp_path), edition=EditionOptions(related_threshold=0.3))
    when = datetime(2026, 11, 23, 9, tzinfo=UTC)
    lead = make_article(
        "flood-1",
        "Floods Force Thousands From Homes Along the Danube",
        "Rising water on the Danube forced thousands of residents to leave their homes.",
        published=when,
    )
    other = make_article(
        "flood-2",
        "Danube Floods: Vienna Closes Riverside Roads",
        "Vienna closed roads along the Danube as the river kept rising after heavy rain.",
        published=when,
    )
    line = make_article(
        "flood-3",
        "Danube Flood Defences Hold in Budapest",
        "Flood barriers along the Danube held in Budapest as the river peaked.",
        published=when,
    )
    with open_database(tmp_path / "s.db") as db:
        ArticleStore(db).add_many([lead, other, line])
        related = pipeline.related_stories(
            config,
            db,
            DAY,
            [Cluster(RankedArticle(lead, 1.0)), Cluster(RankedArticle(other, 0.9))],
            [Cluster(RankedArticle(line, 0.5))],
        )
    # The two stories refer to each other inside the mail; the More news line is no item.
    assert {k: _kinds(v) for k, v in related.items()} == {
        "flood-1": [("in_edition", "flood-2")],
        "flood-2": [("in_edition", "flood-1")],
    }
    with open_database(tmp_path / "s.db") as db:
        alone = pipeline.related_stories(config, db, DAY, [Cluster(RankedArticle(lead, 1.0))])
    assert {i.article_id for i in alone["flood-1"]} == {"flood-2", "flood-3"}


def test_the_weekly_recap_holds_the_days_related_items_to_the_rule() -> None:
    from digest.edition.weekly import weekly_recap

    monday = make_article("mo", "北京召开气候会议", "各国代表周一在北京开会。")
    wednesday = make_article("we", "气候会议达成协议", "会议周三达成最终协议。")
    other = make_article("ot", "上海港口吞吐量创新高", "上海港上月吞吐量创纪录。")

    def day(article: Article, related: tuple[RelatedItem, ...], when: date) -> Edition:
        story = dataclasses.replace(_story(article, related), score=2.0)
        return Edition(when.isoformat(), when, "t", (EditionSection("News", (story,)),))

    editions = [
        day(
            monday,
            (RelatedItem(wednesday.title, wednesday.url, article_id="we"),),
            date(2026, 11, 23),
        ),
        day(wednesday, (RelatedItem(other.title, other.url, article_id="ot"),), date(2026, 11, 25)),
    ]
    recap = weekly_recap(editions, date(2026, 11, 29), EditionSettings())
    assert recap is not None
    assert {s.article_id: _ids(s.related) for s in recap.stories} == {"mo": [], "we": ["ot"]}
