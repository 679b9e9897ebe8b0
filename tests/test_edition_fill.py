"""The edition fills up and never repeats: refilled slots, sent stories set aside, updates,
and the least edition worth sending (``edition.min_stories``). Articles in several
languages and scripts, written for these tests."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from digest.config import Config, DeliveryOptions, EditionOptions
from digest.models import Article, Edition, Summary
from digest.pipeline import build_edition, open_store
from digest.pipeline.daily import run_daily
from digest.store import ArticleStore, open_database
from digest.store.ledger import DeliveryLedger
from digest.store.subscribers import SubscriberStore

from .edition_data import make_article
from .edition_data import test_summary as summary_of

pytestmark = pytest.mark.slow  # the real encoder ranks and clusters

DAY1 = date(2026, 11, 24)
DAY2 = date(2026, 11, 25)


def at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


ZH = make_article(
    "zh-rail",
    "成都至重庆的新高铁线路今天正式开通",
    "新线路全长三百公里，两座城市之间的旅行时间缩短到一小时。铁路部门表示，每天将开行八十趟列车。",
    source="xinwen",
    published=at(DAY1, 23),
)
AR = make_article(
    "ar-water",
    "افتتاح محطة جديدة لتحلية المياه في مدينة العقبة",
    "تنتج المحطة الجديدة مئة ألف متر مكعب من المياه يومياً،"
    " وتخدم نحو نصف مليون نسمة في جنوب البلاد.",
    source="akhbar",
    published=at(DAY1, 22),
)
HI = make_article(
    "hi-monsoon",
    "केरल में मानसून समय से पहले पहुँचा",
    "मौसम विभाग ने बताया कि इस वर्ष मानसून तीन दिन पहले केरल के तट पर पहुँच गया। किसानों ने राहत की साँस ली।",
    source="samachar",
    published=at(DAY1, 8),
)
DE = make_article(
    "de-bahn",
    "Bahn kündigt neue Nachtzüge nach Rom und Barcelona an",
    "Ab dem Fahrplanwechsel im Dezember fahren zwei neue Nachtzüge von München nach Rom"
    " und von Berlin nach Barcelona, teilte das Unternehmen am Montag mit.",
    source="zeitung",
    published=at(DAY1, 9),
)
PT = make_article(
    "pt-vacina",
    "Brasil aprova nova vacina contra a dengue para crianças",
    "A agência sanitária aprovou nesta segunda-feira a aplicação da vacina em crianças de"
    " seis a dezesseis anos, em duas doses com intervalo de três meses.",
    source="jornal",
    published=at(DAY1, 10),
)
EN_QUAKE = make_article(
    "en-quake",
    "Magnitude 6.4 Earthquake Strikes Off the Coast of Chile",
    "A magnitude 6.4 earthquake struck off the coast of northern Chile on Monday, the"
    " national seismology centre said, shaking buildings in Antofagasta. No damage was"
    " reported in the first hours.",
    source="wire",
    published=at(DAY1, 11),
)
JA = make_article(
    "ja-festival",
    "京都で秋の祭りに三万人が集まる",
    "京都の中心部で週末に開かれた秋祭りには、主催者の発表で約三万人が訪れた。伝統的な山車が通りを練り歩いた。",
    source="shimbun",
    published=at(DAY1, 4),
)
UR = make_article(
    "ur-cricket",
    "لاہور میں کرکٹ سیریز کا پہلا میچ بارش کی نذر",
    "لاہور میں ہونے والا سیریز کا پہلا میچ مسلسل بارش کے باعث منسوخ کر دیا گیا۔"
    " دوسرا میچ جمعے کو کھیلا جائے گا۔",
    source="akhbar-ur",
    published=at(DAY1, 3),
)
DAY1_ARTICLES = (ZH, AR, HI, DE, PT, EN_QUAKE)


def config_for(tmp_path: Path, **edition: object) -> Config:
    options = EditionOptions(**{"more_news": 0, "per_source": 3, **edition})  # type: ignore[arg-type]
    return Config(
        base_dir=str(tmp_path),
        data_dir="data",
        edition=options,
        delivery=DeliveryOptions(transport="outbox"),
    )


def refusing(*ids: str):  # type: ignore[no-untyped-def]
    """A summariser that gives nothing for ``ids`` (as one that cannot read them)."""

    def run(articles: Sequence[Article]) -> Mapping[str, Summary]:
        return {a.id: summary_of(a) for a in articles if a.id not in ids}

    return run


def mark_sent(db: object, edition: Edition) -> None:
    """The ledger's word that ``edition`` reached a subscriber."""
    subscriber, _ = SubscriberStore(db).upsert("leser@example.org")  # type: ignore[arg-type]
    ledger = DeliveryLedger(db)  # type: ignore[arg-type]
    ledger.enqueue(edition.id, [subscriber.id])
    assert ledger.claim(edition.id, subscriber.id, "<m@x>")
    ledger.finish(edition.id, subscriber.id, "sent", 250, "OK")


