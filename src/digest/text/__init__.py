"""Rules about text that readers, summaries and the email share.

rules.py       the rules written once for all of them: bullet and numbered items, the
               normal forms of a text (for ids and hashes, for matching titles, for
               spotting a repeat), word overlap, bylines and boilerplate
sentences.py   the sentence splitter and the one numbering of an article's sentences
               that every ``KeyPoint.sources`` index points into
abbreviations.py  the abbreviations that never end a sentence, language by language
clean.py       repairs of text damaged before it reached us: HTML entities and mojibake
sponsored.py   adverts and sponsored items, by the markers publishers print
language.py    an article's language: the code its source declares, else one read from
               its text
"""
