"""Local files and folders: .txt (the plain-text layout), .md, .html, .json and feed files.

A document is dispatched by what it contains as well as by its name: a feed saved as
``.txt`` is read as a feed, an HTML page without an extension as a page. A feed extension
(``.xml``, ``.rss``, ``.atom``) keeps a document on the feed reader even when it holds
HTML, so that a feed URL answered with an error page is reported as a broken feed.
"""

from __future__ import annotations

import json
import logging
import stat
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, tzinfo
from pathlib import Path
from typing import Any, Literal

from digest.errors import SourceError
from digest.models import Article, Event, Section
from digest.sources.article import (
    MAX_DOCUMENT_BYTES,
    Block,
    Meta,
    SourceResult,
    assemble,
    build_article,
)
from digest.sources.bounds import (
    MAX_FOLDER_FILES,
    MAX_JSON_ITEMS,
    MAX_NESTING,
    clean,
    describe,
)
from digest.sources.dates import parse_datetime
from digest.sources.decode import decode_bytes
from digest.sources.feeds import looks_like_feed, parse_feed
from digest.sources.frontmatter import as_list, meta_from_front_matter, split_front_matter
from digest.sources.markup import html_blocks, looks_like_html, markdown_blocks
from digest.sources.pages import looks_like_page, parse_page
from digest.sources.text import parse_text

__all__ = ["Kind", "read_document", "read_file", "read_folder", "read_path", "sniff"]

log = logging.getLogger(__name__)

Kind = Literal["feed", "page", "json", "markdown", "text"]

_FEED_SUFFIXES = frozenset({".xml", ".rss", ".atom", ".rdf"})
_SUFFIXES: Mapping[str, Kind] = {
    **{s: "feed" for s in _FEED_SUFFIXES},
    ".html": "page",
    ".htm": "page",
    ".xhtml": "page",
    ".json": "json",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
}
_SKIP_NAMES = ("readme", "license", "licence", "changelog", "sources")


def sniff(data: bytes, name: str = "") -> Kind:
    """What kind of document ``data`` is, by content first and by extension second."""
    suffix = Path(name).suffix.lower()
    head = data[:4000].decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    lowered = head.lower()
    if lowered.startswith("<") and looks_like_feed(lowered):
        return "feed"
    if suffix in _FEED_SUFFIXES:
        return "feed"
    if lowered.startswith("<") and looks_like_page(lowered):
        return "page"
    if head[:1] in ("{", "[") and suffix in ("", ".json"):
        return "json"
    if suffix in _SUFFIXES:
        return _SUFFIXES[suffix]
    if head[:1] in ("{", "["):
        return "json"
    if lowered.startswith("---") or lowered.startswith("# "):
        return "markdown"
    return "text"


def read_document(
    data: bytes,
    *,
    name: str,
    source: str,
    url: str | None = None,
    kind: Kind | None = None,
    category: str | None = None,
    language: str | None = None,
    content_type: str | None = None,
    charset: str | None = None,
    outlet: str | None = None,
    zone: tzinfo = UTC,
) -> SourceResult:
    """The articles of one document (file contents or a download). ``outlet`` (the
    source's configured one) names its articles where the document itself names none
    (front matter ``source:``, a page's ``og:site_name``, a feed entry's ``<source>``)."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise SourceError(
            f"{len(data):,} bytes, over the {MAX_DOCUMENT_BYTES:,} limit", location=name
        )
    kind = kind or sniff(data, name)
    if kind == "feed":
        return parse_feed(
            data,
            location=url or name,
            source=source,
            category=category,
            language=language,
            content_type=content_type,
            outlet=outlet,
            zone=zone,
        )
    source = outlet or source
    text = decode_bytes(data, charset, where=name)
    if kind == "page":
        article = parse_page(text, source=source, url=url, category=category, language=language)
        return SourceResult((article,))
    if kind == "json":
        return _read_json(text, name=name, source=source, category=category, language=language)
    front, body = split_front_matter(text, where=name)
    meta = meta_from_front_matter(front, source=source, category=None, language=language)
    if url and not meta.url:
        meta = replace(meta, url=url)
    if kind == "markdown":
        return SourceResult((_markdown_article(body, meta, category),))
    return SourceResult((parse_text(body, meta, default_category=category),))


def _markdown_article(body: str, meta: Meta, category: str | None) -> Article:
    title = meta.title
    blocks: list[Block] = []
    for level, block in markdown_blocks(body):
        # The first top-level heading is the headline when the front matter names none.
        if not title and not blocks and level == 1:
            title = block.text
            continue
        blocks.append(block)
    sections, events, related = assemble(blocks)
    full = replace(meta, title=title, category=meta.category or category)
    return build_article(full, sections, events, related)


def _nesting(value: Any) -> int:
    """How deep the arrays and objects of a parsed JSON value nest (walked without
    recursion, so that the walk itself has no depth limit)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            node = list(node.values())
        if isinstance(node, list):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in node if isinstance(child, list | dict))
    return deepest


