"""What a subscriber of a German, Urdu or Chinese newsletter sees beyond the catalog's fixed
strings: the edition's own section name, the footer's reason, the archive and its feed, the
reading time, and the direction of mixed outlet names and dates."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import feedparser
import lxml.etree
import lxml.html
import pytest

from digest.config import NewsletterOptions
from digest.models import Edition, KeyPoint, count_words
from digest.publish.archive import write_archive
from digest.publish.bidi import FSI, PDI, RLI, isolate_html, isolate_text
from digest.publish.public import PageSettings
from digest.publish.render import WORDS_PER_MINUTE, reading_minutes, render_edition
from tests.multilingual_sample import CHINESE, GERMAN, URDU, edition_of, urdu_edition

ATOM = "{http://www.w3.org/2005/Atom}"


def _text(element: lxml.html.HtmlElement) -> str:
    return " ".join(element.text_content().split())


def _german_with_default_section() -> Edition:
    return edition_of(
        dataclasses.replace(GERMAN, section="News"),
        dataclasses.replace(GERMAN, article_id="de-2", section="Wirtschaft"),
    )


def test_the_editions_own_section_and_the_reason_follow_the_language() -> None:
    options = NewsletterOptions(language="de", title="Der Tagesüberblick")
    rendered = render_edition(_german_with_default_section(), options)
    doc = lxml.html.document_fromstring(rendered.html)
    assert [_text(h) for h in doc.find_class("section-name")][:2] == ["Nachrichten", "Wirtschaft"]
    assert _text(doc.find_class("contents")[0]).startswith("Nachrichten · Wirtschaft")
    assert "\nNACHRICHTEN\n" in rendered.text and "\nNEWS\n" not in rendered.text
    # The shipped reason names this newsletter, in German, not "The Daily Digest".
    footer = _text(doc.find_class("footer")[0])
    assert "Sie erhalten diese E-Mail, weil Sie „Der Tagesüberblick“ abonniert haben." in footer
    assert "The Daily Digest abonniert" not in rendered.text
    # English with the defaults reads as it always did; a reason of one's own is kept.
    english = render_edition(_german_with_default_section(), NewsletterOptions())
    assert "You receive this because you subscribed to The Daily Digest." in english.text
    assert "\nNEWS\n" in english.text
    own = NewsletterOptions(language="ur", reason="Eigener Grund.")
    assert "Eigener Grund." in render_edition(urdu_edition(), own).text


def test_the_archive_feed_follows_the_language(tmp_path: Path) -> None:
    options = NewsletterOptions(language="pt_BR", base_url="https://news.example.org")
    empty = Edition(id="2026-11-23", date=URDU.published.date().replace(day=23), title="x",
                    sections=())  # fmt: skip
    config = PageSettings(newsletter=options)
    written = write_archive(config, [urdu_edition(), empty], tmp_path / "archive")
    assert written.feed is not None
    data = written.feed.read_bytes()
    root = lxml.etree.fromstring(data)
    assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == "pt-BR"
    assert root.find(f"{ATOM}subtitle").text == "As notícias do dia em cinco minutos."
    titles = [e.find(f"{ATOM}title").text for e in root.iter(f"{ATOM}entry")]
    assert titles[0].startswith("The Daily Digest · 24 de nov.:")
    # An edition without stories is summed up in the newsletter's language too.
    summaries = [e.find(f"{ATOM}summary").text for e in root.iter(f"{ATOM}entry")]
    assert summaries[1] == "0 notícia hoje."  # CLDR: 0 takes the singular in Portuguese
    parsed = feedparser.parse(data)
    assert not parsed.bozo and parsed.feed.language == "pt-BR"
    assert parsed.entries[0].title == titles[0]


def _chinese_story(points: int) -> Edition:
    long_points = tuple(
        f"第{i + 1}段：新线沿途设有十二个车站，每天早晚高峰各加开六趟列车，方便上班族往返两地。"
        for i in range(points)
    )
    summary = dataclasses.replace(
        CHINESE.summary, key_points=tuple(KeyPoint(p, (i,)) for i, p in enumerate(long_points))
    )
    return edition_of(dataclasses.replace(CHINESE, summary=summary))


def test_reading_time_counts_chinese_words() -> None:
    edition = _chinese_story(20)
    texts = [CHINESE.title, *(p.text for p in edition.stories[0].summary.key_points)]
    conclusion = edition.stories[0].summary.conclusion
    assert conclusion is not None
    words = sum(count_words(t) for t in [*texts, conclusion.text])
    # Spaces would count each point as one word: a minute. It is more than that.
    assert sum(len(t.split()) for t in texts) < WORDS_PER_MINUTE
    assert reading_minutes(edition) == math.ceil(words / WORDS_PER_MINUTE) >= 3
    rendered = render_edition(edition, NewsletterOptions(language="zh"))
    greeting = _text(lxml.html.document_fromstring(rendered.html).find_class("greeting")[0])
    assert f"阅读约需 {reading_minutes(edition)} 分钟" in greeting


@pytest.mark.parametrize(
    ("text", "context", "html_dir", "text_start"),
    [
        # An Urdu outlet that begins with a Latin brand reads right to left.
        ("BBC News اردو - پاکستان کے لیے امریکی امداد", "rtl", "rtl", RLI),
        ("BBC News اردو - پاکستان کے لیے امریکی امداد", "ltr", "rtl", RLI),
        # Balanced or short: its first letter decides, as before.
        ("BBC News اردو", "ltr", "auto", FSI),
        ("5 جنوری 4:51 PM", "ltr", "auto", FSI),
        # A German name that starts with an Arabic word is still German.
        ("الجزيرة berichtet aus Berlin über die Wahl", "rtl", "ltr", "\u2066"),
    ],
)
def test_a_mixed_part_is_isolated_the_way_most_of_it_reads(
    text: str, context: str, html_dir: str, text_start: str
) -> None:
    html = isolate_html(text, context)  # type: ignore[arg-type]
    assert html.startswith(f'<span dir="{html_dir}">')
    assert isolate_text(text, context) == f"{text_start}{text}{PDI}"  # type: ignore[arg-type]


def test_the_newsletters_own_date_keeps_its_direction_inside_a_story() -> None:
    # "5 جنوری 4:51 PM" is balanced; the newsletter knows it is Urdu, so it says so.
    span = isolate_html("5 جنوری 4:51 PM", "rtl", lang="ur", direction="rtl")
    assert span == '<span dir="rtl">5 جنوری 4:51 PM</span>'
    assert isolate_html("جنوری", "rtl", lang="ur", direction="rtl") == "جنوری"


def test_an_urdu_story_from_a_latin_named_outlet_reads_right_to_left() -> None:
    story = dataclasses.replace(URDU, source="BBC News اردو - پاکستان کی خبریں")
    rendered = render_edition(edition_of(story), NewsletterOptions(language="ur"))
    meta = lxml.html.document_fromstring(rendered.html).find_class("meta")[0]
    outlet, when = meta.findall("span")
    assert (outlet.get("dir"), outlet.text) == ("rtl", "BBC News اردو - پاکستان کی خبریں")
    assert when.get("dir") == "rtl"
    assert f"{RLI}BBC News اردو - پاکستان کی خبریں{PDI}" in rendered.text


def test_headlines_in_a_row_are_separated_the_languages_way() -> None:
    from tests.multilingual_sample import URDU_2

    third = dataclasses.replace(URDU_2, article_id="ur-3", title="پشاور میں کتاب میلہ شروع")
    edition = edition_of(URDU, URDU_2, third)
    ur = render_edition(edition, NewsletterOptions(language="ur"))
    assert ur.preheader == f"آج مزید: {URDU_2.title}؛ پشاور میں کتاب میلہ شروع"
    zh = render_edition(edition, NewsletterOptions(language="zh"))
    assert f"{URDU_2.title}；پشاور" in zh.preheader
    en = render_edition(edition, NewsletterOptions())
    assert en.preheader == f"Also today: {URDU_2.title}; پشاور میں کتاب میلہ شروع"


def test_the_urdu_archive_index_is_set_in_nastaliq_right_to_left(tmp_path: Path) -> None:
    config = PageSettings(newsletter=NewsletterOptions(language="ur"))
    written = write_archive(config, [urdu_edition()], tmp_path / "archive")
    index = lxml.html.document_fromstring(written.index.read_text(encoding="utf-8"))
    classes = index.find("body").get("class").split()
    assert {"dir-rtl", "script-arab", "script-nastaliq"} <= set(classes)
    style = index.find(".//style").text
    assert ".script-nastaliq" in style and ".script-arab .when" in style
    german = PageSettings(newsletter=NewsletterOptions(language="de"))
    written = write_archive(german, [urdu_edition()], tmp_path / "de")
    body = lxml.html.document_fromstring(written.index.read_text(encoding="utf-8")).find("body")
    assert body.get("class") == "dir-ltr"


@pytest.mark.parametrize(
    ("language", "title"),
    [
        ("en", "The Daily Digest: Tuesday, November 24, 2026"),
        ("de", "Der Tagesüberblick: Dienstag, 24. November 2026"),
        ("fr", "Le Point du jour : mardi 24 novembre 2026"),
        ("ur", "روزانہ خلاصہ: منگل، 24 نومبر، 2026"),
        ("zh", "每日简报：2026年11月24日星期二"),
    ],
)
def test_the_editions_title_is_dated_in_the_newsletters_language(language: str, title: str) -> None:
    from digest.publish.render import title_for

    name = title.split(":")[0].split("：")[0].rstrip()
    options = NewsletterOptions(language=language, title=name)
    assert title_for(urdu_edition(), options) == title
