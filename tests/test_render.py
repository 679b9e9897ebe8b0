"""The newsletter's HTML and text: escaping, links, limits, premailer once, slots."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import lxml.html
import markupsafe
import premailer
import pytest

from digest.config import NewsletterOptions
from digest.errors import RenderError
from digest.models import (
    Edition,
    EditionSection,
    Headline,
    LeadImage,
    RelatedItem,
    Story,
    Subscriber,
)
from digest.publish.messages import MessageFactory
from digest.publish.render import (
    MAX_HTML_BYTES,
    Renderer,
    SlotMarkers,
    check_html,
    personalize,
    render_edition,
    safe_url,
)
from tests.newsletter_sample import sample_edition

OPTIONS = NewsletterOptions()
UNSUBSCRIBE = "https://news.example.org/u/7.abcDEF_-"
PREFERENCES = "https://news.example.org/p/7.prefsXYZ"
BROWSER = "https://news.example.org/archive/2026-11-24.html"


def replace_story(edition: Edition, index: int, **changes: object) -> Edition:
    """``edition`` with its ``index``-th story changed."""
    sections = []
    n = 0
    for section in edition.sections:
        stories = []
        for story in section.stories:
            stories.append(dataclasses.replace(story, **changes) if n == index else story)
            n += 1
        sections.append(dataclasses.replace(section, stories=tuple(stories)))
    return dataclasses.replace(edition, sections=tuple(sections))


def fill(
    edition: Edition, name: str = "Ana", options: NewsletterOptions = OPTIONS
) -> tuple[str, str]:
    rendered = render_edition(edition, options)
    filled = personalize(
        rendered,
        name=name,
        unsubscribe_url=UNSUBSCRIBE,
        browser_url=BROWSER,
        preferences_url=PREFERENCES,
    )
    return filled.html, filled.text


def test_the_sample_renders_every_part_of_a_story() -> None:
    edition = sample_edition()
    html, _ = fill(edition)
    doc = lxml.html.document_fromstring(html)
    assert doc.get("lang") == "en" and doc.get("dir") == "ltr"
    headlines = doc.find_class("headline")
    assert len(headlines) == len(edition.stories)
    lead = edition.stories[0]
    link = headlines[0].find(".//a")
    assert link is not None and link.get("href") == lead.url and link.text_content() == lead.title
    points = [li.text_content() for li in doc.find_class("points")[0].iter("li")]
    assert points == [p.text for p in lead.summary.key_points]
    assert lead.summary.conclusion is not None
    assert lead.summary.conclusion.text in doc.find_class("conclusion")[0].text_content()
    assert "Also reported by: Daily Wire Service, Le Courrier Zürich" in html_text(doc, "also")
    related = doc.find_class("related")[0].text_content()
    assert all(item.title in related for item in lead.related)
    more = [li.text_content() for li in doc.find_class("more-item")]
    assert [m.split(" ")[0] for m in more] == [h.title.split(" ")[0] for h in edition.more_news]
    footer = doc.find_class("footer")[0]
    hrefs = {a.text_content(): a.get("href") for a in footer.iter("a")}
    assert hrefs == {
        "View in your browser": BROWSER,
        "Preferences": PREFERENCES,
        "Unsubscribe": UNSUBSCRIBE,
    }
    assert OPTIONS.reason in footer.text_content()
    assert "Good morning, Ana." in doc.find_class("greeting")[0].text_content()


def html_text(doc: lxml.html.HtmlElement, css_class: str) -> str:
    return " ".join(doc.find_class(css_class)[0].text_content().split())


def test_the_email_scaffolding_survives_premailer() -> None:
    html, _ = fill(sample_edition())
    doc = lxml.html.document_fromstring(html)
    # Layout tables are presentational; the card is 600px at most; fonts are system fonts.
    tables = doc.findall(".//table")
    assert tables and all(t.get("role") == "presentation" for t in tables)
    assert "max-width:600px" in doc.find_class("container")[0].get("style", "").replace(" ", "")
    assert "-apple-system" in doc.find_class("masthead")[0].get("style", "")
    # The Outlook wrapper is a conditional comment premailer leaves in place.
    assert '<!--[if mso]><table role="presentation" align="center" width="600"' in html
    # Dark mode: meta tags and the media query; the responsive rules keep their !important.
    assert doc.find(".//meta[@name='color-scheme']").get("content") == "light dark"
    styles = "".join(s.text or "" for s in doc.iter("style"))
    mobile = re.search(r"@media screen and \(max-width: 599px\) \{(.*?)\n\}", styles, re.S)
    assert mobile is not None and ".px { padding-left: 18px !important;" in mobile.group(1)
    assert "@media (prefers-color-scheme: dark)" in styles
    assert "data-premailer" not in html
    # The stylesheet was inlined: the classes the media queries target carry inline styles.
    assert "padding-left:40px" in doc.find_class("px")[0].get("style", "").replace(" ", "")
    preheader = doc.find_class("preheader")[0]
    assert "display:none" in preheader.get("style", "").replace(" ", "")
    assert preheader.text_content().startswith("Also today: Aid convoys reach Sahel towns")


def test_direction_and_language_come_from_the_options() -> None:
    options = dataclasses.replace(OPTIONS, language="ar", direction="rtl")
    rendered = render_edition(sample_edition(), options)
    doc = lxml.html.document_fromstring(rendered.html)
    assert (doc.get("lang"), doc.get("dir")) == ("ar", "rtl")


def test_edition_text_is_escaped_in_html_and_plain_in_text() -> None:
    hostile = '<script>alert("x")</script> & <b>bold</b>'
    edition = replace_story(sample_edition(), 0, title=hostile, dek="<iframe src=x>")
    html, text = fill(edition)
    assert "<script" not in html and "<iframe" not in html and "<b>bold" not in html
    assert "&lt;script&gt;alert(" in html and "&amp; &lt;b&gt;bold&lt;/b&gt;" in html
    assert hostile in text


def test_only_http_and_mailto_links_survive() -> None:
    edition = replace_story(sample_edition(), 0, url="javascript:alert(1)")
    edition = replace_story(
        edition,
        1,
        url=" https://ok.example.com/a ",
        related=(
            RelatedItem("data link", "data:text/html,<script>alert(1)</script>"),
            RelatedItem("vbscript link", "VBScript:msgbox"),
            RelatedItem("mail link", "mailto:desk@example.com"),
        ),
    )
    edition = dataclasses.replace(
        edition,
        more_news=(
            Headline("h1", "ftp thing", "S", "ftp://files.example.com/x"),
            Headline("h2", "no host", "S", "https:///nohost"),
            Headline("h3", "fine", "S", "http://fine.example.com/x"),
        ),
    )
    html, text = fill(edition)
    doc = lxml.html.document_fromstring(html)
    hrefs = [a.get("href") for a in doc.iter("a")]
    assert all(h.startswith(("https://", "http://", "mailto:")) for h in hrefs), hrefs
    assert "mailto:desk@example.com" in hrefs and "http://fine.example.com/x" in hrefs
    assert "https://ok.example.com/a" in hrefs
    for bad in ("javascript", "data:", "VBScript", "ftp://", "nohost"):
        assert bad not in " ".join(hrefs) and bad not in text.split("Links:")[1]
    # The headline whose link was dropped is still there, as text.
    assert doc.find_class("headline")[0].text_content() == edition.stories[0].title


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://example.com/a?b=1&c=2", True),
        ("HTTP://EXAMPLE.COM", True),
        ("mailto:a@example.com?subject=hi", True),
        ("javascript:alert(1)", False),
        ("java\nscript:alert(1)", False),
        ("https://exa mple.com", False),
        ('https://example.com/"onmouseover=x', False),
        ("//example.com/a", False),
        ("/relative", False),
        ("mailto:nobody", False),
        (None, False),
    ],
)
def test_safe_url(url: str | None, ok: bool) -> None:
    assert (safe_url(url) is not None) is ok


def test_html_over_the_size_limit_is_trimmed_to_fit() -> None:
    edition = sample_edition()
    story = edition.stories[0]
    many = tuple(dataclasses.replace(story, article_id=f"s{i}") for i in range(60))
    big = dataclasses.replace(edition, sections=(EditionSection("World", many),))
    rendered = render_edition(big, OPTIONS)
    assert len(rendered.html.encode()) < MAX_HTML_BYTES
    assert rendered.trimmed[0] == f"More news: {len(edition.more_news)} of 6 headlines left out"
    assert rendered.trimmed[-1].endswith("of 60 stories left out")
    whole = render_edition(edition, OPTIONS)
    assert len(whole.html.encode()) < MAX_HTML_BYTES and whole.trimmed == ()


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        ("<script>var x = 1;</script>", "<script>"),
        ('<iframe src="https://example.com"></iframe>', "<iframe>"),
        ('<form action="https://example.com"><input name="q"></form>', "<form>"),
        ('<link rel="stylesheet" href="https://example.com/a.css">', "<link>"),
        ('<a href="javascript:void(0)">x</a>', "links to 'javascript"),
        ('<img src="https://example.com/a.png">', "no alt text"),
        ('<p onclick="steal()">x</p>', "event handler"),
    ],
)
def test_a_template_with_active_content_is_refused(
    tmp_path: Path, snippet: str, message: str
) -> None:
    footer = tmp_path / "_footer.html.j2"
    footer.write_text(f"<table role='presentation'><tr><td>{snippet}</td></tr></table>")
    options = dataclasses.replace(OPTIONS, templates=str(tmp_path))
    with pytest.raises(RenderError, match=re.escape(message)):
        render_edition(sample_edition(), options)


def test_templates_can_be_overridden_one_file_at_a_time(tmp_path: Path) -> None:
    (tmp_path / "_footer.html.j2").write_text(
        '<table role="presentation"><tr><td class="footer">Sent by the night desk.'
        ' <a href="{{ slot.unsubscribe_url }}">Leave</a></td></tr></table>'
    )
    rendered = Renderer(dataclasses.replace(OPTIONS, templates=str(tmp_path))).render(
        sample_edition()
    )
    assert "Sent by the night desk." in rendered.html
    assert "headline" in rendered.html  # the rest is still the bundled templates
    with pytest.raises(RenderError, match="is not a folder"):
        Renderer(dataclasses.replace(OPTIONS, templates=str(tmp_path / "missing")))


def test_check_html_accepts_the_rendered_edition_and_an_image_with_alt() -> None:
    options = dataclasses.replace(OPTIONS, logo_url="https://example.org/logo.png")
    rendered = render_edition(sample_edition(), options)
    check_html(rendered.html, slot_links=SlotMarkers(rendered.slot_nonce).by_name().values())
    with pytest.raises(RenderError, match="DIGEST_SLOT_"):  # another render's markers
        check_html(rendered.html, slot_links=SlotMarkers("1" * 32).by_name().values())
    img = lxml.html.document_fromstring(rendered.html).find(".//img")
    assert img is not None and img.get("alt") == OPTIONS.title


def test_premailer_runs_once_per_edition(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = premailer.Premailer.transform

    def counting(self: premailer.Premailer, *args: object, **kwargs: object) -> str:
        calls.append(self)
        return real(self, *args, **kwargs)  # type: ignore[no-any-return]

    monkeypatch.setattr(premailer.Premailer, "transform", counting)
    rendered = render_edition(sample_edition(), OPTIONS)
    factory = MessageFactory(rendered, OPTIONS, b"secret" * 6)
    for i in range(200):
        factory(Subscriber(i, f"reader{i}@example.com", f"Reader {i}"))
        personalize(rendered, name=f"R{i}", unsubscribe_url=UNSUBSCRIBE, browser_url=BROWSER)
    assert len(calls) == 1


def test_personal_values_are_escaped_and_checked() -> None:
    rendered = render_edition(sample_edition(), OPTIONS)
    name = '<img src=x onerror="alert(1)"> & Bob'
    url = "https://news.example.org/u/7.abc?x=1&y=2"
    filled = personalize(rendered, name=name, unsubscribe_url=url, browser_url=BROWSER)
    assert "<img src=x" not in filled.html
    assert "Good morning, &lt;img src=x onerror=&#x27;" in filled.html.replace("&quot;", "&#x27;")
    assert 'href="https://news.example.org/u/7.abc?x=1&amp;y=2"' in filled.html
    assert f"Good morning, {name}." in filled.text and url in filled.text
    markers = SlotMarkers(rendered.slot_nonce).by_name().values()
    assert not any(slot in filled.html + filled.text for slot in markers)
    nameless = personalize(rendered, name="  ", unsubscribe_url=url, browser_url=BROWSER)
    assert "Good morning." in nameless.text
    with pytest.raises(RenderError, match="not http"):
        personalize(rendered, name="", unsubscribe_url="javascript:alert(1)", browser_url=BROWSER)


def test_an_article_cannot_plant_a_slot() -> None:
    guessed = SlotMarkers("0" * 32).marker("unsubscribe_url")  # any nonce but the render's
    planted = f"Click DIGEST_SLOT_UNSUBSCRIBE_URL_ or {guessed} now"
    edition = replace_story(sample_edition(), 0, title=planted)
    html, text = fill(edition)
    assert html.count(UNSUBSCRIBE) == 1  # the footer's link, not the headline
    assert text.count(UNSUBSCRIBE) == 1
    assert "0" * 32 + "_UNSUBSCRIBE_URL_ now" in text


def test_every_render_draws_new_slot_markers() -> None:
    first, second = (render_edition(sample_edition(), OPTIONS) for _ in range(2))
    assert first.slot_nonce != second.slot_nonce
    assert SlotMarkers(first.slot_nonce).marker("browser_url") in first.html
    assert SlotMarkers(first.slot_nonce).marker("browser_url") not in second.html
    with pytest.raises(RenderError, match="nonce"):
        SlotMarkers("")


def test_the_text_version_is_wrapped_with_numbered_links() -> None:
    edition = sample_edition()
    _, text = fill(edition)
    body, _, links = text.partition("\nLinks:\n")
    assert all(len(line) <= 72 for line in body.splitlines()), max(body.splitlines(), key=len)
    references = dict(re.findall(r"^\[(\d+)\] (\S+)$", links, re.M))
    cited = set(re.findall(r"\[(\d+)\]", body))
    assert cited == set(references) and len(references) >= 20
    assert all(u.startswith(("https://", "http://", "mailto:")) for u in references.values())
    assert edition.stories[0].url in references.values()
    assert UNSUBSCRIBE in references.values() and BROWSER in references.values()
    # Readable on its own: sections, headlines, points and the conclusion are all there.
    assert "WORLD\n" in body and "MORE NEWS\n" in body
    lead = edition.stories[0]
    assert f"{lead.title} [" in body
    assert "  * Negotiators from both delegations met for six hours on Monday, the\n" in body
    assert "  Bottom line: Mediators call" in body
    # Plain text is not HTML: no entities, the ampersand and angle bracket as written.
    assert "Chipmakers & regulators agree on export rules for <7nm tools [" in body
    assert "&amp;" not in text and "&lt;" not in text and "&nbsp;" not in text


def test_subject_and_preheader_come_from_the_edition() -> None:
    edition = replace_story(sample_edition(), 0, title="Line one\r\nBcc: x@example.com")
    rendered = render_edition(edition, OPTIONS)
    assert rendered.subject.startswith("The Daily Digest · Nov 24: Line one")
    assert "\r" not in rendered.subject and "\n" not in rendered.subject
    assert len(rendered.subject) <= 110
    assert rendered.preheader.startswith("Also today: Aid convoys reach Sahel")
    assert rendered.edition_id == edition.id


def test_editor_panel_is_never_in_the_mail() -> None:
    renderer = Renderer(OPTIONS)
    edition = sample_edition()
    rendered = renderer.render(edition)
    panel = renderer.editor_panel(edition, {edition.stories[0].article_id: ["First.", "Second."]})
    assert 'id="digest-editor-panel"' in panel and "Second." in panel
    assert "digest-editor-panel" not in rendered.html and "Left out" not in rendered.text
    for item in edition.left_out:
        reason = str(markupsafe.escape(item.reason))
        assert reason not in rendered.html and item.title not in rendered.html
        assert reason in panel and item.title in panel


def test_story_without_link_or_extras_renders_plainly() -> None:
    bare = Story(
        article_id="bare",
        title="A bare story",
        url=None,
        source="Wire",
        section="World",
        summary=sample_edition().stories[0].summary,
        score=0.5,
    )
    edition = dataclasses.replace(
        sample_edition(), sections=(EditionSection("World", (bare,)),), more_news=()
    )
    html, text = fill(edition)
    doc = lxml.html.document_fromstring(html)
    assert doc.find_class("headline")[0].find(".//a") is None
    assert not doc.find_class("more-item") and "MORE NEWS" not in text
    assert "1 story today" in doc.find_class("greeting")[0].text_content()


def test_a_dek_that_restates_the_headline_is_not_shown() -> None:
    title = "Alpine Glaciers Lost a Record Share of Their Ice in 2026, Survey Finds"
    repeat = "Alpine Glaciers Shrink by a Record Amount in 2026, Survey Finds"
    edition = replace_story(sample_edition(), 0, title=title, dek=repeat)
    html, text = fill(edition)
    assert repeat not in html and repeat not in text
    edition = replace_story(sample_edition(), 0, title=title, dek="Warm spring, little snow.")
    html, text = fill(edition)
    assert "Warm spring, little snow." in html and "Warm spring, little snow." in text


# --- languages, directions, controls and pictures ---------------------------------------------

BIDI_CONTROLS = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))]


def story_cells(html: str) -> list[lxml.html.HtmlElement]:
    return lxml.html.document_fromstring(html).find_class("story")


def test_each_story_block_carries_its_language_and_direction() -> None:
    from tests.multilingual_sample import mixed_edition

    edition = mixed_edition()
    html, _ = fill_in(edition, "de")
    cells = story_cells(html)
    seen = [(c.get("lang"), c.get("dir")) for c in cells]
    assert seen == [
        ("de", "ltr"), ("ur", "rtl"), ("ar", "rtl"), ("zh", "ltr"), ("hi", "ltr"),
        ("ja", "ltr"), ("pt-BR", "ltr"), (None, "rtl"),
    ]  # fmt: skip
    by_lang = {c.get("lang"): c for c in cells}
    urdu = by_lang["ur"]
    assert "dir-rtl" in urdu.get("class") and "script-nastaliq" in urdu.get("class")
    assert "text-align:right" in urdu.get("style").replace(" ", "")
    # Bullets indent on the right.
    assert "padding:0 22px 0 0" in urdu.find_class("points")[0].get("style")
    assert "border-right:4px" in urdu.find_class("conclusion")[0].get("style").replace(" ", "")
    # The German label inside the Urdu story carries German's lang and dir.
    label = urdu.find_class("label")[0].find("span")
    assert (label.get("lang"), label.get("dir"), label.text) == ("de", "ltr", "Fazit:")
    # Same direction as the newsletter: no extra markup.
    assert by_lang["de"].find_class("label")[0].find("span") is None
    # Unknown language: the direction its letters say, each field dir="auto", no lang.
    unknown = cells[-1]
    assert unknown.find_class("headline")[0].get("dir") == "auto"
    assert "lang" not in unknown.attrib
    assert "dir-ltr" in by_lang["zh"].get("class") and "script-cjk" in by_lang["zh"].get("class")


def fill_in(edition: Edition, language: str, name: str = "Ana") -> tuple[str, str]:
    rendered = render_edition(edition, dataclasses.replace(OPTIONS, language=language))
    filled = personalize(
        rendered, name=name, unsubscribe_url=UNSUBSCRIBE, browser_url=BROWSER, language=language
    )
    return filled.html, filled.text


def test_mixed_direction_parts_are_isolated_in_both_parts() -> None:
    from tests.multilingual_sample import GERMAN, edition_of

    story = dataclasses.replace(GERMAN, source="BBC News اردو")
    html, text = fill_in(edition_of(story), "de")
    meta = story_cells(html)[0].find_class("meta")[0]
    outlet = meta.find("span")
    assert outlet.get("dir") == "auto" and outlet.text == "BBC News اردو"
    assert "\u2068BBC News اردو\u2069 · 24. Nov., 06:30 UTC" in text
    # Outlets of other outlets too, one isolate each.
    story = dataclasses.replace(
        GERMAN, also_reported=(dataclasses.replace(GERMAN.also_reported[0], source="جیو نیوز"),)
    )
    _, text = fill_in(edition_of(story), "de")
    assert "Ebenfalls berichtet von: \u2068جیو نیوز\u2069 [" in text


def test_an_english_edition_gains_no_invisible_marks() -> None:
    html, text = fill(sample_edition())
    marks = ("\u2068", "\u2069", "\u200e", "\u200f")
    assert not any(m in text or m in html for m in marks)
    # Its stories' language is unknown: headlines and deks say dir="auto", nothing else.
    auto = lxml.html.document_fromstring(html).xpath('//*[@dir="auto"]')
    assert {e.get("class") for e in auto} == {"headline serif", "dek serif", "more-link"}
    english = sample_edition()
    for i in range(len(english.stories)):
        english = replace_story(english, i, language="en")
    more = tuple(dataclasses.replace(h, language="en") for h in english.more_news)
    html, _ = fill(dataclasses.replace(english, more_news=more))
    assert 'dir="auto"' not in html and 'lang="en"' in html


def test_a_right_to_left_text_part_marks_its_lines() -> None:
    from tests.multilingual_sample import GERMAN, URDU, edition_of

    _, text = fill_in(edition_of(URDU, GERMAN), "ur")
    body = text.split("\n[1] ")[0]
    lines = [line for line in body.splitlines() if line and not line.startswith(("=", "-" * 72))]
    rtl = [line for line in lines if line.startswith("\u200f")]
    ltr = [line for line in lines if line.startswith("\u200e")]
    # Every line is marked: Urdu and the fixed strings RTL, the German story's lines LTR.
    assert len(rtl) + len(ltr) == len(lines), [x for x in lines if x[0] not in "\u200e\u200f"]
    assert any("Bahn testet Nachtzüge" in line for line in ltr)
    assert any("لاہور میں شدید بارش" in line for line in rtl)
    assert all(len(line.lstrip("\u200e\u200f")) <= 72 for line in lines)


@pytest.mark.parametrize(
    "control", [*BIDI_CONTROLS, "\u2028", "\ufeff", "\u0085", "\U000e0041", "\u206a"]
)
def test_invisible_controls_never_reach_the_mail(control: str) -> None:
    title = f"Invoice from payroll {control}fdp.exe"
    edition = replace_story(sample_edition(), 0, title=title, source=f"Wire{control}Desk")
    edition = dataclasses.replace(
        edition,
        more_news=(Headline("m", f"Headline {control}two", f"Out{control}let", None),),
    )
    rendered = render_edition(edition, OPTIONS)
    filled = personalize(
        rendered, name=f"Ana{control} Bob", unsubscribe_url=UNSUBSCRIBE, browser_url=BROWSER
    )
    for part in (filled.html, filled.text, rendered.subject, rendered.preheader):
        assert control not in part
    assert "Invoice from payroll fdp.exe" in filled.text or control == "\u2028"
    assert "Good morning, Ana Bob." in filled.text or "Good morning, Ana Bob" in filled.text


def test_a_right_to_left_override_in_a_title_is_removed() -> None:
    """U+202E would show 'Invoice exe.pdf' for 'Invoice fdp.exe'."""
    edition = replace_story(sample_edition(), 0, title="Invoice \u202efdp.exe")
    html, text = fill(edition)
    assert "\u202e" not in html and "\u202e" not in text
    headline = lxml.html.document_fromstring(html).find_class("headline")[0]
    assert headline.text_content() == "Invoice fdp.exe"
    # The joiners that scripts need stay: ZWNJ in Persian, ZWJ in emoji.
    kept = "می\u200cخواهم 👩\u200d💻"
    html, text = fill(replace_story(sample_edition(), 0, title=kept))
    assert kept in text and kept in lxml.html.document_fromstring(html).text_content()


# Pictures are shown only as our own copies, served from an https base_url.
PICTURE_OPTIONS = NewsletterOptions(base_url="https://news.example.org")
OWN = "https://news.example.org/archive/pictures/"


def image_of(html: str) -> lxml.html.HtmlElement | None:
    cell = story_cells(html)[0]
    found = cell.find_class("story-image")
    return found[0] if found else None


@pytest.mark.parametrize(
    ("image", "shown"),
    [
        (LeadImage(f"{OWN}a.jpg", 1200, 800, "A quay"), ("520", "347", "A quay")),
        (LeadImage(f"{OWN}b.jpg", 300, 200), ("300", "200", None)),
        (LeadImage(f"{OWN}c.jpg"), ("520", None, None)),
        (LeadImage(f"{OWN}tall.jpg", 600, 1800), ("140", "420", None)),
        (LeadImage(f"{OWN}d.jpg", 0, -5), ("520", None, None)),
        # A publisher's server, https or not, never: it would learn who reads and when.
        (LeadImage("https://img.example.org/a.jpg", 1200, 800), None),
        (LeadImage("http://img.example.org/a.jpg", 1200, 800), None),
        (LeadImage("javascript:alert(1)", 1200, 800), None),
        (LeadImage("data:image/png;base64,AAAA", 1200, 800), None),
        (LeadImage("//img.example.org/a.jpg", 1200, 800), None),
        (LeadImage(f'{OWN}a.jpg" onerror="x', 1200, 800), None),
        (LeadImage(f"{OWN}pixel.gif", 1, 1), None),
        (LeadImage(OWN + "a" * 3000, 1200, 800), None),
        (None, None),
    ],
)
def test_story_pictures(image: LeadImage | None, shown: tuple[str, str | None, str | None]) -> None:
    edition = replace_story(sample_edition(), 0, image=image)
    html, text = fill(edition, options=PICTURE_OPTIONS)
    img = image_of(html)
    if shown is None:
        assert img is None
        return
    assert img is not None and image is not None
    width, height, alt = shown
    assert (img.get("width"), img.get("height")) == (width, height)
    # Without alt text from the source the picture is decorative (alt=""): the headline
    # is right below it, and would show twice with images blocked.
    assert img.get("alt") == (alt or "")
    style = img.get("style").replace(" ", "")
    assert "max-width:" + width + "px" in style and "height:auto" in style
    assert "display:block" in style and "width:100%" in style
    # The text part never shows a picture.
    assert image.url not in text and "/archive/pictures/" not in text


def test_pictures_can_be_turned_off() -> None:
    edition = replace_story(sample_edition(), 0, image=LeadImage(f"{OWN}a.jpg", 800, 600))
    assert "<img" in render_edition(edition, PICTURE_OPTIONS).html
    rendered = render_edition(edition, dataclasses.replace(PICTURE_OPTIONS, images=False))
    assert "/archive/pictures/" not in rendered.html and "<img" not in rendered.html


def test_pictures_on_every_story_keep_the_html_under_the_limit() -> None:
    edition = sample_edition()
    for i in range(len(edition.stories)):
        long_url = OWN + "p" * 900 + f"/{i}.jpg"
        edition = replace_story(
            edition, i, image=LeadImage(long_url, 1600, 900, "A picture " + "word " * 30)
        )
    rendered = render_edition(edition, PICTURE_OPTIONS)
    assert rendered.html.count('class="story-image"') == len(edition.stories)
    assert len(rendered.html.encode()) < MAX_HTML_BYTES
    check_html(rendered.html, slot_links=SlotMarkers(rendered.slot_nonce).by_name().values())
    # premailer turned no CSS size into an attribute (height="auto" would be invalid).
    assert 'height="auto"' not in rendered.html
    for img in lxml.html.document_fromstring(rendered.html).find_class("story-image"):
        assert (img.get("width"), img.get("height")) == ("520", "292")


def test_direction_and_script_rules_are_inlined_only_where_used() -> None:
    from tests.multilingual_sample import URDU, edition_of

    renderer = Renderer(OPTIONS)
    slot = SlotMarkers.fresh().by_name()
    english = renderer._render(
        "newsletter.html.j2", {**renderer._context(sample_edition()), "slot": slot}
    )
    assert renderer.stylesheet_for(english) == renderer.stylesheet()
    urdu = renderer._render(
        "newsletter.html.j2", {**renderer._context(edition_of(URDU)), "slot": slot}
    )
    assert ".dir-rtl .points" in renderer.stylesheet_for(urdu)
    # A title cannot ask for them: its quotes are escaped.
    planted = replace_story(sample_edition(), 0, title='x" class="dir-rtl script-arab')
    raw = renderer._render("newsletter.html.j2", {**renderer._context(planted), "slot": slot})
    assert renderer.stylesheet_for(raw) == renderer.stylesheet()


def test_single_outlet_edition_names_the_outlet_once_per_story_not_per_headline() -> None:
    """Every story and More news line from one outlet: the headlines do not repeat it."""
    edition = sample_edition()
    one = dataclasses.replace(
        edition,
        sections=tuple(
            dataclasses.replace(
                s,
                stories=tuple(
                    dataclasses.replace(st, source="Golem.de", also_reported=()) for st in s.stories
                ),
            )
            for s in edition.sections
        ),
        more_news=tuple(dataclasses.replace(h, source="Golem.de") for h in edition.more_news),
    )
    assert one.more_news
    html, text = fill(one)
    assert 'class="more-source"' not in html and "(Golem.de)" not in text
    mixed_html, mixed_text = fill(edition)
    assert 'class="more-source"' in mixed_html
    assert f"({edition.more_news[0].source})" in " ".join(mixed_text.split())


def test_the_panel_says_which_stories_have_no_date_of_their_own() -> None:
    """An undated feed item counts from when it was first seen; the editor panel says so,
    for those stories only (issue 23, item 9)."""
    renderer = Renderer(OPTIONS)
    edition = sample_edition()
    assert all(s.published is not None for s in edition.stories)
    dated = renderer.editor_panel(edition)
    assert "digest-undated" not in dated and "no date of its own" not in dated

    first = edition.sections[0]
    undated = dataclasses.replace(first.stories[0], published=None, title="Ölpreis fällt")
    changed = dataclasses.replace(first, stories=(undated, *first.stories[1:]))
    one = dataclasses.replace(edition, sections=(changed, *edition.sections[1:]))
    doc = lxml.html.fromstring(renderer.editor_panel(one))
    note = doc.get_element_by_id("digest-undated").text_content()
    assert note.startswith("1 story has no date of its own")
    rows = [r.text_content() for r in doc.xpath("//tr") if "no date of its own" in r.text_content()]
    assert len(rows) == 1 and "Ölpreis fällt" in rows[0]
    assert "no date of its own" not in renderer.render(one).html  # the panel only


def test_related_cross_references_and_earlier_coverage_render_in_both_parts() -> None:
    from datetime import date

    edition = sample_edition()
    second = edition.stories[1]
    related = (
        RelatedItem(second.title, None, article_id=second.article_id, kind="in_edition"),
        RelatedItem(
            "Flussabkommen: erste Verhandlungsrunde in Genf",
            "https://wire.example.org/genf-runde",
            article_id="old-1",
            reason="similar",
            kind="earlier",
            source="Daily Wire Service",
            edition_id="2026-11-22",
            edition_day=date(2026, 11, 22),
        ),
    )
    edition = replace_story(edition, 0, related=related)
    html, text = fill(edition)
    doc = lxml.html.document_fromstring(html)
    items = doc.find_class("related")[0].findall(".//li")
    cross = items[0].find(".//a")
    assert cross is not None and cross.get("href") == f"#story-{second.article_id}"
    target = doc.get_element_by_id(f"story-{second.article_id}")
    assert second.title in target.text_content()
    assert "Also in this edition" in items[0].text_content()
    earlier = {a.text_content(): a.get("href") for a in items[1].iter("a")}
    assert earlier["Flussabkommen: erste Verhandlungsrunde in Genf"] == (
        "https://wire.example.org/genf-runde"
    )
    assert earlier["Nov 22, 2026"].endswith("/archive/2026-11-22.html")
    assert items[1].text_content().startswith("Earlier:")
    flat = " ".join(text.split())
    assert f"- {second.title} (Also in this edition ↓)" in flat
    assert re.search(
        r"- Earlier: Flussabkommen: erste Verhandlungsrunde in Genf \[\d+\], Nov 22", flat
    )
    # A cross-reference to a story the page lacks is refused, not sent as a dead anchor.
    broken = render_edition(edition, OPTIONS).html.replace(
        f'id="story-{second.article_id}"', 'id="elsewhere"'
    )
    with pytest.raises(RenderError, match="missing anchor"):
        check_html(broken)


def test_the_editor_panel_says_why_each_related_item_was_chosen() -> None:
    edition = sample_edition()
    item = RelatedItem(
        "Нефтяной рынок: цены падают",
        "https://wire.example.org/oil",
        article_id="oil-1",
        reason="similar",
        kind="window",
        terms={"multilingual": 0.912, "words": 0.25},
    )
    edition = replace_story(edition, 0, related=(item,))
    renderer = Renderer(OPTIONS)
    panel = lxml.html.fragment_fromstring(renderer.editor_panel(edition))
    lines = [li.text_content() for li in panel.find_class("related-why")]
    assert "window: Нефтяной рынок: цены падают (oil-1) — multilingual 0.91, words 0.25" in lines
    assert "multilingual 0.91" not in renderer.render(edition).html
