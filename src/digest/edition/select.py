"""Choose the edition's stories from the day's clusters and lay the edition out.

Selection is maximal marginal relevance over the clusters' leading articles: each next
story maximises ``(1 - diversity) * relevance - diversity * similarity`` to the stories
already chosen (relevance = the cluster's score scaled to 0..1 over the day, similarity =
``story_similarity``: the cosine of the articles' openings for two English articles,
else a measure that reads their language), skipping a headline-only article (no text to
summarise), one the summariser could not summarise, and a story whose section or source
already has its cap, and an advert or sponsored item when ``edition.sponsored`` is
"omit" (with "label" it is kept, marked, and laid after every other story, so that it
never leads nor gives the subject line). Caps are soft: when the first pass leaves the
edition short of ``stories``, the stories skipped for a cap are taken after all, in the
same order, each named in ``left_out`` as ``cap_relaxed`` (and those still out are then
below the cut, not capped). The clusters left after ``stories`` picks give the
"More news" headlines, in score order; every other article gets a ``LeftOut`` reason.

A story's section: its closest configured topic (``ScoreTerms.topic``) when ``topics:`` are
set, else its feed category tidied (``section_name``), else the category of the source it
came through, else "News"; ``edition.section_names`` renames any of them.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np

from digest.edition.categories import names_a_section
from digest.edition.cluster import (
    MULTILINGUAL_ZERO,
    TEXT_SCALE,
    Cluster,
    language_of,
    text_similarity,
)
from digest.edition.rank import RankedArticle
from digest.edition.related import without_repeats
from digest.edition.settings import EditionSettings
from digest.edition.vectors import ArticleVectors, english
from digest.embed import Vectors
from digest.errors import EditionError
from digest.mmr import MMROrder
from digest.models import (
    Article,
    Edition,
    EditionSection,
    Headline,
    LeftOut,
    LeftOutReason,
    RelatedItem,
    Story,
    Summary,
)
from digest.text.sponsored import is_sponsored

__all__ = [
    "Selection",
    "assemble_edition",
    "edition_id",
    "section_name",
    "section_of",
    "select_stories",
    "single_story",
    "sponsored",
    "story_similarity",
    "topic_label",
]

DEFAULT_SECTION = "News"


def edition_id(day: date) -> str:
    """An edition's id is its date: one edition per day."""
    return day.isoformat()


# Words a run-together category ("WORLDNEWS", "worldnews") is split into, when it is made of
# them alone; anything else is left whole.
_CATEGORY_WORD_LIST = """world news us uk eu local national international politics
    political business economy economics money markets finance tech technology science
    health sport sports culture arts art entertainment music film books travel life
    lifestyle style opinion top stories story latest breaking video videos media society
    education environment climate weather crime justice law middle east asia africa
    europe americas global home front page games gaming football"""
_CATEGORY_WORDS = frozenset(_CATEGORY_WORD_LIST.split())
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SEPARATORS = re.compile(r"[_\-.+]+|\s+")
_HIERARCHY = re.compile(r"\s*[/|>»:]\s*")


def _key(name: str) -> str:
    """A name compared without case, spaces or separators."""
    return "".join(ch for ch in name.casefold() if ch.isalnum())


def _split_run(word: str) -> list[str]:
    """``worldnews`` -> [world, news] when it is made of ``_CATEGORY_WORDS`` only."""
    lowered = word.casefold()
    if lowered in _CATEGORY_WORDS or not lowered.isascii() or len(lowered) > 40:
        return [word]
    best: list[list[str] | None] = [[]] + [None] * len(lowered)
    for end in range(1, len(lowered) + 1):
        for start in range(max(0, end - 14), end):
            prefix = best[start]
            if prefix is not None and lowered[start:end] in _CATEGORY_WORDS:
                best[end] = [*prefix, lowered[start:end]]
                break
    found = best[len(lowered)]
    return found if found else [word]


