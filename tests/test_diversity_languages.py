"""Story diversity outside English: MMR reads the stories' own language.

The bundled encoder reads English only and scores any two Urdu, Chinese or German texts
alike, so MMR on its vectors picked several stories of one event. ``story_similarity``
measures a pair that is not English on both sides by shared words (character pairs in
CJK). The articles are written for these tests.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from digest.config import EditionOptions
from digest.edition.cluster import Cluster, text_similarity
from digest.edition.rank import RankedArticle, ScoreTerms
from digest.edition.related import RelatedPool, related_for
from digest.edition.select import select_stories, story_similarity
from digest.edition.settings import EditionSettings
from digest.edition.vectors import embed_articles
from digest.models import Article
from tests.edition_data import make_article

# (event, title, lede): three reports of one event first, then three other events.
URDU = [
    (
        "flood",
        "دریائے سندھ میں سیلاب، سکھر کے قریب بند ٹوٹ گیا",
        "سکھر کے قریب دریائے سندھ کا حفاظتی بند ٹوٹنے سے بیس دیہات زیر آب "
        "آ گئے اور ہزاروں لوگ نقل مکانی پر مجبور ہوئے۔",
    ),
    (
        "flood",
        "سکھر: بند ٹوٹنے کے بعد امدادی کارروائیاں جاری",
        "دریائے سندھ کا بند ٹوٹنے کے بعد سکھر کے دیہات میں فوج اور "
        "امدادی ٹیمیں کشتیوں سے لوگوں کو نکال رہی ہیں۔",
    ),
    (
        "flood",
        "سیلاب زدہ دیہات کے لوگ خیموں میں، سکھر انتظامیہ پر تنقید",
        "سکھر کے قریب بند ٹوٹنے سے متاثرہ دیہات کے لوگوں نے کہا "
        "کہ سیلاب کی وارننگ وقت پر نہیں دی گئی۔",
    ),
    (
        "cricket",
        "لاہور میں ٹیسٹ میچ: قومی ٹیم نے پہلی اننگز میں تین سو رنز بنائے",
        "قذافی اسٹیڈیم میں کھیلے جا رہے ٹیسٹ میچ کے پہلے دن کپتان نے شاندار سنچری اسکور کی۔",
    ),
    (
        "budget",
        "وفاقی کابینہ نے نئے مالی سال کا بجٹ منظور کر لیا",
        "وزیر خزانہ نے قومی اسمبلی میں بجٹ پیش کرتے ہوئے تنخواہوں میں دس فیصد اضافے کا اعلان کیا۔",
    ),
    (
        "quake",
        "بلوچستان میں زلزلے کے جھٹکے، کوئی جانی نقصان نہیں",
        "محکمہ موسمیات کے مطابق زلزلے کی شدت چار اعشاریہ آٹھ تھی اور اس کا مرکز خضدار کے قریب تھا۔",
    ),
]
CHINESE = [
    (
        "rail",
        "京沪高铁新线路今日正式开通运营",
        "连接北京和上海的高铁新线路今天上午开通，全程运行时间缩短到四小时以内。",
    ),
    (
        "rail",
        "高铁新线路开通首日客流火爆",
        "京沪高铁新线路开通第一天，北京南站和上海虹桥站的车票很快售罄，乘客纷纷体验新列车。",
    ),
    (
        "rail",
        "专家解读京沪高铁新线路对沿线经济的影响",
        "多位专家表示，京沪高铁新线路开通后，沿线城市之间的商务往来将更加便利。",
    ),
    (
        "panda",
        "成都大熊猫基地迎来一对双胞胎幼崽",
        "成都大熊猫繁育研究基地宣布，一只雌性大熊猫顺利产下双胞胎，母子平安。",
    ),
    (
        "rain",
        "南方多省遭遇强降雨天气",
        "气象台发布暴雨预警，广东、广西和福建部分地区将出现大到暴雨，请市民注意出行安全。",
    ),
    (
        "chip",
        "国产芯片企业发布新一代手机处理器",
        "该公司在深圳举行发布会，新处理器采用先进制程，性能比上一代提高三成。",
    ),
]
GERMAN = [
    (
        "strike",
        "Bahnstreik legt Fernverkehr in ganz Deutschland lahm",
        "Die Lokführergewerkschaft hat ihre Mitglieder zu einem zweitägigen Streik aufgerufen; "
        "fast alle Fernzüge der Bahn fallen aus.",
    ),
    (
        "strike",
        "Lokführer streiken: Pendler stehen an leeren Bahnsteigen",
        "Wegen des Streiks der Lokführergewerkschaft fahren im Fernverkehr kaum Züge, "
        "Pendler weichen auf Busse und Mietwagen aus.",
    ),
    (
        "strike",
        "Bahn und Lokführergewerkschaft: Kein Ende des Streiks in Sicht",
        "Die Bahn hat ein neues Angebot vorgelegt, die Lokführergewerkschaft lehnt es ab; "
        "der Streik im Fernverkehr geht weiter.",
    ),
    (
        "museum",
        "Neues Museum für Stadtgeschichte in Leipzig eröffnet",
        "Nach fünf Jahren Bauzeit zeigt das Haus Funde aus tausend Jahren Leipziger Geschichte.",
    ),
    (
        "football",
        "Freiburg gewinnt knapp gegen Bochum",
        "Ein spätes Kopfballtor sicherte dem Sportclub drei Punkte im Abstiegskampf.",
    ),
    (
        "weather",
        "Sturmtief bringt Orkanböen an die Nordseeküste",
        "Der Wetterdienst warnt vor Böen bis 120 Kilometer pro Stunde; Fähren bleiben im Hafen.",
    ),
]


def _articles(rows: list[tuple[str, str, str]], language: str) -> list[Article]:
    return [
        dataclasses.replace(make_article(f"{language}{i}", title, lede), language=language)
        for i, (_, title, lede) in enumerate(rows)
    ]


def _clusters(articles: list[Article]) -> list[Cluster]:
    """Each article its own cluster, the one event's reports scoring highest."""
    return [
        Cluster(RankedArticle(a, 1.0 - 0.02 * i, ScoreTerms(substance=0.5)))
        for i, a in enumerate(articles)
    ]


