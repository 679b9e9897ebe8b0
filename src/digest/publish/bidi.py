"""Text direction in the newsletter: invisible controls out, each mixed part isolated.

A feed controls every title, outlet name and summary that reaches the mail, and Unicode
lets text reorder what comes after it: U+202E (right-to-left override) turns
``moc.elpmaxe`` into what looks like ``example.com``; an unbalanced embedding leaks into the
rest of a line. So edition text and subscriber names lose every bidi embedding, override
and isolate (U+202A-U+202E, U+2066-U+2069) and every other invisible control
(``strip_controls``), and the newsletter adds its own isolation where a part may differ in
direction from the text around it: ``<span dir="...">`` in the HTML (``isolate_html``), FSI
... PDI in the plain text (``isolate_text``). Marks (LRM, RLM, ALM) and the joiners that
Arabic, Indic and emoji text needs (ZWJ, ZWNJ) stay: they cannot reorder anything.
"""

from __future__ import annotations

import re
from typing import Literal

from markupsafe import Markup, escape

__all__ = [
    "FSI",
    "LRI",
    "LRM",
    "PDI",
    "RLI",
    "RLM",
    "Direction",
    "direction_of",
    "first_strong",
    "has_strong",
    "isolate_html",
    "isolate_text",
    "line_mark",
    "strip_controls",
]

Direction = Literal["ltr", "rtl"]

FSI = "\u2068"  # first strong isolate: the part takes the direction of its first letter
PDI = "\u2069"  # pop directional isolate
LRI = "\u2066"  # left-to-right isolate
RLI = "\u2067"  # right-to-left isolate
LRM = "\u200e"
RLM = "\u200f"

# Removed from edition text and names: C0 controls but tab and newline; DEL and the C1
# controls; the Mongolian vowel separator (a format character since Unicode 6.3); the
# invisible mathematical operators; the bidi embeddings, overrides and isolates; the
# deprecated format characters; the byte-order mark (a zero-width no-break space inside
# text); the interlinear annotation characters; the tag characters (invisible ASCII that
# can smuggle text past a reader).
_CONTROLS = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u180e\u2061-\u2064\u202a-\u202e\u2066-\u2069"
    "\u206a-\u206f\ufeff\ufff9-\ufffb\U000e0000-\U000e007f]"
)
# Line and paragraph separators break lines in some clients and not in others.
_SEPARATORS = re.compile("[\u2028\u2029]")
# Letters of the right-to-left scripts (Hebrew, Arabic, Syriac, Thaana, NKo, Samaritan,
# Mandaic, their presentation forms, and the historic RTL blocks of the SMP).
_RTL_RANGES = "\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc\U00010800-\U00010fff\U0001e800-\U0001efff"
_RTL = re.compile(f"[{_RTL_RANGES}]")
# Letters of every other script: all written left to right (Latin, Cyrillic, Greek, CJK,
# Indic, Thai...), which is what Unicode's bidi class L says of them.
_LTR = re.compile(f"(?![{_RTL_RANGES}])[^\\W\\d_]")
# How many characters are enough to tell a field's direction.
SAMPLE_CHARS = 400
# A mixed field is laid out the way most of its letters go when they outnumber the other
# direction's this many times; else the way its first letter goes.
MAJORITY = 2


_ISOLATES = "\u2066\u2067\u2068\u2069"


def strip_controls(text: str, *, keep_isolates: bool = False) -> str:
    """``text`` without invisible controls (see the module's docstring); a line or
    paragraph separator becomes a space. ``keep_isolates`` leaves LRI, RLI, FSI and PDI
    (the plain text's own isolation, added to text already stripped)."""
    if keep_isolates and any(c in text for c in _ISOLATES):
        parts = re.split(f"([{_ISOLATES}])", text)
        return "".join(p if p in _ISOLATES else strip_controls(p) for p in parts)
    return _SEPARATORS.sub(" ", _CONTROLS.sub("", text))


def has_strong(text: str, direction: Direction) -> bool:
    """Whether ``text`` holds a letter written in ``direction``."""
    return (_RTL if direction == "rtl" else _LTR).search(text) is not None


def direction_of(text: str) -> Direction | None:
    """The direction most of ``text``'s letters are written in (its first
    ``SAMPLE_CHARS``), or None when it has no letters."""
    sample = text[:SAMPLE_CHARS]
    rtl = len(_RTL.findall(sample))
    ltr = len(_LTR.findall(sample))
    if rtl == ltr == 0:
        return None
    return "rtl" if rtl > ltr else "ltr"


def _opposite(direction: Direction) -> Direction:
    return "ltr" if direction == "rtl" else "rtl"


def first_strong(text: str) -> Direction | None:
    """The direction of ``text``'s first letter (what ``dir="auto"`` and FSI go by)."""
    rtl, ltr = _RTL.search(text), _LTR.search(text)
    if rtl is None or ltr is None:
        return "rtl" if rtl else "ltr" if ltr else None
    return "rtl" if rtl.start() < ltr.start() else "ltr"


def _isolate_direction(text: str) -> Direction | None:
    """The direction an isolate of mixed ``text`` must force, or None where its first
    letter already gives the right one: an Urdu outlet name that starts with a Latin brand
    (``BBC News اردو - پاکستان``) is Urdu and must read right to left, whatever its first
    letter says."""
    sample = text[:SAMPLE_CHARS]
    rtl, ltr = len(_RTL.findall(sample)), len(_LTR.findall(sample))
    # Only a clear majority overrules the first letter ("5 جنوری 4:51 PM" is not one).
    most: Direction | None = (
        "rtl" if rtl > MAJORITY * ltr else "ltr" if ltr > MAJORITY * rtl else None
    )
    return most if most is not None and most != first_strong(text) else None


def isolate_text(text: str, context: Direction) -> str:
    """``text`` between FSI and PDI when it holds letters of the other direction than
    ``context`` (where it could pull the numbers and punctuation around it along); RLI
    or LRI instead where most of its letters go the other way than its first one."""
    if text and has_strong(text, _opposite(context)):
        forced = _isolate_direction(text)
        start = FSI if forced is None else RLI if forced == "rtl" else LRI
        return f"{start}{text}{PDI}"
    return text


def isolate_html(
    text: str,
    context: Direction,
    *,
    lang: str | None = None,
    direction: Direction | None = None,
) -> Markup:
    """``text`` escaped, in a ``<span>`` of its own direction where it may differ from
    ``context``: ``lang``/``dir`` when they are known and differ from the context's (a
    fixed string of the newsletter inside a story in another script), else ``dir="auto"``
    when the text holds letters of the other direction (its majority's ``dir`` where the
    first letter would mislead ``auto``). A span with ``dir`` is a bidi
    isolate in every engine that knows ``dir``, which every mail client does."""
    if direction is not None and direction != context:
        lang_attr = Markup(' lang="{}"').format(lang) if lang else Markup("")
        return Markup('<span{} dir="{}">{}</span>').format(lang_attr, direction, text)
    if text and has_strong(text, _opposite(context)):
        # Text of a known direction (the newsletter's own date in a story of the same
        # direction) keeps it; else its clear majority's, else its first letter's.
        forced = direction or _isolate_direction(text)
        if forced is not None:
            return Markup('<span dir="{}">{}</span>').format(forced, text)
        return Markup('<span dir="auto">{}</span>').format(text)
    return escape(text)


def line_mark(direction: Direction) -> str:
    """The invisible mark that starts a plain-text line written in ``direction``, so that
    a client lays it out that way whatever its first letter (LRM or RLM)."""
    return RLM if direction == "rtl" else LRM
