"""The clustering gate: on the hand-labelled event pairs (bench/clustering.py prints the
full table) the shipped options must keep the precision and recall they reach."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import load_bench

pytestmark = pytest.mark.slow

# Reached by bench/clustering.py on 2026-11-25 with the shipped config.yaml and headline
# vectors: precision 1.00, recall 0.59 (10 of 17 same-event pairs: 9 of 10 English, 1 of 7
# German and Urdu; no wrong merge among 41 different-event pairs). One pair either way is
# 0.06 of recall; the floor allows none.
FLOOR = {"precision": 1.0, "recall": 0.58}


@pytest.mark.parametrize("multilingual", ["none", "auto"])
def test_clustering_holds_its_precision_and_recall(
    shared: Path, tmp_path: Path, request: pytest.FixtureRequest, multilingual: str
) -> None:
    """English only (``none``) the floor above; with the shipped default (``auto``: the
    multilingual encoder where a side is not English, issue 21) the bench's
    ``FLOOR_MULTILINGUAL``, more found outside English for one wrong merge."""
    from digest.config import load_config, with_overrides
    from digest.store import open_database
    from digest.store.embeddings import EmbeddingStore

    bench = load_bench("clustering")
    shipped = load_config(Path(__file__).resolve().parent.parent / "config.yaml")
    assert shipped.edition.multilingual == "auto"
    config = with_overrides(shipped, **{"edition.multilingual": multilingual})
    floor = FLOOR if multilingual == "none" else bench.floor_for(config)
    pile, pairs = bench.load_pairs()
    # Vectors persist in pytest's cache folder (when there is one): a re-run only re-scores.
    cache = getattr(request.config, "cache", None)
    folder = Path(cache.mkdir("digest-clustering")) if cache is not None else tmp_path
    with open_database(folder / "vectors.sqlite3") as db:
        _, _, clusters = bench.cluster_pile(config, pile, EmbeddingStore(db))
    result = bench.score(pairs, bench.same_cluster(clusters))
    assert result["precision"] >= floor["precision"], result
    assert result["recall"] >= floor["recall"], result
