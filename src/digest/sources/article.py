"""How a reader makes an ``Article``: blocks, the assembler, size limits and ``build_article``.

Each reader turns its input into ``Block`` values (a heading, a paragraph or a list item,
with the link it carries when it carries one) and hands them to ``assemble``, so that
sections, timeline events and ``Related:`` links come out the same whatever the format.
``build_article`` is the one way readers make an article; the id, canonical URL and content
hash come from ``digest.identity``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import urljoin

from digest.errors import SourceError
from digest.identity import article_id, canonical_url, content_hash
from digest.models import Article, Event, LeadImage, RelatedLink, Section
from digest.sources.bounds import (
    MAX_AUTHOR_CHARS,
    MAX_CATEGORY_CHARS,
    MAX_DEK_CHARS,
    MAX_EVENTS,
    MAX_HEADING_CHARS,
    MAX_LANGUAGE_CHARS,
    MAX_RELATED,
    MAX_SOURCE_CHARS,
    MAX_TITLE_CHARS,
    MAX_URL_CHARS,
    clean,
    cut,
    instant_or_none,
    web_url,
)
from digest.sources.dates import MONTH, date_in
from digest.text.clean import repair
from digest.text.language import detect_language, normal_language
from digest.text.rules import identity_form

__all__ = [
    "MAX_ARTICLE_CHARS",
    "MAX_DOCUMENT_BYTES",
    "Block",
    "Meta",
    "SourceResult",
    "assemble",
    "build_article",
    "lead_image",
    "parse_event",
    "parse_related",
]

log = logging.getLogger(__name__)

# A file or download larger than this is refused before parsing.
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
# An article whose text is longer than this is skipped (a dump, not an article).
MAX_ARTICLE_CHARS = 300_000


@dataclass(frozen=True, slots=True)
class SourceResult:
    """What reading one source gave: its articles, one line per thing skipped, the text
    repairs made (by kind: ``entity``, ``mojibake``, ``control``), and the dates read
    without a zone."""

    articles: tuple[Article, ...] = ()
    warnings: tuple[str, ...] = ()
    repairs: Mapping[str, int] = field(default_factory=dict)
    # Dates written without a zone, and the zone they were taken in (sources[].timezone,
    # else the config's timezone).
    zoneless: int = 0
    zone: str | None = None
    # The outlet name a feed's channel title gave its articles (no item nor config named
    # one): the name of the site a fetched page gives (og:site_name) replaces it.
    channel_outlet: str | None = None
    # The source answered 304: nothing changed since the validators it gave last time.
    not_modified: bool = False
    # Teaser pages asked for: URL -> why the entry kept its teaser, or None (read whole).
    teaser_notes: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Block:
    """One block of an article body, whatever format it came from."""

    kind: Literal["heading", "paragraph", "item"]
    text: str
    link: str | None = None  # the href, when the block is (mostly) one link


@dataclass(frozen=True)
class Meta:
    """What a reader knows about an article besides its body."""

    source: str
    title: str = ""
    url: str | None = None
    canonical_url: str | None = None
    dek: str | None = None
    category: str | None = None
    author: str | None = None
    published: datetime | None = None
    language: str | None = None
    related: tuple[RelatedLink, ...] = field(default_factory=tuple)
    image: LeadImage | None = None


def build_article(
    meta: Meta,
    sections: Sequence[Section],
    events: Sequence[Event] = (),
    related: Sequence[RelatedLink] = (),
) -> Article:
    """The one way readers make an ``Article``: ids, canonical URL and hash filled in.

    Raises ``SourceError`` for an article with no headline and no text, or one above
    ``MAX_ARTICLE_CHARS``; callers turn that into a logged skip. Every text field is
    repaired first (``digest.text.clean.repair``: double-escaped entities, mojibake), then
    kept within the bounds of ``bounds.py`` (``_bounded``). The language is the declared
    one, normalised (``pt-BR`` is ``pt-br``), else read from the text.
    """
    meta, sections, events, related = _repaired(meta, sections, events, related)
    meta = _bounded(meta)
    title = meta.title
    kept = tuple(
        Section(
            cut(clean(s.heading), MAX_HEADING_CHARS) or None if s.heading else None,
            tuple(c for p in s.paragraphs if (c := clean(p)).strip()),
        )
        for s in sections
        if any(p.strip() for p in s.paragraphs)
    )
    events = [replace(e, label=clean(e.label), text=clean(e.text)) for e in events[:MAX_EVENTS]]
    related = [
        RelatedLink(cut(clean(r.title), MAX_TITLE_CHARS), web_url(r.url))
        for r in (*meta.related, *related)
    ]
    size = sum(len(p) for s in kept for p in s.paragraphs)
    if size > MAX_ARTICLE_CHARS:
        raise SourceError(
            f"{title[:60]!r}: {size:,} characters of text, over the {MAX_ARTICLE_CHARS:,} limit"
        )
    if not title and not kept and not events:
        raise SourceError("no headline and no text (0 words)")
    if not title:
        first = kept[0].paragraphs[0] if kept else events[0].text
        title = first if len(first) <= 90 else first[:87].rsplit(" ", 1)[0] + "…"
    canonical = canonical_url(meta.canonical_url) or canonical_url(meta.url)
    published = meta.published
    if published is not None and published.tzinfo is None:
        published = published.replace(tzinfo=UTC)
    dek = meta.dek if meta.dek and identity_form(meta.dek) != identity_form(title) else None
    seen: set[str] = set()
    links: list[RelatedLink] = []
    for link in related:
        key = identity_form(link.title)
        if key and key not in seen and key != identity_form(title) and len(links) < MAX_RELATED:
            seen.add(key)
            links.append(link)
    return Article(
        id=article_id(meta.source, canonical, title),
        source=meta.source,
        title=title,
        content_hash=content_hash(title, kept, events),
        url=meta.url,
        canonical_url=canonical,
        dek=dek,
        category=meta.category or None,
        author=meta.author or None,
        published=published,
        language=normal_language(meta.language) or _language_of(title, kept, events),
        sections=kept,
        events=tuple(events),
        related=tuple(links),
        image=meta.image,
    )


def _bounded(meta: Meta) -> Meta:
    """``meta`` with each field cleaned (no control characters) and within its bound: long
    text cut with "…", a URL that is not http(s) or too long dropped, a date that has no
    UTC instant dropped."""

    def bounded(value: str | None, limit: int) -> str | None:
        return (cut(clean(value), limit) or None) if value else None

    return replace(
        meta,
        source=cut(clean(meta.source), MAX_SOURCE_CHARS),
        title=cut(clean(meta.title), MAX_TITLE_CHARS),
        url=web_url(meta.url),
        canonical_url=web_url(meta.canonical_url),
        dek=bounded(meta.dek, MAX_DEK_CHARS),
        category=bounded(meta.category, MAX_CATEGORY_CHARS),
        author=bounded(meta.author, MAX_AUTHOR_CHARS),
        language=bounded(meta.language, MAX_LANGUAGE_CHARS),
        published=instant_or_none(meta.published),
    )


def _language_of(title: str, sections: Sequence[Section], events: Sequence[Event]) -> str | None:
    """The language read from the article's own words (when no source declares one)."""
    parts = [title, *(p for s in sections for p in s.paragraphs), *(e.text for e in events)]
    return detect_language("\n".join(parts)[:4000])


