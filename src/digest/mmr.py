"""Maximal marginal relevance: the best candidate next, less what it repeats of those picked.

The summariser picks an article's key points so (``summarize.extractive``) and the edition
its stories (``edition.select``): each next candidate maximises ``score - redundancy *
closest``, where ``closest`` is its highest cosine to a candidate already kept (nothing
before the first is kept). The caller keeps or skips each candidate in that order (the
edition skips one over a cap); only kept ones count as picked. Ties go to the candidate
first in the pool.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import islice
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["MMROrder", "mmr_picks"]

Scores = npt.NDArray[np.floating[Any]]


class MMROrder:
    """The candidates of ``pool`` (default: all) in MMR order, each given once.

    ``scores`` and ``vectors`` (unit rows, so that a dot product is a cosine) are indexed
    alike. Iterating gives the best candidate left; ``keep`` counts one as picked, so that
    the next candidates pay for their similarity to it. A cosine below ``floor`` counts as
    ``floor``: the edition passes 0, so that a story unlike every chosen one (a negative
    cosine) gains nothing by it; the summariser counts cosines as they are. The arithmetic
    stays in the precision of ``scores`` and ``vectors`` (float32 for sentences, float64
    for stories). ``similarity`` (n x n), when given, replaces the vectors' cosines: the
    edition passes one that mixes measures (the encoder's for English pairs, shared words
    elsewhere).
    """

    def __init__(
        self,
        scores: Scores,
        vectors: Scores,
        redundancy: float,
        pool: Sequence[int] | None = None,
        *,
        floor: float = -np.inf,
        similarity: Scores | None = None,
    ) -> None:
        self.scores = scores
        self.vectors = vectors
        self.redundancy = redundancy
        self.similarity = similarity
        self._left = list(range(len(scores)) if pool is None else pool)
        self._closest = np.full(len(scores), floor, dtype=np.result_type(scores, vectors))
        self._kept = False

    def __iter__(self) -> Iterator[int]:
        while self._left:
            gains = self.scores[self._left]
            if self._kept:
                gains = gains - self.redundancy * self._closest[self._left]
            yield self._left.pop(int(np.argmax(gains)))

    def keep(self, index: int) -> None:
        """Count ``index`` as picked."""
        if self.similarity is not None:
            row = self.similarity[index]
        else:
            row = self.vectors @ self.vectors[index]
        self._closest = np.maximum(self._closest, row)
        self._kept = True


def mmr_picks(
    scores: Scores,
    vectors: Scores,
    k: int,
    redundancy: float,
    pool: Sequence[int] | None = None,
) -> list[int]:
    """The first ``k`` candidates of ``pool`` in MMR order, every one kept."""
    order = MMROrder(scores, vectors, redundancy, pool)
    picked: list[int] = []
    for index in islice(order, max(0, k)):
        order.keep(index)
        picked.append(index)
    return picked