def section_name(category: str) -> str:
    """A feed category as a heading readers recognise: ``WORLDNEWS``, ``worldNews`` and
    ``world_news`` become "World news"; of a path (``News/World``) the last part counts."""
    parts = [p for p in _HIERARCHY.split(category.strip()) if p.strip()]
    if not parts:
        return ""
    words: list[str] = []
    for chunk in _SEPARATORS.split(_CAMEL.sub(" ", parts[-1])):
        words.extend(_split_run(chunk) if chunk else [])
    if not words:
        return ""
    shouting = all(not w.isalpha() or w.isupper() for w in words if len(w) > 1)
    words = [w.casefold() if shouting or w[:1].isupper() else w for w in words]
    words = [w.upper() if w in ("us", "uk", "eu") else w for w in words]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def topic_label(topic: str) -> str:
    """A topic's short label: its first part (``climate, energy and the environment`` ->
    "Climate"), capitalised."""
    head = re.split(r",|;|/|\band\b", topic, maxsplit=1)[0].strip() or topic.strip()
    return head[:1].upper() + head[1:]


def section_of(article: Article, settings: EditionSettings, topic: str | None = None) -> str:
    """The story's section: ``topic`` (its closest configured topic) when given, else the
    article's category tidied when it can name one (``categories.names_a_section``: no
    language label, no fragment), else the category of the source it was ingested from
    (``Article.origin``; ``source`` names the outlet, which may differ), else "News".
    ``edition.section_names`` renames a topic or category."""
    names = {_key(k): v for k, v in settings.edition.section_names.items()}
    if topic:
        return names.get(_key(topic)) or topic_label(topic)
    raw = article.category.strip() if article.category and article.category.strip() else ""
    if raw and not names_a_section(raw):
        raw = ""  # "Chinese simplified", "In": a feed's label, not a section
    if not raw:
        origin = article.origin or article.source
        raw = next((s.category for s in settings.sources if s.name == origin and s.category), "")
    if not raw:
        return names.get(_key(DEFAULT_SECTION), DEFAULT_SECTION)
    return names.get(_key(raw)) or names.get(_key(section_name(raw))) or section_name(raw) or raw


def single_story(article: Article, summary: Summary, settings: EditionSettings) -> Story:
    """A story of one article outside any cluster (an editor's promotion, a topic
    variant's candidate): in its section, score 0, no related items."""
    return Story(
        article_id=article.id,
        title=article.title,
        url=article.link,
        source=article.source,
        section=section_of(article, settings),
        summary=summary,
        score=0.0,
        published=article.published,
        dek=article.dek,
    )


def sponsored(article: Article) -> bool:
    """Whether the article is an advert or a sponsored item (``digest.text.sponsored``)."""
    return is_sponsored(article.title, article.category)


def _section(lead: RankedArticle, settings: EditionSettings) -> str:
    return section_of(lead.article, settings, lead.terms.topic if settings.topics else None)


def story_similarity(leads: Sequence[Article], vectors: ArticleVectors) -> Vectors:
    """How much two stories repeat each other, for MMR: the cosine of the encoder's
    openings when both are in English; otherwise, with ``edition.multilingual`` vectors for
    every lead and two languages, their cosine rescaled so that two unrelated texts score
    0 (its cosines sit near ``MULTILINGUAL_ZERO`` for those), else (one language, or no
    such vectors) the TF-IDF cosine of their openings' words (``cluster.text_similarity``)
    times ``TEXT_SCALE``. The bundled encoder reads
    English only: on Urdu or German it scores every pair 0.9 alike, so MMR on it could
    not tell one event's reports from other events."""
    matrix = vectors.matrix(leads)
    similar = matrix @ matrix.T
    readable = np.array([english(a) for a in leads], dtype=bool)
    if readable.all():
        return similar
    neutral = np.minimum(1.0, TEXT_SCALE * text_similarity(leads))
    others = vectors.multilingual_matrix(leads)
    if others is not None:
        # Shared words tell one language's repeats apart better than e5, whose cosines
        # run high within Chinese or Urdu (0.85 for two unrelated texts); across two
        # languages only the meaning can.
        cosine = others @ others.T
        meaning = np.clip((cosine - MULTILINGUAL_ZERO) / (1.0 - MULTILINGUAL_ZERO), 0.0, 1.0)
        codes = np.array([language_of(a) for a in leads], dtype=object)
        same = codes[:, None] == codes[None, :]
        neutral = np.where(same, neutral, meaning)
    both = readable[:, None] & readable[None, :]
    return np.where(both, similar, neutral).astype(np.float32)


