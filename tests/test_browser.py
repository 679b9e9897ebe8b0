"""The newsletter in a real browser: headless Chromium at 600px and at 375px.

Layout is asserted through the DOM (``tools/chromium.py`` drives Chromium over the
DevTools pipe and reads computed styles and boxes); screenshots go to the test's temp
folder for a human to look at.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from digest.config import NewsletterOptions
from digest.models import KeyPoint
from digest.publish.render import personalize, render_edition
from tests.newsletter_sample import sample_edition

ROOT = Path(__file__).resolve().parent.parent
UNSUBSCRIBE = "https://news.example.org/u/7.abcDEF"
BROWSER_URL = "https://news.example.org/archive/2026-11-24.html"
# An image the browser cannot load (connection refused at once): its alt text shows. Story
# pictures are our own copies (digest.publish.pictures), shown only from an https base_url.
OPTIONS = NewsletterOptions(
    logo_url="http://127.0.0.1:9/logo.png", base_url="https://news.example.org"
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _chromium_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "digest_tools_chromium", ROOT / "tools" / "chromium.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


chromium = _chromium_module()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if chromium.find_chromium() is None:
        pytest.skip("headless Chromium is not installed (Debian: apt-get install chromium)")
    with chromium.Browser() as b:
        yield b


def mail_file(folder: Path, edition: Any = None) -> Path:
    rendered = render_edition(edition or sample_edition(), OPTIONS)
    html = personalize(
        rendered, name="Ana", unsubscribe_url=UNSUBSCRIBE, browser_url=BROWSER_URL
    ).html
    path = folder / "newsletter.html"
    path.write_text(html, encoding="utf-8")
    return path


def check_common(report: dict[str, Any]) -> None:
    assert report["images"], "the sample has a logo image"
    assert all((img["alt"] or "").strip() for img in report["images"]), report["images"]
    hrefs = [link["href"] for link in report["links"]]
    outside = [h for h in hrefs if not h.startswith("#")]
    assert outside and all(h.startswith(("https://", "http://", "mailto:")) for h in outside)
    # An in-mail cross-reference ("Also in this edition") lands on a story of the page.
    anchors = report.get("anchors", [])
    assert len(anchors) == len(hrefs) - len(outside)
    assert all(a["found"] and a["href"].startswith("#story-") for a in anchors), anchors
    assert {"href": UNSUBSCRIBE, "text": "Unsubscribe"} in report["links"]
    assert {"href": BROWSER_URL, "text": "View in your browser"} in report["links"]
    preheader = report["preheader"]
    assert preheader["display"] == "none" and preheader["height"] == 0
    assert not preheader["rendered"] and preheader["text"].startswith("Also today:")
    assert report["editorPanel"] is False


def test_desktop_600px(browser: Any, tmp_path: Path) -> None:
    browser.open(mail_file(tmp_path).as_uri(), 600)
    report = browser.measure()
    browser.screenshot(tmp_path / "desktop-600.png")
    assert report["innerWidth"] == 600
    assert report["scrollWidth"] <= report["innerWidth"] and report["overflowing"] == []
    assert report["containerWidth"] == 600
    assert report["pxPaddingLeft"] == "40px" and report["headlineFontSize"] == "23px"
    check_common(report)
    assert (tmp_path / "desktop-600.png").stat().st_size > 10_000


def test_phone_375px(browser: Any, tmp_path: Path) -> None:
    browser.open(mail_file(tmp_path).as_uri(), 375, height=812)
    report = browser.measure()
    browser.screenshot(tmp_path / "phone-375.png")
    assert report["innerWidth"] == 375
    assert report["scrollWidth"] <= report["innerWidth"], report["overflowing"]
    assert report["overflowing"] == []
    assert report["containerWidth"] == 375
    # The mobile overrides win over the inlined styles (they kept their !important).
    assert report["pxPaddingLeft"] == "18px" and report["headlineFontSize"] == "20px"
    check_common(report)


def test_phone_375px_survives_long_unbroken_text(browser: Any, tmp_path: Path) -> None:
    edition = sample_edition()
    lead = edition.stories[0]
    long_word = "https://example.com/" + "a-very-long-path-segment" * 12
    summary = dataclasses.replace(
        lead.summary, key_points=(KeyPoint(f"See {long_word} for the maps.", (0,)),)
    )
    section = dataclasses.replace(
        edition.sections[0],
        stories=(dataclasses.replace(lead, summary=summary, title="W" * 60),),
    )
    edition = dataclasses.replace(edition, sections=(section,))
    browser.open(mail_file(tmp_path, edition).as_uri(), 375)
    report = browser.measure()
    assert report["scrollWidth"] <= report["innerWidth"], report["overflowing"]


def test_dark_mode_applies(browser: Any, tmp_path: Path) -> None:
    browser.open(mail_file(tmp_path).as_uri(), 600, dark=True)
    dark = browser.measure()
    browser.screenshot(tmp_path / "dark-600.png", height=1200)
    browser.open(mail_file(tmp_path).as_uri(), 600, dark=False)
    light = browser.measure()
    assert light["bodyBackground"] == "rgb(238, 240, 243)"
    assert dark["bodyBackground"] == "rgb(15, 17, 21)"
    assert dark["containerBackground"] == "rgb(26, 29, 35)"
    assert dark["pointColor"] == "rgb(230, 232, 235)" != light["pointColor"]


def test_the_examples_edition_at_both_widths(browser: Any, tmp_path: Path) -> None:
    """The real pipeline's edition of examples/ (encoder, ranking, summaries) lays out."""
    from digest import pipeline
    from digest.config import load_config, with_overrides
    from digest.pipeline import load_edition

    config = with_overrides(load_config(ROOT / "config.yaml"), data_dir=str(tmp_path / "data"))
    with pipeline.open_store(config) as db:
        assert not pipeline.ingest(config, db).failed
    edition = load_edition(config, date(2026, 11, 24)).edition
    assert len(edition.stories) >= 5
    page = mail_file(tmp_path, edition)
    for width in (600, 375):
        browser.open(page.as_uri(), width)
        report = browser.measure()
        assert report["scrollWidth"] <= report["innerWidth"] == width, report["overflowing"]
        check_common(report)


