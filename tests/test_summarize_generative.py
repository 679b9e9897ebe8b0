"""The generative path with tiny random-weight models built here, loaded like real ones.

Random weights write garbage, so parsing and the support check are also fed controlled
answers directly; the garbage itself must end in the extractive fallback with a reason.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from digest.config import SummarizerOptions
from digest.embed import bundled_model_path, get_encoder
from digest.errors import ModelError
from digest.models import Article, Section
from digest.summarize.generative import (
    GenerativeSummarizer,
    check_support,
    load_prompt,
    parse_output,
    prompts_dir,
)
from digest.text.sentences import article_sentences
from tests.model_server import CHAT_TEMPLATE


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A tiny BART (seq2seq) and a tiny Llama (causal, with a chat template), random weights,
    the WordPiece tokenizer of the bundled MiniLM (local files)."""
    import torch
    from transformers import (
        AutoTokenizer,
        BartConfig,
        BartForConditionalGeneration,
        LlamaConfig,
        LlamaForCausalLM,
    )

    root = tmp_path_factory.mktemp("models")
    tokenizer = AutoTokenizer.from_pretrained(str(bundled_model_path()))
    ids = {
        "pad_token_id": tokenizer.pad_token_id,
        "bos_token_id": tokenizer.cls_token_id,
        "eos_token_id": tokenizer.sep_token_id,
    }
    torch.manual_seed(0)
    seq2seq = BartForConditionalGeneration(
        BartConfig(
            vocab_size=len(tokenizer),
            d_model=32,
            encoder_layers=1,
            decoder_layers=1,
            encoder_attention_heads=2,
            decoder_attention_heads=2,
            encoder_ffn_dim=64,
            decoder_ffn_dim=64,
            max_position_embeddings=512,
            decoder_start_token_id=tokenizer.cls_token_id,
            forced_eos_token_id=None,
            init_std=1.0,  # large weights: varied garbage rather than one repeated token
            **ids,
        )
    )
    causal = LlamaForCausalLM(
        LlamaConfig(
            vocab_size=len(tokenizer),
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=1,
            num_attention_heads=2,
            num_key_value_heads=2,
            max_position_embeddings=1024,
            initializer_range=1.0,
            **ids,
        )
    )
    paths = {"seq2seq": root / "tiny-bart", "causal": root / "tiny-llama"}
    seq2seq.save_pretrained(paths["seq2seq"])
    tokenizer.save_pretrained(paths["seq2seq"])
    tokenizer.chat_template = CHAT_TEMPLATE
    causal.save_pretrained(paths["causal"])
    tokenizer.save_pretrained(paths["causal"])
    return paths


ARTICLE = Article(
    id="g1",
    source="test",
    title="Council approves river bridge",
    content_hash="g1hash",
    sections=(
        Section(
            None,
            (
                "The city council of Norwich approved a new bridge over the river on Monday."
                " The bridge will cost 40 million pounds and open in 2028.",
                "Mayor Alice Brown said the crossing would cut traffic in the old town."
                " Residents had asked for a second crossing for a decade.",
                "Opponents said the money should fund schools instead.",
            ),
        ),
        Section("Conclusion", ("The vote ends a long fight over the river crossing.",)),
    ),
)

GOOD_ANSWER = """Key points:
- The Norwich city council approved a new bridge over the river on Monday.
- The bridge will cost 40 million pounds and open in 2028.
2) Mayor Alice Brown said the new crossing would cut traffic in the old town.
- Opponents argued that the money should fund schools instead.
Conclusion: The vote ends a long fight over the river crossing.
"""


def options(model: Path | str, **more: object) -> SummarizerOptions:
    return SummarizerOptions(backend="generative", model=str(model), **more)  # type: ignore[arg-type]


