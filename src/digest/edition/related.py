"""Related stories for each story of an edition.

Each story's candidates, in its own order:

1. the ``Related:`` titles and related links of the story's articles (the lead's first),
   resolved against the stored articles (same link, same title but for accents, case
   and punctuation (``digest.text.rules.title_key``), or a title the encoder finds close,
   ``TITLE_MATCH`` or more); a resolved item has a link and a date, an unresolved one
   stays a plain title;
2. then the stored articles of the last ``related_days`` days most similar to the story:
   of the ``SIMILAR_SHORTLIST`` closest, those whose score reaches ``related_threshold``.
   Both in English: MiniLM's cosine of the openings plus ``LEX_WEIGHT`` x their shared
   title + lede words (``cluster.shared_words``). The encoder alone links stories of one
   broad field (a ride-hailing company's shares and a taxi driver's lost luggage, cosine
   0.45 and more); shared names and rare words tell a follow-up from a neighbour. Either
   side not in English: the multilingual encoder's cosine on the same scale (zero
   ``MULTILINGUAL_ZERO``, ``RELATED_ZERO_ACROSS`` across two languages), and within one
   language only an article that shares ``SHARED_TEXT_FLOOR`` of its words with the story
   (``cluster.TextIndex``, any script: bare headlines of one language all sit near e5
   cosine 0.9). Without the multilingual encoder, a story not in English is compared with
   the stored articles of its own language by their openings' words alone
   (``cluster.text_similarity_to`` x ``TEXT_SCALE``, capped at 1).

Never the story itself or an article of its own cluster, never the same article or the
same title twice.

Each item has a ``kind``: ``link`` (a cited title or link), ``earlier`` (an article a
past edition of the last ``related_days`` days carried: "Earlier: ..., 22 Nov", with that
edition's id and day, ahead of the other similar ones by ``EARLIER_BONUS``), ``window``
(another stored article) and ``in_edition``: within one edition (``edition_related``), a
candidate that is another story of the page (its lead, or an outlet that also reported
it) becomes a cross-reference to that story ("Also in this edition", an anchor in the
mail), at most once per story. Nothing points at a More news line. Each related article
appears under one story at most: the one it is closest to (``RelatedCandidate.closeness``:
a link the article itself declares first, then earlier coverage, then cosine + shared
words; a tie goes to the story higher in the edition). A story that loses an item takes
its next candidate instead, if one qualifies. ``without_repeats`` holds a finished
``Edition`` to the same rule (after the editor's actions, say), dropping what breaks it.
Every item carries the terms of its score (``RelatedItem.terms``) for the editor's panel.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from digest.config import EditionOptions
from digest.edition.cluster import (
    LEX_WEIGHT,
    MULTILINGUAL_LEX,
    MULTILINGUAL_SCALE,
    MULTILINGUAL_ZERO,
    TEXT_SCALE,
    TextIndex,
    language_of,
    shared_words,
    text_similarity_to,
)
from digest.edition.vectors import english
from digest.embed import Vectors
from digest.identity import canonical_url
from digest.models import Article, Edition, EditionSection, RelatedItem, RelatedLink
from digest.text.rules import title_key

__all__ = [
    "CITED_BONUS",
    "EARLIER_BONUS",
    "RELATED_ZERO_ACROSS",
    "SHARED_TEXT_FLOOR",
    "SHORTLIST",
    "SIMILAR_SHORTLIST",
    "TITLE_MATCH",
    "Earlier",
    "RelatedCandidate",
    "RelatedPool",
    "allocate",
    "edition_related",
    "related_candidates",
    "related_for",
    "without_repeats",
]

# Cosine between two titles above which they name the same article (paraphrase, edits).
TITLE_MATCH = 0.8
# How many of the closest pool articles a cited title is compared with, title to title.
SHORTLIST = 5
# How many of the closest pool articles are weighed for "similar" items (shared words).
SIMILAR_SHORTLIST = 20
# Added to the closeness of a link the article itself declares: more than cosine + shared
# words can reach (1 + LEX_WEIGHT), so a declared link outranks any similarity.
CITED_BONUS = 2.0
# Two languages' e5 cosines run lower than one's: a related pair across languages is
# scored from this zero (clustering's same-event zero is 0.765). Related is a looser
# bond than same-event (SemEval overall <= 2.5): on pairs_dev.jsonl across languages,
# with the multilingual encoder reading 1,500 characters (``MULTILINGUAL_OPENING``),
# 0.755 gives precision 0.93 and recall 0.60 (bench/related.py), 0.745 precision 0.82,
# 0.765 recall 0.50. Chosen on that dev file: not a held-out figure.
RELATED_ZERO_ACROSS = 0.755
# Within one language other than English, a similar article scored by the multilingual
# encoder must also share words with the story: their openings' TF-IDF cosine in any
# script (``cluster.TextIndex``, the pool's IDF) at least SHARED_TEXT_FLOOR. Bare
# headlines of one language sit at e5 cosine 0.90-0.92 to each other whatever they tell:
# on the shared feeds an avalanche and a Syria conference (cosine 0.916) share no word,
# and the three items the floor turns away there share 0.000-0.013, while the 13 it keeps
# share 0.169 or more. On pairs_dev.jsonl (the pile's IDF) every pair within one language
# that the score calls related shares 0.062 or more (bench/related.py prints all of
# these). Two languages share few words, so across languages the encoder decides alone.
SHARED_TEXT_FLOOR = 0.04
# Added to the closeness of a similar article a past edition carried (earlier coverage of
# the story): it comes after the declared links and before the other similar articles.
EARLIER_BONUS = 1.0


@dataclass(frozen=True)
class Earlier:
    """A past edition that carried an article: its id and day."""

    edition_id: str
    day: date


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
    # The multilingual encoder's vectors of the openings, row for row, where it is on and
    # some article of the pile is not in English (``digest.edition.multilingual``).
    multilingual: Vectors | None = None
    # The words' rarity for ``SHARED_TEXT_FLOOR``: None, the pool's own (built when first
    # needed); a benchmark that pools one article at a time passes its whole pile's.
    text_index: TextIndex | None = None

    def __post_init__(self) -> None:
        self.readable = np.array([english(a) for a in self.articles], dtype=bool)
        self.languages = np.array([language_of(a) for a in self.articles], dtype=object)
        self.by_title: dict[str, int] = {}
        self.by_url: dict[str, int] = {}
        for i, article in enumerate(self.articles):
            self.by_title.setdefault(title_key(article.title), i)
            for url in (article.url, article.canonical_url):
                if url:
                    self.by_url.setdefault(url, i)

    def shared_text(self, a: Article, b: Article) -> float:
        """``a`` and ``b``'s openings' words in common (``cluster.TextIndex``)."""
        if self.text_index is None:
            self.text_index = TextIndex(self.articles)
        return self.text_index.similarity(a, b)

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


# --- identity: what counts as "the same thing" on one page ---------------------------------


def _keys(article_id: str | None, title: str, urls: Iterable[str | None]) -> frozenset[str]:
    """The marks that identify an article on a page: its id, its links (as given and
    canonical) and its normalised title. Two things sharing any one are the same."""
    keys = {f"id:{article_id}"} if article_id else set()
    for url in urls:
        if url:
            keys.add(f"url:{url}")
            canonical = canonical_url(url)
            if canonical:
                keys.add(f"url:{canonical}")
    title_mark = title_key(title)
    if title_mark:
        keys.add(f"title:{title_mark}")
    return frozenset(keys)


def article_keys(article: Article) -> frozenset[str]:
    return _keys(article.id, article.title, (article.url, article.canonical_url))


def item_keys(item: RelatedItem) -> frozenset[str]:
    return _keys(item.article_id, item.title, (item.url,))


@dataclass(frozen=True)
class RelatedCandidate:
    """One possible related item of a story, with how close it is to the story and the
    marks that identify it (``_keys``)."""

    item: RelatedItem
    closeness: float
    keys: frozenset[str]


def _item(article: Article, reason: str, terms: Mapping[str, float]) -> RelatedItem:
    cited = reason == "cited"
    return RelatedItem(
        title=article.title,
        url=article.link,
        published=article.published,
        article_id=article.id,
        reason="cited" if cited else "similar",
        kind="link" if cited else "window",
        source=article.source or None,
        terms={k: round(v, 3) for k, v in terms.items()},
    )


def _bare(link: RelatedLink) -> Article:
    """A cited title no stored article matches, as an article of its title alone (for
    the shared-words measure)."""
    return Article(id="", source="", title=link.title, content_hash="")


def related_candidates(
    article: Article,
    doc_vector: Vectors,
    pool: RelatedPool,
    options: EditionOptions,
    others: Sequence[Article] = (),
    shown: frozenset[str] = frozenset(),
    multilingual: Vectors | None = None,
) -> list[RelatedCandidate]:
    """Every related candidate of one story, in the story's order (cited, then similar,
    best first): its leading ``article`` and the ``others`` of its cluster (whose cited
    titles come after the lead's). Nothing whose marks are in ``shown`` (what the page
    shows already), nothing of the story's own cluster, nothing twice."""
    own = [article, *others]
    excluded = set(shown)
    for member in own:
        excluded |= article_keys(member)
    found: list[RelatedCandidate] = []

    def add(item: RelatedItem, closeness: float, target: Article | None) -> None:
        keys = item_keys(item) | (article_keys(target) if target is not None else frozenset())
        if not title_key(item.title) or keys & excluded:
            return
        excluded.update(keys)
        found.append(RelatedCandidate(item, closeness, keys))

    cited = list({link: None for a in own for link in a.related})
    needs_encoder = [
        link
        for link in cited
        if pool.find_url(link.url) is None and title_key(link.title) not in pool.by_title
    ]
    cited_vectors: dict[str, Vectors] = {}
    if needs_encoder and len(pool.articles):
        encoded = pool.encode_titles([link.title for link in needs_encoder])
        cited_vectors = {link.title: encoded[i] for i, link in enumerate(needs_encoder)}
    resolved: list[tuple[RelatedLink, int | None]] = [
        (link, pool.resolve(link.title, link.url, cited_vectors.get(link.title))) for link in cited
    ]
    targets = [pool.articles[i] if i is not None else _bare(link) for link, i in resolved]
    words = shared_words([article, *targets])[0, 1:] if targets else np.zeros(0)
    readable = english(article)
    for (link, index), target, shared in zip(resolved, targets, words, strict=True):
        closeness = CITED_BONUS + LEX_WEIGHT * float(shared)
        terms = {"cited": 1.0, "words": float(shared)}
        if index is not None:
            if readable and english(target):
                cosine = float(pool.doc[index] @ doc_vector)
                closeness += cosine
                terms["cosine"] = cosine
            add(_item(target, "cited", terms), closeness, target)
        else:
            url = link.url if link.url and link.url.startswith(("http://", "https://")) else None
            bare = RelatedItem(title=link.title, url=url, reason="cited", terms=terms)
            add(bare, closeness, None)
    across = multilingual is not None and pool.multilingual is not None
    if len(pool.articles) and (readable or across):
        for score, target, terms in similar_articles(
            article, doc_vector, pool, options.related_threshold, excluded, multilingual
        ):
            add(_item(target, "similar", terms), score, target)
    elif len(pool.articles):
        for score, target in _similar_text(article, pool, options.related_threshold, excluded):
            add(_item(target, "similar", {"text": score}), score, target)
    return found


