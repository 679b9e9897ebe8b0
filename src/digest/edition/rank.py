"""Score the day's candidate articles; every score is a weighted sum of named terms.

Terms (each in a fixed range, weights from ``rank.weights``):

- ``freshness`` 0..1: ``0.5 ** (age / half_life_hours)``, the age measured from the end of
  the edition day in the configured timezone (an article without a date counts as one
  half-life old).
- ``interest`` 0..1: how close the article's opening (``opening_text``) is to the
  ``topics:`` of the config. Each topic is encoded whole and part by part ("climate,
  energy and the environment" gives "news about climate", "news about energy", ...):
  the best cosine over all phrases, rescaled from ``INTEREST_BAND`` to 0..1 (the cosines
  of all-MiniLM-L6-v2 between a short phrase and an article's opening sit in that band).
  An article not in English is measured through the multilingual encoder instead, where
  it is on (``MULTILINGUAL_INTEREST_BAND``, see ``_interests``): topics in any language
  rank its stories by meaning.
- ``source`` the configured weight of the source the article was ingested from
  (``Article.origin``; 1.0 when not configured).
- ``substance`` 0..1: length, named facts (names, figures) and dated events, squashed.
- ``novelty`` -1..0: a penalty for an article already sent in one of the last N editions
  (-1), or for one about an event already sent (minus its similarity to that story).

Each article's terms are a ``ScoreTerms`` value: the five values, a note per term saying
where it came from, and the edition that already sent the article, if any.
``ScoreTerms.explain`` turns a score back into one line per term.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Literal

import numpy as np

from digest.config import RankWeights
from digest.edition.settings import EditionSettings
from digest.edition.vectors import ArticleVectors, TopicVectors, english
from digest.embed import Vectors
from digest.models import Article, LeftOutReason

__all__ = [
    "INTEREST_BAND",
    "MULTILINGUAL_INTEREST_BAND",
    "TERMS",
    "TOPIC_SECTION_COSINE",
    "PastSends",
    "RankedArticle",
    "Ranking",
    "ScoreTerms",
    "TermName",
    "edition_end",
    "facts",
    "rank_articles",
    "substance",
    "topic_interest",
]

# Cosines at or below the first count as no interest, at or above the second as full.
INTEREST_BAND = (0.05, 0.35)
# The same band for an article not in English, through the multilingual encoder: its
# best topic's e5 cosine minus its cosine with ``BASELINE_TOPICS``, minus that phrase's
# median over the pile's articles not in English when there are ``MEDIAN_PILE`` of them
# (chosen on the reports of tests/test_languages_default.py, five languages: the named
# story 0.02..0.04 above the median, the others within 0.01 of it).
MULTILINGUAL_INTEREST_BAND = (0.0, 0.03)
MEDIAN_PILE = 5
# The least cosine at which the closest topic names the story's section: below it a crime
# report would land under "Diplomacy" for want of a better topic; it keeps its category.
TOPIC_SECTION_COSINE = 0.2

TermName = Literal["freshness", "interest", "source", "substance", "novelty"]
TERMS: tuple[TermName, ...] = ("freshness", "interest", "source", "substance", "novelty")

# Capitalised words that are not names (sentence openers, days, months, titles).
_NOT_NAME_WORDS = """a an the this that these those it its he she they we i you his her their our
    in on at of for from to by with and or but as after before over under new more most mr mrs ms dr
    president prime minister minister secretary monday tuesday wednesday thursday friday
    saturday sunday january february march april may june july august september october
    november december today yesterday tomorrow breaking live update video watch analysis
    opinion news report"""
_NOT_NAMES = frozenset(_NOT_NAME_WORDS.split())
_WORD = re.compile(r"[^\W\d_][\w'’.-]*[\w]|[^\W\d_]", re.UNICODE)
_NUMBER = re.compile(r"(?<![\w.])\d[\d,.]*\d%?|(?<![\w.])\d%?")
_SENTENCE_END = re.compile(r"[.!?:;\"“”‘’]$")
_DATE_MENTION = re.compile(
    r"\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.? \d{1,2}\b"
    r"|\b\d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\b"
)


# --- the values ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScoreTerms:
    """The terms an article's score is the weighted sum of (ranges in the module docstring).

    ``notes`` says where each value came from; ``sent_in`` is the edition that already
    sent the article (its novelty is then -1), None when none of the last N did;
    ``topic`` is the configured topic closest to the article, None when no topic is
    configured or none reaches ``TOPIC_SECTION_COSINE`` (the story's section when topics
    are set).
    """

    freshness: float = 0.0
    interest: float = 0.0
    source: float = 0.0
    substance: float = 0.0
    novelty: float = 0.0
    notes: Mapping[TermName, str] = field(default_factory=dict)
    sent_in: str | None = None
    topic: str | None = None

    def items(self) -> tuple[tuple[TermName, float], ...]:
        """(name, value) per term, in ``TERMS`` order."""
        return (
            ("freshness", self.freshness),
            ("interest", self.interest),
            ("source", self.source),
            ("substance", self.substance),
            ("novelty", self.novelty),
        )

    def weighted(self, weights: RankWeights) -> tuple[tuple[TermName, float, float], ...]:
        """(name, value, weight) per term, in ``TERMS`` order."""
        by_term = (
            weights.freshness,
            weights.interest,
            weights.source,
            weights.substance,
            weights.novelty,
        )
        return tuple(
            (name, value, weight)
            for (name, value), weight in zip(self.items(), by_term, strict=True)
        )

    def total(self, weights: RankWeights) -> float:
        """The score: the sum of weight x value over the terms."""
        return sum(weight * value for _, value, weight in self.weighted(weights))

    def rounded(self, digits: int = 6) -> dict[str, float]:
        """The values by name, rounded: what a saved edition keeps (``Story.terms``)."""
        return {name: round(float(value), digits) for name, value in self.items()}

    def explain(self, weights: RankWeights) -> list[str]:
        """One line per term: value x weight = contribution, and where the value came from;
        the last line is the total, which equals the score."""
        lines = []
        total = 0.0
        for name, value, weight in self.weighted(weights):
            total += value * weight
            note = f"  ({self.notes[name]})" if name in self.notes else ""
            lines.append(f"{name:<10} {value:6.3f} x {weight:4.2f} = {value * weight:+.3f}{note}")
        lines.append(f"{'score':<10} {total:+.3f}")
        return lines


@dataclass(frozen=True, slots=True)
class RankedArticle:
    """An article with its score and the terms the score is the weighted sum of."""

    article: Article
    score: float
    terms: ScoreTerms = field(default_factory=ScoreTerms)


# --- the terms -----------------------------------------------------------------------------


def edition_end(day: date, zone: tzinfo) -> datetime:
    """Midnight at the end of ``day`` in ``zone`` (the configured timezone)."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def freshness(article: Article, end: datetime, half_life_hours: float) -> tuple[float, str]:
    if article.published is None:
        return 0.5, "no publication date: counted as one half-life old"
    age = (end - _aware(article.published)).total_seconds() / 3600.0
    age = max(0.0, age)
    value = 0.5 ** (age / max(half_life_hours, 1e-6))
    return value, f"{age:.0f} h before the edition's end (half-life {half_life_hours:g} h)"