def _repaired(
    meta: Meta,
    sections: Sequence[Section],
    events: Sequence[Event],
    related: Sequence[RelatedLink],
) -> tuple[Meta, list[Section], list[Event], list[RelatedLink]]:
    def fix(text: str | None) -> str | None:
        return None if text is None else repair(text)

    fixed_meta = replace(
        meta,
        title=repair(meta.title),
        dek=fix(meta.dek),
        category=fix(meta.category),
        author=fix(meta.author),
        related=tuple(RelatedLink(repair(r.title), r.url) for r in meta.related),
    )
    fixed_sections = [
        Section(fix(s.heading), tuple(repair(p) for p in s.paragraphs)) for s in sections
    ]
    fixed_events = [Event(repair(e.label), e.when, repair(e.text)) for e in events]
    fixed_related = [RelatedLink(repair(r.title), r.url) for r in related]
    return fixed_meta, fixed_sections, fixed_events, fixed_related


# --- lead images ------------------------------------------------------------------------

# An image URL longer than this is not kept (a data: blob or a tracking monster).
MAX_IMAGE_URL_CHARS = MAX_URL_CHARS
# Pixel sizes outside this range are not believed (a 1x1 tracking pixel, a typo).
_IMAGE_PIXELS = range(16, 20_001)
_MAX_ALT_CHARS = 300


def _pixels(value: object) -> int | None:
    try:
        number = int(str(value).strip().removesuffix("px"))
    except ValueError:
        return None
    return number if number in _IMAGE_PIXELS else None


