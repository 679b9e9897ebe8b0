"""HTML pages, from a file or a URL, through trafilatura: title, date, author and body.

The body comes from ``trafilatura.extract`` asked for XML, so that headings, paragraphs
and list items keep their shape, and asked twice: with ``favor_precision``, and with
``favor_recall`` as a second opinion taken when the first looks truncated (see
``extract_blocks``; ``bench/extraction.py`` measures both against trafilatura's defaults).
Metadata that carries a time (``article:published_time``, ``<time datetime>``, JSON-LD)
wins over trafilatura's date, which has none. The language is the page's declared one
(``<html lang>``, ``og:locale``, ``content-language``), else read from its text; the lead
image is ``og:image`` (with its width, height and alt), ``twitter:image``, else the first
image of the article's body.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import urljoin

import lxml.etree
import lxml.html
import trafilatura

from digest.errors import SourceError
from digest.models import Article, LeadImage, RelatedLink, Section
from digest.sources.article import (
    Block,
    Meta,
    assemble,
    build_article,
    lead_image,
    parse_related,
)
from digest.sources.bounds import MAX_PAGE_TEXT_CHARS
from digest.sources.dates import parse_datetime
from digest.sources.markup import first_lead_image, html_blocks
from digest.text.language import normal_language

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


_EMIT = frozenset({"head", "p", "item", "cell", "quote", "code"})


def _lines(element: lxml.etree._Element) -> list[str]:
    """The text of an element, split where it has line breaks (``<lb/>``)."""
    lines: list[str] = [""]

    def walk(node: lxml.etree._Element) -> None:
        if node.tag == "lb":
            lines.append("")
        else:
            lines[-1] += node.text or ""
            for child in node:
                walk(child)
        if node is not element:
            lines[-1] += node.tail or ""

    walk(element)
    return [" ".join(line.split()) for line in lines if line.strip()]


def _xml_blocks(xml: str) -> list[Block]:
    """Blocks from trafilatura's XML: each outermost head, p, item, cell, quote or code
    element once (a heading inside a paragraph is not read twice), split at line breaks."""
    root = lxml.etree.fromstring(xml.encode())
    main = root.find("main")
    if main is None:
        return []
    blocks: list[Block] = []

    def visit(element: lxml.etree._Element) -> None:
        for child in element:
            if not isinstance(child.tag, str):
                continue
            if child.tag not in _EMIT:
                visit(child)
                continue
            only_head = child.tag == "head" or (
                child.tag == "p"
                and not (child.text or "").strip()
                and [d.tag for d in child.iter() if d.tag in _EMIT] == ["p", "head"]
            )
            kind = "heading" if only_head else "item" if child.tag == "item" else "paragraph"
            links = [r.get("target") for r in child.iter("ref") if r.get("target")]
            link = links[0] if len(links) == 1 else None
            for line in _lines(child):
                blocks.append(Block(kind, line, link))  # type: ignore[arg-type]

    visit(main)
    return blocks


def _extract(html: str, url: str | None, **options: Any) -> tuple[list[Block], dict[str, str]]:
    xml = trafilatura.extract(
        html,
        url=url,
        output_format="xml",
        with_metadata=True,
        include_comments=False,
        include_tables=True,
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
    """The body of a page as blocks, and trafilatura's metadata (title, author, date, ...).

    Two opinions: the precision-minded extraction, unless it looks truncated next to the
    recall-minded one (under 60 % of its length, or under 300 characters), when the
    recall-minded one is taken.
    """
    precise, precise_meta = _extract(html, url, favor_precision=True)
    broad, broad_meta = _extract(html, url, favor_recall=True)
    if _size(precise) >= max(300, 0.6 * _size(broad)):
        return precise, precise_meta or broad_meta
    return broad, broad_meta or precise_meta


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
        except (ValueError, RecursionError):  # not JSON, or nested past the parser's stack
            continue
        if not isinstance(data, list | dict):
            continue
        graph = data if isinstance(data, list) else data.get("@graph", [data])
        for item in graph if isinstance(graph, list) else [graph]:
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


def _with_urls(
    links: list[RelatedLink], document: lxml.html.HtmlElement, base: str | None
) -> list[RelatedLink]:
    """Related titles given the href of the page's link with the same text, if any."""
    if all(link.url for link in links):
        return links
    hrefs: dict[str, str] = {}
    for anchor in document.iter("a"):
        href = anchor.get("href")
        text = " ".join(anchor.text_content().split())
        if href and text and text not in hrefs:
            hrefs[text] = lxml.html.urljoin(base, href) if base else href
    return [link if link.url else RelatedLink(link.title, hrefs.get(link.title)) for link in links]


