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
from digest.models import (
    Article,
    Edition,
    EditionSection,
    Headline,
    LeftOut,
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
    notes: Mapping[str, Mapping[str, str]] | None = None,
) -> Selection:
    """Pick up to ``edition.stories`` clusters (MMR with caps), then the headlines."""
    options = config.edition
    leads = [c.lead.article for c in clusters]
    docs = vectors.matrix(leads)
    scores = np.array([c.score for c in clusters], dtype=np.float64)
    spread = float(scores.max() - scores.min()) if len(scores) else 0.0
    relevance = (scores - scores.min()) / spread if spread > 0 else np.ones_like(scores)
    closest = np.zeros(len(clusters), dtype=np.float64)  # max cosine to a chosen story
    open_ = np.ones(len(clusters), dtype=bool)
    per_category: dict[str, int] = {}
    per_source: dict[str, int] = {}
    chosen: list[int] = []
    skipped: dict[int, str] = {}
    lam = options.diversity
    while len(chosen) < options.stories and open_.any():
        mmr = (1.0 - lam) * relevance - lam * closest
        mmr[~open_] = -np.inf
        # Highest MMR, ties broken by cluster order (score, then id): deterministic.
        best = int(np.argmax(mmr))
        open_[best] = False
        lead = leads[best]
        if lead.word_count == 0:
            # A headline-only entry has nothing to summarise: it can still be a headline.
            skipped[best] = "headline only: no text to summarise"
            continue
        section = section_of(lead, config)
        if per_category.get(section, 0) >= options.per_category:
            skipped[best] = f"cap: {options.per_category} stories of section {section!r} already"
            continue
        if per_source.get(lead.source, 0) >= options.per_source:
            skipped[best] = f"cap: {options.per_source} stories from {lead.source!r} already"
            continue
        chosen.append(best)
        per_category[section] = per_category.get(section, 0) + 1
        per_source[lead.source] = per_source.get(lead.source, 0) + 1
        if len(docs):
            closest = np.maximum(closest, docs @ docs[best])
    taken = set(chosen)
    rest = [i for i in range(len(clusters)) if i not in taken]  # already in score order
    more = rest[: options.more_news]
    in_more = set(more)
    left: list[LeftOut] = []
    for i, cluster in enumerate(clusters):
        if i in taken or i in in_more:
            continue
        lead = cluster.lead.article
        sent = (notes or {}).get(lead.id, {}).get("novelty", "")
        if i in skipped:
            reason = skipped[i]
        elif sent.startswith("already sent"):
            reason = sent
        else:
            reason = (
                f"below the cut (cluster {i + 1} of {len(clusters)}, score {cluster.score:.2f})"
            )
        left.append(LeftOut(article_id=lead.id, title=lead.title, reason=reason))
    for i in range(len(clusters)):
        if i in taken:
            continue
        cluster = clusters[i]
        where = "a More news headline" if i in in_more else "left out"
        for other in cluster.others:
            left.append(
                LeftOut(
                    article_id=other.article.id,
                    title=other.article.title,
                    reason=f"same event as {cluster.lead.article.title!r} ({where})",
                )
            )
    return Selection(
        stories=tuple(clusters[i] for i in chosen),
        more_news=tuple(clusters[i] for i in more),
        left_out=tuple(left),
    )


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
                terms={k: round(float(v), 6) for k, v in lead.terms.items()},
            )
        )
    more = tuple(
        Headline(
            article_id=c.lead.article.id,
            title=c.lead.article.title,
            source=c.lead.article.source,
            url=c.lead.article.link,
            section=section_of(c.lead.article, config),
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
        LeftOut(
            article_id=c.lead.article.id,
            title=c.lead.article.title,
            reason="could not be summarised (see the log)",
        )
        for c in selection.stories
        if c.lead.article.id not in summaries
    )
    return Selection(
        stories=kept, more_news=selection.more_news, left_out=dropped + selection.left_out
    )
