"""Personal editions for a list of subscribers: one variant per distinct topic set.

``edition_variants`` groups subscribers by ``topic_key``, matches every topic set against
the edition's stories and its "More news" candidates (vectors from the store, topic phrases
through the encoder's cache), summarises the candidates some set matches (the summary
cache makes that free on a re-run), and returns one ``Edition`` per key. Subscribers
without topics share the key ``()``, whose variant is the edition itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date

from digest.config import Config
from digest.edition.personal import (
    MATCH_AT,
    TopicKey,
    meaning_matches,
    personal_edition,
    story_text,
    topic_key,
    word_match,
)
from digest.edition.select import single_story
from digest.edition.vectors import embed_articles, embed_topics
from digest.errors import SubscriberError
from digest.models import (
    Article,
    Edition,
    OutgoingMessage,
    RenderedEdition,
    Subscriber,
)
from digest.pipeline.build import (
    LoadedEdition,
    SummarizeMany,
    build_edition,
    key_point_sentences,
    store_summarizer,
)
from digest.pipeline.options import edition_settings, open_store
from digest.publish.messages import MessageFactory
from digest.publish.render import Renderer
from digest.store import ArticleStore, Database
from digest.store.embeddings import EmbeddingStore
from digest.store.subscribers import SubscriberStore
from digest.subscribers import normalize_email

__all__ = [
    "PersonalMessages",
    "SubscribersByFrequency",
    "Variants",
    "edition_variants",
    "group_by_topics",
    "load_personal_edition",
    "render_variants",
    "variant_orders",
    "variants_of_day",
]


def group_by_topics(subscribers: Iterable[Subscriber]) -> dict[TopicKey, list[Subscriber]]:
    """Subscribers by topic key, keys in the order first seen."""
    groups: dict[TopicKey, list[Subscriber]] = {}
    for subscriber in subscribers:
        groups.setdefault(topic_key(subscriber.topics), []).append(subscriber)
    return groups


@dataclass(frozen=True)
class Variants:
    """The edition of each topic key; ``of(subscriber)`` picks a subscriber's."""

    default: Edition
    by_key: Mapping[TopicKey, Edition]

    def of(self, subscriber: Subscriber) -> Edition:
        return self.by_key.get(topic_key(subscriber.topics), self.default)


def edition_variants(
    config: Config,
    db: Database,
    edition: Edition,
    keys: Iterable[TopicKey],
    *,
    summarize: SummarizeMany | None = None,
) -> Variants:
    """One personal edition per topic key (see ``digest.edition.personal``)."""
    wanted = [k for k in dict.fromkeys(keys) if k]
    if not wanted or not edition.stories:
        return Variants(edition, {(): edition})
    store = ArticleStore(db)
    stories = {s.article_id: s for s in edition.stories}
    articles = {i: a for i in stories if (a := store.get(i)) is not None}
    pool = {h.article_id: (h, a) for h in edition.more_news if (a := store.get(h.article_id))}
    cache = EmbeddingStore(db)
    everything = [*articles.values(), *(a for _, a in pool.values())]
    settings = edition_settings(config)
    vectors = embed_articles(settings, everything, cache=cache)
    texts = [
        story_text(stories[a.id]) if a.id in stories else _headline_text(a) for a in everything
    ]
    matches: dict[TopicKey, dict[str, float]] = {}
    for key in wanted:
        # The subscriber's topics encoded as the config's are (``edition.vectors``).
        topics = embed_topics(replace(settings, topics=key), cache=cache, articles=everything)
        meaning = meaning_matches(everything, vectors, topics)
        matches[key] = {
            a.id: 1.0 if word_match(key, text) else m
            for a, text, m in zip(everything, texts, meaning, strict=True)
        }
    # Summarise only the candidates some topic set would take.
    needed = [a for i, (_, a) in pool.items() if any(m[i] >= MATCH_AT for m in matches.values())]
    summaries = (summarize or store_summarizer(config, db))(needed) if needed else {}
    candidates = [
        single_story(a, summaries[i], settings) for a in needed if (i := a.id) in summaries
    ]
    by_key = {key: personal_edition(edition, matches[key], candidates) for key in wanted}
    by_key[()] = edition
    return Variants(edition, by_key)