def test_parse_output_reads_bullets_numbers_and_the_conclusion() -> None:
    points, conclusion = parse_output(GOOD_ANSWER)
    assert points == [
        "The Norwich city council approved a new bridge over the river on Monday.",
        "The bridge will cost 40 million pounds and open in 2028.",
        "Mayor Alice Brown said the new crossing would cut traffic in the old town.",
        "Opponents argued that the money should fund schools instead.",
    ]
    assert conclusion == "The vote ends a long fight over the river crossing."


def test_parse_output_splits_prose_and_reads_a_conclusion_on_the_next_line() -> None:
    points, conclusion = parse_output(
        "The council approved a bridge. It will cost a lot of money.\nConclusion:\nA fight ends."
    )
    assert points == ["The council approved a bridge.", "It will cost a lot of money."]
    assert conclusion == "A fight ends."
    assert parse_output("") == ([], None)


@pytest.mark.slow
def test_support_check_needs_a_matching_sentence_and_the_article_numbers_and_names() -> None:
    encoder = get_encoder()
    sentences = article_sentences(ARTICLE)
    points = [
        "The bridge will cost 40 million pounds and open in 2028.",
        "The bridge will cost 90 million pounds and open in 2028.",  # invented number
        "Mayor John Smith said the crossing would cut traffic in the old town.",  # invented name
        "A recipe needs two cups of flour and a pinch of salt.",  # nothing like it
    ]
    vectors = encoder.encode([s.text for s in sentences] + points)
    checks = check_support(
        points, vectors[len(sentences) :], sentences, vectors[: len(sentences)], 0.55
    )
    assert [c.supported for c in checks] == [True, False, False, False]
    assert checks[0].sources[0] == 1  # "The bridge will cost 40 million pounds ..."
    assert checks[1].missing == ("90",)
    assert set(checks[2].missing) == {"John", "Smith"}
    assert checks[3].sources == () and checks[3].score < 0.55


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["seq2seq", "causal"])
def test_controlled_answers_are_checked_point_by_point(
    tiny_models: dict[str, Path], kind: str
) -> None:
    summarizer = GenerativeSummarizer(options(tiny_models[kind]), get_encoder())
    sentences = [s for s in article_sentences(ARTICLE) if not s.is_boilerplate]
    points, conclusion = parse_output(GOOD_ANSWER + "- Mayor John Smith resigned over 90 bribes.\n")
    summary = summarizer.checked(ARTICLE, sentences, points, conclusion, 5)
    assert summary.method == "generative" and summary.fallback_reason is None
    assert summary.dropped_points == 1
    assert len(summary.key_points) == 4
    assert all("John Smith" not in p.text for p in summary.key_points)
    assert summary.conclusion is not None and summary.conclusion.sources == (5,)
    assert summary.prompt_version == summarizer.prompt.version

    few, _ = parse_output("- The bridge will cost 40 million pounds and open in 2028.\n- Pigs fly.")
    fallback = summarizer.checked(ARTICLE, sentences, few, None, 3)
    assert fallback.method == "extractive"
    assert fallback.fallback_reason and "1 of 1 generated points" in fallback.fallback_reason


@pytest.mark.slow
def test_a_sentence_the_feed_cut_backs_no_generated_point(tiny_models: dict[str, Path]) -> None:
    # The feed cut its description in the middle of the last sentence (issue 20).
    cut = Article(
        id="g2",
        source="test",
        title="Council approves river bridge",
        content_hash="g2hash",
        sections=(
            Section(
                None,
                (
                    "The city council of Norwich approved a new bridge over the river on Monday."
                    " The bridge will cost 40 million pounds and open in 2028."
                    " Mayor Alice Brown said the crossing would cut traffic in the old town."
                    " Opponents said the money should pay for the hospital wing that",
                ),
            ),
        ),
    )
    summarizer = GenerativeSummarizer(
        options(tiny_models["seq2seq"], min_key_points=2), get_encoder()
    )
    sentences = [s for s in article_sentences(cut) if not s.is_boilerplate]
    assert [s.is_fragment for s in sentences] == [False, False, False, True]
    points, _ = parse_output(
        "- The council approved a new bridge over the river on Monday.\n"
        "- The bridge will cost 40 million pounds and open in 2028.\n"
        "- Opponents said the money should pay for the hospital wing.\n"
    )
    summary = summarizer.checked(cut, sentences, points, None, 3)
    assert summary.method == "generative" and summary.dropped_points == 1
    assert all("hospital" not in p.text for p in summary.key_points)
    assert all(3 not in p.sources for p in summary.key_points)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["seq2seq", "causal"])
