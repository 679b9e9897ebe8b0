"""Maximal marginal relevance (``digest.mmr``), shared by the summariser and the edition.

The two loops it replaced are kept here as references: the helper must pick as they did.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from digest.mmr import MMROrder, mmr_picks

Array = npt.NDArray[np.floating[Any]]


def _unit_rows(rng: np.random.Generator, n: int, dims: int = 16) -> Array:
    rows = rng.standard_normal((n, dims)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def _summariser_loop(
    scores: Array, vectors: Array, pool: Sequence[int], k: int, redundancy: float
) -> list[int]:
    """The extractive summariser's loop before the helper (cosines counted as they are)."""
    chosen: list[int] = []
    left = list(pool)
    while left and len(chosen) < k:
        if chosen:
            overlap = (vectors[left] @ vectors[chosen].T).max(axis=1)
            gains = scores[left] - redundancy * overlap
        else:
            gains = scores[left]
        best = left[int(np.argmax(gains))]
        chosen.append(best)
        left.remove(best)
    return chosen


def _edition_loop(
    relevance: Array, docs: Array, k: int, lam: float, skip: Callable[[int], bool]
) -> list[int]:
    """The edition's loop before the helper (negative cosines count as 0, skips allowed)."""
    closest = np.zeros(len(relevance), dtype=np.float64)
    open_ = np.ones(len(relevance), dtype=bool)
    chosen: list[int] = []
    while len(chosen) < k and open_.any():
        gains = (1.0 - lam) * relevance - lam * closest
        gains[~open_] = -np.inf
        best = int(np.argmax(gains))
        open_[best] = False
        if skip(best):
            continue
        chosen.append(best)
        closest = np.maximum(closest, docs @ docs[best])
    return chosen


@pytest.mark.parametrize("seed", range(40))
def test_the_summariser_picks_as_its_own_loop_did(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 40))
    vectors = _unit_rows(rng, n)
    scores = (vectors @ vectors.mean(axis=0) + rng.random(n)).astype(np.float32)
    pool = sorted(rng.choice(n, size=int(rng.integers(1, n + 1)), replace=False).tolist())
    k = int(rng.integers(0, 8))
    assert mmr_picks(scores, vectors, k, 0.5, pool) == _summariser_loop(
        scores, vectors, pool, k, 0.5
    )


@pytest.mark.parametrize("seed", range(40))
def test_the_edition_picks_and_skips_as_its_own_loop_did(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 30))
    docs = _unit_rows(rng, n)
    scores = np.sort(rng.random(n))[::-1].astype(np.float64)
    scores[: n // 4] = scores[0] if n else 0.0  # equal scores: ties go to the first cluster
    spread = float(scores.max() - scores.min()) if n else 0.0
    relevance = (scores - scores.min()) / spread if spread > 0 else np.ones_like(scores)
    refused = set(rng.choice(n, size=n // 3, replace=False).tolist()) if n else set()
    k, lam = int(rng.integers(0, 10)), float(rng.random())

    order = MMROrder((1.0 - lam) * relevance, docs, redundancy=lam, floor=0.0)
    chosen: list[int] = []
    for best in order:
        if len(chosen) >= k:
            break
        if best in refused:
            continue
        chosen.append(best)
        order.keep(best)
    assert chosen == _edition_loop(relevance, docs, k, lam, refused.__contains__)


def test_a_negative_cosine_helps_unless_floored_at_zero() -> None:
    vectors = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    scores = np.array([1.0, 0.4, 0.45], dtype=np.float32)
    # Unlike the first pick (cosine -1): 0.4 + 0.5 beats 0.45 - 0 ...
    assert mmr_picks(scores, vectors, 2, 0.5) == [0, 1]
    # ... unless a cosine below 0 counts as 0, as in the edition.
    order = MMROrder(scores, vectors, 0.5, floor=0.0)
    picks = []
    for index in order:
        picks.append(index)
        order.keep(index)
    assert picks == [0, 2, 1]


def test_only_kept_candidates_make_others_redundant() -> None:
    vectors = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    scores = np.array([1.0, 0.9, 0.5], dtype=np.float32)
    assert mmr_picks(scores, vectors, 2, 0.5) == [0, 2]  # the twin of 0 pays for it
    order = MMROrder(scores, vectors, 0.5)
    assert list(order) == [0, 1, 2]  # nothing kept: plain score order


def test_ties_go_to_the_first_of_the_pool_and_k_bounds_the_picks() -> None:
    vectors = np.eye(4, dtype=np.float32)
    scores = np.ones(4, dtype=np.float32)
    assert mmr_picks(scores, vectors, 3, 0.5) == [0, 1, 2]
    assert mmr_picks(scores, vectors, 3, 0.5, pool=[3, 1]) == [3, 1]
    assert mmr_picks(scores, vectors, 0, 0.5) == []
    assert mmr_picks(np.zeros(0, np.float32), np.zeros((0, 4), np.float32), 3, 0.5) == []