def test_more_news_source_sits_under_its_headline(browser: Any, tmp_path: Path) -> None:
    """A headline that fills its line must not leave a "· Source" line starting with a
    dot: the outlet has its own line under every headline, at any width."""
    edition = sample_edition()
    more = [dataclasses.replace(m, title=m.title + " " + "word " * 8) for m in edition.more_news]
    edition = dataclasses.replace(edition, more_news=tuple(more))
    page = mail_file(tmp_path, edition)
    for width in (600, 375):
        browser.open(page.as_uri(), width)
        items = browser.evaluate(
            """JSON.stringify([...document.querySelectorAll('.more-item')].map(li => {
                const head = li.querySelector('a, strong').getBoundingClientRect();
                const source = li.querySelector('.more-source');
                return [head.bottom, source.getBoundingClientRect().top,
                        source.textContent];
            }))"""
        )
        rows = json.loads(items)
        assert len(rows) == len(more)
        for (bottom, top, text), item in zip(rows, more, strict=True):
            assert text == item.source and top >= bottom - 1, (width, text, bottom, top)


# --- other languages -----------------------------------------------------------------------

# Reads each story block's language, direction and the boxes that show its alignment.
BLOCKS_JS = r"""
JSON.stringify({
  lang: document.documentElement.lang,
  dir: document.documentElement.dir,
  stories: [...document.querySelectorAll('td.story')].map(td => {
    const box = td.getBoundingClientRect();
    const style = getComputedStyle(td);
    const inner = {left: box.left + parseFloat(style.paddingLeft),
                   right: box.right - parseFloat(style.paddingRight)};
    const head = td.querySelector('.headline');
    const range = document.createRange();
    range.selectNodeContents(head);
    const text = range.getBoundingClientRect();
    const point = td.querySelector('.point');
    const list = td.querySelector('.points');
    const img = td.querySelector('img.story-image');
    return {
      lang: td.lang, direction: style.direction, textAlign: style.textAlign,
      inner: inner, headText: {left: text.left, right: text.right},
      pointDirection: point ? getComputedStyle(point).direction : null,
      listPadding: list ? [getComputedStyle(list).paddingLeft,
                           getComputedStyle(list).paddingRight] : null,
      image: img ? {width: img.getBoundingClientRect().width,
                    height: img.getBoundingClientRect().height,
                    natural: img.getAttribute('width')} : null,
    };
  }),
  footer: [...document.querySelectorAll('.footer a')].map(a => a.textContent.trim()),
  moreHead: (document.querySelectorAll('.section-name')[
    document.querySelectorAll('.section-name').length - 1] || {}).textContent,
  greeting: (document.querySelector('.greeting') || {}).textContent,
})
"""