CASES = [
    pytest.param(URDU, "ur", id="urdu"),
    pytest.param(CHINESE, "zh", id="chinese"),
    pytest.param(GERMAN, "de", id="german"),
]


@pytest.mark.parametrize(("rows", "language"), CASES)
def test_text_similarity_tells_one_event_from_others(
    rows: list[tuple[str, str, str]], language: str
) -> None:
    sims = text_similarity(_articles(rows, language))
    events = [event for event, _, _ in rows]
    same = [sims[i, j] for i in range(6) for j in range(i + 1, 6) if events[i] == events[j]]
    other = [sims[i, j] for i in range(6) for j in range(i + 1, 6) if events[i] != events[j]]
    assert min(same) > max(other), (same, other)


def _events(rows: list[tuple[str, str, str]], clusters: tuple[Cluster, ...]) -> list[str]:
    return [rows[int(c.lead.article.id[2:])][0] for c in clusters]


@pytest.mark.slow
@pytest.mark.parametrize(("rows", "language"), CASES)
def test_edition_spreads_across_events(
    rows: list[tuple[str, str, str]], language: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    articles = _articles(rows, language)
    clusters = _clusters(articles)
    vectors = embed_articles(EditionSettings(), articles)  # the bundled MiniLM, as an edition has

    def pick(diversity: float) -> list[str]:
        options = EditionOptions(stories=3, per_source=6, per_category=6, diversity=diversity)
        return _events(
            rows, select_stories(clusters, vectors, EditionSettings(edition=options)).stories
        )

    spread, default = pick(0.5), pick(EditionOptions().diversity)
    assert len(set(spread)) == 3, spread
    assert len(set(default)) >= 2, default
    # As before: the encoder's cosines for every pair (it scores these texts alike).
    monkeypatch.setattr("digest.edition.select.english", lambda article: True)
    assert len(set(pick(0.5))) < 3
    assert len(set(pick(EditionOptions().diversity))) == 1


@pytest.mark.slow
def test_english_stories_keep_the_encoder() -> None:
    english = [
        make_article(
            "en0",
            "Dam breaks near Sukkur as the Indus floods villages",
            "Twenty villages were flooded after an embankment on the Indus gave way.",
        ),
        make_article(
            "en1",
            "Rescue boats reach villages cut off by the Indus flood",
            "Army teams used boats to move families out of the flooded villages.",
        ),
    ]
    vectors = embed_articles(EditionSettings(), english)
    matrix = vectors.matrix(english)
    assert np.allclose(story_similarity(english, vectors), matrix @ matrix.T, atol=1e-6)


def _no_titles(titles: object) -> np.ndarray:
    raise AssertionError("no cited title to encode here")


@pytest.mark.parametrize(("rows", "language"), CASES)
def test_related_items_outside_english_follow_shared_words(
    rows: list[tuple[str, str, str]], language: str
) -> None:
    """A story not in English gets "similar" related items of its own language: the
    other reports of its event (stored, not in its cluster; in Chinese only the closer of
    the two reaches the bar), not the unrelated ones, and nothing in another language."""
    articles = _articles(rows, language)
    elsewhere = dataclasses.replace(_articles(rows[:1], "en")[0], id="other-language")
    pool_articles = [*articles[1:], elsewhere]
    pool = RelatedPool(pool_articles, np.zeros((len(pool_articles), 384), np.float32), _no_titles)
    items = related_for(articles[0], np.zeros(384, np.float32), pool, EditionOptions())
    found = {item.article_id for item in items}
    assert found and found <= {articles[1].id, articles[2].id}, [i.title for i in items]
    assert all(item.reason == "similar" for item in items)
