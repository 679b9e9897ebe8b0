"""Abbreviations that never end a sentence, language by language.

The splitter (``digest.text.sentences``) does not know an article's language when it cuts a
paragraph, so it asks one question of every language's list at once: is the word before
this full stop one of them? Each list is written as the abbreviation is spelled (``Nr``,
``bzw``, ``Sra``), so that a word in capitals that ends a sentence ("the CIA.") is never
taken for a lowercase one ("Cia." in Portuguese company names); a list's word also counts
when it opens a sentence with a capital ("Vgl. ...").

Multi-part abbreviations (``z. B.``, ``d. h.``, ``p. ex.``, ``т. е.``, ``и т. д.``) are pieces
of one lowercase letter or two and a full stop: the splitter never ends a sentence after a
lone lowercase letter that another such piece follows, nor after the second piece of such
a pair (``MULTIPART``).

English titles (``Mr.``, ``Dr.``) and dotted forms (``U.S.``, ``a.m.``) keep their own rules
in the splitter, which tell "moved to the U.S. The next year" from "U.S. officials".
Words in these lists were chosen because they are never the last word of a sentence in
their language; a word that often is (English "no.", "abs.") stays out.
"""

from __future__ import annotations

import re

__all__ = ["ABBREVIATIONS", "MONTHS_AFTER_ORDINAL", "MULTIPART", "never_ends_sentence"]

ABBREVIATIONS: dict[str, frozenset[str]] = {
    lang: frozenset(words.split())
    for lang, words in {
        # German: "bzw.", "usw.", "Nr.", "ca.", "vgl." are followed by capitalised nouns.
        "de": "bzw usw vgl ggf evtl bspw sog inkl exkl zzgl ca Nr Str Hr Fr Jh Jhd Mio Mrd"
        " Tsd Abb Anm Bd Kap Dipl Ing Dr Prof Hrsg bzgl gem lt urspr",
        # Portuguese: "Sr.", "Sra.", "pág.", "núm.", "p. ex." (the pair is MULTIPART).
        "pt": "Sr Sra Srs Sras Dr Dra Prof Profa Av pág págs núm nº aprox Exa Exmo Ltda Cia",
        "es": "Sr Sra Srta Sres Dr Dra Ud Uds Av pág núm aprox Cía dcha izq",
        "fr": "Mme Mlle MM Me Pr env av bd cf",
        "it": "Sig Sigg Dott Ing Avv Prof ecc",
        "nl": "dhr mevr bijv ca nr",
        # Russian: "ул.", "им.", "тыс.", "млн."; "т. е." and "т. д." are MULTIPART.
        "ru": "ул им др тыс млн млрд руб см стр проф акад гг пр",
        "tr": "Dr Prof vb vs",
    }.items()
}
_ALL = frozenset().union(*ABBREVIATIONS.values())

# The closing piece of a multi-part abbreviation, after a first one of a letter or two:
# "z. B.", "d. h.", "u. a.", "o. ä.", "p. ex.", "т. е.", "т. д.", "т. п.", "i. e.", "e. g.".
MULTIPART = re.compile(r"(?:^|\s)(\w{1,2})\.\s(\w{1,2})\.$")
# "am 3. Oktober": an ordinal before a month name is a date, not a sentence's end.
MONTHS_AFTER_ORDINAL = frozenset(
    """
    Januar Jänner Februar März April Mai Juni Juli August September Oktober November Dezember
    Jan Feb Mär Apr Jun Jul Aug Sep Sept Okt Nov Dez
    """.split()  # noqa: SIM905 - a word list reads best as words
)
_PIECE = re.compile(r"\w{1,2}\.")
_LONE_LETTER = re.compile(r"(?:^|\s)\w\.$")
_WORD_BEFORE_STOP = re.compile(r"(?:^|[^\w])(\w+)\.$")
_ORDINAL_BEFORE_STOP = re.compile(r"(?:^|[^\w.])\d{1,2}\.$")


def never_ends_sentence(before: str, next_word: str) -> bool:
    """Whether the full stop that ends ``before`` belongs to an abbreviation (in any
    language listed) or a date's ordinal, so that ``next_word`` goes on the sentence."""
    pair = MULTIPART.search(before)
    if pair is not None and pair.group(1).islower():
        return True
    if _ORDINAL_BEFORE_STOP.search(before):
        return next_word.rstrip(".,") in MONTHS_AFTER_ORDINAL
    found = _WORD_BEFORE_STOP.search(before)
    if found is None:
        return False
    word = found.group(1)
    if len(word) == 1 and word.islower():
        # The first piece of "z. B.", "т. е.", "p. ex.": a lone letter after a space, and
        # a second piece next. "without an i. The" and "don't. We" end their sentences.
        return _PIECE.fullmatch(next_word) is not None and _LONE_LETTER.search(before) is not None
    return word in _ALL or (word[:1].isupper() and word[:1].lower() + word[1:] in _ALL)
