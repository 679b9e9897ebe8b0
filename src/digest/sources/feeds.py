"""RSS 0.9x/1.0/2.0 and Atom feeds, through feedparser.

feedparser copes with declared and undeclared encodings and with many broken feeds; what
it reports as broken becomes one warning line (and the entries it recovered), or, when
nothing could be recovered, one ``SourceError`` line. Entry HTML becomes clean paragraphs;
relative links are resolved against the feed's own address; podcast and video entries
take their text from the episode notes or ``media:description``.
"""

from __future__ import annotations

import calendar
import logging
import time
import xml.parsers.expat
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import feedparser

from digest.errors import SourceError
from digest.models import Article, Section
from digest.sources.article import Block, Meta, SourceResult, assemble, build_article
from digest.sources.bounds import MAX_FEED_ITEMS, MAX_NESTING, describe
from digest.sources.dates import is_bare_date, parse_datetime
from digest.sources.markup import html_blocks, looks_like_html, parse_fragment

__all__ = ["looks_like_feed", "parse_feed"]

log = logging.getLogger(__name__)


def looks_like_feed(head: str) -> bool:
    """Whether the start of a document is an RSS, RDF or Atom feed."""
    sample = head[:2000].lower()
    return any(tag in sample for tag in ("<rss", "<rdf:rdf", "<feed", "<channel"))


def _one_line(exc: object) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "…"


def _moment(entry: Mapping[str, Any]) -> datetime | None:
    for key in ("published", "updated", "created"):
        parsed = entry.get(f"{key}_parsed")
        raw = entry.get(key)
        # feedparser reads a bare date as midnight; every reader takes it as noon UTC.
        bare = isinstance(raw, str) and is_bare_date(raw)
        if isinstance(parsed, time.struct_time) and not bare:
            return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
        if raw:
            moment = parse_datetime(raw)
            if moment is not None:
                return moment
    return None


def _plain(text: str) -> str:
    if "<" in text and looks_like_html(text):
        root = parse_fragment(text)
        return " ".join(root.text_content().split()) if root is not None else ""
    return " ".join(text.split())


def _blocks(value: str, mime: str | None) -> list[Block]:
    if mime in ("text/plain",) or not looks_like_html(value):
        return [Block("paragraph", p) for p in value.split("\n\n") if p.strip()]
    return html_blocks(value)