def _dek(description: str | None, sections: Sequence[Section]) -> str | None:
    """The page's description as a dek, unless it only repeats the start of the text."""
    if not description:
        return None
    text = " ".join(description.split())
    first = sections[0].paragraphs[0] if sections and sections[0].paragraphs else ""
    return None if first.startswith(text.rstrip(".… ")[:80]) else text


def _declared_language(document: lxml.html.HtmlElement, tags: dict[str, str]) -> str | None:
    http_equiv = next(
        (
            m.get("content")
            for m in document.iter("meta")
            if (m.get("http-equiv") or "").lower() == "content-language"
        ),
        None,
    )
    for value in (document.get("lang"), tags.get("og:locale"), http_equiv, tags.get("language")):
        code = normal_language(value)
        if code:
            return code
    return None


def _page_image(
    document: lxml.html.HtmlElement, tags: dict[str, str], base: str | None
) -> LeadImage | None:
    for key in ("og:image:secure_url", "og:image", "og:image:url", "twitter:image"):
        image = lead_image(
            tags.get(key),
            base=base,
            width=tags.get("og:image:width"),
            height=tags.get("og:image:height"),
            alt=tags.get("og:image:alt") or tags.get("twitter:image:alt") or "",
        )
        if image is not None:
            return image
    for container in ("article", "main"):
        for element in document.iter(container):
            image = first_lead_image(element, base)
            if image is not None:
                return image
    return None


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
        raise SourceError(
            f"not an HTML document ({exc})", location=url or "page", reader="page"
        ) from exc
    text_size = sum(
        len(t) for t in document.xpath("//text()[not(ancestor::script or ancestor::style)]")
    )
    if text_size > MAX_PAGE_TEXT_CHARS:
        raise SourceError(
            f"{text_size:,} characters of text, over the {MAX_PAGE_TEXT_CHARS:,} limit of a page",
            location=url or "page",
            reader="page",
        )
    tags = _meta_tags(document)
    canonical = next(
        (link.get("href") for link in document.iter("link") if link.get("rel") == "canonical"),
        None,
    ) or tags.get("og:url")
    if canonical and url:
        canonical = urljoin(url, canonical)  # often given as a path ("/news/story")
    page_url = url or canonical
    blocks, found = extract_blocks(html, page_url)
    if not blocks:
        # trafilatura found no article; a short page may still be all body.
        body = document.find("body")
        blocks = html_blocks(body) if body is not None else []
    if not blocks:
        raise SourceError("no article text found", location=url or "page", reader="page")
    title = tags.get("og:title") or found.get("title") or ""
    if blocks and blocks[0].kind == "heading" and blocks[0].text == title:
        blocks = blocks[1:]
    sections, events, related = assemble(blocks)
    related_links = [*related, *_related(document, page_url)]
    # "Related:" paragraphs that trafilatura kept as text are links already.
    related_links = [r for r in related_links if parse_related(r.title) is None]
    related_links = _with_urls(related_links, document, page_url)
    meta = Meta(
        source=tags.get("og:site_name") or found.get("sitename") or source,
        title=title,
        url=page_url,
        canonical_url=canonical,
        dek=_dek(tags.get("og:description") or tags.get("description"), sections),
        category=tags.get("article:section") or found.get("categories") or category,
        author=tags.get("author") or found.get("author") or None,
        published=_published(document, tags, found.get("date")),
        language=normal_language(language)
        or _declared_language(document, tags)
        or normal_language(found.get("language")),
        image=_page_image(document, tags, page_url),
    )
    return build_article(meta, sections, events, related_links)