def allocate(
    candidates: Sequence[Sequence[RelatedCandidate]], limit: int
) -> list[tuple[RelatedItem, ...]]:
    """Up to ``limit`` items per story (``candidates[i]`` in story ``i``'s order), each
    item under one story at most: where several stories would show it, the closest keeps
    it (a tie: the story first in the edition) and the others move up their next one."""
    lists = [list(c) for c in candidates]
    while True:
        shown = [(s, c) for s, items in enumerate(lists) for c in items[:limit]]
        shown.sort(key=lambda pair: (-pair[1].closeness, pair[0]))
        owner: dict[str, int] = {}
        losers: set[tuple[int, int]] = set()
        for story, candidate in shown:
            if any(owner.get(k, story) != story for k in candidate.keys):
                losers.add((story, id(candidate)))
                continue
            owner.update(dict.fromkeys(candidate.keys, story))
        if not losers:
            return [tuple(c.item for c in items[:limit]) for items in lists]
        # Each round drops one candidate or more, so the loop ends.
        lists = [[c for c in items if (s, id(c)) not in losers] for s, items in enumerate(lists)]


def related_for(
    article: Article,
    doc_vector: Vectors,
    pool: RelatedPool,
    options: EditionOptions,
    others: Sequence[Article] = (),
    multilingual: Vectors | None = None,
) -> tuple[RelatedItem, ...]:
    """The related items of one story on its own: its leading ``article`` and the
    ``others`` of its cluster."""
    found = related_candidates(
        article, doc_vector, pool, options, others, multilingual=multilingual
    )
    return allocate([found], options.related_max)[0]


