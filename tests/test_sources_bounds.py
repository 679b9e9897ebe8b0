"""The bounds on what a source controls, applied to text: cuts, cleaning, URLs, instants,
and every reader's article going through them (``build_article``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from digest.errors import SourceError
from digest.models import RelatedLink, Section
from digest.sources.article import Meta, build_article
from digest.sources.bounds import (
    MAX_RELATED,
    MAX_TITLE_CHARS,
    clean,
    cut,
    describe,
    instant_or_none,
    web_url,
)
from digest.sources.markup import html_blocks, markdown_blocks


def test_cut_ends_at_a_word_where_the_script_has_spaces() -> None:
    title = "Die Stadtwerke melden den Abschluss der neuen Fernwärmeleitung " * 10
    short = cut(title, 60)
    assert short == "Die Stadtwerke melden den Abschluss der neuen…"
    assert len(short) <= 60
    assert cut("  kurz  und   gut ", 60) == "kurz und gut"


def test_cut_ends_mid_word_in_scripts_without_spaces() -> None:
    title = "港口当局宣布新防波堤已经完工" * 10
    assert cut(title, 20) == title[:19] + "…"
    # A long first word: a space too early to cut at is not used.
    assert cut("a " + "b" * 100, 20) == "a " + "b" * 17 + "…"


def test_clean_removes_controls_and_replaces_lone_surrogates() -> None:
    assert clean("Break\x00water\x1b[31m Fini\x7fshed\x85") == "Breakwater[31m Finished"
    assert clean("Hafen \ud800 News") == "Hafen \ufffd News"
    assert clean("سطر\tأول\nسطر ثان") == "سطر\tأول\nسطر ثان"  # tabs and line feeds stay


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://harbour.example/news", True),
        ("HTTP://harbour.example/news", True),
        ("javascript:alert(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
        ("/news/relative", False),
        ("mailto:ed@example.org", False),
        ("https://harbour.example/" + "a" * 3000, False),
    ],
)
def test_web_url_keeps_only_http_urls_of_sane_length(url: str, kept: bool) -> None:
    assert (web_url(url) == url) is kept


def test_instant_or_none_drops_a_moment_with_no_utc_instant() -> None:
    late = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-12)))
    assert instant_or_none(late) is None
    fine = datetime(2026, 11, 24, 9, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    assert instant_or_none(fine) == fine
    assert instant_or_none(datetime(2026, 11, 24, 9)) == datetime(2026, 11, 24, 9)


def test_describe_is_one_clean_line() -> None:
    assert describe(ValueError("bad\nvalue \x1b[2J here")) == "ValueError: bad value [2J here"
    assert describe(RecursionError()) == "nested too deep to read (RecursionError)"
    assert describe(SourceError("no text", location="feed.xml")) == "feed.xml: no text"


def test_every_field_of_an_article_is_bounded() -> None:
    meta = Meta(
        source="S" * 500,
        title="Storm " * 100 + "\x07",
        url="javascript:alert(1)",
        canonical_url="https://harbour.example/" + "x" * 5000,
        dek="Lange Einleitung " * 200,
        category="Häfen " * 50,
        author="عبد الله " * 100,
        published=datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-12))),
        language="x" * 100,
        related=tuple(RelatedLink(f"Verwandte Geschichte Nummer {i}") for i in range(50)),
    )
    sections = [Section("Überschrift " * 100, ("Der Hafen ist\x00 fertig.",))]
    article = build_article(meta, sections)
    assert len(article.title) <= MAX_TITLE_CHARS and article.title.endswith("Storm…")
    assert len(article.source) <= 200 and article.url is None and article.canonical_url is None
    assert article.dek is not None and len(article.dek) <= 1000
    assert article.category is not None and len(article.category) <= 100
    assert article.author is not None and len(article.author) <= 200
    assert article.published is None and article.language is not None
    assert len(article.related) == MAX_RELATED
    assert article.sections[0].heading is not None and len(article.sections[0].heading) <= 300
    assert article.sections[0].paragraphs == ("Der Hafen ist fertig.",)


def test_a_plain_article_is_unchanged_by_the_bounds() -> None:
    meta = Meta(
        source="Harbour Post",
        title="Breakwater Finished",
        url="https://harbour.example/a",
        published=datetime(2026, 11, 23, 9, tzinfo=UTC),
    )
    article = build_article(meta, [Section(None, ("The breakwater is done.",))])
    assert (article.title, article.url, article.published) == (
        "Breakwater Finished",
        "https://harbour.example/a",
        datetime(2026, 11, 23, 9, tzinfo=UTC),
    )


# --- nesting: bounded, and no text lost ------------------------------------------------------


@pytest.mark.parametrize("depth", [255, 300, 3000, 60_000])
def test_html_nested_past_the_parsers_limit_keeps_all_its_text(depth: int) -> None:
    """libxml2 stops at 256 nested elements and drops the rest of the fragment: what
    follows the deep part was lost too. Read flat, the text is all there, scripts not."""
    fragment = (
        "<p>港口当局周一宣布，新防波堤已经完工。</p>"
        + "<div>" * depth
        + "<b>Der Hafen</b> ist fertig.<script>alert('x')</script><style>p{}</style>"
        + "</div>" * depth
        + "<p>انتهى العمل في الميناء &amp; المدينة.</p>"
    )
    assert [b.text for b in html_blocks(fragment)] == [
        "港口当局周一宣布，新防波堤已经完工。",
        "Der Hafen ist fertig.",
        "انتهى العمل في الميناء & المدينة.",
    ]


def test_markdown_lists_and_quotes_nested_deep_lose_nothing_after_them() -> None:
    """markdown-it drops the rest of a document past its nesting bound (a list 12 deep was
    enough): deeper items are read at the bound, and what follows is kept."""
    items = "".join("  " * i + f"- item {i}\n" for i in range(40))
    quote = ">" * 500 + " O porto está pronto.\n"
    text = f"# Porto\n\n{items}\n{quote}\nبندرگاہ مکمل ہو گئی۔\n"
    read = [(level, b.kind, b.text) for level, b in markdown_blocks(text)]
    assert read == [
        (1, "heading", "Porto"),
        *((0, "item", f"item {i}") for i in range(40)),
        (0, "paragraph", "O porto está pronto."),
        (0, "paragraph", "بندرگاہ مکمل ہو گئی۔"),
    ]


def test_markdown_within_the_bounds_is_read_as_written() -> None:
    text = "> quoted\n>\n> > deeper\n\n    code\n\n- a\n  - b\n"
    assert [(b.kind, b.text) for _, b in markdown_blocks(text)] == [
        ("paragraph", "quoted"),
        ("paragraph", "deeper"),
        ("paragraph", "code"),
        ("item", "a"),
        ("item", "b"),
    ]
