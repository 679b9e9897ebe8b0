"""Stages 3-6: rank and cluster the day's candidates, select, summarise, relate, save.

``build_edition`` is the one place these stages are wired; ``digest.pipeline.daily`` and
the editor's commands call it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

from digest.config import Config
from digest.edition.cluster import Cluster, cluster_articles
from digest.edition.rank import PastSends, Ranking, edition_end, rank_articles
from digest.edition.related import Earlier, RelatedPool, edition_related, without_repeats
from digest.edition.repeats import set_aside_sent
from digest.edition.select import Selection, assemble_edition, select_stories
from digest.edition.vectors import ArticleVectors, embed_articles, embed_topics, english
from digest.errors import EditionError
from digest.models import Article, Edition, RelatedItem, Summary
from digest.pipeline.archive import archive_folder
from digest.pipeline.days import newest_article_day
from digest.pipeline.desk import rendered_hash, with_desk_actions
from digest.pipeline.options import (
    configured_encoder,
    configured_summarizer,
    edition_settings,
    open_store,
)
from digest.pipeline.sources import health_alarms
from digest.progress import Progress
from digest.publish.pictures import Fetch, copy_pictures
from digest.publish.render import render_edition
from digest.sources.http import fetch
from digest.store import ArticleStore, Database, EditionStore
from digest.store.embeddings import EmbeddingStore
from digest.store.fetching import FetchStore
from digest.store.ledger import DeliveryLedger
from digest.store.summaries import SummaryCache
from digest.summarize import summarize_many
from digest.text.sentences import article_sentences

__all__ = [
    "Candidates",
    "LoadedEdition",
    "Refreshed",
    "SummarizeMany",
    "build_edition",
    "earlier_coverage",
    "key_point_sentences",
    "load_edition",
    "picture_fetch",
    "rank_candidates",
    "refresh_edition",
    "related_stories",
    "select_and_summarize",
    "sent_before",
    "store_summarizer",
    "went_out",
    "with_own_pictures",
]

# Summaries of many articles by article id; an article missing from the result got none.
SummarizeMany = Callable[[Sequence[Article]], Mapping[str, Summary]]


@dataclass(frozen=True)
class Candidates:
    """The day's candidates: scored (best first), with term notes, clustered by event."""

    day: date
    ranking: Ranking
    clusters: tuple[Cluster, ...]
    vectors: ArticleVectors


def _past_sends(config: Config, db: Database, day: date) -> PastSends:
    """What the last ``rank.novelty_editions`` editions before ``day`` sent."""
    sent = EditionStore(db).recent_articles(day, config.rank.novelty_editions)
    if not sent:
        return PastSends()
    articles = {s.article_id: s.edition_id for s in sent if s.role in ("story", "also")}
    store = ArticleStore(db)
    stories = [(s.edition_id, store.get(s.article_id)) for s in sent if s.role == "story"]
    found = [(e, a) for e, a in stories if a is not None and english(a)]
    if not found:
        return PastSends(articles=articles)
    settings = edition_settings(config)
    vectors = embed_articles(settings, [a for _, a in found], cache=EmbeddingStore(db))
    return PastSends(
        articles=articles,
        story_vectors=vectors.matrix([a for _, a in found]),
        story_editions=tuple(e for e, _ in found),
    )


