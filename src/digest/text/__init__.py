"""Rules about text that readers, summaries and the email share.

    sentences.py   the sentence splitter and the one numbering of an article's sentences
                   that every ``KeyPoint.sources`` index points into
"""