@dataclass(frozen=True)
class Selection:
    stories: tuple[Cluster, ...]
    more_news: tuple[Cluster, ...]
    left_out: tuple[LeftOut, ...]


def select_stories(
    clusters: Sequence[Cluster],
    vectors: ArticleVectors,
    settings: EditionSettings,
    *,
    unsummarised: Collection[str] = (),
    set_aside: Sequence[LeftOut] = (),
) -> Selection:
    """Pick up to ``edition.stories`` clusters (MMR with soft caps), then the headlines.

    ``unsummarised``: ids of leading articles the summariser gave nothing for (their
    clusters are passed over, so the next candidates fill the edition); ``set_aside``:
    articles already left out before selection (``repeats.set_aside_sent``), listed first.
    """
    chosen, skipped, relaxed = _choose(clusters, vectors, settings, frozenset(unsummarised))
    taken = set(chosen)
    rest = [i for i in range(len(clusters)) if i not in taken]  # already in score order
    if settings.edition.sponsored == "omit":
        for i in rest:
            if i not in skipped and sponsored(clusters[i].lead.article):
                skipped[i] = LeftOutReason("sponsored")
        rest = [i for i in rest if skipped.get(i) is None or skipped[i].kind != "sponsored"]
    more = rest[: settings.edition.more_news]
    return Selection(
        stories=tuple(clusters[i] for i in chosen),
        more_news=tuple(clusters[i] for i in more),
        left_out=(
            *set_aside,
            *relaxed,
            *_left_out(clusters, taken, set(more), skipped),
        ),
    )


def _choose(
    clusters: Sequence[Cluster],
    vectors: ArticleVectors,
    settings: EditionSettings,
    unsummarised: frozenset[str],
) -> tuple[list[int], dict[int, LeftOutReason], list[LeftOut]]:
    """The chosen clusters' indices in MMR order, why each one passed over was, and the
    stories taken past a cap (soft caps: only when the edition would be short otherwise)."""
    options = settings.edition
    leads = [c.lead.article for c in clusters]
    scores = np.array([c.score for c in clusters], dtype=np.float64)
    spread = float(scores.max() - scores.min()) if len(scores) else 0.0
    relevance = (scores - scores.min()) / spread if spread > 0 else np.ones_like(scores)
    sections = [_section(c.lead, settings) for c in clusters]
    per_category: dict[str, int] = {}
    per_source: dict[str, int] = {}
    chosen: list[int] = []
    skipped: dict[int, LeftOutReason] = {}
    lam = options.diversity
    matrix = vectors.matrix(leads)
    # English only: the encoder's cosines as they were (MMROrder computes them itself).
    every_english = all(english(a) for a in leads)
    similarity = None if every_english else story_similarity(leads, vectors)

    def take(index: int, order: MMROrder) -> None:
        chosen.append(index)
        per_category[sections[index]] = per_category.get(sections[index], 0) + 1
        source = leads[index].source
        per_source[source] = per_source.get(source, 0) + 1
        order.keep(index)

    # Highest MMR first, ties broken by cluster order (score, then id): deterministic.
    order = MMROrder(
        (1.0 - lam) * relevance, matrix, redundancy=lam, floor=0.0, similarity=similarity
    )
    for best in order:
        if len(chosen) >= options.stories:
            break
        lead = leads[best]
        if lead.word_count == 0:
            # A headline-only entry has nothing to summarise: it can still be a headline.
            skipped[best] = LeftOutReason("headline_only")
            continue
        if lead.id in unsummarised:
            skipped[best] = LeftOutReason("unsummarised")
            continue
        if options.sponsored == "omit" and sponsored(lead):
            skipped[best] = LeftOutReason("sponsored")
            continue
        section = sections[best]
        if per_category.get(section, 0) >= options.per_category:
            skipped[best] = LeftOutReason("cap_section", cap=options.per_category, section=section)
            continue
        if per_source.get(lead.source, 0) >= options.per_source:
            skipped[best] = LeftOutReason("cap_source", cap=options.per_source, source=lead.source)
            continue
        take(best, order)
    capped = [i for i, r in skipped.items() if r.kind in ("cap_section", "cap_source")]
    relaxed: list[LeftOut] = []
    if len(chosen) < options.stories and capped:
        # Too few stories without the caps: the edition fills up anyway, in MMR order.
        again = MMROrder(
            (1.0 - lam) * relevance,
            matrix,
            redundancy=lam,
            pool=capped,
            floor=0.0,
            similarity=similarity,
        )
        for index in chosen:
            again.keep(index)
        for best in again:
            if len(chosen) >= options.stories:
                break
            why = skipped.pop(best)
            take(best, again)
            reason = LeftOutReason(
                "cap_relaxed", cap=why.cap, section=why.section, source=why.source
            )
            relaxed.append(LeftOut.because(leads[best], reason))
        # The caps gave way: what is still out was below the cut, not kept out by a cap
        # (an edition of 8 stories of one section should not say "cap: 3 stories").
        for index in capped:
            skipped.pop(index, None)
    # A labelled advert never leads the edition nor gives its subject: adverts go last.
    chosen.sort(key=lambda i: sponsored(leads[i]))
    return chosen, skipped, relaxed