def rank_candidates(
    config: Config, db: Database, day: date, progress: Progress | None = None
) -> Candidates:
    """Stage 3: score the articles of the last ``edition.window_days`` days up to the end
    of ``day`` and cluster them by event. Vectors come from the store when computed before.
    """
    settings = edition_settings(config)
    end = edition_end(day, config.tz)
    articles = ArticleStore(db).between(end - timedelta(days=config.edition.window_days), end)
    if not articles:
        newest = newest_article_day(config, db, day)
        hint = f"the newest stored articles are of {newest}: --date {newest}" if newest else ""
        raise EditionError(
            f"no articles published in the {config.edition.window_days} days up to {day}"
            f" ({hint or 'run `digest ingest` first, or pick another --date'})"
        )
    if progress:
        progress("embed", 0, len(articles), "")
    cache = EmbeddingStore(db)
    vectors = embed_articles(settings, articles, cache=cache)
    topics = embed_topics(settings, cache=cache, articles=articles)
    if progress:
        progress("embed", len(articles), len(articles), "")
        progress("rank", 0, len(articles), "")
    past = _past_sends(config, db, day)
    ranking = rank_articles(settings, articles, vectors, topics, day, past)
    clusters = cluster_articles(ranking.ranked, vectors, config.edition)
    if progress:
        progress("rank", len(articles), len(articles), f"{len(clusters)} events")
    return Candidates(day=day, ranking=ranking, clusters=tuple(clusters), vectors=vectors)


def sent_before(config: Config, db: Database, day: date) -> dict[str, str]:
    """Article id -> the edition that sent it, of the editions before ``day`` that reached a
    subscriber, back as far as a candidate of ``day`` can have been sent (the candidate
    window and a day more)."""
    since = day - timedelta(days=config.edition.window_days + 1)
    sent: dict[str, str] = {}
    for row in EditionStore(db).sent_articles(since, day):
        sent.setdefault(row.article_id, row.edition_id)  # newest edition first
    return sent


def select_and_summarize(
    config: Config,
    candidates: Candidates,
    summarize: SummarizeMany,
    sent: Mapping[str, str],
    progress: Progress | None = None,
) -> tuple[Selection, dict[str, Summary]]:
    """Stages 4-5 together: choose the stories and summarise them; a story the summariser
    gives nothing for is replaced by the next candidate, until the edition is full or the
    candidates run out. What ``sent`` holds (earlier, sent editions) is set aside first
    (``edition.repeats``)."""
    settings = edition_settings(config)
    aside = set_aside_sent(candidates.clusters, sent)
    summaries: dict[str, Summary] = {}
    failed: set[str] = set()
    while True:
        selection = select_stories(
            aside.clusters,
            candidates.vectors,
            settings,
            unsummarised=failed,
            set_aside=aside.left_out,
        )
        todo = [c.lead.article for c in selection.stories if c.lead.article.id not in summaries]
        if not todo:
            break
        if progress:
            progress("summarize", len(summaries), len(summaries) + len(todo), "")
        found = summarize(todo)
        summaries.update({a.id: found[a.id] for a in todo if a.id in found})
        missing = {a.id for a in todo if a.id not in found}
        if not missing:
            break
        # Each round passes over at least one more lead, so the loop ends.
        failed |= missing
    return selection, summaries


def store_summarizer(config: Config, db: Database) -> SummarizeMany:
    """The configured summariser, with summaries cached in the store."""
    summarizer = configured_summarizer(config, vectors=EmbeddingStore(db))
    cache = SummaryCache(db)

    def run(articles: Sequence[Article]) -> Mapping[str, Summary]:
        return summarize_many(articles, summarizer, cache).by_id

    return run


def related_stories(
    config: Config,
    db: Database,
    day: date,
    stories: Sequence[Cluster],
    more_news: Sequence[Cluster] = (),
) -> dict[str, tuple[RelatedItem, ...]]:
    """Stage 5: related items per story, from the stored articles of the last
    ``edition.related_days`` days (see ``digest.edition.related``): none that the edition
    shows already (its ``stories`` and ``more_news``), none under two stories."""
    end = edition_end(day, config.tz)
    pool_articles = ArticleStore(db).between(end - timedelta(days=config.edition.related_days), end)
    cache = EmbeddingStore(db)
    encoder = configured_encoder(config)
    leads = [c.lead.article for c in stories]
    vectors = embed_articles(edition_settings(config), [*pool_articles, *leads], cache=cache)
    pool = RelatedPool(
        articles=pool_articles,
        doc=vectors.matrix(pool_articles),
        encode_titles=lambda titles: encoder.encode(list(titles), cache=cache),
        multilingual=vectors.multilingual_matrix(pool_articles),
    )
    return edition_related(
        [[c.lead.article, *(o.article for o in c.others)] for c in stories],
        vectors.by_id,
        pool,
        config.edition,
        headlines=[[c.lead.article, *(o.article for o in c.others)] for c in more_news],
        earlier=earlier_coverage(db, day, config.edition.related_days),
        multilingual=vectors.multilingual,
    )