def _body_candidates(entry: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    found: list[tuple[str, str | None]] = []
    for content in entry.get("content") or ():
        value = content.get("value")
        if value:
            found.append((value, content.get("type")))
    summary = entry.get("summary")
    if summary:
        detail = entry.get("summary_detail") or {}
        found.append((summary, detail.get("type")))
    # YouTube and other Media RSS entries keep their text in media:description.
    media = entry.get("media_description")
    if media:
        found.append((media, "text/plain"))
    return found


def _entry_link(entry: Mapping[str, Any], base: str | None) -> str | None:
    link = entry.get("link")
    if not link:
        for candidate in entry.get("links") or ():
            if candidate.get("rel") in ("alternate", None) and candidate.get("href"):
                link = candidate["href"]
                break
    if not link:
        guid = entry.get("id")
        if isinstance(guid, str) and guid.startswith(("http://", "https://")):
            link = guid
    if not link:
        # A podcast episode without a page: its enclosure is the best link it has.
        for enclosure in entry.get("enclosures") or ():
            if enclosure.get("href"):
                link = enclosure["href"]
                break
    if link and base:
        link = urljoin(base, link)
    return link or None


def _absolute(url: object) -> str | None:
    if isinstance(url, str) and url.startswith(("http://", "https://")):
        return url
    return None


def _feed_base(feed: Mapping[str, Any], location: str) -> str | None:
    """The address relative links resolve against: the feed's home page, made absolute
    with the feed's own URL (where it was fetched, its ``rel="self"`` link or its id)."""
    own = (
        _absolute(location)
        or next(
            (
                link["href"]
                for link in feed.get("links") or ()
                if link.get("rel") == "self" and _absolute(link.get("href"))
            ),
            None,
        )
        or _absolute(feed.get("id"))
    )
    home = feed.get("link")
    if home and own:
        return urljoin(own, str(home))
    return _absolute(home) or own


def _entry_article(
    entry: Mapping[str, Any],
    *,
    outlet: str,
    base: str | None,
    category: str | None,
    language: str | None,
) -> Article:
    candidates = _body_candidates(entry)
    bodies = [(_blocks(value, mime), value) for value, mime in candidates]
    blocks: list[Block] = []
    if bodies:
        blocks = max(bodies, key=lambda b: sum(len(x.text) for x in b[0]))[0]
    sections, events, related = assemble(blocks)
    body_text = " ".join(p for s in sections for p in s.paragraphs)
    dek = None
    summary = entry.get("summary")
    if summary and entry.get("content"):
        teaser = _plain(summary)
        if teaser and len(teaser) <= 300 and not body_text.startswith(teaser[:60]):
            dek = teaser
    tags = entry.get("tags") or ()
    terms = [t.get("term") for t in tags if t.get("term")]
    meta = Meta(
        source=outlet,
        title=_plain(entry.get("title") or ""),
        url=_entry_link(entry, base),
        dek=dek,
        category=(terms[0] if terms else None) or category,
        author=entry.get("author") or None,
        published=_moment(entry),
        language=language,
    )
    return build_article(meta, sections or (Section(None, ()),), events, related)


class _TooDeep(Exception):
    pass


def _nested_deeper_than(data: bytes, limit: int) -> bool:
    """Whether the XML elements of ``data`` nest deeper than ``limit``: one pass of expat
    that stops at the first element past it. feedparser would take minutes and gigabytes
    over a 10 MiB document nested a million deep. A document expat cannot parse is left
    to feedparser, which recovers what it can of broken feeds."""
    parser = xml.parsers.expat.ParserCreate()
    depth = 0

    def start(name: str, attributes: object) -> None:
        nonlocal depth
        depth += 1
        if depth > limit:
            raise _TooDeep

    def end(name: str) -> None:
        nonlocal depth
        depth -= 1

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(data, True)
    except _TooDeep:
        return True
    except (xml.parsers.expat.ExpatError, ValueError):
        return False
    return False


def parse_feed(
    data: bytes,
    *,
    location: str,
    source: str,
    category: str | None = None,
    language: str | None = None,
    content_type: str | None = None,
) -> SourceResult:
    """The articles of one feed document. Raises ``SourceError`` only when nothing is usable."""
    headers = {"content-location": location} if location.startswith(("http://", "https://")) else {}
    if content_type:
        headers["content-type"] = content_type
    if _nested_deeper_than(data, MAX_NESTING):
        raise SourceError(
            f"XML nested more than {MAX_NESTING} deep", location=location, reader="feed"
        )
    try:
        parsed = feedparser.parse(data, response_headers=headers)
    except Exception as exc:  # feedparser is meant not to raise; if it does, say where
        raise SourceError(
            f"feed parser failed ({_one_line(exc)})", location=location, reader="feed"
        ) from exc
    entries = list(parsed.entries)
    feed = parsed.feed
    warnings: list[str] = []
    if parsed.bozo:
        reason = _one_line(parsed.get("bozo_exception", "malformed feed"))
        if not entries:
            head = data[:4000].lower()
            kind = (
                "an HTML page" if any(t in head for t in (b"<html", b"<head", b"<body")) else None
            )
            detail = f"{kind}; {reason}" if kind else reason
            raise SourceError(
                f"not an RSS or Atom feed ({detail})", location=location, reader="feed"
            )
        if not isinstance(parsed.get("bozo_exception"), feedparser.CharacterEncodingOverride):
            warnings.append(
                f"{location}: feed is not well-formed ({reason});"
                f" recovered {len(entries)} {'entry' if len(entries) == 1 else 'entries'}"
            )
    elif not entries and not parsed.get("version"):
        raise SourceError("not an RSS or Atom feed", location=location, reader="feed")
    outlet = " ".join(str(feed.get("title") or "").split()) or source
    base = _feed_base(feed, location)
    lang = language or feed.get("language") or None
    if len(entries) > MAX_FEED_ITEMS:
        warnings.append(
            f"{location}: read the first {MAX_FEED_ITEMS:,} of {len(entries):,} entries"
            " (the limit of one feed)"
        )
        entries = entries[:MAX_FEED_ITEMS]
    articles: list[Article] = []
    for index, entry in enumerate(entries):
        try:
            articles.append(
                _entry_article(entry, outlet=outlet, base=base, category=category, language=lang)
            )
        except Exception as exc:  # one entry: a warning, whatever it held
            log.debug("%s: entry %d: unexpected error", location, index + 1, exc_info=True)
            warnings.append(f"{location}: entry {index + 1} skipped: {describe(exc)}")
    return SourceResult(tuple(articles), tuple(warnings))