def lead_image(
    url: object,
    *,
    base: str | None = None,
    width: object = None,
    height: object = None,
    alt: object = "",
) -> LeadImage | None:
    """A ``LeadImage`` from what a source says, or None when it is not one to keep: only an
    absolute http(s) URL (resolved against ``base``) up to ``MAX_IMAGE_URL_CHARS``; a size
    given as 1 to 15 pixels is a tracking pixel, not a picture."""
    if not isinstance(url, str) or not url.strip():
        return None
    absolute = urljoin(base, url.strip()) if base else url.strip()
    if (
        not absolute.lower().startswith(("http://", "https://"))
        or len(absolute) > MAX_IMAGE_URL_CHARS
    ):
        return None
    if any(ch.isspace() or ord(ch) < 32 for ch in absolute):
        return None
    w, h = _pixels(width), _pixels(height)
    for given in (width, height):
        if given not in (None, "") and _pixels(given) is None:
            try:
                if int(str(given).strip().removesuffix("px")) < _IMAGE_PIXELS.start:
                    return None  # a tracking pixel
            except ValueError:
                pass
    text = " ".join(str(alt or "").split())[:_MAX_ALT_CHARS]
    return LeadImage(url=absolute, width=w, height=h, alt=repair(text))


# --- events ---------------------------------------------------------------------------

# Labels that name a time without a date ("Upcoming: talks are scheduled ...").
_TIME_WORDS = re.compile(
    r"^(upcoming|today|tonight|tomorrow|yesterday|next (week|month|year)|later|"
    r"earlier|soon|ongoing|this (week|month|year)|(early|mid|late)[ -]\d{4}|"
    r"(early|mid|late|end of) \w+)$",
    re.IGNORECASE,
)
# "May 9, 2025: ..." and, in CJK text, "2025年5月9日：..." (a fullwidth colon needs no space).
_LABEL = re.compile(r"^(?P<label>[^:：]{2,40})(?::\s+|：\s*)(?P<text>\S.*)$")


def parse_event(line: str) -> Event | None:
    """A timeline line (``May 9, 2025: Russia enforces ...``) as an ``Event``, else None."""
    match = _LABEL.match(line.strip())
    if match is None:
        return None
    label, text = match["label"].strip(), match["text"].strip()
    if len(label.split()) > 6:
        return None
    when = date_in(label)
    named_time = (
        when is not None
        or _TIME_WORDS.match(label) is not None
        or re.search(rf"\b{MONTH}\b", label, re.I) is not None
        or re.fullmatch(r"(in |by |from )?\d{4}s?( onward)?", label, re.I) is not None
    )
    return Event(label=label, when=when, text=text) if named_time else None


# --- related lines --------------------------------------------------------------------

_RELATED = re.compile(r"^(related|see also|read more|also read)\s*:\s*(?P<rest>\S.*)$", re.I)
_URL_IN_TEXT = re.compile(r"\s*[(<\[]?(?P<url>https?://[^\s)>\]]+)[)>\]]?\s*$")


def parse_related(text: str, link: str | None = None) -> RelatedLink | None:
    """A ``Related: <title>`` line (optionally with a URL after the title), else None."""
    match = _RELATED.match(text.strip())
    if match is None:
        return None
    rest = match["rest"].strip()
    url = link
    found = _URL_IN_TEXT.search(rest)
    if found is not None:
        url = url or found["url"]
        rest = rest[: found.start()].rstrip(" –—-|")
    return RelatedLink(title=rest, url=url) if rest else None


# --- the assembler --------------------------------------------------------------------


def assemble(
    blocks: Iterable[Block],
) -> tuple[tuple[Section, ...], tuple[Event, ...], tuple[RelatedLink, ...]]:
    """Sections (the lede is the first, without a heading), events and related links."""
    sections: list[Section] = []
    heading: str | None = None
    paragraphs: list[str] = []
    events: list[Event] = []
    related: list[RelatedLink] = []

    def close() -> None:
        if paragraphs or heading is not None:
            sections.append(Section(heading, tuple(paragraphs)))

    for block in blocks:
        text = " ".join(block.text.split())
        if not text:
            continue
        if block.kind == "heading":
            close()
            heading, paragraphs = text, []
            continue
        link = parse_related(text, block.link)
        if link is not None:
            related.append(link)
            continue
        event = parse_event(text) if block.kind == "item" else None
        if event is not None:
            events.append(event)
        else:
            paragraphs.append(text)
    close()
    return tuple(s for s in sections if s.paragraphs), tuple(events), tuple(related)
