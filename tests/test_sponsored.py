"""Adverts and sponsored items: recognised in many languages, left out by default, kept with
a label on request, and never the lead story nor the subject line (issue 20, part 2)."""

from __future__ import annotations

from datetime import date

import lxml.html
import pytest

from digest.config import EditionOptions, NewsletterOptions
from digest.edition.personal import personal_edition
from digest.edition.select import assemble_edition, select_stories
from digest.edition.settings import EditionSettings
from digest.edition.weekly import weekly_recap
from digest.publish.preview import preview_page
from digest.publish.public import PageSettings
from digest.publish.render import personalize, render_edition, subject_for
from digest.text.sponsored import is_sponsored
from tests.edition_data import make_article, summaries
from tests.test_edition import axis_vectors, cluster


@pytest.mark.parametrize(
    ("title", "category"),
    [
        ("heise-Angebot: #TGIQF - das c't-Retroquiz: 8 Bit & mehr", None),
        ("Anzeige: Die besten Kredite im Vergleich", None),
        ("[Anzeige] Jetzt Strom sparen", None),
        ("Sponsored: How cloud teams cut costs", None),
        ("Advertisement - Five ways to save", None),
        ("Publicidade | Conheça o novo cartão", None),
        ("广告：双十一特惠开启", None),
        ("【推广】新款手机上市", None),
        ("إعلان: عروض الصيف", None),
        ("اشتہار: نئی گاڑیاں", None),
        ("Реклама: лучшие вклады", None),
        ("Ein ganz normaler Titel", "Anzeige"),
        ("Cinco dicas de viagem", "Conteúdo patrocinado"),
        ("Better sleep, better work", "Partner content"),
        ("新品发布会", "推广"),
    ],
)
def test_adverts_are_recognised_in_many_languages(title: str, category: str | None) -> None:
    assert is_sponsored(title, category)


@pytest.mark.parametrize(
    ("title", "category"),
    [
        ("Sponsored by the state, the plan aims to cut rents", None),
        ("Anzeigenmarkt bricht ein: Verlage sparen", None),
        ("广告法修订草案公布", "国内"),
        ("A publicidade infantil será proibida", "Economia"),
        ("Ad agencies merge in a $2bn deal", "Advertising"),
        ("الحكومة تعلن خطة جديدة للإسكان", "أخبار"),
    ],
)
def test_news_about_advertising_is_not_an_advert(title: str, category: str | None) -> None:
    assert not is_sponsored(title, category)


def _pool() -> tuple[list, object]:  # type: ignore[type-arg]
    articles = [
        make_article(
            "ad",
            "heise-Angebot: #TGIQF - das c't-Retroquiz",
            "Jetzt mitmachen.",
            source="heise",
            category="IT",
        ),
        make_article("n1", "Bundestag beschließt Haushalt", "Der Bundestag hat entschieden."),
        make_article("n2", "Bahn streikt am Montag", "Die Gewerkschaft ruft zum Streik."),
        make_article("ad2", "Neue Kreditkarte", "Jetzt bestellen.", category="Anzeige"),
    ]
    clusters = [cluster(a, 10.0 - i) for i, a in enumerate(articles)]
    return clusters, axis_vectors({a.id: i for i, a in enumerate(articles)})


def test_adverts_are_left_out_by_default_and_listed_with_the_reason() -> None:
    clusters, vectors = _pool()
    settings = EditionSettings(edition=EditionOptions(stories=3, more_news=5))
    assert settings.edition.sponsored == "omit"
    selection = select_stories(clusters, vectors, settings)  # type: ignore[arg-type]
    assert [c.lead.article.id for c in selection.stories] == ["n1", "n2"]
    assert selection.more_news == ()
    out = {x.article_id: (x.kind, x.reason) for x in selection.left_out}
    assert out == {
        "ad": ("sponsored", "advert or sponsored item (edition.sponsored: omit)"),
        "ad2": ("sponsored", "advert or sponsored item (edition.sponsored: omit)"),
    }


