"""Which feed categories can name a section of the newsletter.

Feeds put more in ``<category>`` than sections: BBC 中文 labels every item with the
language of its service (``Chinese simplified``), Jornal de Notícias gives fragments of a
path (``In``). Such a category would become the only section of a Chinese newsletter, or a
section called "In". ``names_a_section`` says no to:

- a language or script label: the name of a language, in English or in itself (``Chinese``,
  ``中文``, ``Português``, ``اردو``), alone or with a qualifier (``simplified``,
  ``traditional``, ``简体``, ``edition``); the names come from the CLDR data of Babel;
- a fragment: one word of one or two letters that is not an acronym (``In``, ``a``),
  or no letter at all.

A story whose category says no falls back to its topic (when ``topics:`` are set) or to
the source's configured category, else to the one default section, which the newsletter
shows in its own language.
"""

from __future__ import annotations

import functools
import re

from babel import Locale, UnknownLocaleError

__all__ = ["LANGUAGE_CODES", "names_a_section"]

# The languages whose names are recognised, each in English and in itself.
LANGUAGE_CODES = (
    *("ar", "bn", "cs", "da", "de", "el", "en", "es", "fa", "fi", "fr", "he", "hi", "hu"),
    *("id", "it", "ja", "ko", "ms", "nl", "no", "pl", "pt", "ro", "ru", "sv", "sw", "th"),
    *("tl", "tr", "uk", "ur", "vi", "zh"),
)
# Words that qualify a language label without making it a subject.
_QUALIFIERS = frozenset(
    (
        *("simplified", "traditional", "simp", "trad", "edition", "version", "service"),
        *("language", "languages", "international", "global", "online", "news"),
        *("简体", "繁体", "繁體", "简", "繁", "版", "频道", "語", "语"),
    )
)
# CJK qualifiers are written without spaces: cut out of the label, longest first.
_UNSPACED_QUALIFIERS = tuple(
    sorted((q for q in _QUALIFIERS if not q.isascii()), key=lambda q: (-len(q), q))
)
_WORD = re.compile(r"\w+", re.UNICODE)


@functools.cache
def _language_names() -> frozenset[str]:
    english = Locale("en")
    names: set[str] = set()
    for code in LANGUAGE_CODES:
        try:
            own = Locale.parse(code)
        except (UnknownLocaleError, ValueError):
            continue
        for name in (english.languages.get(code), own.languages.get(code)):
            if name:
                names.add(name.casefold())
    return frozenset(names)


def _is_language_label(category: str) -> bool:
    text = category.casefold()
    names = _language_names()
    if text.strip() in names:
        return True
    for qualifier in _UNSPACED_QUALIFIERS:
        text = text.replace(qualifier, " ")
    words = [w for w in _WORD.findall(text) if w not in _QUALIFIERS]
    return bool(words) and " ".join(words) in names


def _is_fragment(category: str) -> bool:
    words = _WORD.findall(category)
    if not any(ch.isalpha() for ch in category):
        return True
    if len(words) != 1:
        return False
    word = words[0]
    return len(word) <= 2 and word.isascii() and not word.isupper()


def names_a_section(category: str) -> bool:
    """Whether a feed's ``category`` can name a section (see the module docstring)."""
    text = " ".join(category.split())
    return bool(text) and not _is_fragment(text) and not _is_language_label(text)