def test_a_story_that_cannot_be_summarised_is_replaced_by_the_next(tmp_path: Path) -> None:
    # The Chinese and Arabic stories are the freshest: the first picks; the summariser
    # gives nothing for them, and the next candidates take their places.
    config = config_for(tmp_path, stories=6)
    asked: list[str] = []
    refuse = refusing("zh-rail", "ar-water")

    def summarize(articles: Sequence[Article]) -> Mapping[str, Summary]:
        asked.extend(a.id for a in articles)
        return refuse(articles)

    with open_database(tmp_path / "s.db") as db:
        ArticleStore(db).add_many([*DAY1_ARTICLES, JA, UR])
        edition = build_edition(config, db, DAY1, summarize=summarize)
    assert {"zh-rail", "ar-water"} <= set(asked)
    assert len(asked) == len(set(asked)) == 8  # each article summarised once
    chosen = {s.article_id for s in edition.stories}
    assert chosen == {"hi-monsoon", "de-bahn", "pt-vacina", "en-quake", "ja-festival", "ur-cricket"}
    unsummarised = {x.article_id for x in edition.left_out if x.kind == "unsummarised"}
    assert unsummarised == {"zh-rail", "ar-water"}
    assert all(
        x.reason == "could not be summarised (see the log)"
        for x in edition.left_out
        if x.kind == "unsummarised"
    )


def test_when_nothing_can_be_summarised_the_edition_is_empty_not_an_error(
    tmp_path: Path,
) -> None:
    config = config_for(tmp_path, stories=3)
    with open_database(tmp_path / "s.db") as db:
        ArticleStore(db).add_many(DAY1_ARTICLES)
        edition = build_edition(
            config, db, DAY1, summarize=refusing(*(a.id for a in DAY1_ARTICLES))
        )
    assert edition.stories == ()
    assert {x.kind for x in edition.left_out} == {"unsummarised"}


QUAKE_COPY = make_article(
    "en-quake-copy",
    "Chile Earthquake of Magnitude 6.4 Shakes Antofagasta",
    "An earthquake of magnitude 6.4 shook northern Chile on Monday, the national seismology"
    " centre said; buildings swayed in Antofagasta and no damage was reported.",
    source="agency",
    published=at(DAY2, 5),
)
QUAKE_UPDATE = make_article(
    "en-quake-update",
    "Chile Earthquake: Three Dead and 40 Injured as Aftershocks Hit Antofagasta",
    "Three people died and 40 were injured after the magnitude 6.4 earthquake in northern"
    " Chile on Monday, the interior ministry said on Tuesday. Rescue teams from Iquique and"
    " Calama searched collapsed houses in Antofagasta as 12 aftershocks followed.",
    source="daily",
    published=at(DAY2, 9),
)
NEW_DAY2 = make_article(
    "de-wahl",
    "Landtag in Sachsen wählt neuen Präsidenten",
    "Der sächsische Landtag hat am Dienstag in Dresden einen neuen Präsidenten gewählt."
    " Die Abgeordneten stimmten im zweiten Wahlgang mit knapper Mehrheit für ihn.",
    source="zeitung",
    published=at(DAY2, 8),
)


def test_a_sent_story_never_returns_and_a_sent_event_returns_only_as_an_update(
    tmp_path: Path,
) -> None:
    config = config_for(tmp_path, stories=6, min_stories=1)
    summarize = refusing()
    with open_database(tmp_path / "s.db") as db:
        ArticleStore(db).add_many(DAY1_ARTICLES)
        first = build_edition(config, db, DAY1, summarize=summarize)
        assert {s.article_id for s in first.stories} == {a.id for a in DAY1_ARTICLES}
        mark_sent(db, first)
        ArticleStore(db).add_many([QUAKE_COPY, QUAKE_UPDATE, NEW_DAY2])
        second = build_edition(config, db, DAY2, summarize=summarize)
    stories = {s.article_id: s for s in second.stories}
    # Day 1's articles are candidates still (window_days 3), and never stories again.
    assert not set(stories) & {a.id for a in DAY1_ARTICLES}
    assert set(stories) == {"de-wahl", "en-quake-update"}
    update = stories["en-quake-update"]
    assert update.update_of == "2026-11-24"
    assert any("Three people died and 40 were injured" in line for line in update.whats_new)
    assert stories["de-wahl"].update_of is None and stories["de-wahl"].whats_new == ()
    reasons = {x.article_id: x.reason for x in second.left_out}
    assert reasons["zh-rail"] == "already sent in edition 2026-11-24"
    assert reasons["en-quake"] == "already sent in edition 2026-11-24"
    # Another outlet's copy with nothing new is the sent event again: left out.
    assert reasons["en-quake-copy"] == "already sent in edition 2026-11-24"


def test_an_edition_that_was_never_sent_does_not_hold_its_stories_back(tmp_path: Path) -> None:
    config = config_for(tmp_path, stories=6, min_stories=1)
    with open_database(tmp_path / "s.db") as db:
        ArticleStore(db).add_many(DAY1_ARTICLES)
        build_edition(config, db, DAY1, summarize=refusing())  # a preview: nobody got it
        second = build_edition(config, db, DAY2, summarize=refusing())
    assert {"zh-rail", "de-bahn"} <= {s.article_id for s in second.stories}
    assert not any(x.kind == "already_sent" for x in second.left_out)


def test_a_thin_edition_is_not_sent_and_the_run_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIGEST_SECRET", "s" * 32)
    config = config_for(tmp_path, stories=8, min_stories=3)
    config = dataclasses.replace(config, store="digest.sqlite3")
    with open_store(config) as db:
        ArticleStore(db).add_many([DE, PT])
        SubscriberStore(db).upsert("leser@example.org")
    report = run_daily(config, DAY1)
    assert report.summary() == (
        "edition 2026-11-24: 0 new articles, 2 stories,"
        " fewer than edition.min_stories (3); nothing sent"
    )
    assert (report.sent, report.failed, report.deferred) == (0, 0, 0)
    assert not (config.data_path / "outbox").exists()
    with open_store(config) as db:
        assert DeliveryLedger(db).rows("2026-11-24") == []