def _headline_text(article: Article) -> str:
    return " ".join(filter(None, (article.title, article.dek, article.category)))


def variant_orders(
    variants: Variants, groups: Mapping[TopicKey, Sequence[Subscriber]]
) -> list[dict[str, object]]:
    """Each variant's topics, subscriber count and story order (``digest edition --json``)."""
    return [
        {
            "topics": list(key),
            "subscribers": len(groups.get(key, ())),
            "stories": [
                {"article_id": s.article_id, "title": s.title} for s in variants.by_key[key].stories
            ],
        }
        for key in variants.by_key
    ]


class SubscribersByFrequency:
    """The subscribers of ``pages`` who chose ``frequency`` (daily or weekly mail);
    iterable again and again, as ``deliver_edition`` needs (it reads the list twice, a
    page at a time)."""

    def __init__(self, pages: Iterable[Subscriber], frequency: str = "daily") -> None:
        self.pages = pages
        self.frequency = frequency

    def __iter__(self) -> Iterator[Subscriber]:
        return (s for s in self.pages if s.frequency == self.frequency)


def render_variants(
    config: Config,
    db: Database,
    edition: Edition,
    subscribers: Iterable[Subscriber],
    *,
    summarize: SummarizeMany | None = None,
) -> dict[TopicKey, RenderedEdition]:
    """Stage 7 for personal editions: one render per distinct topic set among
    ``subscribers`` (``()``, the default edition, always among them). Only the topic
    keys are kept while reading them: memory does not grow with the list."""
    keys = dict.fromkeys(topic_key(s.topics) for s in subscribers)
    variants = edition_variants(config, db, edition, keys, summarize=summarize)
    renderer = Renderer(config.newsletter, base_dir=config.base_dir, timezone=config.tz)
    rendered: dict[TopicKey, RenderedEdition] = {}
    # A variant equal to one already rendered (topics that matched nothing) shares it.
    for key, variant in variants.by_key.items():
        same = next((k for k in rendered if variants.by_key[k] == variant), None)
        rendered[key] = rendered[same] if same is not None else renderer.render(variant)
    return rendered


class PersonalMessages:
    """Builds each subscriber's message from the render of their topic set: one
    ``MessageFactory`` per render, slots filled per subscriber as for one edition."""

    def __init__(
        self,
        config: Config,
        rendered: Mapping[TopicKey, RenderedEdition],
        key: bytes,
    ) -> None:
        factories: dict[int, MessageFactory] = {}
        self._by_key: dict[TopicKey, MessageFactory] = {}
        for topics, render in rendered.items():
            if id(render) not in factories:
                factories[id(render)] = MessageFactory(
                    render,
                    config.newsletter,
                    key,
                    dkim=config.delivery.dkim,
                    base_dir=config.base_dir,
                )
            self._by_key[topics] = factories[id(render)]
        self.default = self._by_key[()]
        self.renders = len(factories)

    def factory(self, subscriber: Subscriber) -> MessageFactory:
        return self._by_key.get(topic_key(subscriber.topics), self.default)

    def message(self, subscriber: Subscriber) -> OutgoingMessage:
        return self.factory(subscriber).message(subscriber)


def load_personal_edition(config: Config, day: date, email: str) -> LoadedEdition:
    """``digest preview --as EMAIL``: the edition of ``day`` as that subscriber gets it,
    and the sentences behind its key points. ``SubscriberError`` for an unknown address."""
    with open_store(config) as db:
        subscriber = SubscriberStore(db).by_email(normalize_email(email))
        if subscriber is None:
            raise SubscriberError(f"{email}: no such subscriber")
        edition = build_edition(config, db, day)
        key = topic_key(subscriber.topics)
        variant = edition_variants(config, db, edition, [key]).of(subscriber)
        return LoadedEdition(variant, key_point_sentences(db, variant))


def variants_of_day(config: Config, db: Database, edition: Edition) -> list[dict[str, object]]:
    """``digest edition --json``: each variant the active subscribers get, with its order."""
    groups = group_by_topics(SubscriberStore(db).active())
    return variant_orders(edition_variants(config, db, edition, groups), groups)
