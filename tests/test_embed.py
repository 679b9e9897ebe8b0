from __future__ import annotations

import numpy as np

from digest.embed import get_encoder
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
