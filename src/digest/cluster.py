"""Same-event clustering: articles from several outlets about one event become one story.

Two articles are linked when

    cosine(title + lede vectors) + NAME_BONUS * shared(names and figures)  >=  threshold

and they were published within ``cluster_window_hours`` of each other. ``shared`` is the
share of the smaller article's names and figures (``rank.key_terms``) that the other also
has. The encoder catches paraphrased headlines that share few words; the names and figures
separate two events of the same topic (two earthquakes, two quarterly reports), which the
encoder alone scores alike.

Clusters grow greedily from the strongest link, and two clusters merge only when their
average link is still near the threshold, so one loose pair cannot chain two events.
The best-written member (substance, then score) leads the cluster.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from digest.config import EditionOptions
from digest.embed import Vectors
from digest.models import AlsoReported, Article, RankedArticle
from digest.rank import ArticleVectors, key_terms

__all__ = ["NAME_BONUS", "Cluster", "cluster_articles", "link_scores"]

NAME_BONUS = 0.2
# A merge of two clusters needs an average link of at least threshold - MERGE_SLACK.
MERGE_SLACK = 0.05
_OUTSIDE = -1.0


@dataclass(frozen=True)
class Cluster:
    """One event: the leading article and the others that reported it."""

    lead: RankedArticle
    others: tuple[RankedArticle, ...] = ()

    @property
    def score(self) -> float:
        """The event's score: its best member's."""
        return max([self.lead.score, *(o.score for o in self.others)])

    @property
    def members(self) -> tuple[RankedArticle, ...]:
        return (self.lead, *self.others)

    def also_reported(self) -> tuple[AlsoReported, ...]:
        return tuple(
            AlsoReported(
                source=o.article.source,
                title=o.article.title,
                url=o.article.url,
                article_id=o.article.id,
            )
            for o in self.others
        )


def _hours(moment: datetime | None) -> float | None:
    if moment is None:
        return None
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.timestamp() / 3600.0


def link_scores(articles: Sequence[Article], event: Vectors, options: EditionOptions) -> Vectors:
    """The pairwise link score (cosine plus the names bonus); -1 outside the time window
    and on the diagonal. Names are compared only where they could lift a pair over the
    threshold, which keeps a thousand articles fast."""
    n = len(articles)
    scores = (event @ event.T).astype(np.float32) if n else np.zeros((0, 0), np.float32)
    np.fill_diagonal(scores, _OUTSIDE)
    hours = np.array([_hours(a.published) or np.nan for a in articles], dtype=np.float64)
    if n:
        apart = np.abs(hours[:, None] - hours[None, :])
        outside = np.nan_to_num(apart, nan=0.0) > options.cluster_window_hours
        scores[outside] = _OUTSIDE
    near = np.argwhere(np.triu(scores >= options.cluster_threshold - NAME_BONUS, k=1))
    terms: dict[int, frozenset[str]] = {}
    for i, j in near:
        a = terms.setdefault(int(i), key_terms(articles[i]))
        b = terms.setdefault(int(j), key_terms(articles[j]))
        if a and b:
            bonus = NAME_BONUS * len(a & b) / min(len(a), len(b))
            scores[i, j] += bonus
            scores[j, i] += bonus
    return scores


def cluster_articles(
    ranked: Sequence[RankedArticle], vectors: ArticleVectors, options: EditionOptions
) -> list[Cluster]:
    """Group ranked articles into same-event clusters, best cluster first."""
    articles = [r.article for r in ranked]
    scores = link_scores(articles, vectors.event_matrix(articles), options)
    threshold = options.cluster_threshold
    parent = list(range(len(articles)))
    members: dict[int, list[int]] = {i: [i] for i in range(len(articles))}

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    pairs = np.argwhere(np.triu(scores >= threshold, k=1))
    order = sorted(((float(scores[i, j]), int(i), int(j)) for i, j in pairs), reverse=True)
    for _, i, j in order:
        ri, rj = find(i), find(j)
        if ri == rj:
            continue
        a, b = members[ri], members[rj]
        if float(scores[np.ix_(a, b)].mean()) < threshold - MERGE_SLACK:
            continue
        parent[rj] = ri
        members[ri] = a + b
        del members[rj]
    clusters = []
    for group in members.values():
        people = [ranked[k] for k in group]
        lead = max(people, key=lambda r: (r.terms.get("substance", 0.0), r.score, r.article.id))
        others = sorted(
            (r for r in people if r is not lead), key=lambda r: (-r.score, r.article.id)
        )
        clusters.append(Cluster(lead=lead, others=tuple(others)))
    clusters.sort(key=lambda c: (-c.score, c.lead.article.id))
    return clusters
