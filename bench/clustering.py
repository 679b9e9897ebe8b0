"""Same-event clustering: precision and recall on hand-labelled pairs.

``bench/event_pairs.yaml`` lists same-event and different-event pairs of articles from
``examples/`` and from the feeds in ``../shared/data/feeds/`` (read through
``digest.sources``). Every article of those sources is clustered together, as a day's pile
would be, with the shipped ``config.yaml`` options; a pair counts as "predicted same" when
both articles land in one cluster. Two baselines run in the same process on the same
pairs: headline word overlap (Jaccard) and the encoder's cosine alone (no names, no time
window, no merge check).

    .venv/bin/python bench/clustering.py [--show]
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from digest.config import Config, load_config  # noqa: E402
from digest.edition.cluster import Cluster, cluster_articles, link_scores  # noqa: E402
from digest.edition.rank import Ranking, rank_articles  # noqa: E402
from digest.edition.vectors import ArticleVectors, embed_articles, embed_topics, english  # noqa: E402
from digest.embed import VectorCache  # noqa: E402
from digest.models import Article  # noqa: E402
from digest.sources import read_location  # noqa: E402

PAIRS = ROOT / "bench" / "event_pairs.yaml"
GOAL = 0.9


@dataclass(frozen=True)
class Pair:
    a: Article
    b: Article
    same: bool
    why: str
    held_out: bool = False


def load_pairs(path: Path = PAIRS) -> tuple[list[Article], list[Pair]]:
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    articles: dict[str, list[Article]] = {}
    for key, location in spec["sources"].items():
        articles[key] = list(read_location(str(ROOT / location), source=key).articles)

    def find(side: Sequence[str]) -> Article:
        key, title = side
        for article in articles[key]:
            if article.title == title:
                return article
        raise SystemExit(f"{path}: no article titled {title!r} in source {key!r}")

    pairs = [
        Pair(
            find(p["a"]),
            find(p["b"]),
            bool(p["same"]),
            str(p.get("why", "")),
            bool(p.get("held_out", False)),
        )
        for p in spec["pairs"]
    ]
    pile = [a for group in articles.values() for a in group]
    return pile, pairs


def score(pairs: Sequence[Pair], predict: Callable[[Article, Article], bool]) -> dict[str, float]:
    """Precision and recall of ``predict`` on the labelled pairs (and the four counts)."""
    tp = fp = fn = tn = 0
    for pair in pairs:
        guess = predict(pair.a, pair.b)
        tp += guess and pair.same
        fp += guess and not pair.same
        fn += (not guess) and pair.same
        tn += (not guess) and not pair.same
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return {"precision": precision, "recall": recall, "tp": tp, "fp": fp, "fn": fn, "tn": tn}


def cluster_pile(
    config: Config, pile: Sequence[Article], cache: VectorCache | None = None
) -> tuple[ArticleVectors, Ranking, list[Cluster]]:
    """Every article of the labelled sources ranked and clustered together."""
    vectors = embed_articles(config, pile, cache=cache)
    topics = embed_topics(config, cache=cache)
    ranking = rank_articles(config, pile, vectors, topics, date(2026, 11, 24))
    return vectors, ranking, cluster_articles(ranking.ranked, vectors, config.edition)


def same_cluster(clusters: Sequence[Cluster]) -> Callable[[Article, Article], bool]:
    cluster_of = {m.article.id: i for i, c in enumerate(clusters) for m in c.members}
    return lambda a, b: cluster_of[a.id] == cluster_of[b.id]


def words(title: str) -> set[str]:
    return {w for w in re.findall(r"\w+", title.casefold()) if len(w) > 2}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", action="store_true", help="list each wrong pair")
    parser.add_argument(
        "--sweep", action="store_true", help="precision and recall at other thresholds too"
    )
    args = parser.parse_args()
    config: Config = load_config(ROOT / "config.yaml")
    started = time.perf_counter()
    pile, pairs = load_pairs()
    read_s = time.perf_counter() - started

    started = time.perf_counter()
    vectors, ranking, clusters = cluster_pile(config, pile)
    cluster_s = time.perf_counter() - started
    ours = same_cluster(clusters)

    event = {a.id: vectors[a.id] for a in pile}

    def cosine_only(a: Article, b: Article) -> bool:
        return float(event[a.id] @ event[b.id]) >= config.edition.cluster_threshold

    def jaccard(a: Article, b: Article) -> bool:
        x, y = words(a.title), words(b.title)
        return len(x & y) / max(1, len(x | y)) >= 0.3

    positives = sum(p.same for p in pairs)
    print(
        f"{len(pairs)} labelled pairs ({positives} same event, {len(pairs) - positives}"
        f" different) among {len(pile)} articles in {len(clusters)} clusters"
    )
    print(f"read {read_s:.1f} s; embed + rank + cluster {cluster_s:.1f} s (cold encoder)")
    print(f"{'method':<34} {'precision':>9} {'recall':>7}   tp fp fn tn")
    results = {
        "digest clustering (shipped config)": score(pairs, ours),
        "encoder cosine alone": score(pairs, cosine_only),
        "headline word overlap (J >= 0.3)": score(pairs, jaccard),
    }
    for name, r in results.items():
        print(
            f"{name:<34} {r['precision']:>9.3f} {r['recall']:>7.3f}"
            f"   {r['tp']:>2} {r['fp']:>2} {r['fn']:>2} {r['tn']:>2}"
        )
    readable = {a.id: english(a) for a in pile}
    subsets = {
        "English": [p for p in pairs if readable[p.a.id] and readable[p.b.id]],
        "other languages": [p for p in pairs if not (readable[p.a.id] and readable[p.b.id])],
        "pairs the score was chosen on": [p for p in pairs if not p.held_out],
        "held out (labelled after)": [p for p in pairs if p.held_out],
    }
    for label, subset in subsets.items():
        r = score(subset, ours)
        print(
            f"  {label:<32} {r['precision']:>9.3f} {r['recall']:>7.3f}"
            f"   {r['tp']:>2} {r['fp']:>2} {r['fn']:>2} {r['tn']:>2}"
        )
    if args.sweep:
        for threshold in (0.45, 0.5, 0.55, 0.6, 0.65, 0.7):
            options = dataclasses.replace(config.edition, cluster_threshold=threshold)
            swept = cluster_articles(ranking.ranked, vectors, options)
            where = {m.article.id: i for i, c in enumerate(swept) for m in c.members}
            r = score(pairs, lambda a, b, w=where: w[a.id] == w[b.id])  # type: ignore[misc]
            print(
                f"  threshold {threshold:<22} {r['precision']:>9.3f} {r['recall']:>7.3f}"
                f"   {r['tp']:>2} {r['fp']:>2} {r['fn']:>2} {r['tn']:>2}"
            )
    if args.show:
        matrix = link_scores(
            pile, vectors.matrix(pile), config.edition, vectors.headline_matrix(pile)
        )
        index = {a.id: i for i, a in enumerate(pile)}
        for pair in pairs:
            if ours(pair.a, pair.b) != pair.same:
                link = matrix[index[pair.a.id], index[pair.b.id]]
                print(f"  wrong ({'same' if pair.same else 'different'}, link {link:.2f}):")
                print(f"    {pair.a.title}\n    {pair.b.title}")
        labelled = {frozenset((p.a.id, p.b.id)) for p in pairs}
        for c in clusters:
            ids = [m.article.id for m in c.members]
            extra = [
                (x, y)
                for i, x in enumerate(ids)
                for y in ids[i + 1 :]
                if frozenset((x, y)) not in labelled
            ]
            if extra:
                print("  unlabelled cluster: " + " | ".join(m.article.title for m in c.members))
    mine = results["digest clustering (shipped config)"]
    ok = mine["precision"] >= GOAL and mine["recall"] >= GOAL
    print(f"goal precision and recall >= {GOAL}: {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