def language_page(folder: Path, edition: Any, language: str) -> Path:
    options = dataclasses.replace(OPTIONS, language=language)
    rendered = render_edition(edition, options)
    html = personalize(
        rendered,
        name="Ana",
        unsubscribe_url=UNSUBSCRIBE,
        browser_url=BROWSER_URL,
        language=language,
    ).html
    path = folder / f"newsletter-{language}.html"
    path.write_text(html, encoding="utf-8")
    return path


def check_layout(browser: Any, page: Path, width: int, folder: Path) -> dict[str, Any]:
    browser.open(page.as_uri(), width, height=900)
    report = browser.measure()
    browser.screenshot(folder / f"{page.stem}-{width}.png")
    assert report["innerWidth"] == width
    assert report["scrollWidth"] <= width, report["overflowing"]
    assert report["overflowing"] == []
    blocks: dict[str, Any] = json.loads(browser.evaluate(BLOCKS_JS))
    return blocks


@pytest.mark.parametrize("width", [600, 375])
def test_a_german_edition_is_german(browser: Any, tmp_path: Path, width: int) -> None:
    from tests.multilingual_sample import german_edition

    page = language_page(tmp_path, german_edition(), "de")
    blocks = check_layout(browser, page, width, tmp_path)
    assert (blocks["lang"], blocks["dir"]) == ("de", "ltr")
    assert blocks["footer"] == ["Im Browser ansehen", "Einstellungen", "Abmelden"]
    assert blocks["moreHead"] == "Weitere Nachrichten"
    assert blocks["greeting"].startswith("Guten Morgen, Ana. Heute 2 Meldungen")
    for story in blocks["stories"]:
        assert (story["lang"], story["direction"]) == ("de", "ltr")
        assert story["textAlign"] in ("left", "start")  # start is left in ltr
        # Left-aligned: the headline starts at the column's left edge.
        assert abs(story["headText"]["left"] - story["inner"]["left"]) < 2
    picture = blocks["stories"][0]["image"]
    column = blocks["stories"][0]["inner"]["right"] - blocks["stories"][0]["inner"]["left"]
    assert picture["width"] == pytest.approx(min(520, column), abs=1)
    assert picture["height"] == pytest.approx(picture["width"] * 675 / 1200, abs=2)


@pytest.mark.parametrize("width", [600, 375])
def test_an_urdu_edition_reads_right_to_left(browser: Any, tmp_path: Path, width: int) -> None:
    from tests.multilingual_sample import urdu_edition

    page = language_page(tmp_path, urdu_edition(), "ur")
    blocks = check_layout(browser, page, width, tmp_path)
    assert (blocks["lang"], blocks["dir"]) == ("ur", "rtl")
    assert blocks["footer"] == ["براؤزر میں دیکھیں", "ترجیحات", "رکنیت ختم کریں"]
    assert blocks["moreHead"] == "مزید خبریں"
    assert blocks["greeting"].startswith("صبح بخیر، Ana۔ آج 2 خبریں")
    for story in blocks["stories"]:
        assert (story["lang"], story["direction"], story["textAlign"]) == ("ur", "rtl", "right")
        assert story["pointDirection"] == "rtl"
        # Right-aligned: the headline ends at the column's right edge; bullets indent on
        # the right.
        assert abs(story["headText"]["right"] - story["inner"]["right"]) < 2
        padding_left, padding_right = story["listPadding"]
        assert padding_left == "0px" and padding_right != "0px"
    picture = blocks["stories"][0]["image"]
    assert picture["width"] <= blocks["stories"][0]["inner"]["right"] + 1


