"""The plain-text article layout (DESIGN.md): category line, repeated headline, lede, short
heading lines, ``  • May 9, 2025: ...`` bullets, trailing promotional lines, ``Related:`` lines.

Nothing here matches particular strings: each part is recognised by its shape.

- the **headline group** is a run of short, title-like lines that resemble one another; the
  line repeated most is the headline, the first variant that differs is the dek;
- a **category** is a very short line before that group;
- a **heading** is a short line without closing punctuation that is followed by text;
- a **promotional line** sits in the tail after the last section's text, has the shape
  ``Name – pitch`` (a few capitalised words, a dash, a short sentence) and shares no word of
  its name with the story;
- ``Related: <title>`` lines become related links wherever they are.

An article that names no date of its own (no front matter ``date``) dates itself: the
first date its lede names ("On May 11, 2025, ..."), else its latest dated timeline event,
taken as noon UTC of that day (``dates.DAY_ONLY``).
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime

from digest.models import Article, Event, Section, count_words
from digest.sources.article import Block, Meta, assemble, build_article, parse_related
from digest.sources.dates import DAY_ONLY, date_in, plausible
from digest.text.rules import BULLET_LINE, casefold_words, mostly_same_words, script_words

__all__ = ["looks_like_layout", "parse_text"]

log = logging.getLogger(__name__)

# A sentence ends so; a headline or heading may still end with "?", "!" or a quote.
_CLOSING = tuple(".,;:…。，；：、،؛۔।")
_HEADING_CLOSING = (*_CLOSING, '"', "”", "’", ")", "」", "）")
# "Gravity Filters – Get clean water ...": 1-5 capitalised words, a dash, a pitch.
_PROMO = re.compile(
    r"^(?P<name>[A-Z0-9][\w'’&+.-]*(?:\s+(?:&|[A-Z0-9][\w'’&+.-]*)){0,4})\s+[–—-]\s+(?P<pitch>\S.*)$"
)
_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "the",
        "of",
        "in",
        "on",
        "for",
        "to",
        "with",
        "at",
        "by",
        "from",
        "as",
        "is",
        "are",
        "be",
        "your",
        "our",
        "you",
        "we",
        "it",
        "its",
    ]
)


def _content_words(text: str) -> set[str]:
    return {w for w in casefold_words(text) if w not in _STOP and len(w) > 2}


def _blocks_of(text: str) -> list[str]:
    """Blank-line separated blocks; bullet and ``Related:`` lines are blocks of their own."""
    blocks: list[str] = []
    current: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            if current:
                blocks.append(" ".join(current))
                current = []
        elif BULLET_LINE.match(raw) or parse_related(line) is not None:
            if current:
                blocks.append(" ".join(current))
                current = []
            blocks.append(raw.rstrip())
        else:
            current.append(line)
    if current:
        blocks.append(" ".join(current))
    return blocks


def _opens_heading(char: str) -> bool:
    """A capital, a digit, or a letter of a script without case (CJK, Arabic, Hindi)."""
    return char.isupper() or char.isdigit() or (char.isalpha() and not char.islower())


def _title_like(block: str) -> bool:
    words = count_words(block)
    return (
        0 < words <= 25
        and len(block) <= 200
        and not block.endswith(_CLOSING)
        and BULLET_LINE.match(block) is None
        and parse_related(block) is None
    )


def _heading_like(block: str) -> bool:
    words = count_words(block)
    return (
        0 < words <= 10
        and len(block) <= 90
        and not block.endswith(_HEADING_CLOSING)
        and _opens_heading(block[0])
        and BULLET_LINE.match(block) is None
        and parse_related(block) is None
    )


def _headline_group(blocks: Sequence[str]) -> tuple[str | None, int, int]:
    """(category, start, end) of the headline group within the first blocks."""
    for start in (0, 1):
        if start >= len(blocks) or not _title_like(blocks[start]):
            continue
        end = start + 1
        while (
            end < len(blocks)
            and _title_like(blocks[end])
            and mostly_same_words(blocks[start], blocks[end], words=script_words)
        ):
            end += 1
        if end - start >= 2:
            category = blocks[0] if start == 1 and len(blocks[0].split()) <= 5 else None
            if start == 1 and category is None:
                continue
            return category, start, end
    # No repeated headline: a short first line before a title-like line is a category.
    if (
        len(blocks) >= 3
        and len(blocks[0].split()) <= 3
        and _title_like(blocks[0])
        and _title_like(blocks[1])
        and len(blocks[1].split()) > len(blocks[0].split())
    ):
        return blocks[0], 1, 2
    if blocks and _title_like(blocks[0]):
        return None, 0, 1
    return None, 0, 0


def _pick_headline(lines: Sequence[str]) -> tuple[str, str | None]:
    """The headline (the line given most often, the first on a tie) and the first variant."""
    if not lines:
        return "", None
    counts = Counter(lines)
    title = max(lines, key=lambda line: (counts[line], -lines.index(line)))
    dek = next((line for line in lines if line != title), None)
    return title, dek


def _is_promo(block: str, story_words: set[str]) -> bool:
    match = _PROMO.match(block)
    if match is None or len(block.split()) > 30:
        return False
    return not (_content_words(match["name"]) & story_words)


def _tail_start(blocks: Sequence[str]) -> int:
    """Where the tail begins: after the first paragraph under the last heading-like line."""
    for i in range(len(blocks) - 2, 0, -1):
        if (
            _heading_like(blocks[i])
            and not _heading_like(blocks[i + 1])
            and not _PROMO.match(blocks[i])
        ):
            return i + 2
    return min(len(blocks), 2)


def _strip_promos(blocks: list[str], story_words: set[str]) -> tuple[list[str], list[str]]:
    """Drop promotional lines from the tail, wherever they sit among ``Related:`` lines."""
    start = _tail_start(blocks)
    kept = blocks[:start]
    dropped: list[str] = []
    for block in blocks[start:]:
        (dropped if _is_promo(block, story_words) else kept).append(block)
    return kept, dropped


def looks_like_layout(text: str) -> bool:
    """Whether plain text follows the layout: a repeated headline near the top."""
    blocks = _blocks_of(text)[:5]
    _, start, end = _headline_group(blocks)
    return end - start >= 2


def parse_text(text: str, meta: Meta, *, default_category: str | None = None) -> Article:
    """Parse one article in the plain-text layout; ``meta`` supplies what the text lacks.

    A title, dek or category in ``meta`` (front matter) wins over the layout's own;
    ``default_category`` (the source's) is used when neither names one.
    """
    blocks = _blocks_of(text)
    category, start, end = _headline_group(blocks)
    title, dek = _pick_headline(blocks[start:end])
    body = blocks[end:]
    story_words = _content_words(" ".join([title, *body[:3]]))
    body, dropped = _strip_promos(body, story_words)
    for line in dropped:
        log.debug("%s: dropped a promotional line: %s", meta.source, line[:80])

    parts: list[Block] = []
    for i, block in enumerate(body):
        bullet = BULLET_LINE.match(block)
        if bullet is not None:
            parts.append(Block("item", bullet["text"]))
        elif (
            i > 0
            and i + 1 < len(body)
            and _heading_like(block)
            and not _heading_like(body[i + 1])
            and parse_related(body[i + 1]) is None
        ):
            parts.append(Block("heading", block))
        else:
            parts.append(Block("paragraph", block))
    sections, events, related = assemble(parts)
    published = meta.published or _own_date(sections, events, meta.source)
    full = Meta(
        source=meta.source,
        title=meta.title or title,
        url=meta.url,
        canonical_url=meta.canonical_url,
        dek=meta.dek or dek,
        category=meta.category or category or default_category,
        author=meta.author,
        published=published,
        language=meta.language,
        related=meta.related,
    )
    return build_article(full, sections, events, related)


def _own_date(sections: Sequence[Section], events: Sequence[Event], source: str) -> datetime | None:
    """The day the article's own text dates it to: its lede's first date, else its latest
    timeline event's (noon UTC), if plausible (``dates.plausible``)."""
    lede = sections[0].paragraphs[0] if sections and sections[0].paragraphs else ""
    day = date_in(lede)
    where = "its lede"
    if day is None:
        days = [e.when for e in events if e.when is not None]
        day, where = (max(days) if days else None), "its timeline"
    if day is None:
        return None
    moment = plausible(datetime.combine(day, DAY_ONLY, tzinfo=UTC), day)
    if moment is not None:
        log.info("%s: no date given; dated %s from %s", source, day.isoformat(), where)
    return moment
