"""What the encoder reads of an article, and the vectors every later stage shares.

One vector per article, of its opening (``opening_text``: title, dek, lede, first
paragraphs, 600 characters), used for interest, same-event clustering, diversity and
related stories; a second one of ``headline_text`` for English articles with a dek or a
genre label (see ``has_headline_vector``). Both are cached by text hash in the store.
``english`` says whether the bundled encoder can read an article at all.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from digest.edition.multilingual import multilingual_encoder
from digest.edition.settings import EditionSettings
from digest.embed import VectorCache, Vectors, get_encoder
from digest.models import Article

__all__ = [
    "BASELINE_TOPICS",
    "ENGLISH_FUNCTION_WORDS",
    "MULTILINGUAL_OPENING",
    "ArticleVectors",
    "TopicVectors",
    "embed_articles",
    "embed_topics",
    "english",
    "has_headline_vector",
    "headline_text",
    "multilingual_openings",
    "opening_text",
    "topic_phrases",
]

# English function words: they tell English text apart, and carry nothing about an event.
_FUNCTION_WORDS = """the of and to in a is for on that with as was by at from are has have it its be
    an this will after over said who not but were had been their they he she his her we our
    you your i or if than then there which what when where while about into also more"""
ENGLISH_FUNCTION_WORDS = frozenset(_FUNCTION_WORDS.split())
_TOKEN = re.compile(r"\w+", re.UNICODE)
# Characters of the opening the multilingual encoder reads: about one window of e5
# (512 tokens) in a Latin script, against the English encoder's 600 (``opening_text``).
# Same-event pairs told apart by their second and third paragraphs were missed at 600:
# on pairs_dev.jsonl (title + first ~1,000 characters), reading 1,500 raised the
# within-language F1 of same-event links from 0.766 to 0.810 (recall 0.75 -> 0.86) at
# the same zeros (bench/clustering.py --pairs). It costs about twice the encoder time
# (bench/related.py prints it), once per text: the vectors are cached in the store.
MULTILINGUAL_OPENING = 1500


def english(article: Article) -> bool:
    """Whether the encoder can read the article: its language, else its function words."""
    if article.language:
        return article.language.lower().startswith("en")
    words = _TOKEN.findall(f"{article.title} {article.dek or ''}".casefold())
    paragraphs = article.paragraphs
    if paragraphs:
        words += _TOKEN.findall(paragraphs[0].casefold())
    return sum(w in ENGLISH_FUNCTION_WORDS for w in words) >= 0.08 * max(1, len(words))


# --- the texts the encoder sees ------------------------------------------------------------


def multilingual_openings(articles: Sequence[Article]) -> list[str]:
    """What the multilingual encoder reads of each article: ``MULTILINGUAL_OPENING``
    characters of its opening (``opening_text``)."""
    return [opening_text(a, MULTILINGUAL_OPENING) for a in articles]


def opening_text(article: Article, limit: int = 600) -> str:
    """Title, dek, lede and the first paragraphs up to ``limit`` characters: what the encoder
    sees of an article (one vector per article, for interest, clustering, diversity and
    related stories). 600 characters is about 130 tokens: the event and its framing, at
    half the encoder time of the full 256-token window."""
    parts = [article.title, article.dek or "", *article.paragraphs]
    out: list[str] = []
    size = 0
    for part in parts:
        if not part:
            continue
        out.append(part)
        size += len(part) + 1
        if size >= limit:
            break
    return " ".join(out)[:limit]


# Genre labels around a headline ("News Analysis: ...", "... – video"): they tell what kind
# of piece it is, not what happened.
_GENRE = re.compile(
    r"^(?:news analysis|analysis|opinion|comment|live|watch|video)\s*:\s*"
    r"|\s+[–—-]\s+(?:video|live!?|as it happened|podcast|in pictures)\s*$",
    re.IGNORECASE,
)


def headline_text(article: Article) -> str:
    """The headline (genre labels dropped) and the lede: the event as the outlet states it,
    without the dek, which some feeds fill with a photo caption."""
    paragraphs = article.paragraphs
    title = _GENRE.sub("", article.title).strip() or article.title
    return f"{title}. {paragraphs[0]}" if paragraphs else title


def has_headline_vector(article: Article) -> bool:
    """Whether ``embed_articles`` encodes ``headline_text`` too: for English articles with
    a dek or a genre label, the two things it leaves out. Elsewhere the headline and lede
    are the start of the opening, and a second vector would cost encoder time (about 0.7x
    the openings' on 1,000 articles) for next to no difference."""
    return english(article) and (bool(article.dek) or bool(_GENRE.search(article.title)))


@dataclass(frozen=True)
class ArticleVectors:
    """One unit vector per article id: the encoding of ``opening_text``; and, where
    ``has_headline_vector``, a second one of ``headline_text`` (same-event clustering uses
    both)."""

    by_id: Mapping[str, Vectors]
    headlines: Mapping[str, Vectors] = field(default_factory=dict)
    # multilingual-e5 vectors of the openings where some article is not in English and
    # the multilingual encoder is on (``edition.multilingual``); else empty
    multilingual: Mapping[str, Vectors] = field(default_factory=dict)

    def __getitem__(self, article_id: str) -> Vectors:
        return self.by_id[article_id]

    def matrix(self, articles: Sequence[Article]) -> Vectors:
        return _stack([self.by_id[a.id] for a in articles])

    def headline_matrix(self, articles: Sequence[Article]) -> Vectors:
        """Headline vectors, the opening's where an article has none."""
        return _stack([self.headlines.get(a.id, self.by_id[a.id]) for a in articles])

    def multilingual_matrix(self, articles: Sequence[Article]) -> Vectors | None:
        """The multilingual vectors of ``articles``; None unless every one has one."""
        if not articles or any(a.id not in self.multilingual for a in articles):
            return None
        return _stack([self.multilingual[a.id] for a in articles])


def _stack(rows: Sequence[Vectors]) -> Vectors:
    if not rows:
        return np.zeros((0, 384), dtype=np.float32)
    return np.vstack(rows).astype(np.float32, copy=False)


def embed_articles(
    settings: EditionSettings, articles: Sequence[Article], cache: VectorCache | None = None
) -> ArticleVectors:
    """Encode each article's opening once, and its headline + lede where
    ``has_headline_vector`` (both cached by text hash in the store); where some article
    is not in English, every opening once more with the multilingual encoder, if on
    (``digest.edition.multilingual``: a cross-language pair needs both sides)."""
    encoder = get_encoder(settings.encoder)
    unique = list({a.id: a for a in articles}.values())
    readable = [a for a in unique if has_headline_vector(a)]
    openings = [opening_text(a) for a in unique]
    vectors = encoder.encode(openings + [headline_text(a) for a in readable], cache=cache)
    heads = vectors[len(unique) :]
    multilingual: dict[str, Vectors] = {}
    if not all(english(a) for a in unique):
        model = multilingual_encoder(settings.edition.multilingual, settings.encoder.threads)
        if model is not None:
            others = model.encode(multilingual_openings(unique), cache=cache)
            multilingual = {a.id: others[i] for i, a in enumerate(unique)}
    return ArticleVectors(
        {a.id: vectors[i] for i, a in enumerate(unique)},
        {a.id: heads[i] for i, a in enumerate(readable)},
        multilingual,
    )


# Topics that name no subject ("news about news"), in two scripts: the multilingual
# interest of an article is how much closer its topics are than the nearer of these.
BASELINE_TOPICS = ("news about news", "news about 新闻")


@dataclass(frozen=True)
class TopicVectors:
    """The configured topics as phrases: ``owner[i]`` is the topic phrase ``i`` comes from."""

    topics: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    owner: tuple[int, ...] = ()
    vectors: Vectors = field(default_factory=lambda: np.zeros((0, 384), np.float32))
    # The phrases through the multilingual encoder (as e5 queries), where it is on: what
    # an article not in English is compared with (``digest.edition.rank``); and the
    # ``BASELINE_TOPICS`` likewise, whose cosine with an article is subtracted from its
    # topics' (e5 ranks any query in an article's own script above the others).
    multilingual: Vectors | None = None
    baseline: Vectors | None = None


def topic_phrases(topics: Sequence[str]) -> tuple[list[str], list[int]]:
    phrases: list[str] = []
    owner: list[int] = []
    for index, topic in enumerate(topics):
        parts = [topic, *re.split(r",|\band\b|;|/", topic)]
        for part in parts:
            words = " ".join(w for w in part.split() if w.lower() not in ("the", "a", "an"))
            phrase = f"news about {words}" if words else ""
            if phrase and phrase not in phrases:
                phrases.append(phrase)
                owner.append(index)
    return phrases, owner


def embed_topics(
    settings: EditionSettings,
    cache: VectorCache | None = None,
    articles: Sequence[Article] = (),
) -> TopicVectors:
    """``settings.topics`` as phrases (``topic_phrases``), encoded; once more by the
    multilingual encoder, if on, where some of ``articles`` is not in English (the topic
    itself as written, whatever its language, and its parts as e5 queries)."""
    phrases, owner = topic_phrases(settings.topics)
    vectors = get_encoder(settings.encoder).encode(phrases, cache=cache)
    multilingual = baseline = None
    if phrases and not all(english(a) for a in articles):
        model = multilingual_encoder(settings.edition.multilingual, settings.encoder.threads)
        if model is not None:
            multilingual = model.encode(phrases, cache=cache, query=True)
            baseline = model.encode(BASELINE_TOPICS, cache=cache, query=True)
    return TopicVectors(
        tuple(settings.topics), tuple(phrases), tuple(owner), vectors, multilingual, baseline
    )