def test_mixed_meta_line_keeps_its_order(browser: Any, tmp_path: Path) -> None:
    """An Urdu outlet name before a German date ("24. Nov."): unisolated, the Bidi
    algorithm would pull the 24 into the Urdu run ("BBC News 24 · اردو"); isolated, each
    part keeps its place and the date stays right of the outlet."""
    from tests.multilingual_sample import GERMAN, edition_of

    story = dataclasses.replace(GERMAN, source="BBC News اردو")
    page = language_page(tmp_path, edition_of(story), "de")
    browser.open(page.as_uri(), 600)
    meta = json.loads(
        browser.evaluate(
            """(() => {
                 const meta = document.querySelector('.meta');
                 const outlet = meta.querySelector('span');
                 const walker = document.createTreeWalker(meta, NodeFilter.SHOW_TEXT);
                 let node, day = null;
                 while ((node = walker.nextNode())) {
                   const at = node.data.indexOf('24');
                   if (at >= 0) {
                     const range = document.createRange();
                     range.setStart(node, at);
                     range.setEnd(node, at + 2);
                     day = range.getBoundingClientRect().left;
                   }
                 }
                 return JSON.stringify({outlet: outlet.textContent, dir: outlet.dir,
                   outletRight: outlet.getBoundingClientRect().right, day: day,
                   text: meta.textContent});
               })()"""
        )
    )
    assert meta["outlet"] == "BBC News اردو" and meta["dir"] == "auto"
    assert "24. Nov." in meta["text"]
    assert meta["day"] > meta["outletRight"], meta


@pytest.mark.parametrize("width", [600, 375])
def test_a_chinese_edition_fits(browser: Any, tmp_path: Path, width: int) -> None:
    from tests.multilingual_sample import chinese_edition

    page = language_page(tmp_path, chinese_edition(), "zh")
    blocks = check_layout(browser, page, width, tmp_path)
    assert (blocks["lang"], blocks["dir"]) == ("zh", "ltr")
    assert blocks["footer"] == ["在浏览器中查看", "偏好设置", "退订"]
    assert blocks["moreHead"] == "更多新闻"
    assert all(s["lang"] == "zh" for s in blocks["stories"])


@pytest.mark.parametrize("width", [600, 375])
def test_a_mixed_edition_fits(browser: Any, tmp_path: Path, width: int) -> None:
    """Stories in eight scripts and directions in one German newsletter."""
    from tests.multilingual_sample import mixed_edition

    page = language_page(tmp_path, mixed_edition(), "de")
    blocks = check_layout(browser, page, width, tmp_path)
    directions = {s["lang"] or "?": s["direction"] for s in blocks["stories"]}
    assert directions == {
        "de": "ltr", "ur": "rtl", "ar": "rtl", "zh": "ltr", "hi": "ltr", "ja": "ltr",
        "pt-BR": "ltr", "?": "rtl",
    }  # fmt: skip


def test_an_urdu_outlet_starting_with_a_latin_brand_reads_right_to_left(
    browser: Any, tmp_path: Path
) -> None:
    """ "BBC News اردو - پاکستان کی خبریں" is an Urdu name: "BBC News" comes first, on the
    right, and "پاکستان" after it to its left (dir="auto" would go by the first letter, B,
    and put the Urdu words to the right of the brand, to be read before it)."""
    from tests.multilingual_sample import URDU, edition_of

    story = dataclasses.replace(URDU, source="BBC News اردو - پاکستان کی خبریں")
    page = language_page(tmp_path, edition_of(story), "ur")
    browser.open(page.as_uri(), 600)
    where = json.loads(
        browser.evaluate(
            """(() => {
                 const outlet = document.querySelector('.meta span');
                 const text = outlet.firstChild;
                 const left = (word) => {
                   const at = text.data.indexOf(word);
                   const range = document.createRange();
                   range.setStart(text, at);
                   range.setEnd(text, at + word.length);
                   return range.getBoundingClientRect().left;
                 };
                 return JSON.stringify({dir: outlet.dir, bbc: left('BBC'),
                   pakistan: left('پاکستان')});
               })()"""
        )
    )
    assert where["dir"] == "rtl" and where["bbc"] > where["pakistan"], where
