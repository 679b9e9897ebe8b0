"""OPML subscription lists: read (listparser) and written (OPML 2.0).

Any feed reader's export reads (Miniflux, FreshRSS, Feedly, NetNewsWire, Inoreader): each
feed outline gives a URL, a title and the folders it sits in (nested outlines), the
innermost of which becomes the source's category. Only the document given is read:
listparser is handed bytes, never a URL, so nothing is fetched.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

import listparser

from digest.errors import SourceError

__all__ = ["MAX_OPML_BYTES", "MAX_OPML_FEEDS", "OpmlFeed", "read_opml", "write_opml"]

# An OPML file larger than this is refused (a list of 10,000 feeds is about 2 MB).
MAX_OPML_BYTES = 8 * 1024 * 1024
# Feeds taken from one file at most.
MAX_OPML_FEEDS = 5000


@dataclass(frozen=True)
class OpmlFeed:
    url: str
    title: str
    category: str | None = None  # the innermost folder the feed sits in


def read_opml(data: bytes, where: str) -> tuple[OpmlFeed, ...]:
    """The feeds of an OPML document (http(s) URLs only, each once, in document order);
    ``SourceError`` for a file too large, not OPML, or holding no feed."""
    if len(data) > MAX_OPML_BYTES:
        raise SourceError(
            f"larger than the {MAX_OPML_BYTES:,}-byte limit of an OPML file",
            location=where,
            reader="opml",
        )
    parsed = listparser.parse(bytes(data))  # bytes: a document, never a URL to fetch
    feeds: list[OpmlFeed] = []
    seen: set[str] = set()
    for entry in parsed.feeds:
        url = str(entry.get("url") or "").strip()
        if not url.lower().startswith(("http://", "https://")) or url in seen:
            continue
        seen.add(url)
        title = " ".join(str(entry.get("title") or "").split()) or url
        paths = entry.get("categories") or []
        folders = [str(f).strip() for f in (paths[0] if paths else []) if str(f).strip()]
        feeds.append(OpmlFeed(url, title, folders[-1] if folders else None))
        if len(feeds) == MAX_OPML_FEEDS:
            break
    if not feeds:
        reason = parsed.get("bozo_exception")
        detail = f" ({reason})" if parsed.get("bozo") and reason else ""
        raise SourceError(f"no feed found in this OPML file{detail}", location=where, reader="opml")
    return tuple(feeds)


def write_opml(feeds: Sequence[OpmlFeed], title: str) -> str:
    """An OPML 2.0 document of ``feeds``, one folder outline per category."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    body = ET.SubElement(root, "body")
    folders: dict[str, ET.Element] = {}
    for feed in feeds:
        parent = body
        if feed.category:
            parent = folders.get(feed.category) or ET.SubElement(
                body, "outline", text=feed.category, title=feed.category
            )
            folders[feed.category] = parent
        ET.SubElement(
            parent, "outline", type="rss", text=feed.title, title=feed.title, xmlUrl=feed.url
        )
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