def test_labelled_adverts_never_lead_nor_give_the_subject() -> None:
    clusters, vectors = _pool()
    settings = EditionSettings(edition=EditionOptions(stories=3, sponsored="label"))
    selection = select_stories(clusters, vectors, settings)  # type: ignore[arg-type]
    chosen = [c.lead.article.id for c in selection.stories]
    assert chosen == ["n1", "n2", "ad"]  # the advert scored highest, yet comes last
    articles = [c.lead.article for c in clusters]  # type: ignore[attr-defined]
    edition = assemble_edition(settings, date(2026, 11, 24), selection, summaries(articles), {})
    assert edition.stories[0].title == "Bundestag beschließt Haushalt"
    assert [s.sponsored for s in edition.stories] == [False, False, True]
    options = NewsletterOptions(language="de")
    assert subject_for(edition, options).endswith("Bundestag beschließt Haushalt")
    filled = personalize(
        render_edition(edition, options),
        name="",
        unsubscribe_url="https://news.example.org/u/1.x",
        browser_url="https://news.example.org/archive/1.html",
    )
    assert filled.html.count('class="sponsored-label"') == 1
    advert = filled.text.split("heise-Angebot")[1]
    assert "Anzeige · heise" in advert.split("\n\n")[0]


def test_the_editors_panel_lists_the_adverts_left_out() -> None:
    clusters, vectors = _pool()
    settings = EditionSettings(edition=EditionOptions(stories=3))
    selection = select_stories(clusters, vectors, settings)  # type: ignore[arg-type]
    articles = [c.lead.article for c in clusters]  # type: ignore[attr-defined]
    edition = assemble_edition(settings, date(2026, 11, 24), selection, summaries(articles), {})
    preview = preview_page(PageSettings(), edition)
    page = preview.html
    panel = lxml.html.document_fromstring(page).get_element_by_id("digest-left-out")
    lines = [" ".join(li.text_content().split()) for li in panel.iter("li")]
    assert "heise-Angebot: #TGIQF - das c't-Retroquiz — advert or sponsored item" in " ".join(lines)
    assert any(line.startswith("Neue Kreditkarte — advert or sponsored item") for line in lines)
    # The mail itself carries neither.
    assert "Retroquiz" not in preview.rendered.html and "Kreditkarte" not in preview.rendered.html
    assert "Bundestag beschließt Haushalt" in preview.rendered.html


def test_a_labelled_advert_never_leads_a_readers_variant() -> None:
    clusters, vectors = _pool()
    settings = EditionSettings(edition=EditionOptions(stories=3, sponsored="label"))
    selection = select_stories(clusters, vectors, settings)  # type: ignore[arg-type]
    articles = [c.lead.article for c in clusters]  # type: ignore[attr-defined]
    edition = assemble_edition(settings, date(2026, 11, 24), selection, summaries(articles), {})
    # The reader's topics match the advert best, and one news story a little.
    variant = personal_edition(edition, {"ad": 1.0, "n2": 0.6})
    assert [s.article_id for s in variant.stories] == ["n2", "n1", "ad"]
    only_advert = personal_edition(edition, {"ad": 1.0})
    assert only_advert.stories[0].article_id != "ad"
    assert only_advert.stories[-1].article_id == "ad"


def test_a_labelled_advert_never_leads_the_weekly_recap() -> None:
    clusters, vectors = _pool()
    settings = EditionSettings(edition=EditionOptions(stories=3, sponsored="label"))
    selection = select_stories(clusters, vectors, settings)  # type: ignore[arg-type]
    articles = [c.lead.article for c in clusters]  # type: ignore[attr-defined]
    edition = assemble_edition(settings, date(2026, 11, 24), selection, summaries(articles), {})
    advert = next(s for s in edition.stories if s.sponsored)
    assert advert.score == max(s.score for s in edition.stories)  # it scored best
    recap = weekly_recap([edition], date(2026, 11, 29), settings)
    assert recap is not None
    assert recap.stories[0].article_id != "ad" and recap.stories[-1].article_id == "ad"
