"""HTML pages, from a file or a URL, through trafilatura: title, date, author and body.

The body comes from ``trafilatura.extract`` with ``favor_recall`` (on the 90-page
benchmark it beats the defaults on precision *and* recall; see ``bench/extraction.py``),
asked for XML so that headings, paragraphs and list items keep their shape. When that
output looks truncated next to the precision-minded extraction, the longer one is taken.
Metadata that carries a time (``article:published_time``, ``<time datetime>``, JSON-LD)
wins over trafilatura's date, which has none.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import lxml.etree
import lxml.html
import trafilatura

from digest.errors import SourceError
from digest.models import Article, RelatedLink
from digest.sources.common import (
    Block,
    Meta,
    assemble,
    build_article,
    parse_datetime,
    parse_related,
)
from digest.sources.markup import html_blocks

__all__ = ["extract_blocks", "looks_like_page", "parse_page"]

log = logging.getLogger(__name__)

_TIME_META = (
    "article:published_time",
    "og:published_time",
    "article:published",
    "datepublished",
    "publishdate",
    "pubdate",
    "date",
    "dc.date",
    "dc.date.issued",
    "sailthru.date",
    "parsely-pub-date",
)


def looks_like_page(head: str) -> bool:
    sample = head[:4000].lower()
    return "<html" in sample or "<!doctype html" in sample or "<body" in sample


def _xml_blocks(xml: str) -> list[Block]:
    root = lxml.etree.fromstring(xml.encode())
    main = root.find("main")
    if main is None:
        return []
    blocks: list[Block] = []
    for element in main.iter("head", "p", "item", "cell", "quote", "code"):
        # Paragraphs inside list items and table cells are read with their container.
        if element.tag in ("p", "quote") and any(
            a.tag in ("item", "cell") for a in element.iterancestors()
        ):
            continue
        if element.tag in ("head", "p", "quote", "code") and any(
            a.tag == "quote" for a in element.iterancestors()
        ):
            continue
        if element.tag == "item" and any(a.tag == "item" for a in element.iterancestors()):
            continue
        text = " ".join("".join(element.itertext()).split())
        if not text:
            continue
        kind = {"head": "heading", "item": "item"}.get(element.tag, "paragraph")
        links = [r.get("target") for r in element.iter("ref") if r.get("target")]
        blocks.append(Block(kind, text, links[0] if len(links) == 1 else None))  # type: ignore[arg-type]
    return blocks


def _extract(html: str, url: str | None, **options: Any) -> tuple[list[Block], dict[str, str]]:
    xml = trafilatura.extract(
        html,
        url=url,
        output_format="xml",
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        include_links=True,
        **options,
    )
    if not xml:
        return [], {}
    root = lxml.etree.fromstring(xml.encode())
    attributes = {k: v for k, v in root.attrib.items() if isinstance(v, str)}
    return _xml_blocks(xml), attributes


def _size(blocks: list[Block]) -> int:
    return sum(len(b.text) for b in blocks)


def extract_blocks(html: str, url: str | None = None) -> tuple[list[Block], dict[str, str]]:
    """The body of a page as blocks, and trafilatura's metadata (title, author, date, ...)."""
    blocks, metadata = _extract(html, url, favor_recall=True)
    # A second opinion when the recall-minded output looks cut short.
    if _size(blocks) < 500:
        other, other_meta = _extract(html, url, favor_precision=True)
        if _size(other) > 1.5 * _size(blocks):
            blocks, metadata = other, other_meta or metadata
    return blocks, metadata


def _meta_tags(document: lxml.html.HtmlElement) -> dict[str, str]:
    found: dict[str, str] = {}
    for meta in document.iter("meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").lower()
        content = meta.get("content")
        if key and content and key not in found:
            found[key] = content.strip()
    return found


def _json_ld(document: lxml.html.HtmlElement) -> dict[str, Any]:
    for script in document.iter("script"):
        if (script.get("type") or "").lower() != "application/ld+json" or not script.text:
            continue
        try:
            data = json.loads(script.text)
        except ValueError:
            continue
        for item in data if isinstance(data, list) else data.get("@graph", [data]):
            if isinstance(item, dict) and "datePublished" in item:
                return item
    return {}


def _published(document: lxml.html.HtmlElement, tags: dict[str, str], fallback: str | None) -> Any:
    for key in _TIME_META:
        if key in tags:
            moment = parse_datetime(tags[key])
            if moment is not None:
                return moment
    ld = _json_ld(document)
    if ld:
        moment = parse_datetime(ld.get("datePublished"))
        if moment is not None:
            return moment
    for element in document.iter("time"):
        moment = parse_datetime(element.get("datetime"))
        if moment is not None:
            return moment
    return parse_datetime(fallback)


def _related(document: lxml.html.HtmlElement, base: str | None) -> list[RelatedLink]:
    """Links in a block marked as related stories (``class="related"`` and the like)."""
    links: list[RelatedLink] = []
    for container in document.xpath(
        "//*[contains(concat(' ', normalize-space(@class), ' '), ' related ')"
        " or contains(@class, 'related-stories') or contains(@class, 'related-articles')]"
    ):
        for anchor in container.iter("a"):
            title = " ".join(anchor.text_content().split())
            href = anchor.get("href")
            if title and len(title.split()) >= 3:
                if href and base:
                    href = lxml.html.urljoin(base, href)
                links.append(RelatedLink(title=title, url=href))
    return links


def parse_page(
    html: str,
    *,
    source: str,
    url: str | None = None,
    category: str | None = None,
    language: str | None = None,
) -> Article:
    """One article from an HTML page. ``SourceError`` when no article text is found."""
    try:
        document = lxml.html.document_fromstring(html)
    except (lxml.etree.ParserError, ValueError) as exc:
        raise SourceError(f"{url or 'page'}: not an HTML document ({exc})") from exc
    tags = _meta_tags(document)
    canonical = next(
        (link.get("href") for link in document.iter("link") if link.get("rel") == "canonical"),
        None,
    ) or tags.get("og:url")
    page_url = url or canonical
    blocks, found = extract_blocks(html, page_url)
    if not blocks:
        # trafilatura found no article; a short page may still be all body.
        body = document.find("body")
        blocks = html_blocks(body) if body is not None else []
    if not blocks:
        raise SourceError(f"{url or 'page'}: no article text found")
    title = tags.get("og:title") or found.get("title") or ""
    if blocks and blocks[0].kind == "heading" and blocks[0].text == title:
        blocks = blocks[1:]
    sections, events, related = assemble(blocks)
    related_links = [*related, *_related(document, page_url)]
    # "Related:" paragraphs that trafilatura kept as text are links already.
    related_links = [r for r in related_links if parse_related(r.title) is None]
    meta = Meta(
        source=tags.get("og:site_name") or found.get("sitename") or source,
        title=title,
        url=page_url,
        canonical_url=canonical,
        dek=tags.get("og:description") or tags.get("description") or None,
        category=tags.get("article:section") or found.get("categories") or category,
        author=tags.get("author") or found.get("author") or None,
        published=_published(document, tags, found.get("date")),
        language=language or document.get("lang") or found.get("language") or None,
    )
    return build_article(meta, sections, events, related_links)
