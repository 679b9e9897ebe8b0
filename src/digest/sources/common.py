"""What every reader shares: article identity, dates, decoding, limits and the block assembler.

Each reader turns its input into ``Block`` values (a heading, a paragraph or a list item,
with the link it carries when it carries one) and hands them to ``assemble``, so that
sections, timeline events and ``Related:`` links come out the same whatever the format.
``build_article`` is the one place ids, canonical URLs and content hashes are made.
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from email.utils import parsedate_to_datetime
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import yaml
from charset_normalizer import from_bytes

from digest.errors import SourceError
from digest.models import Article, Event, RelatedLink, Section

__all__ = [
    "MAX_ARTICLE_CHARS",
    "MAX_DOCUMENT_BYTES",
    "Block",
    "Meta",
    "SourceResult",
    "article_id",
    "as_list",
    "assemble",
    "build_article",
    "canonical_url",
    "content_hash",
    "decode_bytes",
    "is_bare_date",
    "parse_datetime",
    "parse_event",
    "split_front_matter",
]

log = logging.getLogger(__name__)

# A file or download larger than this is refused before parsing.
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
# An article whose text is longer than this is skipped (a dump, not an article).
MAX_ARTICLE_CHARS = 300_000


@dataclass(frozen=True, slots=True)
class SourceResult:
    """What reading one source gave: its articles and one line per thing skipped or repaired."""

    articles: tuple[Article, ...] = ()
    warnings: tuple[str, ...] = ()


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


# --- identity -------------------------------------------------------------------------

# Query parameters that track the reader, not the article.
_TRACKING = re.compile(
    r"^(utm_\w*|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|igshid|ref|ref_src|ref_url|"
    r"cmpid|campaign|spm|_ga|_gl|yclid|ocid|at_medium|at_campaign|soc_src|soc_trk)$",
    re.IGNORECASE,
)


def canonical_url(url: str | None) -> str | None:
    """``url`` without tracking parameters and fragment, with a lower-case scheme and host.

    Only http(s) URLs have a canonical form; anything else gives None.
    """
    if not url:
        return None
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if parts.port and not (
        (scheme == "http" and parts.port == 80) or (scheme == "https" and parts.port == 443)
    ):
        host = f"{host}:{parts.port}"
    query = urlencode(
        sorted(
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not _TRACKING.match(k)
        )
    )
    return urlunsplit((scheme, host, parts.path or "/", query, ""))


def _normal(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).split()).casefold()


def content_hash(title: str, sections: Sequence[Section], events: Sequence[Event]) -> str:
    """A hash of what a reader sees: headline, paragraphs and events, whitespace-normalised."""
    digest = hashlib.sha256()
    digest.update(_normal(title).encode())
    for section in sections:
        digest.update(b"\x1eH" + _normal(section.heading or "").encode())
        for paragraph in section.paragraphs:
            digest.update(b"\x1fP" + _normal(paragraph).encode())
    for event in events:
        digest.update(b"\x1fE" + _normal(f"{event.label}: {event.text}").encode())
    return digest.hexdigest()


def article_id(source: str, canonical: str | None, title: str) -> str:
    """Stable id: from the canonical URL when there is one, else from source and headline."""
    key = canonical if canonical else f"{_normal(source)}\n{_normal(title)}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def build_article(
    meta: Meta,
    sections: Sequence[Section],
    events: Sequence[Event] = (),
    related: Sequence[RelatedLink] = (),
) -> Article:
    """The one way readers make an ``Article``: ids, canonical URL and hash filled in.

    Raises ``SourceError`` for an article with no headline and no text, or one above
    ``MAX_ARTICLE_CHARS``; callers turn that into a logged skip.
    """
    title = " ".join(meta.title.split())
    kept = tuple(
        Section(s.heading, tuple(p for p in s.paragraphs if p.strip()))
        for s in sections
        if any(p.strip() for p in s.paragraphs)
    )
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
    dek = meta.dek if meta.dek and _normal(meta.dek) != _normal(title) else None
    seen: set[str] = set()
    links: list[RelatedLink] = []
    for link in (*meta.related, *related):
        key = _normal(link.title)
        if key and key not in seen and key != _normal(title):
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
        language=meta.language or None,
        sections=kept,
        events=tuple(events),
        related=tuple(links),
    )


# --- dates ----------------------------------------------------------------------------

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
_MONTH = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DATE_PATTERNS = (
    re.compile(rf"\b{_MONTH}\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<year>\d{{4}})\b", re.I),
    re.compile(rf"\b(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s+{_MONTH}\s+(?P<year>\d{{4}})\b", re.I),
    re.compile(r"\b(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})\b"),
)


def date_in(label: str) -> date | None:
    """The calendar date a label names (``May 9, 2025``, ``9 May 2025``, ``2025-05-09``)."""
    for pattern in _DATE_PATTERNS:
        match = pattern.search(label)
        if match is None:
            continue
        month = match["month"]
        number = int(month) if month.isdigit() else _MONTHS[month.lower()]
        try:
            return date(int(match["year"]), number, int(match["day"]))
        except ValueError:
            continue
    return None


# The time a date without one is taken at (UTC); see ``parse_datetime``.
DAY_ONLY = time(12)
_ISO_DAY = re.compile(r"^\d{4}-?\d{2}-?\d{2}$")


def is_bare_date(text: str) -> bool:
    """Whether ``text`` is an ISO date with no time (``2026-11-24``)."""
    return _ISO_DAY.match(text.strip()) is not None


def parse_datetime(value: Any) -> datetime | None:
    """A timezone-aware datetime from ISO 8601, RFC 822, a date, or a written date.

    Values without a zone are taken as UTC. A bare date names a day, not an instant: it is
    taken as noon UTC (``DAY_ONLY``), which falls on that same day in every zone from
    UTC-12 to UTC+11, where midnight UTC would be the day before anywhere west of UTC,
    and a 1-day edition window there would miss the article.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, DAY_ONLY)
    else:
        text = str(value).strip()
        moment_or_none = _parse_text_datetime(text)
        if moment_or_none is None:
            return None
        moment = moment_or_none
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _parse_text_datetime(text: str) -> datetime | None:
    iso = text.replace("Z", "+00:00") if text.endswith("Z") else text
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        pass
    else:
        return datetime.combine(moment.date(), DAY_ONLY) if is_bare_date(text) else moment
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        pass
    day = date_in(text)
    return datetime.combine(day, DAY_ONLY) if day is not None else None


