"""RSS 0.9x/1.0/2.0 and Atom feeds, through feedparser.

feedparser copes with declared and undeclared encodings and with many broken feeds; what
it reports as broken becomes one warning line (and the entries it recovered), or, when
nothing could be recovered, one ``SourceError`` line. Entry HTML becomes clean paragraphs;
relative links are resolved against the feed's own address; podcast and video entries
take their text from the episode notes or ``media:description``.

Raw entry fields are repaired (``digest.text.clean.repair``) before their HTML is parsed,
while a no-break space that mojibake turned into ``Â`` is still there to tell. The link is
the original one where the feed names it (``feedburner:origLink`` and the like) rather
than a tracking redirect. An entry's language is its own ``xml:lang``, else the feed's
``<language>``/``xml:lang``, else read from its text. Its lead image is chosen among the
pictures of ``media:content``, ``media:thumbnail``, an image enclosure, ``itunes:image``
and its HTML: never a feed service's advert or counter (FeedBurner's ``~ff``) nor one
declared under 80 px; https before http, then in that order, then the largest declared.

The outlet an entry names (``Article.source``): the entry's own ``<source>`` when it has
one; else the source's configured ``outlet``; else the feed's title made a name
(``feed_outlet``): some feeds put more than their name there (BBC Urdu's reads "BBC News
اردو - " and then its lead story's headline), which would become every story's outlet.
"""

from __future__ import annotations

import calendar
import logging
import re
import time
import unicodedata
import xml.parsers.expat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, tzinfo
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser

from digest.errors import SourceError
from digest.models import Article, LeadImage, Section, count_words
from digest.sources.article import (
    Block,
    Meta,
    SourceResult,
    assemble,
    build_article,
    lead_image,
)
from digest.sources.bounds import MAX_FEED_ITEMS, MAX_NESTING, describe
from digest.sources.dates import is_bare_date, parse_datetime, plausible, zoneless_time
from digest.sources.markup import (
    html_blocks,
    looks_like_html,
    parse_fragment,
)
from digest.text.clean import counting_repairs, repair
from digest.text.language import normal_language
from digest.text.rules import title_key
from digest.text.sponsored import is_sponsored

__all__ = [
    "MAX_FEED_OUTLET_CHARS",
    "OUTLET_NAME_WORDS",
    "feed_outlet",
    "looks_like_feed",
    "parse_feed",
]

log = logging.getLogger(__name__)


def looks_like_feed(head: str) -> bool:
    """Whether the start of a document is an RSS, RDF or Atom feed."""
    sample = head[:2000].lower()
    return any(tag in sample for tag in ("<rss", "<rdf:rdf", "<feed", "<channel"))


# The longest outlet name taken from a feed (its title or an entry's <source>): a name,
# not a sentence; a longer one is cut at a word, with "…".
MAX_FEED_OUTLET_CHARS = 60
# A part of a feed title of more words than this, or of more than _OUTLET_NAME_CHARS
# characters, is no name: a headline or a description.
OUTLET_NAME_WORDS = 4
_OUTLET_NAME_CHARS = 40
# What feeds put between their name and the rest of their title.
_TITLE_SEPARATOR = re.compile(r"\s+(?:-|–|—|\||·|::|>|»)\s+")
# Host labels that say nothing of a site's name (bbc.co.uk is "bbc").
_HOST_NOISE = frozenset({"www", "m", "feeds", "feed", "rss", "co", "com", "org", "net", "ac"})


