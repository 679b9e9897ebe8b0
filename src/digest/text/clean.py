"""Repairs of text damaged before it reached us: HTML entities and mojibake, with ftfy.

Feeds and pages hand over text that was escaped once too often (``Sutton &#038; Nicholson``
in an Atom ``type="html"`` title, ``Tom &amp;amp; Jerry``) or decoded with the wrong
charset somewhere upstream (``weâ€™re``, ``â€˜secretâ€™``, ``airportÂ``). ``repair`` puts
such text right with ftfy, the library the field trusts for it, configured to change
nothing else that matters here: curly quotes stay curly and fullwidth CJK punctuation
stays fullwidth (ftfy's ``uncurl_quotes`` and ``fix_character_width`` are off).

Every repair is counted by kind (``entity``, ``mojibake``, ``control``) in the tally of the
read in progress (``counting_repairs``), so that ``digest read``, the ingest line and
benchmarks can say how much was mended.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

from ftfy import TextFixerConfig, fix_and_explain

__all__ = ["REPAIR_KINDS", "counting_repairs", "repair"]

log = logging.getLogger(__name__)

REPAIR_KINDS = ("entity", "mojibake", "control")
_CONFIG = TextFixerConfig(
    uncurl_quotes=False, fix_character_width=False, fix_latin_ligatures=False, explain=True
)
# Text longer than this is repaired in pieces of this size cut at line ends, so that ftfy's
# per-segment work stays bounded (characters).
_PIECE_CHARS = 20_000
_TALLY: ContextVar[Counter[str] | None] = ContextVar("digest_repairs", default=None)


@contextmanager
def counting_repairs() -> Iterator[Counter[str]]:
    """A tally of the repairs ``repair`` makes inside the block, by kind."""
    tally: Counter[str] = Counter()
    token = _TALLY.set(tally)
    try:
        yield tally
    finally:
        _TALLY.reset(token)


def _kinds(explanation: Sequence[tuple[str, str]]) -> set[str]:
    kinds: set[str] = set()
    for action, parameter in explanation:
        if parameter == "unescape_html":
            kinds.add("entity")
        elif action in ("encode", "decode", "transcode"):
            kinds.add("mojibake")
        elif parameter in ("remove_control_chars", "remove_terminal_escapes"):
            kinds.add("control")
    return kinds


def repair(text: str) -> str:
    """``text`` with double-escaped entities and mojibake repaired (unchanged when sound)."""
    if not text or (text.isascii() and "&" not in text and text.isprintable()):
        return text  # nothing ftfy would change: the common case, kept fast
    pieces = [text] if len(text) <= _PIECE_CHARS else _pieces(text)
    out: list[str] = []
    kinds: set[str] = set()
    for piece in pieces:
        fixed = fix_and_explain(piece, _CONFIG)
        out.append(fixed.text)
        kinds |= _kinds(fixed.explanation or [])
    repaired = "".join(out)
    if kinds:
        tally = _TALLY.get()
        if tally is not None:
            tally.update(kinds)
        log.debug("repaired %s: %.60r -> %.60r", "/".join(sorted(kinds)), text, repaired)
    return repaired


def _pieces(text: str) -> list[str]:
    pieces: list[str] = []
    start = 0
    while start < len(text):
        end = min(len(text), start + _PIECE_CHARS)
        if end < len(text):
            cut = text.rfind("\n", start, end)
            end = cut + 1 if cut > start else end
        pieces.append(text[start:end])
        start = end
    return pieces