def _repaired(value: Any) -> Any:
    """``value`` with its strings cleaned (``bounds.clean``): a lone surrogate
    (``"\\ud800"``) becomes U+FFFD, since no UTF-8 output can carry one."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, list):
        return [_repaired(v) for v in value]
    if isinstance(value, dict):
        return {clean(str(k)): _repaired(v) for k, v in value.items()}
    return value


def _read_json(
    text: str, *, name: str, source: str, category: str | None, language: str | None
) -> SourceResult:
    too_deep = SourceError(
        f"JSON nested more than {MAX_NESTING} deep", location=name, reader="json"
    )
    try:
        parsed = json.loads(text)
    except RecursionError:  # the parser recurses once per level: far past MAX_NESTING
        raise too_deep from None
    except ValueError as exc:
        raise SourceError(f"not valid JSON ({exc})", location=name, reader="json") from exc
    if _nesting(parsed) > MAX_NESTING:
        raise too_deep
    data = _repaired(parsed)
    if isinstance(data, dict) and isinstance(data.get("articles"), list):
        data = data["articles"]
    items = data if isinstance(data, list) else [data]
    warnings: list[str] = []
    if len(items) > MAX_JSON_ITEMS:
        warnings.append(
            f"{name}: read the first {MAX_JSON_ITEMS:,} of {len(items):,} articles"
            f" (the limit of one JSON document)"
        )
        items = items[:MAX_JSON_ITEMS]
    articles: list[Article] = []
    for index, item in enumerate(items):
        where = f"{name}[{index}]" if isinstance(data, list) else name
        if not isinstance(item, dict):
            warnings.append(f"{where}: skipped: an article must be a JSON object")
            continue
        try:
            articles.append(_json_article(item, source, category, language))
        except Exception as exc:  # one article: a warning, whatever it held
            warnings.append(f"{where}: skipped: {describe(exc)}")
    return SourceResult(tuple(articles), tuple(warnings))


def _json_article(
    item: Mapping[str, Any], source: str, category: str | None, language: str | None
) -> Article:
    meta = meta_from_front_matter(item, source=source, category=category, language=language)
    sections: list[Section] = []
    for raw in as_list(item.get("sections")):
        if isinstance(raw, dict):
            paragraphs = tuple(str(p) for p in as_list(raw.get("paragraphs")) if str(p).strip())
            heading = str(raw.get("heading") or "").strip() or None
            sections.append(Section(heading, paragraphs))
    events = tuple(
        Event(
            label=str(e.get("label", "")),
            when=d.date() if (d := parse_datetime(e.get("when"))) is not None else None,
            text=str(e.get("text", "")),
        )
        for e in as_list(item.get("events"))
        if isinstance(e, dict) and e.get("text")
    )
    if sections:
        return build_article(meta, sections, events)
    body = str(item.get("body") or item.get("text") or item.get("content") or "")
    if looks_like_html(body):
        blocks = html_blocks(body)
    else:
        blocks = [Block("paragraph", p) for p in body.split("\n\n") if p.strip()]
    found, found_events, related = assemble(blocks)
    return build_article(meta, found, events or found_events, related)


def read_path(
    path: Path,
    *,
    source: str,
    category: str | None = None,
    language: str | None = None,
    outlet: str | None = None,
    zone: tzinfo = UTC,
) -> SourceResult:
    """One file, or every article file under a folder (``zone``: that of feed dates
    written without one)."""
    if path.is_dir():
        return read_folder(
            path, source=source, category=category, language=language, outlet=outlet, zone=zone
        )
    data = read_file(path)
    return read_document(
        data,
        name=str(path),
        source=source,
        category=category,
        language=language,
        outlet=outlet,
        zone=zone,
    )


def read_file(path: Path) -> bytes:
    """The bytes of a regular file of at most ``MAX_DOCUMENT_BYTES``; ``SourceError`` for
    anything else (a device such as ``/dev/zero`` or a pipe never ends, or never starts)."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise SourceError("not a regular file", location=str(path), reader="file")
        if info.st_size > MAX_DOCUMENT_BYTES:
            raise SourceError(
                f"{info.st_size:,} bytes, over the {MAX_DOCUMENT_BYTES:,} limit",
                location=str(path),
                reader="file",
            )
        with path.open("rb") as handle:
            data = handle.read(MAX_DOCUMENT_BYTES + 1)  # the file may have grown since
    except FileNotFoundError:
        raise SourceError("no such file or folder", location=str(path), reader="file") from None
    except OSError as exc:
        raise SourceError(
            f"cannot read ({exc.strerror})", location=str(path), reader="file"
        ) from exc
    if len(data) > MAX_DOCUMENT_BYTES:
        raise SourceError(
            f"over the {MAX_DOCUMENT_BYTES:,}-byte limit", location=str(path), reader="file"
        )
    return data


