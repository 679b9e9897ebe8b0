"""Plain text without a layout: a CNN/DM line, a pasted story, a ``digest summarize --jsonl``
line. Blank lines separate paragraphs (a text without them is one paragraph); no heading is
guessed; the headline is the given title, else the first 14 words of the first sentence.

A text in the plain-text article layout (DESIGN.md: a repeated headline near the top) is
read by that layout's reader (``digest.sources.text.parse_text``), exactly as a ``.txt``
file is, keeping only the caller's id: its headline is not a sentence twice, its dek is not
a key point, its promotional lines are gone.

Unlike the other readers it keeps the caller's id (``--jsonl`` answers by it) and does not
go through ``build_article``, whose rules would change what a ``--jsonl`` line gives: it
collapses the spaces inside a given title (which can change the summary's title term),
refuses a text over ``MAX_ARTICLE_CHARS`` and raises on an empty one. The content hash is
the readers' own (``identity.content_hash``, title included, as the title changes a
summary), so the summary cache finds the same summaries for the same text.
"""

from __future__ import annotations

import re
from dataclasses import replace

from digest.errors import SourceError
from digest.identity import content_hash
from digest.models import Article, Section
from digest.sources.article import Meta
from digest.sources.text import looks_like_layout, parse_text
from digest.text.sentences import split_sentences

__all__ = ["article_from_text"]

_BLANK_LINE = re.compile(r"\n\s*\n")
_HEADLINE_WORDS = 14  # a headline made from the first sentence, when none is given


def article_from_text(
    id: str, text: str, title: str | None = None, *, source: str = "text"
) -> Article:
    """An ``Article`` with the id ``id`` from raw text (see the module docstring)."""
    if looks_like_layout(text):
        try:
            laid_out = parse_text(text, Meta(source=source, title=title or ""))
        except SourceError:
            pass  # nothing the layout reader could use: read as plain text below
        else:
            return replace(laid_out, id=id)
    paragraphs = tuple(
        p
        for p in (
            "\n".join(" ".join(line.split()) for line in block.splitlines() if line.strip())
            for block in _BLANK_LINE.split(text)
        )
        if p
    )
    first = split_sentences(paragraphs[0])[0] if paragraphs else ""
    headline = title or " ".join(first.split()[:_HEADLINE_WORDS])
    sections = (Section(heading=None, paragraphs=paragraphs),) if paragraphs else ()
    return Article(
        id=id,
        source=source,
        title=headline,
        content_hash=content_hash(headline, sections, ()),
        sections=sections,
    )
