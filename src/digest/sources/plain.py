"""Plain text without a layout: a CNN/DM line, a pasted story, a ``digest summarize --jsonl``
line. Blank lines separate paragraphs (a text without them is one paragraph); no heading is
guessed; the headline is the given title, else the first 14 words of the first sentence.

Unlike the other readers it keeps the caller's id (``--jsonl`` answers by it) and does not
go through ``build_article``, whose rules would change what a ``--jsonl`` line gives: it
collapses the spaces inside a given title (which can change the summary's title term),
refuses a text over ``MAX_ARTICLE_CHARS`` and raises on an empty one. The content hash is
the readers' own (``identity.content_hash``, title included, as the title changes a
summary), so the summary cache finds the same summaries for the same text.
"""

from __future__ import annotations

import re

from digest.identity import content_hash
from digest.models import Article, Section
from digest.text.sentences import split_sentences

__all__ = ["article_from_text"]

_BLANK_LINE = re.compile(r"\n\s*\n")
_HEADLINE_WORDS = 14  # a headline made from the first sentence, when none is given


def article_from_text(
    id: str, text: str, title: str | None = None, *, source: str = "text"
) -> Article:
    """An ``Article`` with the id ``id`` from raw text (see the module docstring)."""
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
