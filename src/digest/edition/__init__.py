"""The edition stage group: from the day's stored articles to the stories of one edition.

    vectors.py   what the encoder reads of an article, and the vectors every step shares
    rank.py      the score of each candidate: a weighted sum of named terms
    cluster.py   same-event clustering: several outlets' reports of one event, one story
    select.py    the stories (MMR with caps), the "More news" headlines, the left-out list,
                 and the assembled ``Edition``
    related.py   related stories for each story

Each module is a pure function of its inputs; ``digest.pipeline.build`` wires them.
"""