def test_tiny_model_garbage_falls_back_to_extractive_with_a_reason(
    tiny_models: dict[str, Path], kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    summarizer = GenerativeSummarizer(options(tiny_models[kind], max_new_tokens=24), get_encoder())
    assert summarizer._model.seq2seq is (kind == "seq2seq")
    answer = summarizer.generate(ARTICLE, article_sentences(ARTICLE), 3)
    assert answer.strip()  # the model really ran and wrote something
    with caplog.at_level(logging.WARNING, logger="digest.summarize.generative"):
        summary = summarizer.summarize(ARTICLE)
    assert summary.method == "extractive"
    assert summary.fallback_reason and "generated points were supported" in summary.fallback_reason
    assert "extractive summary used" in caplog.text
    assert len(summary.key_points) >= 3


@pytest.mark.slow
def test_long_articles_are_chunked_and_map_reduced(
    tiny_models: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    summarizer = GenerativeSummarizer(
        options(tiny_models["causal"], chunk_tokens=30, max_new_tokens=8), get_encoder()
    )
    sentences = article_sentences(ARTICLE)
    chunks = summarizer.chunks(sentences)
    assert len(chunks) > 1
    assert " ".join(chunks) == " ".join(s.text for s in sentences)
    assert all(summarizer._model.count_tokens(c) <= 30 + 16 for c in chunks)
    with caplog.at_level(logging.DEBUG, logger="digest.summarize.generative"):
        summarizer.generate(ARTICLE, sentences, 3)
    assert f"{len(chunks)} chunks gave" in caplog.text


def test_a_missing_model_says_how_to_set_it(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"summarizer\.model .*config\.yaml"):
        GenerativeSummarizer(options(tmp_path / "no-such-model"), get_encoder())
    with pytest.raises(ModelError, match=r"summarizer\.model is not set"):
        GenerativeSummarizer(SummarizerOptions(backend="generative"), get_encoder())


def test_prompts_are_versioned(tmp_path: Path) -> None:
    assert load_prompt("keypoints").version == "keypoints-2"
    assert load_prompt("keypoints_seq2seq").version.startswith("keypoints-seq2seq-")
    rendered = load_prompt("keypoints").render(
        title="T", text="Body.", count=3, words=40, stage="single", part=1, parts=1
    )
    assert "3 key points" in rendered and rendered.endswith("Body.")
    (tmp_path / "bare.j2").write_text("{{ text }}")
    with pytest.raises(ModelError, match="no version"):
        load_prompt("bare", tmp_path)
    assert (prompts_dir() / "keypoints.j2").is_file()


@pytest.mark.slow
def test_chunks_fit_the_model_input_even_when_chunk_tokens_is_larger(
    tiny_models: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    long = Article(
        id="long",
        source="test",
        title="A long story",
        content_hash="long1",
        sections=(Section(None, ARTICLE.sections[0].paragraphs * 12),),
    )
    summarizer = GenerativeSummarizer(
        options(tiny_models["seq2seq"], chunk_tokens=100_000, max_new_tokens=4), get_encoder()
    )
    sentences = article_sentences(long)
    assert summarizer._model.count_tokens(" ".join(s.text for s in sentences)) > 512
    with caplog.at_level(logging.DEBUG, logger="digest.summarize.generative"):
        summarizer.generate(long, sentences, 3)
    assert "2 chunks gave" in caplog.text or "3 chunks gave" in caplog.text
