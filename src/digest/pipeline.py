"""The daily job and the editor's preview, stage by stage.

The flow, one stage per module:

1. ingest     (``sources``)    read every configured source into ``Article`` values
2. store      (``store``)      keep them, de-duplicated, in SQLite
3. rank       (``rank``)       score the day's candidates, cluster same-event articles
4. summarize  (``summarize``)  key points and a conclusion per story
5. related    (``related``)    related stories for each story
6. edition    (``edition``)    the dated edition, saved so that a re-run gives the same one
7. render     (``render``)     HTML (premailer, once) and text, with per-subscriber slots
8. deliver    (``deliver``)    one message per subscriber, through the ledger

Each function below runs one or more stages and reports progress through an optional
callback; none of them prints.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from digest import job
from digest.cluster import Cluster, cluster_articles
from digest.config import Config
from digest.deliver import SendReply
from digest.edition import assemble_edition, select_stories, without_unsummarised
from digest.embed import get_encoder
from digest.errors import EditionError, SourceError, StoreError
from digest.models import Article, Edition, RelatedItem, Summary
from digest.rank import (
    ArticleVectors,
    PastSends,
    Ranking,
    edition_end,
    embed_articles,
    embed_topics,
    english,
    rank_articles,
)
from digest.related import RelatedPool, related_for
from digest.sources import read_source
from digest.store import ArticleStore, Database, EditionStore, open_database
from digest.store.embeddings import EmbeddingStore

__all__ = [
    "Candidates",
    "IngestReport",
    "Progress",
    "SourceReport",
    "SummarizeMany",
    "build_edition",
    "ingest",
    "open_store",
    "rank_candidates",
    "related_stories",
    "run_daily",
    "send_test",
    "store_summarizer",
]

# A progress callback: (stage, done, total, detail). The CLI turns it into a bar or a line.
Progress = Callable[[str, int, int, str], None]


def open_store(config: Config) -> Database:
    """The configured store, created and migrated when needed."""
    return open_database(config.store_path)


# --- rank, summarize, related, edition (stages 3-6) -----------------------------------------

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
    vectors = embed_articles(config, [a for _, a in found], cache=EmbeddingStore(db))
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
    end = edition_end(day, config)
    articles = ArticleStore(db).between(end - timedelta(days=config.edition.window_days), end)
    if not articles:
        raise EditionError(
            f"no articles published in the {config.edition.window_days} days up to {day}"
            " (run `digest ingest` first, or pick another --date)"
        )
    if progress:
        progress("embed", 0, len(articles), "")
    cache = EmbeddingStore(db)
    vectors = embed_articles(config, articles, cache=cache)
    topics = embed_topics(config, cache=cache)
    if progress:
        progress("embed", len(articles), len(articles), "")
        progress("rank", 0, len(articles), "")
    ranking = rank_articles(config, articles, vectors, topics, day, _past_sends(config, db, day))
    clusters = cluster_articles(ranking.ranked, vectors, config.edition)
    if progress:
        progress("rank", len(articles), len(articles), f"{len(clusters)} events")
    return Candidates(day=day, ranking=ranking, clusters=tuple(clusters), vectors=vectors)


def store_summarizer(config: Config, db: Database) -> SummarizeMany:
    """The configured summariser, with summaries cached in the store."""
    from digest.store.summaries import SummaryCache
    from digest.summarize import make_summarizer, summarize_many

    summarizer = make_summarizer(config, vectors=EmbeddingStore(db))
    cache = SummaryCache(db)

    def run(articles: Sequence[Article]) -> Mapping[str, Summary]:
        return summarize_many(articles, summarizer, cache)

    return run


def related_stories(
    config: Config, db: Database, day: date, stories: Sequence[Cluster]
) -> dict[str, tuple[RelatedItem, ...]]:
    """Stage 5: related items per story, from the stored articles of the last
    ``edition.related_days`` days (see ``digest.related``)."""
    end = edition_end(day, config)
    pool_articles = ArticleStore(db).between(end - timedelta(days=config.edition.related_days), end)
    cache = EmbeddingStore(db)
    encoder = get_encoder(config.encoder)
    leads = [c.lead.article for c in stories]
    vectors = embed_articles(config, [*pool_articles, *leads], cache=cache)
    pool = RelatedPool(
        articles=pool_articles,
        doc=vectors.matrix(pool_articles),
        encode_titles=lambda titles: encoder.encode(list(titles), cache=cache),
    )
    return {
        c.lead.article.id: related_for(
            c.lead.article,
            vectors[c.lead.article.id],
            pool,
            config.edition,
            others=[o.article for o in c.others],
        )
        for c in stories
    }


def build_edition(
    config: Config,
    db: Database,
    day: date,
    *,
    rebuild: bool = False,
    progress: Progress | None = None,
    summarize: SummarizeMany | None = None,
) -> Edition:
    """Stages 3-6: the edition of ``day``. A saved edition of that day is returned as it
    was (the same edition on every re-run) unless ``rebuild``.

    1. rank and cluster the day's candidates (``rank_candidates``)
    2. select the stories and headlines (``edition.select_stories``)
    3. summarise the stories (``summarize``, default: the configured summariser with the
       store's cache)
    4. find each story's related items (``related_stories``)
    5. assemble the edition and save it
    """
    editions = EditionStore(db)
    if not rebuild:
        saved = editions.for_day(day)
        if saved is not None:
            return saved
    candidates = rank_candidates(config, db, day, progress)
    selection = select_stories(
        candidates.clusters, candidates.vectors, config, candidates.ranking.notes
    )
    if progress:
        progress("summarize", 0, len(selection.stories), "")
    summarize = summarize or store_summarizer(config, db)
    summaries = summarize([c.lead.article for c in selection.stories])
    selection = without_unsummarised(selection, summaries)
    if progress:
        progress("summarize", len(selection.stories), len(selection.stories), "")
    related = related_stories(config, db, day, selection.stories)
    edition = assemble_edition(
        config, day, selection, summaries, related, created=datetime.now(UTC)
    )
    editions.save(edition)
    if progress:
        progress("edition", 1, 1, edition.id)
    return edition


# --- ingest (stages 1 and 2) -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SourceReport:
    """What ingesting one source did; ``reason`` says why it failed, ``warnings`` what was
    skipped or repaired along the way."""

    name: str
    location: str
    read: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: bool = False
    reason: str | None = None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class IngestReport:
    sources: tuple[SourceReport, ...]

    @property
    def failed(self) -> tuple[SourceReport, ...]:
        return tuple(s for s in self.sources if s.failed)

    @property
    def new(self) -> int:
        return sum(s.new for s in self.sources)


def ingest(config: Config, db: Database, progress: Progress | None = None) -> IngestReport:
    """Read every configured source and store its articles.

    1. read    each source with its reader (``digest.sources.read_source``)
    2. store   its articles in one transaction (``ArticleStore.add_many``)

    A source that fails (unreadable, or the store refused it) is reported with its reason;
    what it stored before stays, and the other sources go on.
    """
    store = ArticleStore(db)
    reports: list[SourceReport] = []
    total = len(config.sources)
    for done, options in enumerate(config.sources):
        if progress:
            progress("ingest", done, total, options.name)
        location = config.resolve(options.location)
        try:
            result = read_source(options, config)
            counts = store.add_many(result.articles)
        except (SourceError, StoreError) as exc:
            reports.append(SourceReport(options.name, location, failed=True, reason=str(exc)))
            continue
        reports.append(
            SourceReport(
                options.name,
                location,
                read=len(result.articles),
                new=counts.new,
                updated=counts.updated,
                unchanged=counts.unchanged,
                warnings=result.warnings,
            )
        )
    if progress:
        progress("ingest", total, total, "")
    return IngestReport(tuple(reports))


# --- the daily job (``digest.job``: the lock, the ledger, the transports) ----------------------


def run_daily(
    config: Config, day: date, dry_run: bool = False, progress: Progress | None = None
) -> job.RunReport:
    """Stages 1-8 for ``day`` under the job lock; a re-run only finishes what is left.

    1. ingest (skipped once the day's edition exists)  2. rank  3. summarise
    4. related  5. edition  6. render  7. send through the ledger
    """
    return job.run_daily(config, day, dry_run=dry_run, progress=progress)


def send_test(config: Config, day: date, email: str) -> SendReply:
    """The day's draft to one address, ``[TEST]`` in the subject, no ledger entry."""
    return job.send_draft(config, day, email)
