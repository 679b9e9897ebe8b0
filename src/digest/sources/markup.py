"""HTML fragments (feed entries, page bodies) and Markdown to ``Block`` values.

Scripts, styles, forms, embedded media and images are dropped; block elements become
paragraphs, headings and list items; inline markup becomes plain text.

Nesting is bounded without losing text. libxml2 stops reading an HTML document at its
depth limit (256 elements) and drops the rest, so a fragment nested deeper is read flat:
its text, a paragraph per block element (``_flat_fragment``, no tree). markdown-it drops
everything after the point where a document nests past ``maxNesting``, so quote markers
and indentation past ``MAX_MARKDOWN_QUOTES`` and ``MAX_MARKDOWN_INDENT`` are cut first:
a deeper quote or list item is read at that depth.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import lxml.etree
import lxml.html
from markdown_it import MarkdownIt

from digest.models import LeadImage
from digest.sources.article import Block, lead_image
from digest.sources.bounds import MAX_NESTING

MAX_MARKDOWN_QUOTES = 30  # ">" markers read at the start of a line
MAX_MARKDOWN_INDENT = 60  # columns of indentation read (about 30 nested list levels)
# markdown-it's own bound, above what the cuts above can reach (quotes + two levels per
# list): past it, markdown-it silently drops the rest of the document.
_MARKDOWN_NESTING = 2 * MAX_NESTING

__all__ = ["html_blocks", "markdown_blocks", "parse_fragment"]

_DROP = frozenset(
    [
        "script",
        "style",
        "noscript",
        "template",
        "iframe",
        "object",
        "embed",
        "form",
        "button",
        "select",
        "textarea",
        "input",
        "svg",
        "canvas",
        "video",
        "audio",
        "picture",
        "img",
        "figcaption",
        "nav",
        "head",
        "title",
        "meta",
        "link",
    ]
)
_HEADINGS = frozenset(["h1", "h2", "h3", "h4", "h5", "h6"])
_BLOCKS = frozenset(
    [
        "p",
        "div",
        "section",
        "article",
        "main",
        "header",
        "footer",
        "aside",
        "blockquote",
        "pre",
        "ul",
        "ol",
        "dl",
        "dt",
        "dd",
        "li",
        "table",
        "thead",
        "tbody",
        "tfoot",
        "tr",
        "td",
        "th",
        "figure",
        "address",
        "hr",
        "center",
        "details",
        "summary",
        "body",
        "html",
    ]
)
_BLOCKS = _BLOCKS | _HEADINGS
_SPACE = re.compile(r"[ \t\r\f\v\u00a0]+")


def _tag(element: lxml.etree._Element) -> str:
    tag = element.tag
    if not isinstance(tag, str):
        return ""  # comments and processing instructions
    return tag.rsplit("}", 1)[-1].lower()


class _Collector:
    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.parts: list[str] = []
        self.links: list[str] = []
        self.kind: str = "paragraph"

    def flush(self) -> None:
        text = "".join(self.parts)
        for piece in re.split(r"\n\s*\n", text):
            clean = _SPACE.sub(" ", piece.replace("\n", " ")).strip()
            if clean:
                link = self.links[0] if len(self.links) == 1 else None
                kind = self.kind if self.kind in ("heading", "item") else "paragraph"
                self.blocks.append(Block(kind, clean, link))  # type: ignore[arg-type]
        self.parts, self.links, self.kind = [], [], "paragraph"

    def walk(self, element: lxml.etree._Element, depth: int = 0) -> None:
        tag = _tag(element)
        if tag in _DROP:
            self.parts.append(element.tail or "")
            return
        if depth > MAX_NESTING:
            # Past the bound the rest of the tree is read as one run of text, without
            # recursion (a page nested thousands deep would exhaust the stack).
            self.parts.append(" ".join(_text_without_dropped(element)))
            self.parts.append(element.tail or "")
            return
        block = tag in _BLOCKS
        if block:
            self.flush()
            if tag in _HEADINGS:
                self.kind = "heading"
            elif tag == "li":
                self.kind = "item"
        if tag == "br":
            self.parts.append("\n")
        elif tag == "a":
            href = element.get("href")
            if href and not href.startswith(("#", "javascript:")):
                self.links.append(href)
        if tag:
            self.parts.append(element.text or "")
            for child in element:
                self.walk(child, depth + 1)
        if block:
            self.flush()
        self.parts.append(element.tail or "")


def _text_without_dropped(element: lxml.etree._Element) -> list[str]:
    """The text under ``element`` (tails of its descendants included), leaving out what
    ``_DROP`` names, walked with an explicit stack."""
    found: list[str] = []
    stack: list[tuple[lxml.etree._Element, bool]] = [(element, False)]
    while stack:
        node, tail_only = stack.pop()
        if not tail_only:
            if _tag(node) not in _DROP and isinstance(node.tag, str):
                found.append(node.text or "")
                # Children in reverse, each followed by its tail, so the order is the page's.
                for child in reversed(node):
                    stack.append((child, True))
                    stack.append((child, False))
        elif node is not element:
            found.append(node.tail or "")
    return [t for t in found if t.strip()]


def first_lead_image(root: lxml.html.HtmlElement, base: str | None) -> LeadImage | None:
    """The first ``<img>`` under ``root`` that ``lead_image`` keeps, else None."""
    for img in root.iter("img"):
        image = lead_image(
            img.get("src"),
            base=base,
            width=img.get("width"),
            height=img.get("height"),
            alt=img.get("alt") or "",
        )
        if image is not None:
            return image
    return None


def parse_fragment(html: str) -> lxml.html.HtmlElement | None:
    """An HTML fragment under one ``<div>``, or None when lxml reads nothing in it.

    lxml's fragment parser fails with an ``AssertionError`` on a bare ``<html>`` without
    a body (``<html></html>``, found in feed fields and pasted Markdown); the document
    parser reads those. A fragment nested past libxml2's depth limit is read flat.
    """
    parser = lxml.html.HTMLParser()  # one per call: its error log tells of the depth
    try:
        found = lxml.html.fragment_fromstring(html, create_parent="div", parser=parser)
    except (lxml.etree.ParserError, ValueError):
        found = None
    except AssertionError:
        try:
            found = lxml.html.document_fromstring(html, parser=parser)
        except (lxml.etree.ParserError, ValueError):
            found = None
    if any(e.type_name == "ERR_RESOURCE_LIMIT" for e in parser.error_log):
        return _flat_fragment(html)
    return found


# A tag or the start of a comment. ``[^<>]*`` stops at the next "<": each try scans to it,
# so a page of unclosed "<a" costs linear time, not quadratic.
_TAG = re.compile(r"<!--|<(/?)([A-Za-z][A-Za-z0-9:-]*)[^<>]*>")
_VOID = frozenset(["img", "input", "meta", "link", "embed", "br"])


def _flat_fragment(html: str) -> lxml.html.HtmlElement | None:
    """``html`` read flat: a ``<div>`` of one ``<p>`` per block element's text, nothing
    of ``_DROP``'s elements or of comments. The tags are dropped by one linear scan (no
    tree, so no depth); lxml then reads what is left, entities and all, at depth two."""
    kept: list[str] = []
    dropping = 0  # open elements of _DROP (void ones never count)
    at = 0
    while (found := _TAG.search(html, at)) is not None:
        if not dropping and found.start() > at:
            kept.append(html[at : found.start()])
        at = found.end()
        if found.group(0) == "<!--":
            end = html.find("-->", at)
            at = len(html) if end < 0 else end + 3
            continue
        closing, tag = found.group(1), found.group(2).lower()
        if tag in _DROP and tag not in _VOID:
            dropping = max(0, dropping - 1) if closing else dropping + 1
        elif (tag in _BLOCKS or tag == "br") and kept and kept[-1] != "<p>":
            kept.append("<p>")  # a paragraph opened closes the one before
    if not dropping:
        kept.append(html[at:])
    try:
        return lxml.html.fragment_fromstring("".join(kept), create_parent="div")
    except (lxml.etree.ParserError, ValueError, AssertionError):
        return None


def html_blocks(html: str | lxml.etree._Element) -> list[Block]:
    """The blocks of an HTML fragment or document, in reading order."""
    if isinstance(html, str):
        if not html.strip():
            return []
        found = parse_fragment(html)
        if found is None:
            return [Block("paragraph", html)] if "<" not in html else []
        root = found
    else:
        root = html
    collector = _Collector()
    collector.walk(root)
    collector.flush()
    return collector.blocks


def looks_like_html(text: str) -> bool:
    return (
        re.search(r"<(p|br|div|a|h[1-6]|ul|ol|li|img|span|em|strong|b|i|table)\b", text, re.I)
        is not None
    )


_CONTAINER = re.compile(r"((?:[ ]{0,3}>)*)([ \t]*)")


def _shallow(text: str) -> str:
    """``text`` with each line's quote markers and indentation cut to the bounds."""
    if ">" * (MAX_MARKDOWN_QUOTES + 1) not in text.replace(" ", "") and not re.search(
        rf"^[ \t]{{{MAX_MARKDOWN_INDENT + 1},}}", text, re.M
    ):
        return text  # the usual document: nothing to cut
    lines = []
    for line in text.split("\n"):
        found = _CONTAINER.match(line)
        assert found is not None  # the pattern matches the empty string
        quotes, indent = found.group(1), found.group(2).expandtabs(4)
        if quotes.count(">") > MAX_MARKDOWN_QUOTES:
            quotes = ">" * MAX_MARKDOWN_QUOTES
        if len(indent) > MAX_MARKDOWN_INDENT:
            indent = " " * MAX_MARKDOWN_INDENT
        lines.append(quotes + indent + line[found.end() :])
    return "\n".join(lines)


