"""The newsletter's languages: catalogs complete and correct, fixed strings and dates
localised, the direction from the locale, a bad language refused by the config."""

from __future__ import annotations

import dataclasses
import importlib.util
import logging
from datetime import UTC, date, datetime
from pathlib import Path
from types import ModuleType

import lxml.html
import pytest

from digest.config import NewsletterOptions, load_config
from digest.errors import ConfigError
from digest.publish.i18n import (
    catalog_languages,
    language_direction,
    localizer,
    story_language,
)
from digest.publish.render import TRANSLATED_DEFAULTS, personalize, render_edition
from tests.multilingual_sample import german_edition, urdu_edition
from tests.newsletter_sample import sample_edition

ROOT = Path(__file__).resolve().parent.parent
REQUIRED = {"en", "de", "fr", "es", "pt", "ar", "ur", "zh"}


def _messages_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "digest_tools_messages", ROOT / "tools" / "messages.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_catalog_translates_every_message_with_its_placeholders() -> None:
    tool = _messages_tool()
    template = tool.extract()
    ids = {m.id if isinstance(m.id, str) else m.id[0] for m in template if m.id}
    # The extraction finds the templates' and the code's messages, the defaults included.
    assert {"More news", "Unsubscribe", "Also reported by:", "Good morning%(name)s."} <= ids
    assert ids >= TRANSLATED_DEFAULTS
    assert tool.check_catalogs(template) == []
    assert set(catalog_languages()) >= REQUIRED


def test_the_shipped_defaults_are_the_ones_translated() -> None:
    defaults = NewsletterOptions()
    assert {defaults.tagline, defaults.reason} == TRANSLATED_DEFAULTS


@pytest.mark.parametrize(
    ("language", "more", "unsubscribe", "day"),
    [
        ("en", "More news", "Unsubscribe", "Tuesday, November 24, 2026"),
        ("de", "Weitere Nachrichten", "Abmelden", "Dienstag, 24. November 2026"),
        ("fr", "Autres actualités", "Se désabonner", "mardi 24 novembre 2026"),
        ("es", "Más noticias", "Darse de baja", "martes, 24 de noviembre de 2026"),
        ("pt", "Mais notícias", "Cancelar inscrição", "terça-feira, 24 de novembro de 2026"),
        ("ar", "مزيد من الأخبار", "إلغاء الاشتراك", "الثلاثاء، 24 نوفمبر 2026"),
        ("ur", "مزید خبریں", "رکنیت ختم کریں", "منگل، 24 نومبر، 2026"),
        ("zh", "更多新闻", "退订", "2026年11月24日星期二"),
    ],
)
def test_fixed_strings_and_dates_follow_the_language(
    language: str, more: str, unsubscribe: str, day: str
) -> None:
    options = NewsletterOptions(language=language)
    rendered = render_edition(sample_edition(), options)
    filled = personalize(
        rendered,
        name="",
        unsubscribe_url="https://news.example.org/u/1.x",
        browser_url="https://news.example.org/archive/1.html",
        language=language,
    )
    doc = lxml.html.document_fromstring(filled.html)
    assert doc.get("lang") == language
    assert doc.get("dir") == ("rtl" if language in ("ar", "ur") else "ltr")
    assert doc.find_class("dateline")[0].text_content() == day
    assert doc.find_class("section-name")[-1].text_content() == more
    footer = [a.text_content() for a in doc.find_class("footer")[0].iter("a")]
    assert footer[-1] == unsubscribe  # View in your browser, Preferences, Unsubscribe
    assert more.upper() in filled.text and unsubscribe in filled.text
    if language != "en":
        # Nothing of the English fixed strings is left in either part.
        for english in ("More news", "Good morning", "Bottom line", "Also reported by"):
            assert english not in filled.html and english not in filled.text, english


def test_plural_forms_follow_the_language() -> None:
    ar = localizer("ar")
    forms = [ar.ngettext("%(num)s story", "%(num)s stories", n) for n in (0, 1, 2, 3, 11, 100)]
    assert forms == ["0 خبر", "خبر واحد", "خبران", "3 أخبار", "11 خبرًا", "100 خبر"]
    de = localizer("de")
    assert de.ngettext("%(num)s story", "%(num)s stories", 1) == "1 Meldung"
    assert de.ngettext("%(num)s story", "%(num)s stories", 1200) == "1.200 Meldungen"
    assert localizer("zh").ngettext("%(num)s story", "%(num)s stories", 3) == "3 篇报道"


def test_a_locale_falls_back_to_its_language_but_not_across_scripts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert localizer("pt-BR").catalog == "pt" and localizer("pt-BR").tag == "pt-BR"
    assert localizer("de-AT").gettext("More news") == "Weitere Nachrichten"
    with caplog.at_level(logging.WARNING):
        traditional = localizer("zh-Hant")
    # Simplified Chinese strings are not shown to readers of Traditional script.
    assert traditional.catalog is None and traditional.gettext("More news") == "More news"
    assert "no message catalog for 'zh-Hant'" in caplog.text
    assert traditional.long_date(date(2026, 11, 24)).startswith("2026年11月24日")


