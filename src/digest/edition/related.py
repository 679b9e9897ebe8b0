"""Related stories for each story of an edition.

Up to ``edition.related_max`` items per story, in this order:

1. the ``Related:`` titles and related links of the story's articles (the lead's first),
   resolved against the stored articles (same link, same title but for accents, case
   and punctuation (``digest.text.rules.title_key``), or a title the encoder finds close,
   ``TITLE_MATCH`` or more); a resolved item has a link and a date, an unresolved one
   stays a plain title;
2. then the stored articles of the last ``related_days`` days most similar to the story,
   both in English (the bundled encoder reads English only and scores any two Urdu or
   German texts alike): of the ``SIMILAR_SHORTLIST`` closest openings, those whose cosine
   plus ``LEX_WEIGHT`` x their shared title + lede words (``cluster.shared_words``)
   reaches ``related_threshold``. The encoder alone links stories of one broad field
   (a ride-hailing company's shares and a taxi driver's lost luggage, cosine 0.45 and
   more); shared names and rare words tell a follow-up from a neighbour.

Never the story itself or an article of its own cluster, never the same article or the
same title twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from digest.config import EditionOptions
from digest.edition.cluster import LEX_WEIGHT, shared_words
from digest.edition.vectors import english
from digest.embed import Vectors
from digest.identity import canonical_url
from digest.models import Article, RelatedItem
from digest.text.rules import title_key

__all__ = ["SHORTLIST", "SIMILAR_SHORTLIST", "TITLE_MATCH", "RelatedPool", "related_for"]

# Cosine between two titles above which they name the same article (paraphrase, edits).
TITLE_MATCH = 0.8
# How many of the closest pool articles a cited title is compared with, title to title.
SHORTLIST = 5
# How many of the closest pool articles are weighed for "similar" items (shared words).
SIMILAR_SHORTLIST = 20


@dataclass
class RelatedPool:
    """The stored articles a story may point at, with their opening vectors.

    A cited title that matches no link and no normalised title is compared, through the
    encoder, with the titles of the ``SHORTLIST`` pool articles whose openings are closest
    to it: a title or two per citation to encode, not the whole pool's.
    """

    articles: Sequence[Article]
    doc: Vectors
    encode_titles: Callable[[Sequence[str]], Vectors]

    def __post_init__(self) -> None:
        self.by_title: dict[str, int] = {}
        self.by_url: dict[str, int] = {}
        for i, article in enumerate(self.articles):
            self.by_title.setdefault(title_key(article.title), i)
            for url in (article.url, article.canonical_url):
                if url:
                    self.by_url.setdefault(url, i)

    def find_url(self, url: str | None) -> int | None:
        """The stored article at ``url``, as given or in canonical form (tracking
        parameters dropped, host lower-cased), as stored articles keep theirs."""
        if not url:
            return None
        found = self.by_url.get(url)
        return found if found is not None else self.by_url.get(canonical_url(url) or "")

    def resolve(self, title: str, url: str | None, title_vector: Vectors | None) -> int | None:
        """The index of the stored article a cited title/link names, or None."""
        by_link = self.find_url(url)
        if by_link is not None:
            return by_link
        exact = self.by_title.get(title_key(title))
        if exact is not None:
            return exact
        if title_vector is None or not len(self.articles):
            return None
        shortlist = np.argsort(-(self.doc @ title_vector), kind="stable")[:SHORTLIST]
        titles = self.encode_titles([self.articles[int(i)].title for i in shortlist])
        sims = titles @ title_vector
        best = int(np.argmax(sims))
        return int(shortlist[best]) if float(sims[best]) >= TITLE_MATCH else None


def _item(article: Article, reason: str) -> RelatedItem:
    return RelatedItem(
        title=article.title,
        url=article.link,
        published=article.published,
        article_id=article.id,
        reason="cited" if reason == "cited" else "similar",
    )


def related_for(
    article: Article,
    doc_vector: Vectors,
    pool: RelatedPool,
    options: EditionOptions,
    others: Sequence[Article] = (),
) -> tuple[RelatedItem, ...]:
    """The related items of one story: its leading ``article`` and the ``others`` of its
    cluster (whose cited titles come after the lead's)."""
    limit = options.related_max
    excluded = {article.id, *(o.id for o in others)}
    seen_ids: set[str] = set()
    seen_titles = {title_key(article.title)}
    items: list[RelatedItem] = []

    def add(item: RelatedItem) -> None:
        key = title_key(item.title)
        if len(items) >= limit or key in seen_titles or not key:
            return
        if item.article_id is not None and item.article_id in seen_ids:
            return
        seen_titles.add(key)
        if item.article_id is not None:
            seen_ids.add(item.article_id)
        items.append(item)

    cited = list({link: None for a in (article, *others) for link in a.related})
    needs_encoder = [
        link
        for link in cited
        if pool.find_url(link.url) is None and title_key(link.title) not in pool.by_title
    ]
    cited_vectors: dict[str, Vectors] = {}
    if needs_encoder and len(pool.articles):
        encoded = pool.encode_titles([link.title for link in needs_encoder])
        cited_vectors = {link.title: encoded[i] for i, link in enumerate(needs_encoder)}
    for link in cited:
        index = pool.resolve(link.title, link.url, cited_vectors.get(link.title))
        if index is not None:
            target = pool.articles[index]
            if target.id in excluded:
                continue  # the story itself or its own cluster, already on the page
            add(_item(target, "cited"))
        else:
            url = link.url if link.url and link.url.startswith(("http://", "https://")) else None
            add(RelatedItem(title=link.title, url=url, reason="cited"))
    if len(items) < limit and len(pool.articles) and english(article):
        for target in _similar(article, doc_vector, pool, options.related_threshold, excluded):
            if len(items) >= limit:
                break
            add(_item(target, "similar"))
    return tuple(items)


def _similar(
    article: Article, doc_vector: Vectors, pool: RelatedPool, threshold: float, excluded: set[str]
) -> list[Article]:
    """The pool's English articles whose cosine + shared words with ``article`` reach
    ``threshold``, best first."""
    sims = pool.doc @ doc_vector
    shortlist = [
        int(i)
        for i in np.argsort(-sims, kind="stable")[:SIMILAR_SHORTLIST]
        if pool.articles[int(i)].id not in excluded and english(pool.articles[int(i)])
    ]
    if not shortlist:
        return []
    words = shared_words([article, *(pool.articles[i] for i in shortlist)])[0, 1:]
    scored = [
        (float(sims[i]) + LEX_WEIGHT * float(w), i) for i, w in zip(shortlist, words, strict=True)
    ]
    scored.sort(key=lambda pair: -pair[0])
    return [pool.articles[i] for score, i in scored if score >= threshold]