def _names(text: str) -> set[str]:
    """Capitalised words that do not open a sentence (and are not ``_NOT_NAMES``),
    lowercased: the people, places and bodies a text names."""
    found: set[str] = set()
    previous = ""
    for match in re.finditer(r"\S+", text):
        token = match.group(0)
        word_match = _WORD.search(token)
        starts_sentence = previous == "" or bool(_SENTENCE_END.search(previous))
        previous = token
        if word_match is None or starts_sentence:
            continue
        word = word_match.group(0).rstrip(".'’")
        if len(word) < 2 or not word[0].isupper():
            continue
        lowered = word.lower()
        if lowered not in _NOT_NAMES:
            found.add(lowered)
    return found


_YEAR = re.compile(r"(?:19|20)\d\d")


def facts(text: str) -> frozenset[str]:
    """The names and figures a text gives, lowercased (figures without commas; years left
    out: a story's year is no new fact)."""
    figures = {n.replace(",", "").rstrip(".") for n in _NUMBER.findall(text)}
    return frozenset(_names(text) | {f for f in figures if not _YEAR.fullmatch(f)})


def substance(article: Article) -> tuple[float, str]:
    """Length, named facts and dated events, each saturating, mixed into 0..1."""
    words = article.word_count
    text = article.text
    facts = len(_names(text)) + len(set(_NUMBER.findall(text)))
    dated = len(article.events) + len(_DATE_MENTION.findall(text))
    length_part = min(1.0, math.log1p(words) / math.log1p(800))
    facts_part = 1.0 - math.exp(-facts / 15.0)
    dated_part = 1.0 - math.exp(-dated / 4.0)
    value = 0.5 * length_part + 0.3 * facts_part + 0.2 * dated_part
    return value, f"{words} words, {facts} names/figures, {dated} dated events"


@dataclass(frozen=True)
class PastSends:
    """What the last N editions sent: article id -> edition id, and the sent stories'
    event vectors (for the penalty on a new article about an old event)."""

    articles: Mapping[str, str] = field(default_factory=dict)
    story_vectors: Vectors = field(default_factory=lambda: np.zeros((0, 384), np.float32))
    story_editions: tuple[str, ...] = ()


def novelty(
    article: Article, event_vector: Vectors, past: PastSends, threshold: float
) -> tuple[float, str]:
    edition_id = past.articles.get(article.id)
    if edition_id is not None:
        return -1.0, LeftOutReason("already_sent", edition_id=edition_id).text()
    if past.story_vectors.shape[0] and english(article):
        # The encoder reads English only; other text would match any sent story alike.
        sims = past.story_vectors @ event_vector
        best = int(np.argmax(sims))
        if float(sims[best]) >= threshold:
            return -float(sims[best]), (
                f"same event as a story of edition {past.story_editions[best]}"
                f" (similarity {float(sims[best]):.2f})"
            )
    return 0.0, "not sent before"


