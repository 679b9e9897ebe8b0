"""Personal editions: the day's edition re-ordered, and partly re-chosen, for a topic set.

A subscriber's topics (free words, like the config's ``topics:``) are matched against each
story of the edition and each "More news" candidate: the match is the better of

- *words*: a topic's words all appear in the story's title, dek, section or key points
  (case-folded; a topic in a script without spaces, such as Chinese or Japanese, matches
  as a substring), which is 1.0; and
- *meaning*: the best cosine between the article's opening vector and the topic phrases
  (``news about <topic>``), mapped from ``INTEREST_BAND`` to 0..1 as the ranking's
  interest term is. The bundled encoder reads English only, so the words carry the
  other languages.

A story *matches* at ``MATCH_AT`` or above. The personal edition leads with the matching
stories (best match first), then the rest in the edition's order; matching candidates
(already summarised by the caller) replace the last non-matching stories, at most
``max_swaps`` of them, and the stories they replace become the first "More news"
headlines. The edition keeps its id: the ledger, the Message-ID and the archive link stay
those of the day's edition. Everything here is a pure function of its inputs, so that a
re-run builds the same variant.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from digest.edition.rank import topic_interest
from digest.edition.related import without_repeats
from digest.edition.vectors import ArticleVectors, TopicVectors
from digest.models import Article, Edition, EditionSection, Headline, Story

__all__ = [
    "MATCH_AT",
    "TopicKey",
    "meaning_matches",
    "personal_edition",
    "story_text",
    "topic_key",
    "word_match",
]

MATCH_AT = 0.5
# A topic key: the subscriber's topics, case-folded, sorted, without repeats.
TopicKey = tuple[str, ...]
_WORD = re.compile(r"\w+")


def topic_key(topics: Iterable[str]) -> TopicKey:
    """The key that groups subscribers: two subscribers with the same key get one render."""
    folded = {" ".join(unicodedata.normalize("NFKC", t).casefold().split()) for t in topics}
    return tuple(sorted(t for t in folded if t))


def _spaceless(text: str) -> bool:
    """Text in a script written without spaces between words (CJK, Thai...)."""
    return any(
        unicodedata.name(c, "").startswith(("CJK", "HIRAGANA", "KATAKANA", "THAI", "HANGUL"))
        for c in text
    )


def story_text(story: Story) -> str:
    """What words of a story a topic is matched against."""
    points = " ".join(p.text for p in story.summary.key_points)
    return " ".join(filter(None, (story.title, story.dek, story.section, points)))


def word_match(topics: TopicKey, text: str) -> bool:
    """Whether one of ``topics`` appears in ``text``: all its words as words, or, for a
    topic written without spaces, as a substring."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    words = set(_WORD.findall(folded))
    for topic in topics:
        if _spaceless(topic):
            if topic.replace(" ", "") in folded.replace(" ", ""):
                return True
        elif (wanted := _WORD.findall(topic)) and all(w in words for w in wanted):
            return True
    return False


def meaning_matches(
    articles: Sequence[Article], vectors: ArticleVectors, topics: TopicVectors
) -> list[float]:
    """Per article, the best topic phrase's match 0..1, as ranking's interest term
    (``rank.topic_interest``: the English encoder's cosine over ``INTEREST_BAND``, or the
    multilingual encoder's for an article not in English); zeros without phrases."""
    return topic_interest(articles, vectors, topics)


def personal_edition(
    edition: Edition,
    matches: Mapping[str, float],
    candidates: Sequence[Story] = (),
    *,
    max_swaps: int | None = None,
) -> Edition:
    """``edition`` for one topic set: ``matches`` maps article ids (stories and candidates)
    to their match 0..1; ``candidates`` are summarised stories from the "More news" pool.

    Without any match the edition is returned unchanged (the default edition).
    """
    stories = list(edition.stories)
    limit = len(stories) // 2 if max_swaps is None else max_swaps

    def match(article_id: str) -> float:
        return matches.get(article_id, 0.0)

    matching = [s for s in stories if match(s.article_id) >= MATCH_AT]
    others = [s for s in stories if match(s.article_id) < MATCH_AT]
    present = {s.article_id for s in stories}
    pool = [
        c for c in candidates if c.article_id not in present and match(c.article_id) >= MATCH_AT
    ]
    pool.sort(key=lambda c: -match(c.article_id))  # stable: ties keep the headline order
    swaps = min(len(pool), len(others), max(0, limit))
    if not matching and not swaps:
        return edition
    swapped_in, dropped = pool[:swaps], others[len(others) - swaps :]
    kept_others = others[: len(others) - swaps]
    leading = sorted([*matching, *swapped_in], key=lambda s: -match(s.article_id))
    # An advert kept with a label never leads, however well it matches: it goes last.
    adverts = [s for s in (*leading, *kept_others) if s.sponsored]
    leading = [s for s in leading if not s.sponsored]
    kept_others = [s for s in kept_others if not s.sponsored] + adverts
    taken = {s.article_id for s in swapped_in}
    more = tuple(
        Headline(s.article_id, s.title, s.source, s.url, s.section) for s in dropped
    ) + tuple(h for h in edition.more_news if h.article_id not in taken)
    personal = replace(
        edition,
        # Each section once, in the order of its first story: the matching stories lead, so
        # their sections come first, and inside a section the matches come before the rest.
        sections=_sections([*leading, *kept_others]),
        more_news=more[: max(len(edition.more_news), len(dropped))],
    )
    # A cross-reference to a story this reader's variant moved to More news goes with it.
    return without_repeats(personal)


def _sections(stories: Sequence[Story]) -> tuple[EditionSection, ...]:
    """Stories grouped by section, sections in the order of their first story."""
    grouped: dict[str, list[Story]] = {}
    for story in stories:
        grouped.setdefault(story.section, []).append(story)
    return tuple(EditionSection(name, tuple(group)) for name, group in grouped.items())
