"""Sentences of an article: split so that news text survives, numbered deterministically.

``article_sentences(article)`` is the one numbering every summary refers to: a
``KeyPoint.sources`` index is an index into its list. The order is the reading order of
the article (sections in order; a timeline's events where the timeline section stands,
else after the body and before a closing ``Conclusion``), so the same article always gives
the same list.

The splitter is a small rule-based one, not pysbd: on the 100 CNN/DM dev articles
(``bench/sentences.py``) it split them in 15 ms against pysbd 0.3.4's 2.2 s, which matters
because a whole summary must take well under 0.2 s, and it made fewer obvious errors
(sentences starting lowercase 0 vs 2, ending on a title such as "Mr." 0 vs 1, over 70
words 54 vs 109: pysbd keeps multi-sentence quotations whole, which a word budget per
point cannot use). It knows news abbreviations (``U.S.``, ``Dr.``, ``a.m.``, ``Gov.``,
initials), decimals and times, quotes and brackets after a full stop, ellipses, and
bullet and heading lines.

Other scripts: the Arabic-script full stop and question mark (``۔`` ``؟``; the Arabic comma
``،`` is a pause, never an end), the Devanagari danda and double danda (``।`` ``॥``), and the
Ethiopic and Armenian full stops end a sentence before a space as ``.`` does. CJK, Khmer
and Myanmar full stops (``。！？`` and their fullwidth forms, ``។`` ``။``) end one with no
space after them; a quotation closed after one and followed by a short attribution
("“……。”他说。", "「……。」と述べた。") stays one sentence. Thai has no full stop (a space
separates clauses and sentences alike): its sentences come from pythainlp's CRF model
(``crfcut``), and Lao ones are cut at spaces. Lengths count with ``digest.models.count_words``,
which counts CJK and Thai letters as word-equivalents.

Each sentence also says whether it is boilerplate (a byline, a photo credit, "Click
here", "Related:", a promotion, a share prompt; ``digest.text.rules.is_boilerplate``):
those are numbered like any other so indices stay stable, but no summary ever uses them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from digest.models import Article, Section, count_words
from digest.text.abbreviations import never_ends_sentence
from digest.text.rules import (
    CLAUSE_END,
    LIST_MARK,
    SENTENCE_END,
    is_boilerplate,
    repeat_key,
    strip_glued_boilerplate,
)

__all__ = [
    "SPLITTER_VERSION",
    "Sentence",
    "article_sentences",
    "split_paragraph",
    "split_sentences",
]

log = logging.getLogger(__name__)


# Bump when a change to splitting or numbering moves sentence indices: a cached summary's
# ``KeyPoint.sources`` point into this numbering, so it is part of every summary cache key.
SPLITTER_VERSION = 4


@dataclass(frozen=True, slots=True)
class Sentence:
    """One sentence of an article and where it stands in it."""

    index: int  # position in article_sentences(article)
    text: str
    heading: str | None  # the heading of its section (None for the lede section)
    section: int  # index of its section (events: the timeline section's index)
    paragraph: int  # index of its paragraph in the article (events: -1)
    position: int  # index of the sentence inside its paragraph or event
    is_lede: bool  # in the article's first paragraph
    is_event: bool  # from a timeline event
    event_label: str | None  # the event's date as written
    is_conclusion: bool  # under a "Conclusion"-like heading
    is_boilerplate: bool
    # Cut short by its source: it ends its paragraph on "...", "…" or "[…]", or it is the
    # article's last sentence and has no closing punctuation (a description cut at a length).
    is_fragment: bool = False

    @property
    def words(self) -> int:
        return count_words(self.text)


# --- splitting ------------------------------------------------------------------------------

# Abbreviations that end with a full stop and are usually followed by more of the sentence.
_ABBREVIATIONS = frozenset(
    """
    mr mrs ms dr prof sr jr st mt ft rev hon gen col lt sgt capt cpl pvt adm cmdr maj brig
    cdr gov sen rep pres supt det insp atty rt messrs mme mlle
    inc corp co ltd llc plc bros dept univ assn est approx
    jan feb mar apr jun jul aug sep sept oct nov dec
    vs etc al fig cf ca no nos vol pp op ed eds
    ave blvd rd hwy
    """.split()  # noqa: SIM905 - a word list reads best as words
)
# Words that often start a sentence: after "U.S." or "a.m.", one of these means a new one.
_STARTERS = frozenset(
    """
    A An The This That These Those It Its He She They We I You His Her Their Our But And
    Or So Yet In On At For From By With As After Before When While If Although Though
    Since Because However Meanwhile Then There Here Now Police Officials Authorities
    """.split()  # noqa: SIM905 - a word list reads best as words
)
# Full stops before a space: Latin, the Arabic-script full stop and question mark (Urdu,
# Arabic, Persian), the Devanagari danda and double danda, the Ethiopic and Armenian full
# stops. What follows must open a sentence (``_opens_sentence``).
_BOUNDARY = re.compile(r"""([.!?…۔؟।॥።։]+)(["'”’»)\]]*)(\s+)(?=["'“‘«(\[]?\w)""")
_DOTTED = re.compile(r"(?:\b[A-Za-z]\.){2,}$")  # U.S.  a.m.  U.K.
_INITIAL = re.compile(r"(?:^|[\s(])[A-Z]\.$")  # J. in "J. K. Rowling"
_LAST_WORD = re.compile(r"([A-Za-z]+)\.$")
_NUMBER_NEXT = re.compile(r"\d")


def split_sentences(text: str) -> list[str]:
    """Split one paragraph of prose into sentences (no sentence is ever empty)."""
    text = " ".join(text.split())
    if not text:
        return []
    pieces = _split_spaced(text)
    if _UNSPACED_STOP_CHAR.search(text):
        pieces = [part for piece in pieces for part in _split_unspaced(piece)]
    if _THAI.search(text) or _LAO.search(text):
        pieces = [part for piece in pieces for part in _split_thai_lao(piece)]
    return pieces


def _split_spaced(text: str) -> list[str]:
    out: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        end = match.end(2)
        if not _opens_sentence(text[match.end() :].lstrip("\"'“‘([")[:1]):
            continue
        if not _is_boundary(text, match.start(1), match.group(1), match.end()):
            continue
        piece = text[start:end].strip()
        if piece:
            out.append(piece)
        start = match.end()
    tail = text[start:].strip()
    if tail:
        out.append(tail)
    return out


def _opens_sentence(char: str) -> bool:
    """A digit or a letter that is not lowercase: a capital in any cased script (``Ü``,
    ``М``), or a letter of a script without case (Urdu, Hindi), where every letter may
    open a sentence."""
    return char.isdigit() or (char.isalpha() and not char.islower())


def _is_boundary(text: str, stop_at: int, stop: str, next_at: int) -> bool:
    if stop != ".":
        return True  # ! ? … and runs like "..." or "?!" end a sentence when a capital follows
    before = text[max(0, stop_at - 12) : stop_at + 1]
    nxt = text[next_at : next_at + 20].lstrip("\"'“‘([")
    next_word = nxt.split(" ", 1)[0].rstrip(",;:")
    if _DOTTED.search(before):
        # "U.S. officials" vs "moved to the U.S. The next year": split before a likely starter.
        return next_word in _STARTERS
    if _INITIAL.search(before) or never_ends_sentence(before, next_word):
        return False
    last = _LAST_WORD.search(before)
    if last:
        word = last.group(1)
        lower = word.lower()
        if lower in {"no", "nos", "op", "vol", "pp", "fig"}:
            # "No. 10", "Vol. 3" go on; the word "no." at a sentence's end does not.
            return not (_NUMBER_NEXT.match(nxt) and word[0].isupper())
        if lower in _ABBREVIATIONS and (word[0].isupper() or lower in {"etc", "al", "vs"}):
            return lower == "etc" and next_word in _STARTERS
    return True


# CJK, Khmer and Myanmar full stops, needing no space after them. ASCII "!" and "?" count
# only right after a CJK letter; the fullwidth full stop "．" not before a digit ("３．５").
_UNSPACED_STOP_CHAR = re.compile("[。｡！？．។៕။]")
_UNSPACED_STOP = re.compile("[。｡！？．!?។៕။]+(?P<closers>[」』”’）)\\]】〕》〉\"']*)")
_CJK_LETTER = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_HIRAGANA = re.compile("[\u3040-\u309f]")
# After a closed quotation, a clause this short up to the next full stop is its
# attribution ("他说。", "と述べた。"), not a sentence of its own (characters).
_ATTRIBUTION_CHARS = 8
# A piece of Lao (or Thai without pythainlp) cut at a space shorter than this, in
# word-equivalents, is a phrase, not a sentence.
_MIN_UNSPACED_WORDS = 3
_THAI = re.compile("[\u0e00-\u0e7f]")
_LAO = re.compile("[\u0e80-\u0eff]")


def _split_unspaced(text: str) -> list[str]:
    out: list[str] = []
    start = 0
    for match in _UNSPACED_STOP.finditer(text):
        stop, end = match.group(0), match.end()
        rest = text[end:].lstrip()
        if not rest or not _ends_unspaced(text, match.start(), stop, rest):
            continue
        if match["closers"] and _attribution_follows(rest):
            continue
        piece = text[start:end].strip()
        if piece:
            out.append(piece)
        start = end
    tail = text[start:].strip()
    if tail:
        out.append(tail)
    return out


def _ends_unspaced(text: str, at: int, stop: str, rest: str) -> bool:
    marks = stop.rstrip("」』”’）)]】〕》〉\"'")
    if not _UNSPACED_STOP_CHAR.search(marks):
        # Only ASCII "!" or "?": a full stop after a CJK letter, else the Latin rules' job.
        return at > 0 and _CJK_LETTER.match(text[at - 1]) is not None
    if marks == "．" and rest[:1].isdigit():
        return False
    # A following closing mark or comma belongs to this sentence.
    return rest[:1] not in "，、,;；:：」』”’）)]】〕》〉"


def _attribution_follows(rest: str) -> bool:
    if _HIRAGANA.match(rest):  # 「……。」と述べた: the quotation particle goes on
        return True
    clause = _UNSPACED_STOP.search(rest)
    return clause is not None and clause.start() <= _ATTRIBUTION_CHARS


def _split_thai_lao(text: str) -> list[str]:
    """Thai sentences from pythainlp's CRF model; Lao ones (and Thai, without pythainlp)
    cut at the spaces between two letters of the script."""
    if _THAI.search(text):
        found = _thai_sentences(text)
        if found is not None:
            return found
    script = _THAI if _THAI.search(text) else _LAO
    out: list[str] = []
    start = 0
    for gap in re.finditer(r"\s+", text):
        before, after = text[gap.start() - 1 : gap.start()], text[gap.end() : gap.end() + 1]
        if script.match(before) and script.match(after):
            out.append(text[start : gap.start()])
            start = gap.end()
    out.append(text[start:])
    # A space also sets off a short phrase ("and", a name): such a piece joins the next.
    merged: list[str] = []
    carry = ""
    for piece in (p.strip() for p in out if p.strip()):
        piece = f"{carry} {piece}".strip()
        carry = piece if count_words(piece) < _MIN_UNSPACED_WORDS else ""
        if not carry:
            merged.append(piece)
    if carry:
        merged.append(carry)
    return merged


_thai_failed = False


def _thai_sentences(text: str) -> list[str] | None:
    global _thai_failed
    if _thai_failed:
        return None
    try:
        # pythainlp loads its CRF model on first use (about 0.5 s): only for Thai text.
        from pythainlp.tokenize import sent_tokenize
    except ImportError:
        _thai_failed = True
        log.warning("pythainlp is not installed; Thai sentences are cut at spaces")
        return None
    try:
        pieces = sent_tokenize(text, engine="crfcut")
    except (OSError, RuntimeError, ValueError) as exc:
        _thai_failed = True
        log.warning("pythainlp failed (%s); Thai sentences are cut at spaces", exc)
        return None
    return [p.strip() for p in pieces if isinstance(p, str) and p.strip()]


def split_paragraph(paragraph: str) -> list[str]:
    """A paragraph's sentences; bullet lines and short heading lines stay whole lines."""
    lines = [line for line in paragraph.splitlines() if line.strip()]
    if len(lines) <= 1:
        return split_sentences(LIST_MARK.sub("", paragraph))
    out: list[str] = []
    prose: list[str] = []
    for line in lines:
        if LIST_MARK.match(line) or _looks_like_heading(line):
            out.extend(split_sentences(" ".join(prose)))
            prose = []
            out.extend(split_sentences(LIST_MARK.sub("", line)))
        else:
            prose.append(line)
    out.extend(split_sentences(" ".join(prose)))
    return out


def _looks_like_heading(line: str) -> bool:
    return 0 < count_words(line) <= 8 and CLAUSE_END.search(line.strip()) is None


# --- the article's sentences ------------------------------------------------------------------

_CONCLUSION = re.compile(
    r"^(?:conclusion|in conclusion|bottom line|the bottom line|takeaway|key takeaways|summary"
    r"|outlook|what(?:'s| is) next|looking ahead|final thoughts)\b",
    re.IGNORECASE,
)
_TIMELINE = re.compile(r"timeline|chronology|key developments|key events", re.IGNORECASE)


def article_sentences(article: Article) -> list[Sentence]:
    """The article's sentences in reading order, numbered from 0 (deterministic)."""
    sections = list(article.sections)
    event_section = _event_section(sections) if article.events else None
    out: list[Sentence] = []
    paragraph_index = 0
    event_texts = {repeat_key(e.text) for e in article.events}
    for s_index, section in enumerate(sections):
        heading = section.heading
        conclusion = bool(heading and _CONCLUSION.match(heading.strip()))
        for paragraph in section.paragraphs:
            p = paragraph_index
            paragraph_index += 1
            # A reader may keep the timeline bullets as paragraphs too; number them once.
            if event_section is not None and repeat_key(_strip_label(paragraph)) in event_texts:
                continue
            for pos, text in enumerate(split_paragraph(paragraph)):
                text = strip_glued_boilerplate(text)
                out.append(_make(out, text, heading, s_index, p, pos, p == 0, conclusion))
        if event_section == s_index:
            _add_events(article, out, heading, s_index)
    if event_section == len(sections):
        _add_events(article, out, None, len(sections))
    return _mark_fragments(out)


# A sentence ending so was cut by its source: "...", "…", "[…]", "(...)", "[+]".
_CUT_MARK = re.compile(r"(?:\.{3}|…|\[(?:…|\.{3}|\+)\]|\((?:…|\.{3})\))[\"'”’»)\]]*$")


def _mark_fragments(out: list[Sentence]) -> list[Sentence]:
    """Mark the sentences a source cut short (``Sentence.is_fragment``)."""
    body = [s for s in out if not s.is_event and not s.is_boilerplate]
    last = body[-1].index if body else -1
    # The last sentence of each paragraph: a "..." inside one is a pause, at its end a cut.
    ends = {s.paragraph: s.index for s in body}
    marked: list[Sentence] = []
    for s in out:
        text = s.text.strip()
        cut = (s.index == ends.get(s.paragraph) and _CUT_MARK.search(text) is not None) or (
            s.index == last and SENTENCE_END.search(text) is None
        )
        marked.append(replace(s, is_fragment=True) if cut else s)
    return marked


def _make(
    out: Sequence[Sentence],
    text: str,
    heading: str | None,
    section: int,
    paragraph: int,
    position: int,
    lede: bool,
    conclusion: bool,
    label: str | None = None,
) -> Sentence:
    return Sentence(
        index=len(out),
        text=text,
        heading=heading,
        section=section,
        paragraph=paragraph,
        position=position,
        is_lede=lede,
        is_event=label is not None,
        event_label=label,
        is_conclusion=conclusion,
        is_boilerplate=is_boilerplate(text),
    )


def _add_events(article: Article, out: list[Sentence], heading: str | None, section: int) -> None:
    for event in article.events:
        for pos, text in enumerate(split_sentences(event.text)):
            shown = f"{event.label}: {text}" if pos == 0 and event.label else text
            out.append(
                _make(out, shown, heading, section, -1, pos, False, False, event.label or "")
            )


def _event_section(sections: Sequence[Section]) -> int:
    """Where the timeline stands: its own section, else before a closing conclusion."""
    for i, section in enumerate(sections):
        if section.heading and _TIMELINE.search(section.heading):
            return i
    for i, section in enumerate(sections):
        if i > 0 and section.heading and _CONCLUSION.match(section.heading.strip()):
            return i - 1
    return len(sections)


def _strip_label(paragraph: str) -> str:
    text = LIST_MARK.sub("", paragraph.strip())
    head, sep, rest = text.partition(": ")
    return rest if sep and len(head) <= 40 else text
