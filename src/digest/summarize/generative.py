"""The optional summariser: a local ``transformers`` model writes the points, the article
checks them.

1. the model: ``summarizer.model`` is a local folder or the id of a model already in the
   Hugging Face cache; nothing is downloaded (``local_files_only``, ``HF_HUB_OFFLINE``).
   Encoder-decoder models (BART, T5, PEGASUS) load with ``AutoModelForSeq2SeqLM``, others
   with ``AutoModelForCausalLM`` and, when the tokenizer has one, its chat template;
2. the prompt: ``digest/prompts/<summarizer.prompt>.j2`` (``<prompt>_seq2seq.j2`` for
   seq2seq models when it exists), or a file of one's own when ``summarizer.prompt`` ends in
   ``.j2``; its first line names its version, part of the cache key;
3. long articles are cut at sentence boundaries into chunks of ``chunk_tokens`` tokens,
   each chunk is summarised (map) and the notes are merged by one more call (reduce);
4. the output is parsed into key points and a conclusion (bullets, numbers, a
   ``Conclusion:`` line; plain prose is split into sentences);
5. every point is checked against the article: its best-matching source sentences by the
   encoder must reach ``support_threshold``, and its numbers and capitalised names must
   appear in the article. Unsupported points are dropped and counted; with fewer than
   ``min_key_points`` left, the extractive summary is used and the reason recorded.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import numpy as np

from digest.config import SummarizerOptions
from digest.embed import Encoder, VectorCache, Vectors
from digest.errors import ModelError, SummaryError
from digest.models import Article, KeyPoint, Summary, count_words
from digest.summarize.extractive import ExtractiveSummarizer, point_count, trim_point
from digest.text.rules import MODEL_LIST_ITEM, repeat_key
from digest.text.sentences import SPLITTER_VERSION, Sentence, article_sentences, split_sentences

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


def prompts_dir() -> Traversable:
    """The prompts shipped in the package (``digest/prompts/``), a package resource."""
    return resources.files("digest") / "prompts"


# --- prompts -------------------------------------------------------------------------------

_VERSION = re.compile(r"\{#-?\s*version:\s*(\S+?)\s*-?#\}")


@dataclass(frozen=True)
class Prompt:
    name: str
    version: str
    source: str

    def render(self, **values: Any) -> str:
        from jinja2 import Environment, StrictUndefined

        env = Environment(undefined=StrictUndefined, keep_trailing_newline=False)
        return env.from_string(self.source).render(**values).strip()


def load_prompt(name: str, folder: Traversable | None = None) -> Prompt:
    """``folder/<name>.j2`` (default: the package's prompts), or the file ``name`` when it
    ends in ``.j2``; its version line is required."""
    path: Traversable = (
        Path(name) if name.endswith(".j2") else (folder or prompts_dir()) / f"{name}.j2"
    )
    try:
        source = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ModelError(f"{path}: cannot read the prompt ({exc.strerror})") from exc
    match = _VERSION.search(source)
    if match is None:
        raise ModelError(f"{path}: the prompt names no version ({{#- version: NAME-N -#}})")
    return Prompt(name=path.name.removesuffix(".j2"), version=match.group(1), source=source)


# --- parsing the output -------------------------------------------------------------------------

_CONCLUSION = re.compile(
    r"^\s*\**\s*(?:conclusion|in conclusion|bottom line|overall)\s*\**\s*[:\-–—]\s*(.*)$", re.I
)
_HEADER = re.compile(r"^\s*\**\s*[\w ]{0,30}:\s*\**\s*$")


def parse_output(text: str) -> tuple[list[str], str | None]:
    """Key points and a conclusion from a model's answer (bullets, numbers or prose)."""
    points: list[str] = []
    prose: list[str] = []
    conclusion: str | None = None
    expect_conclusion = False
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if expect_conclusion:
            conclusion, expect_conclusion = line, False
            continue
        found = _CONCLUSION.match(line)
        if found:
            conclusion = found.group(1).strip() or None
            expect_conclusion = conclusion is None
            continue
        bullet = MODEL_LIST_ITEM.match(line)
        if bullet:
            points.append(bullet["text"].strip())
        elif not _HEADER.match(line):
            prose.append(line)
    if not points:
        points = split_sentences(" ".join(prose))
    seen: set[str] = set()
    out: list[str] = []
    for point in points:
        point = point.strip(" *")
        key = repeat_key(point)
        if count_words(point) >= 3 and key not in seen:
            seen.add(key)
            out.append(point)
    return out, conclusion


# --- the support check ----------------------------------------------------------------------------

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_NAME = re.compile(r"\b[A-Z][\w'’-]*[a-z][\w'’-]*\b|\b[A-Z]{2,}\b")
_NOT_NAMES = frozenset({"The", "A", "An", "In", "On", "At", "It", "He", "She", "They", "This"})


@dataclass(frozen=True, slots=True)
class Support:
    """A generated point and what in the article backs it (or why nothing does)."""

    text: str
    sources: tuple[int, ...]
    score: float
    missing: tuple[str, ...]  # numbers and names not found in the article

    @property
    def supported(self) -> bool:
        return bool(self.sources) and not self.missing


def check_support(
    points: Sequence[str],
    point_vectors: Vectors,
    sentences: Sequence[Sentence],
    sentence_vectors: Vectors,
    threshold: float,
) -> list[Support]:
    """For each point: source sentences with cosine >= ``threshold`` (best first, at most
    two), and the numbers and capitalised names of the point the article lacks."""
    body = " ".join(s.text for s in sentences)
    numbers = {_number(n) for n in _NUMBER.findall(body)}
    lowered = body.lower()
    out: list[Support] = []
    similarity = (
        point_vectors @ sentence_vectors.T
        if len(sentences)
        else np.zeros((len(points), 0), np.float32)
    )
    for row, point in enumerate(points):
        scores = similarity[row]
        order = [int(i) for i in np.argsort(-scores)[:2] if scores[i] >= threshold]
        missing = [n for n in _NUMBER.findall(point) if _number(n) not in numbers]
        missing += [
            name
            for name in _NAME.findall(_drop_first_word(point))
            if name not in _NOT_NAMES and name.lower() not in lowered
        ]
        best = float(scores.max()) if scores.size else 0.0
        out.append(Support(point, tuple(sentences[i].index for i in order), best, tuple(missing)))
    return out


def _number(text: str) -> str:
    return text.replace(",", "").rstrip(".")


def _drop_first_word(text: str) -> str:
    # A sentence's first word is capitalised whatever it is; it is not a name by that.
    parts = text.split(None, 1)
    return parts[1] if len(parts) == 2 else ""


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
        self.encoder = encoder
        self.vectors = vectors
        self.model = options.model
        self._model = _Model(options.model, base_dir)
        folder = prompts or prompts_dir()
        name = options.prompt
        if self._model.seq2seq and (folder / f"{name}_seq2seq.j2").is_file():
            name = f"{name}_seq2seq"
        self.prompt = load_prompt(name, folder)
        self.extractive = ExtractiveSummarizer(options, self.encoder, vectors=vectors)

    @property
    def cache_version(self) -> str:
        o = self.options
        return (
            f"{self.prompt.version}:{o.min_key_points}-{o.max_key_points}x{o.words_per_point}"
            f":s{o.support_threshold}:c{o.chunk_tokens}:n{o.max_new_tokens}:p{SPLITTER_VERSION}"
        )

    def summarize_many(self, articles: Sequence[Article]) -> list[Summary]:
        return [self.summarize(a) for a in articles]

    def summarize(self, article: Article) -> Summary:
        sentences = [s for s in article_sentences(article) if not s.is_boilerplate]
        if not sentences:
            raise SummaryError(f"{article.id}: no sentence to summarise")
        wanted = point_count(article, self.options)
        try:
            answer = self.generate(article, sentences, wanted)
        except SummaryError as exc:
            return self._fallback(article, f"generation failed: {exc}", 0)
        points, conclusion = parse_output(answer)
        return self.checked(article, sentences, points, conclusion, wanted)

    def generate(self, article: Article, sentences: Sequence[Sentence], wanted: int) -> str:
        """The model's answer; map-reduce over chunks when the article is long."""
        values = {"title": article.title, "count": wanted, "words": self.options.words_per_point}
        values["prefix"] = "summarize: " if self._model.config.model_type == "t5" else ""
        new = self.options.max_new_tokens
        # A chunk and its prompt must fit the model's input, whatever chunk_tokens says.
        empty = self.prompt.render(**values, text="", stage="map", part=1, parts=2)
        room = self._model.input_limit(new) - self._model.count_tokens(empty) - 8
        chunks = self.chunks(sentences, min(self.options.chunk_tokens, room))
        if len(chunks) == 1:
            prompt = self.prompt.render(**values, text=chunks[0], stage="single", part=1, parts=1)
            return self._model.generate(prompt, new)
        per_chunk = max(1, math.ceil(wanted / len(chunks)) + 1)
        notes: list[str] = []
        for n, chunk in enumerate(chunks, start=1):
            prompt = self.prompt.render(
                **{**values, "count": per_chunk}, text=chunk, stage="map", part=n, parts=len(chunks)
            )
            found, _ = parse_output(self._model.generate(prompt, new))
            notes.extend(f"- {p}" for p in found)
        log.debug("%s: %d chunks gave %d notes", article.id, len(chunks), len(notes))
        text = "\n".join(notes) or " ".join(chunks)
        prompt = self.prompt.render(**values, text=text, stage="reduce", part=1, parts=len(chunks))
        return self._model.generate(prompt, new)

    def chunks(self, sentences: Sequence[Sentence], limit: int | None = None) -> list[str]:
        """Sentences packed into chunks of at most ``limit`` (``chunk_tokens``) model tokens;
        a single sentence longer than that is a chunk of its own."""
        limit = max(16, self.options.chunk_tokens if limit is None else limit)
        chunks: list[str] = []
        current: list[str] = []
        size = 0
        for sentence in sentences:
            tokens = self._model.count_tokens(sentence.text) + 1
            if current and size + tokens > limit:
                chunks.append(" ".join(current))
                current, size = [], 0
            current.append(sentence.text)
            size += tokens
        if current:
            chunks.append(" ".join(current))
        return chunks

    def checked(
        self,
        article: Article,
        sentences: Sequence[Sentence],
        points: Sequence[str],
        conclusion: str | None,
        wanted: int,
    ) -> Summary:
        """The summary of parsed points that pass the support check, else the fallback."""
        o = self.options
        texts = [trim_point(p, o.words_per_point) for p in points]
        if conclusion:
            texts.append(trim_point(conclusion, o.words_per_point))
        # A sentence the feed cut short backs no point: what it would have said is unknown.
        whole = [s for s in sentences if not s.is_fragment]
        vectors = self.encoder.encode([s.text for s in whole] + texts, cache=self.vectors)
        checks = check_support(
            texts,
            vectors[len(whole) :],
            whole,
            vectors[: len(whole)],
            o.support_threshold,
        )
        point_checks = checks[: len(points)]
        closing = checks[len(points)] if conclusion else None
        kept = [c for c in point_checks if c.supported][: min(wanted, o.max_key_points)]
        dropped = sum(not c.supported for c in checks)
        for c in checks:
            if not c.supported:
                why = f"missing {', '.join(c.missing)}" if c.missing else f"best {c.score:.2f}"
                log.info("%s: dropped unsupported point (%s): %s", article.id, why, c.text)
        if len(kept) < o.min_key_points:
            reason = (
                f"{len(kept)} of {len(points)} generated points were supported by the article"
                f" (at least {o.min_key_points} needed)"
            )
            return self._fallback(article, reason, dropped)
        if closing is not None and closing.supported:
            final: KeyPoint | None = KeyPoint(closing.text, closing.sources)
        else:
            final = self.extractive.summarize(article).conclusion
        return Summary(
            key_points=tuple(KeyPoint(c.text, c.sources) for c in kept),
            conclusion=final,
            method=self.backend,
            model=self.model,
            prompt_version=self.prompt.version,
            dropped_points=dropped,
        )

    def _fallback(self, article: Article, reason: str, dropped: int) -> Summary:
        log.warning("%s: extractive summary used: %s", article.id, reason)
        summary = self.extractive.summarize(article)
        return replace(summary, dropped_points=dropped, fallback_reason=reason)
