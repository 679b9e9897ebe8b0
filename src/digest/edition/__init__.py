"""The edition stage group: from the day's stored articles to the stories of one edition.

    settings.py     ``EditionSettings``: what the stage reads of the configuration
    vectors.py      what the encoder reads of an article, and the vectors every step shares
    multilingual.py the multilingual encoder of same-event links across languages
    rank.py         the score of each candidate: a weighted sum of named terms
    cluster.py      same-event clustering: several outlets' reports of one event, one story
    repeats.py      stories an earlier, sent edition carried, set aside or kept as updates
    categories.py   which feed categories can name a section (no language label, no fragment)
    select.py       the stories (MMR with caps), the "More news" headlines, the left-out
                    list, and the assembled ``Edition``
    related.py      related stories for each story
    personal.py     a subscriber's topics re-ranking the edition's stories (variants)
    weekly.py       the weekly recap, from the week's daily editions
    actions.py      the editor's actions on an edition (drop, pin, edit, promote), replayed

Each module is a pure function of its inputs; ``digest.pipeline`` wires them.
"""
