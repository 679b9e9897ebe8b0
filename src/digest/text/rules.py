"""Text rules that readers, sentences and summaries share, written once.

    line ends      ``SENTENCE_END`` (a sentence may end so) and ``CLAUSE_END`` (a line
                   ending so is prose, not a heading), in every script
    list items     ``BULLET_GLYPHS`` and the patterns built on them: ``BULLET_LINE`` (a
                   reader's bullet line and its text), ``LIST_MARK`` (the mark of a bullet
                   or numbered item, which the splitter drops) and ``MODEL_LIST_ITEM`` (a
                   point in a model's answer)
    normal forms   ``identity_form`` (what ids and hashes are made of), ``title_key`` (two
                   titles that name the same article), ``repeat_key`` (the same line twice)
    word overlap   ``casefold_words``, ``lowercase_words`` and ``mostly_same_words``
    boilerplate    ``is_boilerplate`` (a byline, a credit, a prompt, a promotion) and
                   ``strip_glued_boilerplate``

Where callers differ (which glyphs open an item, how words are cut), each difference is a
named rule here rather than a second copy there: changing any of them changes what
readers, sentence numbering or summaries give, so each is pinned by a test.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable

__all__ = [
    "BULLET_GLYPHS",
    "BULLET_LINE",
    "CLAUSE_END",
    "LIST_MARK",
    "MODEL_BULLET_GLYPHS",
    "MODEL_LIST_ITEM",
    "SENTENCE_END",
    "casefold_words",
    "identity_form",
    "is_boilerplate",
    "lowercase_words",
    "mostly_same_words",
    "repeat_key",
    "script_words",
    "strip_glued_boilerplate",
    "title_key",
]


# --- line ends -------------------------------------------------------------------------------

# Full stops of the scripts we split (Latin, CJK and fullwidth, Arabic-script, Devanagari,
# Ethiopic, Armenian, Khmer, Myanmar).
_STOPS = ".!?…。｡！？．؟۔।॥።։។៕။"
# A sentence may end on a full stop, or on the quote or bracket closed after one.
SENTENCE_END = re.compile(f"[{re.escape(_STOPS)}\"'”’)」』）】»]$")
# A line that ends on a full stop or a clause mark (Latin, CJK, Arabic comma and
# semicolon) is prose, never a heading.
CLAUSE_END = re.compile(f"[{re.escape(_STOPS)}:;,：；，、،؛]$")


# --- list items -------------------------------------------------------------------------------

# The glyphs that open a bullet line in an article: dots, squares, a triangle, an asterisk
# and the three dashes (hyphen, en, em). A dash opens an item only with a space after it.
BULLET_GLYPHS = "•·●▪◦‣∙*–—-"
# The glyphs read as bullets in a model's answer: fewer than an article's (no ◦ ‣ ∙ · —),
# as the parser has always read them; a model line opened by one of those is prose.
MODEL_BULLET_GLYPHS = "-*•●▪–"
_NUMBERED = r"\d{1,2}[.)]"  # "1." or "12)"; \d is any script's digit ("१.", "٣)")


def _one_of(glyphs: str) -> str:
    return "[" + "".join(re.escape(g) for g in glyphs) + "]"


# A reader's bullet line: a glyph, a space, then the item's text (no numbered items: "1."
# opens many a plain sentence in an article's text).
BULLET_LINE = re.compile(rf"^\s*{_one_of(BULLET_GLYPHS)}\s+(?P<text>\S.*)$")
# The mark before a bullet or numbered item: the splitter keeps such a line whole, without it.
LIST_MARK = re.compile(rf"^\s*(?:{_one_of(BULLET_GLYPHS)}|{_NUMBERED})\s+")
# A point in a model's answer: a bullet, or a number that may also open a bracket ("(2)").
MODEL_LIST_ITEM = re.compile(
    rf"^\s*(?:{_one_of(MODEL_BULLET_GLYPHS)}|\(?{_NUMBERED})\s+(?P<text>.*\S)"
)


# --- normal forms ------------------------------------------------------------------------------


def identity_form(text: str) -> str:
    """NFKC, whitespace collapsed, case folded: what article ids and content hashes are
    made of (``digest.identity``). Never change its output: every id and hash would."""
    return " ".join(unicodedata.normalize("NFKC", text).split()).casefold()


_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)


def title_key(title: str) -> str:
    """Accents dropped (NFKD, combining marks removed), case folded, every run of
    punctuation one space: two titles with the same key name the same article (a cited
    ``Related:`` title and a stored article's, in related stories)."""
    folded = unicodedata.normalize("NFKD", title)
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return _NON_WORD.sub(" ", folded.casefold()).strip()


def repeat_key(text: str) -> str:
    """Lower case, whitespace collapsed: the same line given twice (a timeline bullet a
    reader also kept as a paragraph, a point a model wrote twice)."""
    return " ".join(text.lower().split())


# --- word overlap ------------------------------------------------------------------------------

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_LOWER_WORD = re.compile(r"\w+", re.UNICODE)


def casefold_words(text: str) -> list[str]:
    """Runs of letters and digits ("_" splits them), each case folded: a reader's words."""
    return [w.casefold() for w in _WORD.findall(text)]


# Letters of scripts written without spaces (CJK, Thai, Lao, Khmer, Myanmar).
_UNSPACED_RUN = re.compile(
    "[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff]+"
)


def script_words(text: str) -> list[str]:
    """``casefold_words``, except that a run of a script written without spaces gives its
    character bigrams ("长江流域" gives "长江", "江流", "流域"), so that two CJK or Thai lines
    can share words at all. Text in spaced scripts gives exactly ``casefold_words``."""
    out: list[str] = []
    for word in casefold_words(text):
        if _UNSPACED_RUN.search(word) is None:
            out.append(word)
            continue
        for piece in re.split(f"({_UNSPACED_RUN.pattern})", word):
            if not piece:
                continue
            if _UNSPACED_RUN.fullmatch(piece):
                out.extend(piece[i : i + 2] for i in range(max(1, len(piece) - 1)))
            else:
                out.append(piece)
    return out


def lowercase_words(text: str) -> list[str]:
    """Runs of ``\\w`` (letters, digits, "_") in the lower-cased text: the email's words.

    Not quite ``casefold_words``: "_" joins, "ß" stays "ß" (casefold makes it "ss"), and
    "İ" lower-cased splits a word ("i" and a combining dot), so both are kept as they are.
    """
    return _LOWER_WORD.findall(text.lower())


def mostly_same_words(
    a: str,
    b: str,
    share: float = 0.6,
    *,
    words: Callable[[str], Iterable[str]] = casefold_words,
) -> bool:
    """Whether at least ``share`` of the distinct words of the shorter text are in the other
    one (a repeated headline, a dek that restates it); never with a text that has none."""
    wa, wb = set(words(a)), set(words(b))
    if not wa or not wb:
        return False
    return len(wa & wb) / min(len(wa), len(wb)) >= share


# --- boilerplate -------------------------------------------------------------------------------

_BOILERPLATE = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"^by\s+\.?\s*(?:daily mail|mailonline|associated press|reuters|cnn)\b",
        r"\b(?:published|updated|last updated):?\s+\d",
        r"^(?:photo|image|picture|video|graphic|illustration)s?\s*(?:credit)?\s*[:|]",
        r"\((?:photo|image|picture)s?\s+(?:by|credit|courtesy)\b",
        r"^(?:credit|source|copyright|©)\s*[:©]",
        r"\b(?:getty images|ap photo|reuters/|afp/|shutterstock|epa/)\b.{0,40}$",
        r"\bclick (?:here|below|the link)\b",
        r"\bscroll (?:down|up)\b",
        r"^(?:related|read more|see also|more|also read|recommended|watch|listen)\s*:",
        r"\b(?:sign up|subscribe)\b.{0,60}\b(?:newsletter|updates|channel|free)\b",
        r"\b(?:follow|like) us on\b",
        r"\bshare (?:this|on|via)\b",
        r"^(?:share|tweet|email|print|comments?)\s*(?:this)?\s*(?:article|story)?\s*[:.]?$",
        r"\b(?:sponsored|advertisement|promoted)\b\s*[:|]?\s*$",
        r"^(?:sponsored|advertisement|promoted)\b",
        r"\ball rights reserved\b",
        r"\b(?:buy now|shop now|order now|use code|promo code|discount code|limited offer)\b",
        # "Gravity Filters – Get clean water ...": a product name, a dash, an imperative.
        r"^[A-Z][\w'’]*(?:\s+[A-Z][\w'’]*){0,4}\s+[–—-]\s+(?:get|buy|shop|try|save|stay|keep"
        r"|protect|stock|grab|order|discover|find|be ready|never)\b",
        r"^for confidential support\b",
    )
]
# A byline: "By" and only capitalised names (case matters, so not "By Tuesday, the ...").
_BYLINE = re.compile(
    r"^(?:By|BY)\s+[.\s]*[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){0,4}"
    r"(?:\s*(?:,|and|&)\s*[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){0,3})*\s*[.|]?\s*$"
)
# The same in other languages: "Von Stefan Krempl" (de), "Por Ana Souza" (pt, es), "Par
# Jean Dupont" (fr), "Door" (nl), "Di" (it), "Av"/"Af" (sv, no, da), "Przez" (pl),
# and "Ein Bericht von ..." / "Reportagem de ..." / "Un reportage de ...": a word that
# says "by", then only capitalised names (joined by a comma or the language's "and"),
# optionally "in/à/em <Place>".
_NAME = r"[A-ZÀ-ÖØ-ÞĀ-ſ][\w.'’-]*"
_NAMES = rf"{_NAME}(?:\s+(?:{_NAME}|von|van|de|da|do|dos|das|di|del|della|le|la|du|ter)){{0,4}}"
_AND = r"(?:,|and|und|e|y|et|en|og|och|i|&)"
_BY_WORD = (
    r"(?:Von|VON|Por|POR|Par|PAR|Door|DOOR|Di|DI|Av|AV|Af|AF|Przez|PRZEZ|Od|Fra"
    r"|(?:Ein|Eine)\s+(?:Bericht|Kommentar|Analyse|Reportage|Gastbeitrag|Interview|Essay)\s+von"
    r"|(?:Uma\s+)?(?:Reportagem|Análise|Crônica|Texto|Entrevista)\s+de"
    r"|(?:Un|Una|Une)\s+(?:reportage|analyse|chronique|crónica|análisis|reportaje|entretien"
    r"|entrevista)\s+(?:de|par)"
    r"|(?:Texto|Text|Autor|Autorin|Auteur|Autore|Reportage)\s*:)"
)
_FOREIGN_BYLINE = re.compile(
    rf"^{_BY_WORD}\s+{_NAMES}(?:\s*{_AND}\s*{_NAMES})*"
    rf"(?:\s*,?\s*(?:in|aus|à|a|em|en|desde|from)\s+{_NAME}(?:\s+{_NAME})?)?\s*[.|]?\s*$"
)
# Bylines in scripts without case: "بقلم ..." (ar), "تحریر ..." (ur), "लेखक ..." (hi),
# "记者 ..." / "本报记者 ..." (zh), "文／..." / "撰文 ..." : the word and a few words after it.
_CASELESS_BYLINE = re.compile(
    r"^(?:(?:بقلم|كتب|كتبت|تحریر|رپورٹ|लेखक|संवाददाता)\s*[:：]?\s*[^\s.,،۔।]+(?:\s+[^\s.,،۔।]+){0,3}"
    # Chinese and Japanese: a reporter's name is two to four characters ("记者 王明").
    r"|[（(]?(?:本报记者|记者|撰文|文／|文/|記者)\s*[:：]?\s*[\u4e00-\u9fff·]{2,4}"
    r"(?:\s+[\u4e00-\u9fff·]{2,4}){0,2}[）)]?)$"
)
# Daily Mail and CNN glue some boilerplate to the front of a real sentence.
_GLUED = re.compile(
    r"^(?:scroll down for (?:video|more)s?\s*|(?:[A-Z][A-Za-z ,.]{0,40})?\(CNN\)\s*(?:--\s*)?"
    # A wire dateline in any language: "BERLIN (dpa) - ", "São Paulo (Reuters) – ".
    r"|(?:[A-ZÀ-ÖØ-Þ][\w ,./'’-]{0,40})?\((?:dpa|AFP|Reuters|AP|Lusa|EFE|ANSA|APA|KNA|epd|sid"
    r"|AFP/dpa|dpa/AFP|Agência Brasil|Europa Press|DW)\)\s*[-–—]+\s*"
    r"|by \.\s*[^.]{1,60}\s*\.\s*(?:published:.*?\|\s*\.\s*updated:.*?\d{4}\s*\.\s*)?)",
    re.IGNORECASE,
)


# A caseless byline is short: "记者 王明", "بقلم أحمد علي" (characters).
_MAX_CASELESS_BYLINE_CHARS = 40


def is_boilerplate(text: str) -> bool:
    """Whether a sentence is a byline, a credit, a prompt or a promotion, not news."""
    stripped = text.strip()
    if not stripped:
        return True
    return (
        bool(_BYLINE.match(stripped))
        or bool(_FOREIGN_BYLINE.match(stripped))
        or (len(stripped) <= _MAX_CASELESS_BYLINE_CHARS and bool(_CASELESS_BYLINE.match(stripped)))
        or any(p.search(stripped) for p in _BOILERPLATE)
    )


def strip_glued_boilerplate(text: str) -> str:
    """The sentence without boilerplate glued to its front ("(CNN) -- ", "Scroll down for
    video"); the sentence as it was when nothing else would be left."""
    cleaned = _GLUED.sub("", text, count=1).strip()
    return cleaned or text
