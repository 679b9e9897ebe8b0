"""An article's language: the code its source declares, else one read from its text.

``normal_language`` turns what feeds and pages declare (``en-US``, ``pt_BR``, ``DE``) into
lower-case BCP 47-like codes (``en-us``, ``pt-br``, ``de``), or None when it is not one.
``detect_language`` reads the text: the script first (kana is Japanese, Han alone
Chinese, Hangul Korean; Urdu, Persian and Arabic apart by the letters only each of them
uses; Thai, Hebrew, Greek, the Indic scripts ...), and for Latin and Cyrillic text, where
the script does not tell, py3langid (langid.py's model, shipped in its wheel; nothing is
downloaded). Too little text, or a guess below ``MIN_CONFIDENCE``, is None: no language
is better than a wrong one.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from functools import cache
from typing import Any

__all__ = ["MIN_CONFIDENCE", "detect_language", "normal_language"]

_CODE = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]{1,8}){0,3}$")
_MAX_CODE_CHARS = 35
# Letters read to tell the language (from the start of the text), and the fewest needed.
_SAMPLE_CHARS = 2_000
_MIN_LETTERS = 20
MIN_CONFIDENCE = 0.8

# Unicode script of a letter, by the first word of its character name.
_SCRIPT_OF_NAME = {
    "CJK": "han",
    "HIRAGANA": "kana",
    "KATAKANA": "kana",
    "HANGUL": "hangul",
    "ARABIC": "arabic",
    "HEBREW": "he",
    "GREEK": "el",
    "ARMENIAN": "hy",
    "GEORGIAN": "ka",
    "ETHIOPIC": "am",
    "THAI": "th",
    "LAO": "lo",
    "KHMER": "km",
    "MYANMAR": "my",
    "DEVANAGARI": "devanagari",
    "BENGALI": "bn",
    "GURMUKHI": "pa",
    "GUJARATI": "gu",
    "ORIYA": "or",
    "TAMIL": "ta",
    "TELUGU": "te",
    "KANNADA": "kn",
    "MALAYALAM": "ml",
    "SINHALA": "si",
    "TIBETAN": "bo",
    "LATIN": "latin",
    "CYRILLIC": "cyrillic",
}
# Letters of the Arabic script that only Urdu uses, and those Persian adds to Arabic.
_URDU_LETTERS = frozenset("ٹڈڑںےۓ")
_PERSIAN_LETTERS = frozenset("پچژگ")
_ARABIC_ONLY_LETTERS = frozenset("ةيكى")


def normal_language(value: Any) -> str | None:
    """A declared language as a lower-case BCP 47-like code, or None when it is not one."""
    if not isinstance(value, str):
        return None
    code = value.strip().replace("_", "-").lower()
    if len(code) > _MAX_CODE_CHARS or not _CODE.match(code):
        return None
    return code


def _script(char: str) -> str | None:
    name = unicodedata.name(char, "")
    return _SCRIPT_OF_NAME.get(name.split(" ", 1)[0]) if name else None


def detect_language(text: str) -> str | None:
    """The language ``text`` is written in, or None when it cannot be told."""
    sample = text[:_SAMPLE_CHARS]
    letters = [ch for ch in sample if ch.isalpha()]
    if len(letters) < _MIN_LETTERS:
        return None
    scripts = Counter(s for s in map(_script, letters) if s is not None)
    if not scripts:
        return None
    script = scripts.most_common(1)[0][0]
    # Japanese mixes kana with Han; any real share of kana makes it Japanese.
    kana, han = scripts["kana"], scripts["han"]
    if script in ("han", "kana") and kana and kana >= 0.1 * (kana + han):
        return "ja"
    if script == "han":
        return "zh"
    if script == "hangul":
        return "ko"
    if script == "arabic":
        used = set(sample)
        if used & _URDU_LETTERS:
            return "ur"
        if used & _PERSIAN_LETTERS and not used & _ARABIC_ONLY_LETTERS:
            return "fa"
        return "ar"
    if script in ("latin", "cyrillic", "devanagari"):
        return _classify(sample) or ("hi" if script == "devanagari" else None)
    return script


def _classify(text: str) -> str | None:
    language, confidence = _identifier().classify(text)
    return str(language) if float(confidence) >= MIN_CONFIDENCE else None


@cache
def _identifier() -> Any:
    # py3langid unpickles its model on load (about 0.15 s): only when Latin or Cyrillic
    # text without a declared language comes along.
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_pickled_model(MODEL_FILE, norm_probs=True)