def earlier_coverage(db: Database, day: date, days: int) -> dict[str, Earlier]:
    """The past editions of the ``days`` days before ``day`` that carried each article (the
    newest one), by article id: earlier coverage for related items."""
    since = day - timedelta(days=days)
    found: dict[str, Earlier] = {}
    for row in EditionStore(db).recent_articles(day, max(0, days)):
        if since <= row.day < day:
            found.setdefault(row.article_id, Earlier(row.edition_id, row.day))
    return found


def build_edition(
    config: Config,
    db: Database,
    day: date,
    *,
    rebuild: bool = False,
    force: bool = False,
    progress: Progress | None = None,
    summarize: SummarizeMany | None = None,
    save: bool = True,
) -> Edition:
    """Stages 3-6: the edition of ``day``. A saved edition of that day is returned as it
    was (the same edition on every re-run) unless ``rebuild``. A rebuild of an edition that
    went out (a ``sent`` or ``sending`` ledger row) is an ``EditionError`` unless ``force``:
    the ledger and the archive refer to what subscribers received.

    1. rank and cluster the day's candidates (``rank_candidates``)
    2. set aside what earlier, sent editions sent (``sent_before``, ``edition.repeats``)
    3. select the stories and headlines and summarise the stories, a story that cannot be
       summarised replaced by the next candidate (``select_and_summarize``; ``summarize``
       defaults to the configured summariser with the store's cache)
    4. find each story's related items (``related_stories``)
    5. assemble the edition, copy its pictures into the archive (``copy_pictures``: a
       picture is fetched once and served from ``newsletter.base_url``) and save it (unless
       not ``save``)
    """
    editions = EditionStore(db)
    saved = editions.for_day(day)
    if saved is not None and not rebuild:
        return saved
    if saved is not None and not force and (out := DeliveryLedger(db).went_out(saved.id)):
        raise EditionError(
            f"edition {saved.id} went out to {out} subscriber{'s' if out != 1 else ''}"
            " already: a rebuild would replace what they received (--force to do it anyway)"
        )
    candidates = rank_candidates(config, db, day, progress)
    summarize = summarize or store_summarizer(config, db)
    sent = sent_before(config, db, day)
    selection, summaries = select_and_summarize(config, candidates, summarize, sent, progress)
    if progress:
        progress("summarize", len(selection.stories), len(selection.stories), "")
    related = related_stories(config, db, day, selection.stories, selection.more_news)
    edition = assemble_edition(
        edition_settings(config), day, selection, summaries, related, created=datetime.now(UTC)
    )
    # The editor's actions on this day (drop, pin, edit...) survive a rebuild.
    edition = with_desk_actions(config, db, edition, summarize)
    # A story the editor promoted may be another story's related item: dropped there.
    edition = without_repeats(edition)
    edition = with_own_pictures(config, edition)
    if save:
        editions.save(edition)
    if progress:
        progress("edition", 1, 1, edition.id)
    return edition


def went_out(db: Database, edition: Edition) -> bool:
    """Whether any subscriber may have the edition (a ``sent`` or ``sending`` ledger row)."""
    return DeliveryLedger(db).went_out(edition.id) > 0


@dataclass(frozen=True, slots=True)
class Refreshed:
    edition: Edition
    rebuilt: bool  # the saved edition was replaced: what was read since changed it