def edition_related(
    stories: Sequence[Sequence[Article]],
    doc_vectors: Mapping[str, Vectors],
    pool: RelatedPool,
    options: EditionOptions,
    headlines: Sequence[Sequence[Article]] = (),
    earlier: Mapping[str, Earlier] | None = None,
    multilingual: Mapping[str, Vectors] | None = None,
) -> dict[str, tuple[RelatedItem, ...]]:
    """The related items of every story of an edition, by the id of its lead.

    ``stories``: each story's articles, its lead first; ``headlines``: the articles of
    each More news line's event, its lead first; ``earlier``: the past editions that
    carried an article, by article id. Nothing points at a More news line; a candidate
    that is another story becomes a cross-reference to it (``in_edition``); an item
    appears under one story at most (see the module docstring)."""
    groups = [group for group in stories if group]
    shown: set[str] = set()
    for group in headlines:
        for member in group:
            shown |= article_keys(member)
    story_of: dict[str, int] = {}
    for s, group in enumerate(groups):
        for member in group:
            for key in article_keys(member):
                story_of.setdefault(key, s)
    page = frozenset(shown)
    candidates = []
    for s, group in enumerate(groups):
        lead = group[0]
        found = related_candidates(
            lead,
            doc_vectors[lead.id],
            pool,
            options,
            group[1:],
            page,
            multilingual=(multilingual or {}).get(lead.id),
        )
        candidates.append(_placed(found, s, groups, story_of, earlier or {}))
    leads = [group[0].id for group in groups]
    return dict(zip(leads, allocate(candidates, options.related_max), strict=True))


