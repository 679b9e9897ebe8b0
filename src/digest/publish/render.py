"""Render an edition once: HTML (CSS inlined by premailer) and plain text, with slots.

``Renderer.render(edition)`` runs the templates shipped in ``digest/templates/`` (or those
of a folder that overrides them file by file, ``newsletter.templates``), then premailer
once, then checks the HTML against the limits every message must meet (size, no active
content, safe links). Fixed strings, dates and the direction follow
``newsletter.language`` (``digest.publish.i18n``); the edition's text loses its invisible
controls first and each story block takes its own language and direction
(``digest.publish.bidi``, ``digest.publish.blocks``). The result, a ``RenderedEdition``,
holds per-subscriber *slots*: markers that ``personalize`` (or
``digest.publish.messages.MessageFactory``, which does the same on encoded parts) replaces
with each subscriber's escaped values. Premailer never runs per subscriber.
"""

from __future__ import annotations

import dataclasses
import html as html_lib
import logging
import math
import re
import secrets
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from functools import partial
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import jinja2
import lxml.html
from markupsafe import Markup

from digest.config import NewsletterOptions
from digest.edition.weekly import weekly_id
from digest.errors import RenderError
from digest.models import Edition, Headline, RenderedEdition, Story, count_words
from digest.publish.bidi import (
    Direction,
    isolate_html,
    isolate_text,
    line_mark,
    strip_controls,
)
from digest.publish.blocks import (
    ShownImage,
    StoryLook,
    clean_edition,
    look_of,
    own_pictures_url,
    shown_image,
    story_look,
)
from digest.publish.i18n import N_, Localizer, localizer
from digest.publish.trim import fit_edition
from digest.text.rules import lowercase_words, mostly_same_words

__all__ = [
    "MAX_HTML_BYTES",
    "SLOT_NAMES",
    "Filled",
    "Renderer",
    "Slot",
    "SlotMarkers",
    "SlotValue",
    "archive_url",
    "bundled_templates",
    "check_html",
    "inline_css",
    "join_titles",
    "personalize",
    "preheader_for",
    "recap_title",
    "render_edition",
    "safe_url",
    "slot_values",
    "split_slots",
    "subject_for",
    "title_for",
]

log = logging.getLogger(__name__)

# Gmail clips messages whose HTML passes about 102 KB; keep a margin for the slots' values.
MAX_HTML_BYTES = 100_000
TEXT_WIDTH = 72
SUBJECT_CHARS = 110
PREHEADER_CHARS = 140
WORDS_PER_MINUTE = 220


class Slot(str):
    """A per-subscriber marker in the rendered edition; only letters, digits and ``_``,
    so that it survives HTML escaping, premailer and quoted-printable encoding unchanged."""

    __slots__ = ()


SLOT_PREFIX = "DIGEST_SLOT_"
# The per-subscriber values; a new one is a name here, a value in ``slot_values`` and a
# ``{{ slot.<name> }}`` in the templates.
SLOT_NAMES = ("name_suffix", "unsubscribe_url", "browser_url", "preferences_url")
_NONCE = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True, slots=True)
class SlotMarkers:
    """The slot markers of one render: ``DIGEST_SLOT_<nonce>_<NAME>_``.

    The nonce is 128 random bits drawn when the edition is rendered, after every article
    was written, and it is never shown or stored: no feed can know it, so no text of an
    article, however nested, split or encoded, can form a marker. Markers are found in
    one pass over the finished document and replaced by values that are never scanned
    again.
    """

    nonce: str

    def __post_init__(self) -> None:
        if not _NONCE.fullmatch(self.nonce):
            raise RenderError("a rendered edition's slot nonce must be 32 hex digits")

    @classmethod
    def fresh(cls) -> SlotMarkers:
        return cls(secrets.token_hex(16))

    def marker(self, name: str) -> Slot:
        return Slot(f"{SLOT_PREFIX}{self.nonce}_{name.upper()}_")

    def by_name(self) -> dict[str, Slot]:
        """Each slot's marker, by name (the templates' ``slot``)."""
        return {name: self.marker(name) for name in SLOT_NAMES}

    def split(self, document: str) -> list[str]:
        """``document`` cut at its markers: static text at even indices, the slot *names*
        at odd ones."""
        names = {self.marker(name): name for name in SLOT_NAMES}
        pattern = re.compile("|".join(re.escape(m) for m in names))
        parts: list[str] = []
        start = 0
        for match in pattern.finditer(document):
            parts.append(document[start : match.start()])
            parts.append(names[Slot(match.group(0))])
            start = match.end()
        parts.append(document[start:])
        return parts