def refresh_edition(
    config: Config, db: Database, day: date, *, read_more: bool, progress: Progress | None = None
) -> Refreshed:
    """The edition of ``day`` for the daily job: built when there is none; the saved one
    when it went out (subscribers have it) or when nothing new was read (not
    ``read_more``); otherwise built again, the editor's actions replayed, and saved only
    when the mail it makes differs from the saved one's (a saved edition that reads the
    same stays as it is, and so does its approval). A changed edition that was approved
    waits for approval again: the approval is of the mail as it rendered."""
    saved = EditionStore(db).for_day(day)
    if saved is None or went_out(db, saved) or not read_more:
        return Refreshed(build_edition(config, db, day, progress=progress), rebuilt=False)
    fresh = build_edition(config, db, day, rebuild=True, progress=progress, save=False)
    if _mail_hash(config, fresh) == _mail_hash(config, saved):
        return Refreshed(saved, rebuilt=False)
    EditionStore(db).save(fresh)
    return Refreshed(fresh, rebuilt=True)


def _mail_hash(config: Config, edition: Edition) -> str:
    rendered = render_edition(
        edition, config.newsletter, base_dir=config.base_dir, timezone=config.tz
    )
    return rendered_hash(rendered)


def with_own_pictures(config: Config, edition: Edition) -> Edition:
    """``edition`` with its stories' pictures copied into the archive and served from
    ``newsletter.base_url`` (``digest.publish.pictures``), when ``newsletter.images``."""
    if not config.newsletter.images:
        return edition
    return copy_pictures(
        edition,
        archive=archive_folder(config),
        base_url=config.newsletter.base_url,
        fetch=picture_fetch(config),
    ).edition


def picture_fetch(config: Config) -> Fetch:
    """How a story's picture is fetched: the guarded client of the feeds, which refuses a
    private address unless the picture's host is one a source with ``allow_private: true``
    reads (an intranet feed's own pictures)."""
    private = {
        urlsplit(s.location).hostname
        for s in config.sources
        if s.allow_private and s.location.startswith(("http://", "https://"))
    }

    def get(url: str, max_bytes: int, timeout: float) -> bytes:
        host = urlsplit(url).hostname
        allow = host is not None and host in private
        return fetch(url, timeout=timeout, max_bytes=max_bytes, allow_private=allow).content

    return get


@dataclass(frozen=True)
class LoadedEdition:
    """An edition for the editor's panel: the edition, and each story's article sentences
    by article id (numbered as ``KeyPoint.sources`` counts them)."""

    edition: Edition
    sentences: Mapping[str, Sequence[str]]
    # Sources failing for fetch.failing_runs runs or silent for fetch.silent_days, a line each.
    source_alarms: tuple[str, ...] = ()
    # Why a story's article is only its feed's teaser (robots.txt, a wall), by article id.
    teaser_notes: Mapping[str, str] = field(default_factory=dict)


def load_edition(config: Config, day: date) -> LoadedEdition:
    """The edition of ``day`` (the saved one, else built and saved now), the sentences
    behind its key points and the sources to look at, for the editor's panel."""
    with open_store(config) as db:
        edition = build_edition(config, db, day)
        now = datetime.now(UTC)
        fetching = FetchStore(db)
        alarms = health_alarms(config, fetching.health(now), now)
        return LoadedEdition(
            edition,
            key_point_sentences(db, edition),
            tuple(a.line for a in alarms),
            teaser_notes(db, edition),
        )


def teaser_notes(db: Database, edition: Edition) -> dict[str, str]:
    """Why each story that is only a teaser stayed one, by article id (the store's notes)."""
    articles, fetching = ArticleStore(db), FetchStore(db)
    found: dict[str, str] = {}
    for story in edition.stories:
        article = articles.get(story.article_id)
        note = fetching.note(article.url) if article is not None and article.url else None
        if note is not None:
            found[story.article_id] = note
    return found


def key_point_sentences(db: Database, edition: Edition) -> dict[str, list[str]]:
    """Each story's article sentences (numbered as ``KeyPoint.sources`` counts them)."""
    articles = ArticleStore(db)
    found: dict[str, list[str]] = {}
    for story in edition.stories:
        article = articles.get(story.article_id)
        if article is not None:
            found[story.article_id] = [s.text for s in article_sentences(article)]
    return found