def _cut_name(text: str, limit: int = MAX_FEED_OUTLET_CHARS) -> str:
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    space = head.rfind(" ")
    return (head[:space] if space > limit // 2 else head).rstrip(" -–—|·:,") + "…"


def _site_key(home: str | None) -> str:
    """The name part of a site's host, letters and digits only: ``theverge`` of
    https://www.theverge.com/, ``bbc`` of bbc.co.uk."""
    try:
        host = urlsplit(home).hostname if home else None
    except ValueError:
        return ""
    if not host:
        return ""
    labels = host.split(".")[:-1]  # the top-level domain says nothing
    return "".join(label for label in labels if label not in _HOST_NOISE)


def _names_site(part: str, site: str) -> bool:
    # Accents off first: "Público" names publico.pt.
    plain = unicodedata.normalize("NFKD", part.casefold())
    key = "".join(ch for ch in plain if ch.isascii() and ch.isalnum())
    if not key or not site:
        return False
    # "The Indian Express" names indianexpress.com; "The Guardian" theguardian.com.
    keys = {key, key.removeprefix("the")} - {""}
    return site in keys or any(
        min(len(k), len(site)) >= 5 and (k.startswith(site) or site.startswith(k)) for k in keys
    )


# The parts of channel titles that name a page or a section of the site, never the site:
# "World – The Indian Express", "bbcchinese.com | 主页", "Startseite - Tagesspiegel".
_SECTION_LABELS = frozenset(
    label.strip()
    for line in (
        "home, homepage, home page, front page, frontpage, top stories, top news, latest",
        "latest news, news, world, world news, breaking news, headlines, main, index, rss",
        "rss feed, feed",
        "startseite, nachrichten, aktuell, schlagzeilen, welt",
        "página inicial, pagina inicial, capa, início, inicio, notícias, noticias, últimas",
        "últimas notícias, ultimas noticias, mundo, portada, accueil, à la une, actualités",
        "главная, новости",
        "主页, 首页, 首頁, 主頁, 新闻, 新聞, 要闻, 要聞, 国际, 國際, 最新",
        "الرئيسية, الصفحة الرئيسية, أخبار, آخر الأخبار, العالم",
        "صفحہ اول, سرورق, خبریں, تازہ ترین",
    )
    for label in line.split(",")
)


def _is_section_label(part: str) -> bool:
    return " ".join(part.casefold().split()) in _SECTION_LABELS


def _is_name(part: str) -> bool:
    return count_words(part) <= OUTLET_NAME_WORDS and len(part) <= _OUTLET_NAME_CHARS


def feed_outlet(
    title: str, *, home: str | None = None, item_titles: Iterable[str] = (), fallback: str = ""
) -> str:
    """A feed's title made an outlet's name.

    Where the title has parts (split at `` - ``, `` – ``, `` | ``, `` · `` ...): the part
    that names the feed's site (``home``'s host: "The Verge" of "The Verge - Front Pages"
    at theverge.com, "The Indian Express" at indianexpress.com), else the one part that
    is not a page or section label ("World", "主页", "Startseite"), else the first part
    when what follows is no name (more than ``OUTLET_NAME_WORDS`` words) or is one of the
    feed's headlines (``item_titles``), else the whole title; at most
    ``MAX_FEED_OUTLET_CHARS``; ``fallback`` when it is empty."""
    text = " ".join(title.split())
    parts = [p.strip() for p in _TITLE_SEPARATOR.split(text) if p.strip()]
    if len(parts) > 1:
        site = _site_key(home)
        named = [p for p in parts if _names_site(p, site)]
        kept = [p for p in parts if not _is_section_label(p)]
        if named:
            text = named[0]
        elif len(kept) == 1:
            text = kept[0]
        else:
            headlines = {title_key(t) for t in item_titles} - {""}
            rest = parts[1:]
            if not all(_is_name(p) for p in rest) or any(title_key(p) in headlines for p in rest):
                text = parts[0]
    return _cut_name(text) if text else fallback


def _entry_outlet(entry: Mapping[str, Any]) -> str | None:
    """The outlet an entry names itself (RSS ``<source>``, Atom ``<source><title>``)."""
    own = entry.get("source")
    if not isinstance(own, Mapping) or not isinstance(own.get("title"), str):
        return None
    home = own.get("href") or own.get("link")
    name = feed_outlet(_plain(repair(own["title"])), home=home if isinstance(home, str) else None)
    return name or None


def _one_line(exc: object) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "…"


def _moment(
    entry: Mapping[str, Any], language: str | None, zone: tzinfo
) -> tuple[datetime | None, bool]:
    """The entry's publication time, if it names a plausible one (``dates.plausible``),
    and whether it was written without a zone (then taken in ``zone``: feedparser would
    take it as UTC); a date feedparser cannot read (``Seg, 24 Set 2018``) is read in the
    feed's language."""
    languages = (language,) if language else ()
    for key in ("published", "updated", "created"):
        parsed = entry.get(f"{key}_parsed")
        raw = entry.get(key)
        local = zoneless_time(raw)
        if local is not None:
            moment = plausible(local.replace(tzinfo=zone).astimezone(UTC), raw)
            if moment is not None:
                return moment, True
            continue
        # feedparser reads a bare date as midnight; every reader takes it as noon UTC.
        bare = isinstance(raw, str) and is_bare_date(raw)
        if isinstance(parsed, time.struct_time) and not bare:
            try:
                moment = datetime.fromtimestamp(calendar.timegm(parsed), UTC)
            except (OverflowError, ValueError, OSError):
                moment = None  # year 0 or 9999: feedparser's tuple is not a real time
            if moment is not None and plausible(moment, raw) is not None:
                return moment, False
            continue
        if raw:
            moment = parse_datetime(raw, languages=languages)
            if moment is not None:
                return moment, False
    return None, False


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


# Fields in which feed services keep the article's own address when ``<link>`` is their
# tracking redirect (feedparser's names for ``feedburner:origLink`` and its kin).
_ORIGINAL_LINK_KEYS = ("feedburner_origlink", "pheedo_origlink", "atom_origlink", "origlink")


def _original_link(entry: Mapping[str, Any]) -> str | None:
    for key in _ORIGINAL_LINK_KEYS:
        value = entry.get(key)
        if isinstance(value, str) and value.strip().lower().startswith(("http://", "https://")):
            return value.strip()
    return None


def _entry_link(entry: Mapping[str, Any], base: str | None) -> str | None:
    link = _original_link(entry) or entry.get("link")
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


_IMAGE_MEDIUM = ("image",)
_IMAGE_FILE = re.compile(r"\.(?:jpe?g|png|gif|webp|avif)(?:[?#].*)?$", re.IGNORECASE)


def _is_image(item: Mapping[str, Any]) -> bool:
    kind = str(item.get("type") or "").lower()
    medium = str(item.get("medium") or "").lower()
    return kind.startswith("image/") or medium in _IMAGE_MEDIUM


# Pictures that feed services put in items which are adverts or counters, never the
# story's: FeedBurner's "~ff" flare and "~a" ad images, ad servers, counting pixels.
_AD_IMAGE = re.compile(
    r"(?:feeds\.feedburner\.com|feedproxy\.google\.com)/~(?:ff|a|r)/"
    r"|doubleclick\.net/|feedads\.|pixel\.wp\.com/|stats\.wordpress\.com/|/~/i/",
    re.IGNORECASE,
)
# Declared smaller than this either way: an icon or a tracking pixel, not a lead picture.
_MIN_PICTURE_PX = 80
_MAX_PICTURE_CANDIDATES = 64


def _suitable(image: LeadImage) -> bool:
    if _AD_IMAGE.search(image.url):
        return False
    return all(side is None or side >= _MIN_PICTURE_PX for side in (image.width, image.height))


def _entry_image(
    entry: Mapping[str, Any], bodies: list[tuple[str, str | None]], base: str | None
) -> LeadImage | None:
    """The entry's lead picture (see the module docstring), or None: of the pictures it
    names that are no advert nor pixel, an https one before an http one (the same picture
    is often named both ways), then media:content before a thumbnail, an enclosure,
    ``itunes:image`` and the pictures of its HTML, then the largest declared."""
    described = entry.get("media_description")
    alt = described if isinstance(described, str) else ""
    found: list[tuple[int, Any, Any, Any, str]] = []
    for item in entry.get("media_content") or ():
        # media:content that names neither type nor medium is a picture when its file is.
        untyped = not item.get("type") and not item.get("medium")
        if _is_image(item) or (untyped and _IMAGE_FILE.search(str(item.get("url") or ""))):
            found.append((0, item.get("url"), item.get("width"), item.get("height"), alt))
    for item in entry.get("media_thumbnail") or ():
        found.append((1, item.get("url"), item.get("width"), item.get("height"), alt))
    for item in entry.get("enclosures") or ():
        if _is_image(item):
            found.append((2, item.get("href"), None, None, alt))
    itunes = entry.get("image")
    if isinstance(itunes, Mapping):
        found.append((3, itunes.get("href"), None, None, alt))
    for value, mime in bodies:
        if mime == "text/plain" or not looks_like_html(value):
            continue
        root = parse_fragment(value)
        for img in root.iter("img") if root is not None else ():
            found.append((4, img.get("src"), img.get("width"), img.get("height"), img.get("alt")))
    ranked: list[tuple[bool, int, int, int, LeadImage]] = []
    # A hostile entry may name thousands of pictures: the first few are the candidates.
    for order, (group, url, width, height, text) in enumerate(found[:_MAX_PICTURE_CANDIDATES]):
        image = lead_image(url, base=base, width=width, height=height, alt=(text or "")[:300])
        if image is None or not _suitable(image):
            continue
        area = (image.width or 0) * (image.height or 0)
        ranked.append((not image.url.startswith("https://"), group, -area, order, image))
    if not ranked:
        return None
    return min(ranked, key=lambda r: r[:4])[4]


def _entry_language(entry: Mapping[str, Any]) -> str | None:
    """The entry's own ``xml:lang`` (on its title or content), if it has one."""
    details = [entry.get("title_detail"), *(entry.get("content") or ())]
    for detail in details:
        if isinstance(detail, Mapping):
            code = normal_language(detail.get("language"))
            if code:
                return code
    return None


def _entry_article(
    entry: Mapping[str, Any],
    *,
    outlet: str,
    base: str | None,
    category: str | None,
    language: str | None,
    cut: bool = False,
    zone: tzinfo = UTC,
) -> tuple[Article, bool]:
    """The entry's article, and whether its date was written without a zone."""
    candidates = [(repair(value), mime) for value, mime in _body_candidates(entry)]
    bodies = [(_blocks(value, mime), value) for value, mime in candidates]
    blocks: list[Block] = []
    if bodies:
        blocks = max(bodies, key=lambda b: sum(len(x.text) for x in b[0]))[0]
    if cut and blocks:
        # The feed cut this description at its fixed length: say so where it was cut, so
        # that its last sentence is never taken for a whole one.
        last = blocks[-1]
        if not _CUT_END.search(last.text):
            blocks = [*blocks[:-1], replace(last, text=last.text.rstrip() + "…")]
    sections, events, related = assemble(blocks)
    body_text = " ".join(p for s in sections for p in s.paragraphs)
    dek = None
    summary = entry.get("summary")
    if summary and entry.get("content"):
        teaser = _plain(repair(summary))
        if teaser and len(teaser) <= 300 and not body_text.startswith(teaser[:60]):
            dek = teaser
    tags = entry.get("tags") or ()
    terms = [t.get("term") for t in tags if t.get("term")]
    # A feed that marks its adverts by one of several categories ("IT", "Anzeige"): that
    # one is the item's category, so that the edition recognises the advert.
    marked = [t for t in terms if isinstance(t, str) and is_sponsored("", t)]
    terms = marked[:1] + terms
    author = entry.get("author")
    published, zoneless = _moment(entry, _entry_language(entry) or language, zone)
    meta = Meta(
        source=_entry_outlet(entry) or outlet,
        title=_plain(repair(str(entry.get("title") or ""))),
        url=_entry_link(entry, base),
        dek=dek,
        category=(terms[0] if terms else None) or category,
        author=_plain(repair(author)) if isinstance(author, str) and author.strip() else None,
        published=published,
        language=_entry_language(entry) or language,
        image=_entry_image(entry, candidates, base),
    )
    return build_article(meta, sections or (Section(None, ()),), events, related), zoneless


_CUT_END = re.compile(r"(?:\.{3}|…|\[(?:…|\.{3}|\+)\])\s*$")
# A feed cuts its descriptions at a fixed length when at least this many of them, and this
# share of those without full content, have exactly the longest length.
_CUT_MIN_ENTRIES = 3
_CUT_MIN_SHARE = 0.3


def _description_length(entry: Mapping[str, Any]) -> int | None:
    """The length of an entry's description as plain text, when it is all it has."""
    if entry.get("content"):
        return None
    summary = entry.get("summary")
    return len(_plain(repair(summary))) if isinstance(summary, str) and summary else None


def _cut_entries(entries: Sequence[Mapping[str, Any]]) -> list[bool]:
    """For each entry, whether the feed cut its description at a fixed length (QQ's are
    cut near 200 characters): several descriptions share that exact longest length. The
    descriptions are measured once, their repairs left out of the feed's tally (the
    entries' own reading counts them)."""
    with counting_repairs():
        measured = [_description_length(entry) for entry in entries]
    lengths = [n for n in measured if n]
    if len(lengths) < _CUT_MIN_ENTRIES:
        return [False] * len(entries)
    longest = max(lengths)
    same = sum(1 for n in lengths if n == longest)
    if same < _CUT_MIN_ENTRIES or same < _CUT_MIN_SHARE * len(lengths):
        return [False] * len(entries)
    return [n == longest for n in measured]


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
    outlet: str | None = None,
    zone: tzinfo = UTC,
) -> SourceResult:
    """The articles of one feed document. Raises ``SourceError`` only when nothing is usable.

    ``source`` names the articles when neither ``outlet`` (the source's configured one) nor
    the feed's title does (see the module docstring). A date written without a zone
    (QQ's are Beijing time) is taken in ``zone``; the result counts them (``zoneless``)."""
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
    home = feed.get("link")
    # The channel's name stands in for an outlet only when none is configured; a page's
    # og:site_name then says it better (``SourceResult.channel_outlet``).
    channel = None
    if not outlet:
        outlet = channel = feed_outlet(
            _plain(repair(str(feed.get("title") or ""))),
            home=home if isinstance(home, str) else None,
            item_titles=[_plain(str(e.get("title") or "")) for e in entries[:MAX_FEED_ITEMS]],
            fallback=source,
        )
    base = _feed_base(feed, location)
    lang = normal_language(language) or normal_language(feed.get("language"))
    if len(entries) > MAX_FEED_ITEMS:
        warnings.append(
            f"{location}: read the first {MAX_FEED_ITEMS:,} of {len(entries):,} entries"
            " (the limit of one feed)"
        )
        entries = entries[:MAX_FEED_ITEMS]
    articles: list[Article] = []
    zoneless = 0
    cut = _cut_entries(entries)
    for index, entry in enumerate(entries):
        try:
            article, unzoned = _entry_article(
                entry,
                outlet=outlet,
                base=base,
                category=category,
                language=lang,
                cut=cut[index],
                zone=zone,
            )
        except Exception as exc:  # one entry: a warning, whatever it held
            log.debug("%s: entry %d: unexpected error", location, index + 1, exc_info=True)
            warnings.append(f"{location}: entry {index + 1} skipped: {describe(exc)}")
            continue
        articles.append(article)
        zoneless += unzoned
    return SourceResult(
        tuple(articles),
        tuple(warnings),
        zoneless=zoneless,
        zone=str(zone) if zoneless else None,
        channel_outlet=channel,
    )
