from __future__ import annotations

from pathlib import Path

import numpy as np

from digest.config import EncoderOptions
from digest.embed import Encoder, get_encoder, native_bf16, resolve_dtype
from digest.store import open_database
from digest.store.embeddings import EmbeddingStore


def test_bundled_encoder_gives_unit_vectors_that_rank_paraphrases_first() -> None:
    encoder = get_encoder()
    vectors = encoder.encode(
        [
            "Putin offers direct peace talks with Ukraine in Istanbul.",
            "Russia proposes negotiations with Kyiv to be held in Turkey.",
            "The recipe calls for two cups of flour and a pinch of salt.",
        ]
    )
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.3


def test_vectors_are_cached_in_the_store_and_reused() -> None:
    encoder = get_encoder()
    with open_database(":memory:") as db:
        cache = EmbeddingStore(db)
        texts = ["A unique sentence for the cache test, number one.", "And number two."]
        first = encoder.encode(texts, cache=cache)
        assert set(cache.get_vectors(encoder.name, [])) == set()
        stored = db.scalar("SELECT COUNT(*) FROM embeddings")
        assert stored == 2
        before = encoder.tokens_encoded
        encoder._memory.clear()  # force the store path
        again = encoder.encode(texts, cache=cache)
        assert encoder.tokens_encoded == before  # nothing re-encoded
        assert np.array_equal(first, again)


def test_a_vector_truncated_otherwise_is_not_served_from_the_cache() -> None:
    # encoder.max_tokens changes what the model sees of a long text, so its vector too.
    from digest.config import EncoderOptions

    long_text = " ".join(
        f"Sentence {i} talks about a different harbour and ship." for i in range(60)
    )
    with open_database(":memory:") as db:
        cache = EmbeddingStore(db)
        full = get_encoder().encode([long_text], cache=cache)
        short = get_encoder(EncoderOptions(max_tokens=16))
        assert short.name != get_encoder().name
        clipped = short.encode([long_text], cache=cache)
        assert short.tokens_encoded > 0  # computed, not served from the store
        assert not np.allclose(full, clipped, atol=1e-3)


def test_the_in_memory_vectors_stay_under_their_limit() -> None:
    encoder = get_encoder()
    limit = encoder.memory_limit
    encoder.memory_limit = 3
    try:
        texts = [f"Memory limit sentence number {i}." for i in range(5)]
        first = encoder.encode(texts)
        assert len(encoder._memory) == 3
        assert np.allclose(encoder.encode(texts), first, atol=1e-6)  # computed again
    finally:
        encoder.memory_limit = limit


def test_dtype_auto_follows_the_cpu_flags(tmp_path: Path) -> None:
    amx = tmp_path / "amx"
    amx.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 amx_tile amx_bf16 avx512f\n")
    avx512 = tmp_path / "avx512bf16"
    avx512.write_text("processor\t: 0\nflags\t\t: fpu avx512f avx512_bf16 avx512_vnni\n")
    plain = tmp_path / "plain"
    plain.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512bw\n")
    assert native_bf16(amx) and native_bf16(avx512) and not native_bf16(plain)
    assert resolve_dtype("auto", amx) == "bfloat16"
    assert resolve_dtype("auto", plain) == "float32"
    # An explicit choice is kept whatever the CPU.
    assert resolve_dtype("float32", amx) == "float32"
    assert resolve_dtype("bfloat16", plain) == "bfloat16"


def test_the_encoder_names_its_resolved_dtype_in_the_cache_key() -> None:
    chosen = resolve_dtype("auto")
    assert chosen in ("float32", "bfloat16")
    encoder = Encoder(EncoderOptions(dtype="auto"))
    assert encoder.dtype == chosen and f"@{chosen}/" in encoder.name
    assert Encoder(EncoderOptions(dtype="float32")).name.endswith("@float32/256")