def _wanted(path: Path, root: Path) -> bool:
    parts = path.relative_to(root).parts
    if any(p.startswith((".", "_")) for p in parts):
        return False
    return not path.name.lower().startswith(_SKIP_NAMES)


def read_folder(
    folder: Path,
    *,
    source: str,
    category: str | None = None,
    language: str | None = None,
    outlet: str | None = None,
    zone: tzinfo = UTC,
) -> SourceResult:
    """Every document under ``folder`` (recursively, in name order); a bad file is a warning."""
    articles: list[Article] = []
    warnings: list[str] = []
    zoneless = 0
    paths = sorted(p for p in folder.rglob("*") if p.is_file() and _wanted(p, folder))
    if len(paths) > MAX_FOLDER_FILES:
        warnings.append(
            f"{folder}: read the first {MAX_FOLDER_FILES:,} of {len(paths):,} files"
            " (the limit of one folder source)"
        )
        paths = paths[:MAX_FOLDER_FILES]
    for path in paths:
        if path.suffix.lower() not in _SUFFIXES and not _is_text(path):
            log.debug("%s: skipped, not a text document", path)
            continue
        try:
            result = read_path(
                path,
                source=source,
                category=category,
                language=language,
                outlet=outlet,
                zone=zone,
            )
        except SourceError as exc:
            # A reader names the file itself, or says nothing of where: then say it here.
            warnings.append(str(exc) if exc.location == str(path) else f"{path}: {exc}")
            continue
        except Exception as exc:  # one file: a warning, whatever it held
            log.debug("%s: unexpected error while reading", path, exc_info=True)
            warnings.append(f"{path}: skipped: {describe(exc)}")
            continue
        articles.extend(result.articles)
        warnings.extend(result.warnings)
        zoneless += result.zoneless
    return SourceResult(
        tuple(articles), tuple(warnings), zoneless=zoneless, zone=str(zone) if zoneless else None
    )


def _is_text(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            head = handle.read(2048)
    except OSError:
        return False
    return bool(head) and b"\x00" not in head