def _left_out(
    clusters: Sequence[Cluster],
    taken: set[int],
    in_more: set[int],
    skipped: Mapping[int, LeftOutReason],
) -> tuple[LeftOut, ...]:
    """Every article neither a story nor a headline, with its reason: the leads first (in
    cluster order), then the other members of each cluster not taken."""
    left: list[LeftOut] = []
    for i, cluster in enumerate(clusters):
        if i in taken or i in in_more:
            continue
        sent_in = cluster.lead.terms.sent_in
        if i in skipped:
            reason = skipped[i]
        elif sent_in is not None:
            reason = LeftOutReason("already_sent", edition_id=sent_in)
        else:
            reason = LeftOutReason(
                "below_cut", position=i + 1, clusters=len(clusters), score=cluster.score
            )
        left.append(LeftOut.because(cluster.lead.article, reason))
    for i, cluster in enumerate(clusters):
        if i in taken:
            continue
        joined = LeftOutReason(
            "same_event", story=cluster.lead.article.title, in_more_news=i in in_more
        )
        left.extend(LeftOut.because(other.article, joined) for other in cluster.others)
    return tuple(left)


def assemble_edition(
    settings: EditionSettings,
    day: date,
    selection: Selection,
    summaries: Mapping[str, Summary],
    related: Mapping[str, Sequence[RelatedItem]],
    created: datetime | None = None,
) -> Edition:
    """The ``Edition``: stories grouped into sections (sections in the order of their first
    story), then the headlines and the left-out list."""
    sections: dict[str, list[Story]] = {}
    for cluster in selection.stories:
        lead = cluster.lead
        article = lead.article
        summary = summaries.get(article.id)
        if summary is None:
            raise EditionError(f"edition {day}: no summary for story {article.title!r}")
        section = _section(lead, settings)
        sections.setdefault(section, []).append(
            Story(
                article_id=article.id,
                title=article.title,
                url=article.link,
                source=article.source,
                section=section,
                summary=summary,
                score=round(cluster.score, 6),
                published=article.published,
                dek=article.dek,
                also_reported=cluster.also_reported(),
                related=tuple(related.get(article.id, ())),
                terms=lead.terms.rounded(),
                update_of=cluster.update_of,
                whats_new=cluster.whats_new,
                language=article.language,
                image=article.image,
                sponsored=sponsored(article),
            )
        )
    more = tuple(
        Headline(
            article_id=c.lead.article.id,
            title=c.lead.article.title,
            source=c.lead.article.source,
            url=c.lead.article.link,
            section=_section(c.lead, settings),
            language=c.lead.article.language,
        )
        for c in selection.more_news
    )
    edition = Edition(
        id=edition_id(day),
        date=day,
        title=f"{settings.title}: {day:%A} {day.day} {day:%B %Y}",
        sections=tuple(EditionSection(name, tuple(stories)) for name, stories in sections.items()),
        more_news=more,
        left_out=selection.left_out,
        created=created,
    )
    # Related items were chosen for this page (``related.edition_related``); this holds any
    # others to the same rule: nothing the page shows, nothing under two stories.
    return without_repeats(edition)