def _placed(
    found: Sequence[RelatedCandidate],
    story: int,
    groups: Sequence[Sequence[Article]],
    story_of: Mapping[str, int],
    earlier: Mapping[str, Earlier],
) -> list[RelatedCandidate]:
    """One story's candidates with their kinds for this page: another story's article as a
    cross-reference to that story (once per story), an article a past edition carried as
    earlier coverage (``EARLIER_BONUS`` added unless cited); best first."""
    out: list[RelatedCandidate] = []
    referenced: set[int] = set()
    for candidate in found:
        item = candidate.item
        other = next((story_of[k] for k in candidate.keys if k in story_of), None)
        if other is not None:
            if other == story or other in referenced:
                continue
            referenced.add(other)
            lead = groups[other][0]
            cross = RelatedItem(
                title=lead.title,
                url=None,
                published=lead.published,
                article_id=lead.id,
                reason=item.reason,
                kind="in_edition",
                source=lead.source or None,
                terms=item.terms,
            )
            out.append(
                RelatedCandidate(cross, candidate.closeness, frozenset({f"story:{lead.id}"}))
            )
            continue
        past = earlier.get(item.article_id or "")
        if past is not None:
            bonus = EARLIER_BONUS if item.reason == "similar" else 0.0
            item = dataclasses.replace(
                item, kind="earlier", edition_id=past.edition_id, edition_day=past.day
            )
            candidate = RelatedCandidate(item, candidate.closeness + bonus, candidate.keys)
        out.append(candidate)
    out.sort(key=lambda c: -c.closeness)
    return out


def without_repeats(edition: Edition) -> Edition:
    """``edition`` with each story's related items held to the rule: none that the page
    shows (a story, an outlet's article that also reported one, a More news line), none
    under two stories (the first story in the edition keeps it). Nothing moves up in their
    place: this is the last check, after ``edition_related`` chose well."""
    shown: set[str] = set()
    for story in edition.stories:
        shown |= _keys(story.article_id, story.title, (story.url,))
        for also in story.also_reported:
            shown |= _keys(also.article_id, also.title, (also.url,))
    for headline in edition.more_news:
        shown |= _keys(headline.article_id, headline.title, (headline.url,))
    on_page = {story.article_id for story in edition.stories}
    used: set[str] = set()
    changed = False
    sections: list[EditionSection] = []
    for section in edition.sections:
        stories = []
        for story in section.stories:
            kept = []
            for item in story.related:
                if item.kind == "in_edition":
                    # A cross-reference: to another story still on the page, once.
                    keys = frozenset({f"story:{item.article_id}"})
                    target = item.article_id
                    if target == story.article_id or target not in on_page or keys & used:
                        changed = True
                        continue
                    used |= keys
                    kept.append(item)
                    continue
                keys = item_keys(item)
                if keys & shown or keys & used:
                    changed = True
                    continue
                used |= keys
                kept.append(item)
            stories.append(dataclasses.replace(story, related=tuple(kept)))
        sections.append(dataclasses.replace(section, stories=tuple(stories)))
    return dataclasses.replace(edition, sections=tuple(sections)) if changed else edition