def markdown_blocks(text: str) -> Iterator[tuple[int, Block]]:
    """(heading level or 0, block) for each block of a Markdown document."""
    tokens = MarkdownIt("commonmark", {"maxNesting": _MARKDOWN_NESTING}).parse(_shallow(text))
    kind = "paragraph"
    level = 0
    in_item = 0
    for token in tokens:
        if token.type == "heading_open":
            kind, level = "heading", int(token.tag[1])
        elif token.type == "list_item_open":
            in_item += 1
        elif token.type == "list_item_close":
            in_item -= 1
        elif token.type == "html_block":
            for block in html_blocks(token.content):
                yield 0, block
        elif token.type == "inline":
            parts: list[str] = []
            links: list[str] = []
            for child in token.children or ():
                if child.type in ("text", "code_inline"):
                    parts.append(child.content)
                elif child.type in ("softbreak", "hardbreak"):
                    parts.append(" ")
                elif child.type == "link_open":
                    href = child.attrGet("href")
                    if isinstance(href, str):
                        links.append(href)
                elif child.type == "html_inline":
                    continue
            content = " ".join("".join(parts).split())
            if content:
                block_kind = kind if kind == "heading" else ("item" if in_item else "paragraph")
                link = links[0] if len(links) == 1 else None
                yield (level if kind == "heading" else 0), Block(block_kind, content, link)  # type: ignore[arg-type]
            kind, level = "paragraph", 0
        elif token.type in ("fence", "code_block") and token.content.strip():
            yield 0, Block("paragraph", token.content.strip())