# --- events ---------------------------------------------------------------------------

# Labels that name a time without a date ("Upcoming: talks are scheduled ...").
_TIME_WORDS = re.compile(
    r"^(upcoming|today|tonight|tomorrow|yesterday|next (week|month|year)|later|"
    r"earlier|soon|ongoing|this (week|month|year)|(early|mid|late)[ -]\d{4}|"
    r"(early|mid|late|end of) \w+)$",
    re.IGNORECASE,
)
_LABEL = re.compile(r"^(?P<label>[^:]{2,40}):\s+(?P<text>\S.*)$")


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
        or re.search(rf"\b{_MONTH}\b", label, re.I) is not None
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


# --- decoding -------------------------------------------------------------------------


_DECLARED = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*(?P<meta>[\w.:-]+)|<\?xml[^>]+encoding\s*=\s*["'](?P<xml>[\w.:-]+)""",
    re.IGNORECASE,
)


def declared_charset(data: bytes) -> str | None:
    """The charset a document declares in its first bytes (HTML ``<meta>``, XML declaration)."""
    match = _DECLARED.search(data[:4096])
    if match is None:
        return None
    return (match["meta"] or match["xml"]).decode("ascii", errors="replace")


def decode_bytes(data: bytes, declared: str | None = None, *, where: str = "") -> str:
    """Text from bytes: a BOM, else the declared charset (given, or in the document's
    ``<meta>`` or XML declaration), else UTF-8, else charset-normalizer's guess."""
    declared = declared or declared_charset(data)
    for bom, codec in (
        (b"\xef\xbb\xbf", "utf-8"),
        (b"\xff\xfe", "utf-16"),
        (b"\xfe\xff", "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(codec, errors="replace").lstrip("\ufeff")
    if declared:
        try:
            return data.decode(declared)
        except (LookupError, UnicodeDecodeError):
            log.info("%s: not valid %s; guessing the encoding", where or "input", declared)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    results = from_bytes(data)
    best = results.best()
    if best is None:
        raise SourceError(f"{where or 'input'}: cannot tell the text encoding")
    # Single-byte Latin code pages often tie; like browsers, prefer windows-1252 then.
    for match in results:
        if (match.chaos, match.coherence) == (
            best.chaos,
            best.coherence,
        ) and "cp1252" in match.could_be_from_charset:
            return data.decode("cp1252", errors="replace")
    return str(best)


# --- front matter ---------------------------------------------------------------------

_FRONT = re.compile(
    r"\A\ufeff?---[ \t]*\r?\n(?P<yaml>.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S
)


def split_front_matter(text: str, *, where: str = "") -> tuple[Mapping[str, Any], str]:
    """YAML front matter (``---`` ... ``---``) and the text after it."""
    match = _FRONT.match(text)
    if match is None:
        return {}, text
    try:
        data = yaml.safe_load(match["yaml"])
    except yaml.YAMLError as exc:
        raise SourceError(f"{where or 'input'}: front matter is not valid YAML") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SourceError(f"{where or 'input'}: front matter must be a mapping of keys")
    return data, text[match.end() :]


def as_list(value: Any) -> list[Any]:
    """A list field of front matter or JSON as a list: hand-written input gives one item
    bare (``related: Some title``), or a scalar where a list belongs."""
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def meta_from_front_matter(
    data: Mapping[str, Any], *, source: str, category: str | None, language: str | None
) -> Meta:
    """``Meta`` from front matter keys (title, dek, date, source, url, category, author, ...)."""

    def text(*keys: str) -> str | None:
        for key in keys:
            value = data.get(key)
            if value is not None and str(value).strip():
                return str(value).strip()
        return None

    related = tuple(
        RelatedLink(title=str(r.get("title", "")), url=_str_or_none(r.get("url")))
        if isinstance(r, dict)
        else RelatedLink(title=str(r))
        for r in as_list(data.get("related"))
    )
    return Meta(
        source=text("source", "publisher", "site") or source,
        title=text("title", "headline") or "",
        url=text("url", "link"),
        canonical_url=text("canonical_url", "canonical"),
        dek=text("dek", "subtitle", "description"),
        category=text("category", "section") or category,
        author=text("author", "byline"),
        published=parse_datetime(data.get("date") or data.get("published")),
        language=text("language", "lang") or language,
        related=tuple(r for r in related if r.title),
    )
