"""Every bound on what a source controls, named, and the helpers that apply them to text.

A feed, page or file decides how big, deep, long and many its parts are; digest decides
how much of that it reads. What goes past a bound is cut (a title, with "…"), dropped with a
warning (entries past ``MAX_FEED_ITEMS``), or refused with one line (a download past
``MAX_DOCUMENT_BYTES``, JSON nested past ``MAX_NESTING``). The byte and article-size limits
live in ``article.py`` (``MAX_DOCUMENT_BYTES``, ``MAX_ARTICLE_CHARS``), the download time
in the source's ``fetch_timeout``, and YAML's in ``digest.config`` (``MAX_YAML_DEPTH``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from digest.errors import DigestError

__all__ = [
    "MAX_AUTHOR_CHARS",
    "MAX_CATEGORY_CHARS",
    "MAX_DEK_CHARS",
    "MAX_EVENTS",
    "MAX_FEED_ITEMS",
    "MAX_FOLDER_FILES",
    "MAX_FRONT_MATTER_CHARS",
    "MAX_HEADING_CHARS",
    "MAX_JSON_ITEMS",
    "MAX_LANGUAGE_CHARS",
    "MAX_NESTING",
    "MAX_PAGE_FETCHES",
    "MAX_PAGE_TEXT_CHARS",
    "MAX_REDIRECTS",
    "MAX_RELATED",
    "MAX_SOURCE_CHARS",
    "MAX_TITLE_CHARS",
    "MAX_URL_CHARS",
    "clean",
    "cut",
    "describe",
    "instant_or_none",
    "web_url",
]

# Counts.
MAX_FEED_ITEMS = 1_000  # entries read from one feed (the first ones, newest first as served)
MAX_JSON_ITEMS = 1_000  # articles read from one JSON document
MAX_FOLDER_FILES = 10_000  # files read from one folder source
MAX_RELATED = 20  # related links kept per article
MAX_EVENTS = 200  # timeline events kept per article
MAX_REDIRECTS = 5  # redirects followed by one fetch
MAX_PAGE_FETCHES = 100  # teaser pages fetched for one source (fetch_full_text)
# Depth: JSON documents, and HTML trees walked for their text (deeper parts are read flat).
MAX_NESTING = 100
# Lengths, in characters.
MAX_TITLE_CHARS = 300
MAX_HEADING_CHARS = 300
MAX_DEK_CHARS = 1_000
MAX_AUTHOR_CHARS = 200
MAX_SOURCE_CHARS = 200
MAX_CATEGORY_CHARS = 100
MAX_LANGUAGE_CHARS = 35  # the longest BCP 47 tag in practical use
MAX_URL_CHARS = 2_048  # what browsers and mail clients reliably take
MAX_FRONT_MATTER_CHARS = 65_536
# Text (outside scripts and styles) of an HTML page given to the extractor, whose time grows
# with it (about 3 s per million characters): a page is a few articles' worth at most.
MAX_PAGE_TEXT_CHARS = 1_000_000

# C0 controls but tab, line feed and carriage return; DEL; C1 controls; lone surrogates
# (a JSON "\ud800" decodes to one, and no UTF-8 output can carry it).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def clean(text: str) -> str:
    """``text`` without control characters, and with U+FFFD for each lone surrogate."""
    text = _CONTROL.sub("", text)
    return _SURROGATE.sub("\ufffd", text)


def cut(text: str, limit: int) -> str:
    """``text`` (spaces collapsed) at most ``limit`` characters long: cut at the last space
    in its second half, or mid-word where it has none there (CJK), and ended with "…"."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    space = head.rfind(" ")
    if space > limit // 2:
        head = head[:space]
    return head.rstrip() + "…"


def web_url(url: str | None) -> str | None:
    """An http(s) URL of at most ``MAX_URL_CHARS``, else None (``javascript:``, ``data:``,
    a relative path, or a URL too long to be one)."""
    if url is None:
        return None
    url = clean(url).strip()
    if len(url) > MAX_URL_CHARS or not url.lower().startswith(("http://", "https://")):
        return None
    return url


def instant_or_none(moment: datetime | None) -> datetime | None:
    """A datetime that can be expressed in UTC, else None: 9999-12-31T23:59:59-12:00 is
    a valid value with an offset, but its UTC instant lies past year 9999."""
    if moment is None:
        return None
    try:
        (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    return moment


def describe(exc: BaseException) -> str:
    """One line about an error a reader did not expect, for a warning or a failed source:
    the exception's type and the start of its message (a ``SourceError`` is its message)."""
    if isinstance(exc, DigestError):
        return clean(str(exc))
    if isinstance(exc, RecursionError):
        return "nested too deep to read (RecursionError)"
    if isinstance(exc, MemoryError):
        return "too large to read in memory (MemoryError)"
    # A message may quote the input: no control character of it reaches the terminal.
    text = " ".join(clean(str(exc)).split())
    text = text if len(text) <= 160 else text[:159] + "…"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
