"""The edition stage group: from the day's stored articles to the stories of one edition.

    vectors.py       what the encoder reads of an article, and the vectors every step shares
    rank.py          the score of each candidate: a weighted sum of named terms
    cluster.py       same-event clustering: several outlets' reports of one event, one story
    multilingual.py  the optional multilingual encoder behind same-event links outside
                     English
    repeats.py       never the same story twice: what a sent edition carried is left out,
                     unless an update brings new facts
    select.py        the stories (MMR with caps), the "More news" headlines, the left-out
                     list, and the assembled ``Edition``
    related.py       related stories for each story
    personal.py      the day's edition re-ordered, and partly re-chosen, for a topic set
    weekly.py        the weekly recap: the week's top stories from the daily editions sent
    actions.py       the editor's actions (drop, pin, move, promote, ...) as pure functions
                     of an edition, and their replay on a rebuild

Each module is a pure function of its inputs; ``digest.pipeline`` wires them.
"""