def test_dates_and_times_use_the_locale_and_the_zone() -> None:
    moment = datetime(2026, 11, 24, 6, 30, tzinfo=UTC)
    assert localizer("en").moment(moment) == "Nov 24, 6:30\u202fAM UTC"  # CLDR: narrow NBSP
    assert localizer("de").moment(moment) == "24. Nov., 06:30 UTC"
    from zoneinfo import ZoneInfo

    assert localizer("de").moment(moment, ZoneInfo("Europe/Berlin")) == "24. Nov., 07:30 CET"
    assert localizer("zh").day_month_year(date(2026, 11, 24)) == "2026年11月24日"


def test_the_direction_comes_from_the_locale_unless_set() -> None:
    assert localizer("ur").direction == "rtl" and localizer("fa").direction == "rtl"
    assert localizer("he").direction == "rtl" and localizer("de").direction == "ltr"
    assert localizer("ar", "ltr").direction == "ltr"
    assert localizer("en", "rtl").direction == "rtl"
    assert [language_direction(t) for t in ("ar-EG", "ur-PK", "ps", "zh-TW", "xx", None)] == [
        "rtl",
        "rtl",
        "rtl",
        "ltr",
        None,
        None,
    ]


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("de", "de"),
        ("EN-gb", "en-gb"),
        ("pt_BR", "pt-BR"),
        (" ur ", "ur"),
        ("english", None),
        ('de" onclick="x', None),
        ("x" * 40, None),
        ("", None),
        (None, None),
    ],
)
def test_story_languages_from_feeds_are_checked(given: str | None, kept: str | None) -> None:
    assert story_language(given) == kept


def test_the_config_refuses_an_unknown_language(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("newsletter:\n  language: klingon\n")
    with pytest.raises(ConfigError, match=r"newsletter\.language: 'klingon' is not a locale"):
        load_config(config)
    config.write_text("newsletter:\n  language: pt-BR\n  direction: rtl\n  images: false\n")
    options = load_config(config).newsletter
    assert (options.language, options.direction, options.images) == ("pt-BR", "rtl", False)
    config.write_text("newsletter:\n  direction: sideways\n")
    with pytest.raises(ConfigError, match=r"newsletter\.direction"):
        load_config(config)


def test_a_german_and_an_urdu_edition_localise_the_greeting_and_the_subject() -> None:
    de = render_edition(german_edition(), NewsletterOptions(language="de"))
    assert de.subject.startswith("The Daily Digest · 24. Nov.: Bahn testet Nachtzüge")
    assert de.preheader.startswith("Außerdem heute: Erster Frost in Bayern")
    filled = personalize(
        de, name="Jürgen", unsubscribe_url="https://x.example/u", browser_url="https://x.example/a",
        language="de",
    )  # fmt: skip
    assert "Guten Morgen, Jürgen. Heute 2 Meldungen, etwa 1 Minute Lesezeit." in " ".join(
        lxml.html.document_fromstring(filled.html).find_class("greeting")[0].text_content().split()
    )
    ur = render_edition(urdu_edition(), NewsletterOptions(language="ur"))
    filled = personalize(
        ur, name="Ana", unsubscribe_url="https://x.example/u", browser_url="https://x.example/a",
        language="ur",
    )  # fmt: skip
    # The Latin name in the Urdu greeting is isolated, with the Urdu comma before it.
    assert '<p class="greeting font"' in filled.html
    assert 'صبح بخیر، <span dir="auto">Ana</span>۔' in filled.html
    assert "\u200fصبح بخیر، \u2068Ana\u2069۔" in filled.text
    options = dataclasses.replace(NewsletterOptions(), language="ur", tagline="Mine.")
    custom = render_edition(urdu_edition(), options)
    # A tagline of one's own is shown as written; the default reason is translated.
    assert "Mine." in custom.html and "دن کی خبریں" not in custom.html
    assert "آپ کو یہ ای میل" in custom.html


def test_the_archive_index_follows_the_language(tmp_path: Path) -> None:
    from digest.publish.archive import write_archive
    from digest.publish.public import PageSettings

    config = PageSettings(newsletter=NewsletterOptions(language="ur"))
    written = write_archive(config, [urdu_edition()], tmp_path / "archive")
    index = lxml.html.document_fromstring(written.index.read_text(encoding="utf-8"))
    assert (index.get("lang"), index.get("dir")) == ("ur", "rtl")
    assert index.find(".//title").text == "The Daily Digest: آرکائیو"
    entry = index.find(".//li")
    assert entry.find_class("when")[0].text == "منگل، 24 نومبر، 2026"
    assert entry.find_class("count")[0].text == "2 خبریں · 2 مزید سرخیاں"


def test_the_editors_note_is_introduced_in_the_newsletters_language() -> None:
    edition = dataclasses.replace(urdu_edition(), note="آج کی خبریں مختصر ہیں۔")
    rendered = render_edition(edition, NewsletterOptions(language="ur"))
    note = lxml.html.document_fromstring(rendered.html).find_class("editor-note")[0]
    assert note.text_content() == "مدیر کی جانب سے: آج کی خبریں مختصر ہیں۔"
    assert "border-right:4px" in note.get("style").replace(" ", "")
    assert "\u200fمدیر کی جانب سے: آج کی خبریں مختصر ہیں۔" in rendered.text