# --- ranking -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ranking:
    """Articles best first; each one's terms say where their values came from."""

    ranked: tuple[RankedArticle, ...]


def _interests(
    articles: Sequence[Article], vectors: ArticleVectors, topics: TopicVectors
) -> list[tuple[float, str, str | None]]:
    """The interest term of each article, its note, and its closest topic (None below the
    section cosine). An article in English is compared with the topics through the English
    encoder; one that is not, through the multilingual one where it is on
    (``MULTILINGUAL_INTEREST_BAND``)."""
    if not topics.phrases or not articles:
        return [(0.0, "no topics configured", None)] * len(articles)
    sims = vectors.matrix(articles) @ topics.vectors.T
    bands = np.tile(np.array(INTEREST_BAND, dtype=np.float32), (len(articles), 1))
    section = np.full(len(articles), TOPIC_SECTION_COSINE, dtype=np.float32)
    measure = ["cosine"] * len(articles)
    if topics.multilingual is not None and topics.baseline is not None:
        rows = [
            i for i, a in enumerate(articles) if not english(a) and a.id in vectors.multilingual
        ]
        if rows:
            docs = np.vstack([vectors.multilingual[articles[i].id] for i in rows])
            # Over the article's own baseline (e5 ranks any query in its script higher),
            # then over the pile's median for each phrase (some phrases sit high with
            # everything), where the pile has enough such articles to have a median.
            raw = docs @ topics.multilingual.T - (docs @ topics.baseline.T).max(axis=1)[:, None]
            if len(rows) >= MEDIAN_PILE:
                raw = raw - np.median(raw, axis=0)[None, :]
            for k, i in enumerate(rows):
                sims[i] = raw[k]
                bands[i] = MULTILINGUAL_INTEREST_BAND
                section[i] = MULTILINGUAL_INTEREST_BAND[1] / 2
                measure[i] = "multilingual cosine over baseline"
    found = []
    for i, (best, phrase) in enumerate(zip(sims.max(axis=1), sims.argmax(axis=1), strict=True)):
        cosine = float(best)
        low, high = (float(x) for x in bands[i])
        topic = topics.topics[topics.owner[int(phrase)]]
        note = (
            f"topic {topic!r}: {topics.phrases[int(phrase)]!r} {measure[i]} {cosine:.2f}"
            f" (band {low:g}..{high:g})"
        )
        value = min(1.0, max(0.0, (cosine - low) / (high - low)))
        readable = english(articles[i]) or measure[i] != "cosine"
        found.append((value, note, topic if readable and cosine >= section[i] else None))
    return found


def topic_interest(
    articles: Sequence[Article], vectors: ArticleVectors, topics: TopicVectors
) -> list[float]:
    """The interest term (0..1) of each article for ``topics``, as ranking measures it:
    through the English encoder, or the multilingual one for an article not in English."""
    return [value for value, _, _ in _interests(articles, vectors, topics)]


def _source(article: Article, weights: Mapping[str, float]) -> tuple[float, str]:
    """The configured weight of the source the article came in through (1 if none)."""
    origin = article.origin or article.source
    if origin in weights:
        return weights[origin], f"weight of source {origin!r}"
    return 1.0, f"source {origin!r} not configured: weight 1"


def rank_articles(
    settings: EditionSettings,
    articles: Sequence[Article],
    vectors: ArticleVectors,
    topics: TopicVectors,
    day: date,
    past: PastSends | None = None,
) -> Ranking:
    """Score ``articles`` for the edition of ``day``; best first (ties by id, so stable)."""
    past = past or PastSends()
    end = edition_end(day, settings.tz)
    source_weights = {s.name: s.weight for s in settings.sources}
    interests = _interests(articles, vectors, topics)
    ranked: list[RankedArticle] = []
    for article, (interest, interest_note, topic) in zip(articles, interests, strict=True):
        fresh, fresh_note = freshness(article, end, settings.rank.half_life_hours)
        source, source_note = _source(article, source_weights)
        subst, subst_note = substance(article)
        novel, novel_note = novelty(
            article, vectors[article.id], past, settings.edition.cluster_threshold
        )
        terms = ScoreTerms(
            freshness=fresh,
            interest=interest,
            source=source,
            substance=subst,
            novelty=novel,
            notes={
                "freshness": fresh_note,
                "interest": interest_note,
                "source": source_note,
                "substance": subst_note,
                "novelty": novel_note,
            },
            sent_in=past.articles.get(article.id),
            topic=topic,  # None for an article no encoder of the run reads
        )
        ranked.append(RankedArticle(article, terms.total(settings.rank.weights), terms))
    ranked.sort(key=lambda r: (-r.score, r.article.id))
    return Ranking(ranked=tuple(ranked))
