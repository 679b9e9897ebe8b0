"""The optional summariser: a local ``transformers`` model writes the points, the article
checks them.

1. the model: ``summarizer.model`` is a local folder or the id of a model already in the
   Hugging Face cache; nothing is downloaded (``local_files_only``, ``HF_HUB_OFFLINE``).
   Encoder-decoder models (BART, T5, PEGASUS) load with ``AutoModelForSeq2SeqLM``, others
   with ``AutoModelForCausalLM`` and, when the tokenizer has one, its chat template;
2. the prompt: ``digest/prompts/<summarizer.prompt>.j2`` (``<prompt>_seq2seq.j2`` for
   seq2seq models when it exists), or a file of one's own when ``summarizer.prompt`` ends in
   ``.j2``; its first line names its version, part of the cache key;
3. map-reduce over long articles, reading the answer, the support check on every point and
   the extractive fallback are ``support.py``'s, shared with the model-server backend.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from digest.config import SummarizerOptions
from digest.embed import Encoder, VectorCache
from digest.errors import ModelError, SummaryError
from digest.models import Article, Summary
from digest.summarize.extractive import point_count
from digest.summarize.support import (
    Prompt,
    Support,
    SupportCheck,
    check_support,
    load_prompt,
    map_reduce,
    model_cache_version,
    pack_chunks,
    parse_output,
    prompt_values,
    prompts_dir,
    summary_sentences,
)
from digest.text.sentences import Sentence

__all__ = [
    "GenerativeSummarizer",
    "Prompt",
    "Support",
    "check_support",
    "load_prompt",
    "parse_output",
    "prompts_dir",
]

log = logging.getLogger(__name__)


# --- the model -----------------------------------------------------------------------------


class _Model:
    """A loaded generator: tokenizer, weights, and whether it is seq2seq."""

    def __init__(self, name: str, base_dir: str) -> None:
        os.environ["HF_HUB_OFFLINE"] = "1"
        local = Path(base_dir, name).expanduser()
        self.location = str(local) if local.is_dir() else name
        try:
            from transformers import AutoConfig

            self.config = AutoConfig.from_pretrained(self.location, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise ModelError(
                f"summarizer.model {name!r}: no such model folder, and no such model in the"
                " local Hugging Face cache (nothing is downloaded). Set summarizer.model in"
                " config.yaml to a folder holding a transformers model (config.json, weights,"
                " tokenizer) or to the id of a model already in the cache, or use"
                " summarizer.backend: extractive"
            ) from exc
        self.seq2seq = bool(getattr(self.config, "is_encoder_decoder", False))
        self._tokenizer: Any = None
        self._model: Any = None

    def load(self) -> None:
        if self._model is not None:
            return
        try:
            from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
            tokenizer = AutoTokenizer.from_pretrained(self.location, local_files_only=True)
            auto = AutoModelForSeq2SeqLM if self.seq2seq else AutoModelForCausalLM
            model = auto.from_pretrained(self.location, local_files_only=True)
        except (OSError, ValueError, RuntimeError, KeyError) as exc:
            raise ModelError(f"{self.location}: cannot load the model: {exc}") from exc
        model.eval()
        self._tokenizer, self._model = tokenizer, model

    @property
    def tokenizer(self) -> Any:
        self.load()
        return self._tokenizer

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def input_limit(self, max_new_tokens: int) -> int:
        c = self.config
        limit = next(
            (
                int(v)
                for k in ("max_position_embeddings", "n_positions", "max_length")
                if isinstance(v := getattr(c, k, None), int) and v > 0
            ),
            1024,
        )
        return max(32, limit - (0 if self.seq2seq else max_new_tokens))

    def generate(self, prompt: str, max_new_tokens: int) -> str:
        self.load()
        import torch

        tokenizer, model = self._tokenizer, self._model
        if not self.seq2seq and getattr(tokenizer, "chat_template", None):
            prompt = tokenizer.apply_chat_template(
                [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
            )
        inputs = tokenizer(
            prompt,
            return_tensors="pt",
            truncation=True,
            max_length=self.input_limit(max_new_tokens),
        )
        inputs.pop("token_type_ids", None)
        pad = tokenizer.pad_token_id
        if pad is None:
            pad = tokenizer.eos_token_id
        try:
            with torch.inference_mode():
                output = model.generate(
                    **inputs, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=pad
                )
        except (RuntimeError, ValueError, IndexError) as exc:
            raise SummaryError(f"{self.location}: generation failed: {exc}") from exc
        tokens = output[0] if self.seq2seq else output[0][inputs["input_ids"].shape[1] :]
        return str(tokenizer.decode(tokens, skip_special_tokens=True))


# --- the summariser -----------------------------------------------------------------------


class GenerativeSummarizer:
    """Points written by a local model, each checked against the article (with the
    caller's ``encoder``, which also drives the extractive fall-back); ``base_dir``: the
    folder a relative ``summarizer.model`` path is resolved against."""

    backend = "generative"

    def __init__(
        self,
        options: SummarizerOptions,
        encoder: Encoder,
        *,
        vectors: VectorCache | None = None,
        base_dir: str = ".",
        prompts: Path | None = None,
    ) -> None:
        if not options.model:
            raise ModelError(
                "summarizer.backend is 'generative' but summarizer.model is not set: set it in"
                " config.yaml to a local transformers model folder or a cached hub id"
            )
        self.options = options
        self.model = options.model
        self._model = _Model(options.model, base_dir)
        folder = prompts or prompts_dir()
        name = options.prompt
        if self._model.seq2seq and (folder / f"{name}_seq2seq.j2").is_file():
            name = f"{name}_seq2seq"
        self.prompt = load_prompt(name, folder)
        self.check = SupportCheck(options, encoder, vectors)

    @property
    def cache_version(self) -> str:
        return model_cache_version(self.prompt.version, self.options)

    def summarize_many(self, articles: Sequence[Article]) -> list[Summary]:
        return [self.summarize(a) for a in articles]

    def summarize(self, article: Article) -> Summary:
        sentences = summary_sentences(article)
        wanted = point_count(article, self.options)
        try:
            answer = self.generate(article, sentences, wanted)
        except SummaryError as exc:
            return self.check.fallback(article, f"generation failed: {exc}")
        points, conclusion = parse_output(answer)
        return self.checked(article, sentences, points, conclusion, wanted)

    def generate(self, article: Article, sentences: Sequence[Sentence], wanted: int) -> str:
        """The model's answer; map-reduce over chunks when the article is long."""
        t5 = self._model.config.model_type == "t5"
        values = prompt_values(article, self.options, wanted, "summarize: " if t5 else "")
        new = self.options.max_new_tokens
        # A chunk and its prompt must fit the model's input, whatever chunk_tokens says.
        empty = self.prompt.render(**values, text="", stage="map", part=1, parts=2)
        room = self._model.input_limit(new) - self._model.count_tokens(empty) - 8
        chunks = self.chunks(sentences, min(self.options.chunk_tokens, room))
        return map_reduce(
            self.prompt,
            values,
            chunks,
            lambda prompt: self._model.generate(prompt, new),
            parse_output,
            label=article.id,
            logger=log,
        )

    def chunks(self, sentences: Sequence[Sentence], limit: int | None = None) -> list[str]:
        """Sentences packed into chunks of at most ``limit`` (``chunk_tokens``) model tokens;
        a single sentence longer than that is a chunk of its own."""
        limit = self.options.chunk_tokens if limit is None else limit
        return pack_chunks(sentences, limit, self._model.count_tokens)

    def checked(
        self,
        article: Article,
        sentences: Sequence[Sentence],
        points: Sequence[str],
        conclusion: str | None,
        wanted: int,
    ) -> Summary:
        """The summary of parsed points that pass the support check, else the fallback."""
        return self.check.summary(
            article,
            sentences,
            points,
            conclusion,
            wanted,
            method=self.backend,
            model=self.model,
            prompt_version=self.prompt.version,
        )