# C0 controls other than tab and newline, and DEL: never valid in mail text or HTML.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SPACES = re.compile(r"[ \t\r\n\f\v]+")


def bundled_templates() -> Traversable:
    """The templates shipped in the package (``digest/templates/``), a package resource so
    that an installed wheel renders as an editable checkout does."""
    return resources.files("digest") / "templates"


# --- values and links ------------------------------------------------------------------


def _clean(value: str) -> str:
    """Edition text as it may appear in a template: no control characters (bidi
    overrides and isolates included), no slot markers (so that no article can plant a
    per-subscriber value in the mail)."""
    return strip_controls(value).replace(SLOT_PREFIX, "")


def safe_url(url: object) -> str | None:
    """``url`` when it is an http(s) URL with a host or a mailto: address, else None."""
    if not isinstance(url, str):
        return None
    url = url.strip()
    if not url or _CONTROLS.search(url) or any(c in url for c in ' "<>\\\n\t'):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme in ("http", "https") and parts.hostname:
        return url
    if scheme == "mailto" and "@" in parts.path:
        return url
    return None


@jinja2.pass_eval_context
def _finalize(eval_ctx: jinja2.nodes.EvalContext, value: Any) -> Any:
    # Runs on every {{ expression }} before escaping. Slots and template-made Markup pass.
    # The plain text keeps its isolates (FSI ... PDI): the edition's own were stripped
    # before rendering (clean_edition), so the only ones left are the template's.
    if isinstance(value, Slot | Markup) or not isinstance(value, str):
        return value
    if eval_ctx.autoescape:
        return _clean(value)
    return strip_controls(value, keep_isolates=True).replace(SLOT_PREFIX, "")


class _TextLayout:
    """The plain text's paragraphs: wrapped, and in a right-to-left newsletter or story
    each line starting with its direction's mark (clients lay out plain text by the first
    letter of each line, which may be a Latin name in an Urdu sentence)."""

    def __init__(self, base: Direction) -> None:
        self.base = base

    def wrap(
        self,
        value: object,
        first: str = "",
        rest: str = "",
        width: int = TEXT_WIDTH,
        dir: Direction | None = None,  # the name the templates use, as in HTML
    ) -> str:
        # Collapse whitespace, but not the no-break spaces that glue a link number on.
        text = " ".join(_SPACES.split(str(value).strip(" \t\r\n\f\v")))
        wrapper = textwrap.TextWrapper(
            width=width,
            initial_indent=first,
            subsequent_indent=rest,
            break_long_words=False,
            break_on_hyphens=False,
        )
        filled = wrapper.fill(text) if text else first.rstrip()
        direction = dir or self.base
        if direction == "ltr" and self.base == "ltr":
            return filled
        mark = line_mark(direction)
        return "\n".join(mark + line if line else line for line in filled.split("\n"))


def _restates(dek: str, title: str) -> bool:
    """Whether a dek mostly repeats the headline (a source's headline variant): most of the
    shorter one's words are in the other."""
    return mostly_same_words(dek, title, words=lowercase_words)


class _Formats:
    """Date filters in the newsletter's language and timezone (a datetime's own zone
    when none)."""

    def __init__(self, loc: Localizer, zone: tzinfo | None) -> None:
        self.loc = loc
        self.zone = zone

    def _local(self, moment: datetime) -> datetime:
        if self.zone is not None and moment.tzinfo is not None:
            return moment.astimezone(self.zone)
        return moment

    def longdate(self, day: date) -> str:
        return self.loc.long_date(day)

    def shortdate(self, moment: datetime) -> str:
        return self.loc.moment(self._local(moment))

    def shortday(self, moment: datetime) -> str:
        return self.loc.day_month_year(self._local(moment).date())


class _References:
    """Numbered links of the text version, in order of first citation."""

    def __init__(self) -> None:
        self.numbers: dict[str, int] = {}

    def cite(self, url: object) -> str:
        link = url if isinstance(url, Slot) else safe_url(url)
        if link is None:
            return ""
        if link not in self.numbers:
            self.numbers[link] = len(self.numbers) + 1
        # A no-break space keeps the number on the line of the word before it when
        # wrapping; _tidy_text turns it back into a space.
        return f"\u00a0[{self.numbers[link]}]"

    def join_cited(self, items: Iterable[Any], attr: str, context: Direction = "ltr") -> str:
        return ", ".join(
            f"{isolate_text(getattr(i, attr), context)}{self.cite(i.url)}" for i in items
        )

    def references(self) -> list[tuple[int, str]]:
        return [(n, url) for url, n in self.numbers.items()]


