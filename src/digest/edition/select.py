"""Choose the edition's stories from the day's clusters and lay the edition out.

Selection is maximal marginal relevance over the clusters' leading articles: each next
story maximises ``(1 - diversity) * relevance - diversity * similarity`` to the stories
already chosen (relevance = the cluster's score scaled to 0..1 over the day, similarity =
the cosine of the articles' openings), skipping a story whose category or source already
has its cap, and a headline-only article (no text to summarise). The clusters left after
``stories`` picks give the "More news" headlines, in score order; every other article
gets a ``LeftOut`` reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np

from digest.config import Config
from digest.edition.cluster import Cluster
from digest.edition.vectors import ArticleVectors
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

__all__ = [
    "Selection",
    "assemble_edition",
    "edition_id",
    "section_of",
    "select_stories",
    "without_unsummarised",
]

DEFAULT_SECTION = "News"


def edition_id(day: date) -> str:
    """An edition's id is its date: one edition per day."""
    return day.isoformat()


def section_of(article: Article, config: Config) -> str:
    """The article's category, else the configured category of the source it was ingested
    from (``Article.origin``; ``source`` names the outlet, which may differ), else "News"."""
    if article.category and article.category.strip():
        return article.category.strip()
    origin = article.origin or article.source
    for source in config.sources:
        if source.name == origin and source.category:
            return source.category
    return DEFAULT_SECTION


@dataclass(frozen=True)
class Selection:
    stories: tuple[Cluster, ...]
    more_news: tuple[Cluster, ...]
    left_out: tuple[LeftOut, ...]


def select_stories(
    clusters: Sequence[Cluster],
    vectors: ArticleVectors,
    config: Config,
) -> Selection:
    """Pick up to ``edition.stories`` clusters (MMR with caps), then the headlines."""
    chosen, skipped = _choose(clusters, vectors, config)
    taken = set(chosen)
    rest = [i for i in range(len(clusters)) if i not in taken]  # already in score order
    more = rest[: config.edition.more_news]
    return Selection(
        stories=tuple(clusters[i] for i in chosen),
        more_news=tuple(clusters[i] for i in more),
        left_out=_left_out(clusters, taken, set(more), skipped),
    )


def _choose(
    clusters: Sequence[Cluster], vectors: ArticleVectors, config: Config
) -> tuple[list[int], dict[int, LeftOutReason]]:
    """The chosen clusters' indices in MMR order, and why each one passed over was."""
    options = config.edition
    leads = [c.lead.article for c in clusters]
    scores = np.array([c.score for c in clusters], dtype=np.float64)
    spread = float(scores.max() - scores.min()) if len(scores) else 0.0
    relevance = (scores - scores.min()) / spread if spread > 0 else np.ones_like(scores)
    per_category: dict[str, int] = {}
    per_source: dict[str, int] = {}
    chosen: list[int] = []
    skipped: dict[int, LeftOutReason] = {}
    lam = options.diversity
    # Highest MMR first, ties broken by cluster order (score, then id): deterministic.
    order = MMROrder((1.0 - lam) * relevance, vectors.matrix(leads), redundancy=lam, floor=0.0)
    for best in order:
        if len(chosen) >= options.stories:
            break
        lead = leads[best]
        if lead.word_count == 0:
            # A headline-only entry has nothing to summarise: it can still be a headline.
            skipped[best] = LeftOutReason("headline_only")
            continue
        section = section_of(lead, config)
        if per_category.get(section, 0) >= options.per_category:
            skipped[best] = LeftOutReason("cap_section", cap=options.per_category, section=section)
            continue
        if per_source.get(lead.source, 0) >= options.per_source:
            skipped[best] = LeftOutReason("cap_source", cap=options.per_source, source=lead.source)
            continue
        chosen.append(best)
        per_category[section] = per_category.get(section, 0) + 1
        per_source[lead.source] = per_source.get(lead.source, 0) + 1
        order.keep(best)
    return chosen, skipped


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
    config: Config,
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
        section = section_of(article, config)
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
                language=article.language,
                image=article.image,
            )
        )
    more = tuple(
        Headline(
            article_id=c.lead.article.id,
            title=c.lead.article.title,
            source=c.lead.article.source,
            url=c.lead.article.link,
            section=section_of(c.lead.article, config),
            language=c.lead.article.language,
        )
        for c in selection.more_news
    )
    return Edition(
        id=edition_id(day),
        date=day,
        title=f"{config.newsletter.title}: {day:%A} {day.day} {day:%B %Y}",
        sections=tuple(EditionSection(name, tuple(stories)) for name, stories in sections.items()),
        more_news=more,
        left_out=selection.left_out,
        created=created,
    )


def without_unsummarised(selection: Selection, summaries: Mapping[str, Summary]) -> Selection:
    """The selection less the stories that got no summary; they join the left-out list."""
    kept = tuple(c for c in selection.stories if c.lead.article.id in summaries)
    dropped = tuple(
        LeftOut.because(c.lead.article, LeftOutReason("unsummarised"))
        for c in selection.stories
        if c.lead.article.id not in summaries
    )
    return Selection(
        stories=kept, more_news=selection.more_news, left_out=dropped + selection.left_out
    )