def similar_articles(
    article: Article,
    doc_vector: Vectors,
    pool: RelatedPool,
    threshold: float,
    excluded: set[str],
    multilingual: Vectors | None = None,
) -> list[tuple[float, Article, dict[str, float]]]:
    """The pool's articles whose score with ``article`` reaches ``threshold``, with that
    score and its terms, best first; none whose marks are in ``excluded``. Both in
    English: cosine + shared words. Either side not: with the multilingual vectors, the
    clustering's scale (``MULTILINGUAL_SCALE`` x (cosine - zero) + shared words; the zero
    ``RELATED_ZERO_ACROSS`` across two languages; within one language, only an article
    sharing ``SHARED_TEXT_FLOOR`` of its words), else not compared here
    (``_similar_text``)."""
    english_cosine = pool.doc @ doc_vector
    both = pool.readable & english(article)
    score = np.where(both, english_cosine, -np.inf)
    multi_cosine = np.zeros(len(pool.articles), dtype=np.float32)
    language = language_of(article)
    if multilingual is not None and pool.multilingual is not None:
        multi_cosine = pool.multilingual @ multilingual
        apart = np.array([bool(x) and bool(language) and x != language for x in pool.languages])
        zero = np.where(apart, RELATED_ZERO_ACROSS, MULTILINGUAL_ZERO)
        score = np.where(both, score, MULTILINGUAL_SCALE * (multi_cosine - zero))
    shortlist: list[int] = []
    for i in np.argsort(-score, kind="stable"):
        if not np.isfinite(score[i]):
            break
        if not article_keys(pool.articles[int(i)]) & excluded:
            shortlist.append(int(i))
            if len(shortlist) == SIMILAR_SHORTLIST:
                break
    if not shortlist:
        return []
    words = shared_words([article, *(pool.articles[i] for i in shortlist)])[0, 1:]
    scored: list[tuple[float, int, dict[str, float]]] = []
    for i, w in zip(shortlist, words, strict=True):
        if both[i]:
            terms = {"cosine": float(english_cosine[i]), "words": float(w)}
            scored.append((float(score[i]) + LEX_WEIGHT * float(w), i, terms))
        else:
            terms = {"multilingual": float(multi_cosine[i]), "words": float(w)}
            if language and pool.languages[i] == language:
                shared = pool.shared_text(article, pool.articles[i])
                if shared < SHARED_TEXT_FLOOR:
                    continue
                terms["text"] = shared
            scored.append((float(score[i]) + MULTILINGUAL_LEX * float(w), i, terms))
    scored.sort(key=lambda triple: -triple[0])
    return [(score, pool.articles[i], terms) for score, i, terms in scored if score >= threshold]


def _similar_text(
    article: Article, pool: RelatedPool, threshold: float, excluded: set[str]
) -> list[tuple[float, Article]]:
    """For a story not in English: the pool's articles in its language (none the encoder
    reads) whose shared words with ``article``, on the encoder's scale, reach
    ``threshold``, best first, ``SIMILAR_SHORTLIST`` at most; none whose marks are in
    ``excluded``."""
    language = language_of(article)
    targets = [
        t
        for t in pool.articles
        if not english(t) and language_of(t) == language and not article_keys(t) & excluded
    ]
    if not targets:
        return []
    sims = np.minimum(1.0, TEXT_SCALE * text_similarity_to(article, targets))
    order = np.argsort(-sims, kind="stable")[:SIMILAR_SHORTLIST]
    # Nothing shared (a score of 0) is never related, whatever the threshold.
    return [
        (float(sims[i]), targets[int(i)])
        for i in order
        if float(sims[i]) >= threshold and float(sims[i]) > 0.0
    ]