# --- subject and preheader ---------------------------------------------------------------


def _shorten(text: str, limit: int) -> str:
    text = " ".join(_clean(text).split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:·-–— ")
    return f"{cut}…"


def archive_url(options: NewsletterOptions, edition_id: str) -> str:
    """The edition's page in the archive (``digest archive``), the view-in-browser link."""
    return f"{options.base_url.rstrip('/')}/archive/{edition_id}.html"


def subject_for(edition: Edition, options: NewsletterOptions) -> str:
    """``<title> · Nov 24: <lead story>`` in the newsletter's language, shortened on a
    word boundary."""
    loc = localizer(options.language, options.direction)
    day = loc.day_month(edition.date)
    lead = next((s for s in edition.stories if not s.sponsored), None)  # never an advert
    if lead is None:
        return _shorten(loc.gettext("%(title)s · %(date)s", title=options.title, date=day),
                        SUBJECT_CHARS)  # fmt: skip
    subject = loc.gettext(
        "%(title)s · %(date)s: %(story)s", title=options.title, date=day, story=lead.title
    )
    return _shorten(subject, SUBJECT_CHARS)


def title_for(edition: Edition, options: NewsletterOptions) -> str:
    """The edition's title in the newsletter's language: ``The Daily Digest: Tuesday,
    November 24, 2026``, ``Der Tagesüberblick: Dienstag, 24. November 2026``
    (``Edition.title``, built with the edition, keeps an English date). A weekly recap's
    is ``recap_title``'s."""
    if edition.id == weekly_id(edition.date):
        return recap_title(edition.date, options)
    loc = localizer(options.language, options.direction)
    return loc.gettext("%(title)s: %(date)s", title=options.title, date=loc.long_date(edition.date))


def recap_title(day: date, options: NewsletterOptions) -> str:
    """The weekly recap's title in the newsletter's language: ``The Daily Digest: the week
    to Sunday, November 29, 2026``, ``Der Tagesüberblick: die Woche bis Sonntag, 29.
    November 2026``."""
    loc = localizer(options.language, options.direction)
    return loc.gettext(
        "%(title)s: the week to %(date)s", title=options.title, date=loc.long_date(day)
    )


def preheader_for(edition: Edition, loc: Localizer | None = None) -> str:
    """The inbox preview line: the stories after the lead."""
    loc = loc or localizer("en")
    stories = edition.stories
    rest = [s.title for s in stories[1:4]]
    if not rest:
        line = loc.ngettext("%(num)s story today.", "%(num)s stories today.", len(stories))
        return _shorten(line, PREHEADER_CHARS)
    titles = join_titles(rest, loc)
    return _shorten(loc.gettext("Also today: %(titles)s", titles=titles), PREHEADER_CHARS)


def join_titles(titles: Iterable[str], loc: Localizer) -> str:
    """Headlines in a row, each separated by the language's semicolon (``؛`` in Urdu and
    Arabic, ``；`` in Chinese, `` ; `` in French): a comma may be inside a headline."""
    # TRANSLATORS: the separator between headlines in a row (the preheader, the feed).
    return loc.gettext("; ").join(titles)


def reading_minutes(edition: Edition) -> int:
    """Minutes to read the edition's titles, points and conclusions at
    ``WORDS_PER_MINUTE``, words counted in any script (``count_words``: a Chinese point
    is not one word)."""
    texts = [s.title for s in edition.stories]
    texts += [h.title for h in edition.more_news]
    for story in edition.stories:
        texts += [p.text for p in story.summary.key_points]
        if story.summary.conclusion is not None:
            texts.append(story.summary.conclusion.text)
    words = sum(count_words(t) for t in texts)
    return max(1, math.ceil(words / WORDS_PER_MINUTE))


# --- the renderer ---------------------------------------------------------------------------

# A block that needs newsletter-scripts.css (edition text cannot write class="...": its
# quotes are escaped).
_SCRIPT_CLASSES = re.compile(r'class="[^"]*\b(?:dir-rtl|script-[a-z]+)\b')

# The shipped defaults of newsletter.tagline and .reason: shown in the newsletter's
# language while they are left as they are (tests/test_i18n.py checks they match).
TRANSLATED_DEFAULTS = frozenset(
    (
        N_("The day's stories in five minutes."),
        N_("You receive this because you subscribed to The Daily Digest."),
    )
)
# The shipped reason, said with the newsletter's own title (a German "Der Tagesüberblick"
# is not "The Daily Digest").
REASON_WITH_TITLE = N_("You receive this because you subscribed to %(title)s.")
_DEFAULT_REASON = NewsletterOptions().reason
# Section names the edition gives itself (no feed category, no topic label): shown in the
# newsletter's language. A feed's own category is shown as the feed wrote it.
TRANSLATED_SECTIONS = frozenset((N_("News"),))


class Renderer:
    """The Jinja2 environment over the templates, and the one premailer run per edition."""

    def __init__(
        self,
        options: NewsletterOptions,
        *,
        base_dir: str | Path = ".",
        timezone: tzinfo | None = None,
    ) -> None:
        self.options = options
        loader: jinja2.BaseLoader = jinja2.PackageLoader("digest", "templates")
        if options.templates:
            override = Path(base_dir, options.templates).expanduser()
            if not override.is_dir():
                raise RenderError(f"newsletter.templates: {override} is not a folder")
            # The user's folder wins file by file; the rest comes from the package.
            loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(override)), loader])
        self.loc = localizer(options.language, options.direction)
        formats = _Formats(self.loc, timezone)
        self.env = jinja2.Environment(
            loader=loader,
            autoescape=jinja2.select_autoescape(
                enabled_extensions=("html", "html.j2", "htm", "xml"),
                default_for_string=True,
                default=False,
            ),
            undefined=jinja2.StrictUndefined,
            finalize=_finalize,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self.env.filters.update(
            safe_url=safe_url,
            wrap=_TextLayout(self.loc.direction).wrap,
            restates=_restates,
            longdate=formats.longdate,
            shortdate=formats.shortdate,
            shortday=formats.shortday,
            number=self.loc.number,
            # An earlier edition's day ("22 Nov 2026") and archive page (related items).
            editionday=self.loc.day_month_year,
        )
        self.env.globals["archive_href"] = self._archive_href
        self.env.globals.update(self._language_globals())

    def _language_globals(self) -> dict[str, Any]:
        """What every template (the mail, the archive's index) knows of the newsletter's
        language: ``_``/``ngettext`` (plain text; autoescaping escapes it like any other
        value), ``nl_lang``/``nl_dir``/``nl_look``, the isolating helpers ``iso`` and
        ``nl_part``, each story's look and picture, and the tagline and footer reason (the
        catalog's translation while they are the shipped defaults)."""
        loc = self.loc
        nl_dir = loc.direction

        def nl_part(text: str, context: Direction) -> Markup:
            return isolate_html(text, context, lang=loc.tag, direction=nl_dir)

        def headline_look(item: Headline) -> StoryLook:
            return look_of(item.language, item.title, nl_dir)

        return {
            "_": loc.gettext,
            "gettext": loc.gettext,
            "ngettext": loc.ngettext,
            "nl_lang": loc.tag,
            "nl_dir": nl_dir,
            "nl_look": look_of(loc.tag, "", nl_dir),
            "iso": isolate_html,
            "nl_part": nl_part,
            "story_look": partial(story_look, newsletter=nl_dir),
            "headline_look": headline_look,
            "story_image": self._story_image,
            "tagline": self.tagline(),
            "reason": self._reason(),
            "section_label": self.section_label,
        }

    def _archive_href(self, edition_id: str) -> str:
        """The archive's page of an edition (``digest.publish.archive.page_name``)."""
        return archive_url(self.options, edition_id)

    def tagline(self) -> str:
        """``newsletter.tagline`` as shown: the catalog's translation of the shipped one."""
        tagline = self.options.tagline
        return self.loc.gettext(tagline) if tagline in TRANSLATED_DEFAULTS else tagline

    def _reason(self) -> str:
        options = self.options
        if options.reason == _DEFAULT_REASON:
            return self.loc.gettext(REASON_WITH_TITLE, title=options.title)
        if options.reason in TRANSLATED_DEFAULTS:
            return self.loc.gettext(options.reason)
        return options.reason

    def section_label(self, name: str) -> str:
        """A section's name as shown: the edition's own default section in the newsletter's
        language, any other (a feed category, a topic label) as it is."""
        return self.loc.gettext(name) if name in TRANSLATED_SECTIONS else name

    def _story_image(self, story: Story) -> ShownImage | None:
        if not self.options.images:
            return None
        return shown_image(story.image, story.title, own_pictures_url(self.options.base_url))

    def _context(self, edition: Edition) -> dict[str, Any]:
        return {
            "edition": edition,
            "nl": self.options,
            "stories": edition.stories,
            "subject": subject_for(edition, self.options),
            "preheader": preheader_for(edition, self.loc),
            "reading_minutes": reading_minutes(edition),
        }

    def _render(self, name: str, context: Mapping[str, Any]) -> str:
        try:
            return self.env.get_template(name).render(context)
        except jinja2.TemplateNotFound as exc:
            raise RenderError(f"template {exc.name!r} not found") from exc
        except jinja2.TemplateSyntaxError as exc:
            raise RenderError(f"{exc.filename or name}:{exc.lineno}: {exc.message}") from exc
        except jinja2.TemplateError as exc:
            raise RenderError(f"template {name}: {exc}") from exc

    def stylesheet(self, name: str = "newsletter.css") -> str:
        try:
            source, _, _ = self.env.loader.get_source(self.env, name)  # type: ignore[union-attr]
        except jinja2.TemplateNotFound as exc:
            raise RenderError(f"template {name!r} not found") from exc
        return source

    def stylesheet_for(self, document: str) -> str:
        """The CSS to inline into ``document``: newsletter.css, and the direction and
        script rules (newsletter-scripts.css) only when a block of it uses them, since
        premailer's time grows with every selector."""
        css = self.stylesheet()
        if _SCRIPT_CLASSES.search(document):
            css += "\n" + self.stylesheet("newsletter-scripts.css")
        return css

    def render(self, edition: Edition) -> RenderedEdition:
        """HTML and text of ``edition`` with per-subscriber slots; premailer runs once.

        An edition whose HTML would pass ``MAX_HTML_BYTES`` is trimmed to fit
        (``digest.publish.trim``: More news, then related stories, then story text) and
        rendered again; ``RenderedEdition.trimmed`` says what was left out.
        """
        edition = clean_edition(edition, _clean)
        rendered, trimmed = fit_edition(
            edition, self._render_once, lambda r: len(r.html.encode("utf-8")), MAX_HTML_BYTES
        )
        check_html(rendered.html, slot_links=SlotMarkers(rendered.slot_nonce).by_name().values())
        if trimmed:
            log.warning(
                "edition %s was over the %s-byte limit; trimmed: %s",
                edition.id,
                f"{MAX_HTML_BYTES:,}",
                "; ".join(trimmed),
            )
            rendered = dataclasses.replace(rendered, trimmed=trimmed)
        return rendered

    def _render_once(self, edition: Edition) -> RenderedEdition:
        markers = SlotMarkers.fresh()
        context = {**self._context(edition), "slot": markers.by_name()}
        raw_html = self._render("newsletter.html.j2", context)
        inlined = inline_css(raw_html, self.stylesheet_for(raw_html))
        refs = _References()
        text = self._render(
            "newsletter.txt.j2",
            {
                **context,
                "cite": refs.cite,
                "join_cited": refs.join_cited,
                "references": refs.references,
                "iso": isolate_text,
                # The mark that starts a line of a right-to-left newsletter, where a line
                # is not wrapped (the greeting, whose slot must not pass through wrap).
                "mark": line_mark("rtl") if self.loc.direction == "rtl" else "",
            },
        )
        log.info(
            "rendered edition %s: %d bytes of HTML, %d of text",
            edition.id,
            len(inlined.encode()),
            len(text.encode()),
        )
        return RenderedEdition(
            edition_id=edition.id,
            subject=context["subject"],
            preheader=context["preheader"],
            html=inlined,
            text=_tidy_text(text),
            slot_nonce=markers.nonce,
        )

    def editor_panel(
        self,
        edition: Edition,
        sentences: Mapping[str, Sequence[str]] | None = None,
        *,
        trimmed: Sequence[str] = (),
        source_alarms: Sequence[str] = (),
        teaser_notes: Mapping[str, str] | None = None,
    ) -> str:
        """The editor-only panel (HTML fragment) for previews; never part of a message.
        ``trimmed``: what the render left out to fit the size limit; ``source_alarms``:
        the sources failing or silent for long, a line each; ``teaser_notes``: why a
        story is only its feed's teaser, by article id."""
        context = {
            **self._context(edition),
            "sentences": sentences or {},
            "trimmed": trimmed,
            "source_alarms": source_alarms,
            "teaser_notes": teaser_notes or {},
        }
        return self._render("_editor_panel.html.j2", context)


def render_edition(
    edition: Edition,
    options: NewsletterOptions,
    *,
    base_dir: str | Path = ".",
    timezone: tzinfo | None = None,
) -> RenderedEdition:
    """Render ``edition`` once (see ``Renderer.render``)."""
    return Renderer(options, base_dir=base_dir, timezone=timezone).render(edition)


def inline_css(document: str, css: str) -> str:
    """Inline ``css`` into ``document`` with one premailer run, offline.

    ``<style data-premailer="ignore">`` blocks (media queries, dark mode) stay as written:
    premailer would otherwise strip their ``!important`` and the mobile rules would lose
    to the inlined styles.
    """
    import premailer  # imported here: it pulls in cssutils, slow to import

    try:
        inliner = premailer.Premailer(
            document,
            css_text=css,
            allow_network=False,
            allow_loading_external_files=False,
            keep_style_tags=False,
            remove_classes=False,
            # CSS widths and heights stay CSS: premailer would copy "height: auto" into a
            # height="auto" attribute and overwrite a picture's real size.
            disable_basic_attributes=["width", "height"],
            disable_validation=True,
            cssutils_logging_level=logging.CRITICAL,
        )
        result: str = inliner.transform(pretty_print=False)
    except Exception as exc:  # premailer raises lxml, cssutils and its own errors
        raise RenderError(f"premailer failed to inline the stylesheet: {exc}") from exc
    if not result.lstrip().lower().startswith("<!doctype"):
        result = "<!DOCTYPE html>\n" + result
    return result


def _tidy_text(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\u00a0", " ")
    lines = [line.rstrip() for line in text.split("\n")]
    tidy = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
    return tidy.strip("\n") + "\n"


# --- the limits every message meets -----------------------------------------------------------

_FORBIDDEN = ("script", "iframe", "frame", "frameset", "form", "input", "button", "textarea",
              "select", "object", "embed", "applet", "base", "link")  # fmt: skip


def check_html(document: str, *, slot_links: Iterable[str] = ()) -> None:
    """``RenderError`` unless the HTML is small enough and carries no active content.

    Limits: under ``MAX_HTML_BYTES``; no script, iframe, form, embedded object or linked
    stylesheet; no ``on*`` handler; every link http(s), mailto or one of ``slot_links``
    (this render's link markers); every image with alt text and an http(s) source.
    """
    slots = frozenset(slot_links)
    size = len(document.encode("utf-8"))
    if size >= MAX_HTML_BYTES:
        raise RenderError(
            f"the newsletter's HTML is {size:,} bytes, over the {MAX_HTML_BYTES:,}-byte limit"
            " (Gmail clips longer messages): lower edition.stories or edition.more_news"
        )
    try:
        tree = lxml.html.document_fromstring(document)
    except (ValueError, lxml.etree.ParserError) as exc:
        raise RenderError(f"the rendered HTML does not parse: {exc}") from exc
    # In-mail anchors ("Also in this edition"): a fragment link whose target is on the page.
    anchors = {str(e.get("id")) for e in tree.iter() if isinstance(e.tag, str) and e.get("id")}
    for element in tree.iter():
        if not isinstance(element.tag, str):
            continue  # comments (the Outlook conditionals) and processing instructions
        tag = element.tag.lower()
        if tag in _FORBIDDEN:
            raise RenderError(f"the rendered HTML contains a <{tag}> element")
        if tag == "meta" and element.get("http-equiv", "").lower() == "refresh":
            raise RenderError("the rendered HTML contains a meta refresh")
        for attr, value in element.attrib.items():
            if attr.lower().startswith("on"):
                raise RenderError(f"the rendered HTML has an event handler ({attr}) on <{tag}>")
            if attr.lower() == "style" and re.search(r"url\s*\(|expression\s*\(", value, re.I):
                raise RenderError(f"the rendered HTML loads a resource from a style on <{tag}>")
        href = element.get("href")
        if href is not None and href.startswith("#"):
            if href[1:] not in anchors:
                raise RenderError(f"the rendered HTML links to a missing anchor {href[:80]!r}")
        elif href is not None and href not in slots and safe_url(href) is None:
            raise RenderError(f"the rendered HTML links to {href[:80]!r} (only http(s) and mailto)")
        if tag == "img":
            src = element.get("src", "")
            if safe_url(src) is None or src.lower().startswith("mailto:"):
                raise RenderError(f"an image's source {src[:80]!r} is not an http(s) URL")
            if element.get("alt") is None:
                # alt="" is allowed: a decorative picture (a story's, its headline below)
                raise RenderError(f"the image {src[:80]!r} has no alt text")
    for style in tree.iter("style"):
        if re.search(r"@import|url\s*\(", style.text or "", re.I):
            raise RenderError("a <style> block imports or loads an external resource")


# --- per-subscriber slots ---------------------------------------------------------------------


class Filled(NamedTuple):
    """One subscriber's HTML and text."""

    html: str
    text: str


@dataclass(frozen=True, slots=True)
class SlotValue:
    html: str
    text: str


MAX_NAME_CHARS = 120


def escape_html(text: str, *, quote: bool = True) -> str:
    """``text`` escaped for HTML (``quote``: for an attribute's value too): the one place
    in digest that escapes by hand, for the slot values filled in after rendering. Every
    page and template escapes through Jinja's autoescaping instead."""
    return html_lib.escape(text, quote=quote)


def _name_suffix(name: str, loc: Localizer) -> SlotValue:
    """``, Ana`` after the greeting, in the newsletter's language (``، Ana`` in Urdu); a
    name written the other way than the newsletter is isolated so that it cannot pull
    the punctuation around it to its side."""
    if not name:
        return SlotValue("", "")
    pattern = loc.gettext(", %(name)s")
    isolated = isolate_text(name, loc.direction)
    escaped = escape_html(name)
    if isolated != name:
        escaped = f'<span dir="auto">{escaped}</span>'
    html = escape_html(pattern, quote=False).replace("%(name)s", escaped)
    return SlotValue(html, pattern.replace("%(name)s", isolated))


def slot_values(
    name: str,
    unsubscribe_url: str,
    browser_url: str,
    preferences_url: str | None = None,
    *,
    language: str = "en",
    direction: str = "auto",
) -> dict[str, SlotValue]:
    """Each slot's value for one subscriber, by slot name, escaped for HTML and clean for
    text, in the newsletter's ``language`` (and ``direction``, ``auto``: the language's).

    ``RenderError`` when a link is not http(s)/mailto (a misconfigured base URL). Without
    a ``preferences_url`` (a preview, the archive: no one's), that link is the
    unsubscribe one.
    """
    clean_name = " ".join(_clean(name).split())[:MAX_NAME_CHARS]
    values = {"name_suffix": _name_suffix(clean_name, localizer(language, direction))}
    links = (
        ("unsubscribe_url", unsubscribe_url),
        ("browser_url", browser_url),
        ("preferences_url", preferences_url or unsubscribe_url),
    )
    for slot, url in links:
        link = safe_url(url)
        if link is None:
            raise RenderError(f"the {slot.replace('_', ' ')} {url[:80]!r} is not http(s) or mailto")
        values[slot] = SlotValue(escape_html(link), link)
    return values


def split_slots(rendered: RenderedEdition, document: str) -> list[str]:
    """``document`` (``rendered``'s HTML or text) cut at its slots: static text at even
    indices, slot names at odd ones."""
    return SlotMarkers(rendered.slot_nonce).split(document)


def _fill(parts: list[str], values: Mapping[str, SlotValue], *, html: bool) -> str:
    return "".join(
        (values[p].html if html else values[p].text) if i % 2 else p for i, p in enumerate(parts)
    )


def personalize(
    rendered: RenderedEdition,
    *,
    name: str,
    unsubscribe_url: str,
    browser_url: str,
    preferences_url: str | None = None,
    language: str = "en",
    direction: str = "auto",
) -> Filled:
    """One subscriber's HTML and text: the slots filled, escaped; no re-rendering."""
    values = slot_values(
        name,
        unsubscribe_url,
        browser_url,
        preferences_url,
        language=language,
        direction=direction,
    )
    return Filled(
        html=_fill(split_slots(rendered, rendered.html), values, html=True),
        text=_fill(split_slots(rendered, rendered.text), values, html=False),
    )
