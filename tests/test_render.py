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
from digest.models import Edition, EditionSection, Headline, RelatedItem, Story, Subscriber
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


def fill(edition: Edition, name: str = "Ana") -> tuple[str, str]:
    rendered = render_edition(edition, OPTIONS)
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
    assert rendered.subject.startswith("The Daily Digest · 24 Nov: Line one")
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
