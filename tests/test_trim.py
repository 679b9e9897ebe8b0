"""Over-size editions are trimmed to fit the HTML limit (More news, then related stories,
then story text, then stories), keep as much as fits, and say what was left out."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import lxml.html
import pytest

from digest.config import Config, NewsletterOptions
from digest.errors import RenderError
from digest.models import Edition, EditionSection, Headline, KeyPoint, RelatedItem
from digest.pipeline.options import page_settings
from digest.publish.preview import preview_page
from digest.publish.render import MAX_HTML_BYTES, Renderer, bundled_templates, render_edition
from digest.publish.trim import FIELD_CHARS, fit_edition
from tests.newsletter_sample import sample_edition
from tests.test_render import replace_story

OPTIONS = NewsletterOptions()


def size(edition: Edition) -> int:
    """The HTML size of ``edition`` rendered whole, without trimming."""
    return len(Renderer(OPTIONS)._render_once(edition).html.encode("utf-8"))


def test_a_60000_character_title_never_blocks_the_edition() -> None:
    edition = sample_edition()
    title = "Überschwemmung " + "洪水警报 " * 12_000  # German and Chinese, 60,015 characters
    assert len(title) > 60_000
    hostile = replace_story(edition, 0, title=title)
    rendered = render_edition(hostile, OPTIONS)
    assert len(rendered.html.encode()) < MAX_HTML_BYTES
    assert rendered.trimmed == (f"1 field over {FIELD_CHARS:,} characters cut",)
    doc = lxml.html.document_fromstring(rendered.html)
    headline = doc.find_class("headline")[0].text_content().strip()
    assert headline.startswith("Überschwemmung 洪水警报") and headline.endswith("…")
    assert len(headline) <= FIELD_CHARS
    # nothing else was lost: every story and every More news line is there
    assert len(doc.find_class("headline")) == len(edition.stories)
    assert len(doc.find_class("more-item")) == len(edition.more_news)
    assert len(rendered.subject) <= 110


def test_a_long_more_news_list_loses_only_what_does_not_fit() -> None:
    edition = sample_edition()
    more = tuple(
        Headline(f"m{i}", f"Schlagzeile {i}: Bahnstreik legt Pendelverkehr lahm", "Kurier", None)
        for i in range(600)
    )
    big = dataclasses.replace(edition, more_news=more)
    rendered = render_edition(big, OPTIONS)
    assert len(rendered.html.encode()) < MAX_HTML_BYTES
    (note,) = rendered.trimmed
    left_out = int(note.removeprefix("More news: ").split(" ")[0])
    kept = 600 - left_out
    assert note == f"More news: {left_out} of 600 headlines left out" and 0 < kept < 600
    items = lxml.html.document_fromstring(rendered.html).find_class("more-item")
    assert len(items) == kept and "Schlagzeile 0:" in items[0].text_content()
    # the largest count that fits: one more line is over
    assert size(dataclasses.replace(big, more_news=more[: kept + 1])) >= MAX_HTML_BYTES
    assert all(s.related for s in edition.stories if s.related)  # related untouched


def test_related_go_after_more_news_from_the_last_story() -> None:
    edition = dataclasses.replace(sample_edition(), more_news=())
    related = tuple(
        RelatedItem(f"Relacionado {i}: seca no Nordeste bate recorde", f"https://ex.org/r{i}")
        for i in range(60)
    )
    stories = len(edition.stories)
    big = edition
    for index in range(stories):
        big = replace_story(big, index, related=related)
    rendered = render_edition(big, OPTIONS)
    assert len(rendered.html.encode()) < MAX_HTML_BYTES
    (note,) = rendered.trimmed
    assert note.startswith("related stories left out of ")
    dropped = int(note.removeprefix("related stories left out of ").split(" ")[0])
    blocks = lxml.html.document_fromstring(rendered.html).find_class("related")
    assert len(blocks) == stories - dropped  # the first stories keep theirs
    assert 0 < dropped <= stories


def test_long_story_text_is_cut_field_by_field() -> None:
    edition = dataclasses.replace(sample_edition(), more_news=())
    point = "अर्थव्यवस्था " * 120  # Hindi, ~1,560 characters a point
    big = edition
    for index in range(len(edition.stories)):
        story = big.stories[index]
        summary = dataclasses.replace(
            story.summary, key_points=tuple(KeyPoint(point, (0,)) for _ in range(8))
        )
        big = replace_story(big, index, summary=summary, related=())
    rendered = render_edition(big, OPTIONS)
    assert len(rendered.html.encode()) < MAX_HTML_BYTES
    (note,) = rendered.trimmed
    assert note.startswith("story text cut to ") and "characters a field" in note
    doc = lxml.html.document_fromstring(rendered.html)
    assert len(doc.find_class("headline")) == len(edition.stories)  # no story lost
    first = next(iter(doc.find_class("points")[0].iter("li"))).text_content().strip()
    assert first.endswith("…") and first.startswith("अर्थव्यवस्था")


def test_templates_too_big_by_themselves_are_still_refused(tmp_path: Path) -> None:
    footer = (bundled_templates() / "_footer.html.j2").read_text(encoding="utf-8")
    (tmp_path / "_footer.html.j2").write_text(
        '<p>{{ "padding " * 15000 }}</p>\n' + footer, encoding="utf-8"
    )
    options = dataclasses.replace(OPTIONS, templates=str(tmp_path))
    with pytest.raises(RenderError, match="over the 100,000-byte limit"):
        Renderer(options).render(sample_edition())


def test_the_editors_panel_says_what_was_trimmed(tmp_path: Path) -> None:
    config = dataclasses.replace(Config(), base_dir=str(tmp_path))
    hostile = replace_story(sample_edition(), 1, title="T" * 90_000)
    preview = preview_page(page_settings(config), hostile)
    page, rendered = preview.html, preview.rendered
    assert rendered.trimmed and len(rendered.html.encode()) < MAX_HTML_BYTES
    note = lxml.html.document_fromstring(page).get_element_by_id("digest-editor-trimmed")
    assert "Trimmed to fit the size limit" in note.text_content()
    assert f"1 field over {FIELD_CHARS:,} characters cut" in note.text_content()
    plain = preview_page(page_settings(config), sample_edition()).html
    assert "digest-editor-trimmed" not in plain


def test_fit_edition_renders_once_when_it_fits() -> None:
    calls: list[Edition] = []

    def render(edition: Edition) -> int:
        calls.append(edition)
        return 10

    result, notes = fit_edition(sample_edition(), render, lambda n: n, 100)
    assert (result, notes, len(calls)) == (10, (), 1)


def test_sections_emptied_by_dropping_stories_disappear() -> None:
    edition = sample_edition()
    story = edition.stories[0]
    many = tuple(dataclasses.replace(story, article_id=f"s{i}") for i in range(40))
    big = dataclasses.replace(
        edition,
        sections=(EditionSection("World", many), EditionSection("Tail", many[:3])),
    )
    rendered = render_edition(big, OPTIONS)
    assert len(rendered.html.encode()) < MAX_HTML_BYTES
    assert rendered.trimmed[-1].endswith("of 43 stories left out")
    assert "Tail" not in lxml.html.document_fromstring(rendered.html).text_content()
