"""What the two model backends share: the prompt, reading the answer, map-reduce over long
articles, the support check on every point, and the extractive fallback.

``generative.py`` (a model in this process) and ``server.py`` (an OpenAI-compatible model
server) differ only in how a prompt becomes an answer; everything a reader can trust about
a generated point is decided here, once:

1. the prompt: ``digest/prompts/<name>.j2`` or a ``.j2`` file of one's own; its first line
   names its version, part of the summary cache key;
2. long articles: sentences packed into chunks of at most ``chunk_tokens`` tokens, each
   chunk summarised (map), the notes merged by one more call (reduce);
3. the answer: bullets, numbers or prose (``parse_output``), or JSON (``parse_answer``:
   an object with ``key_points`` and ``conclusion``, or a plain list; a broken one is an
   error, never a guess);
4. the check: a point's best-matching source sentences by the encoder must reach
   ``support_threshold``, and its numbers (in any script's digits) and capitalised Latin
   names (also inside CJK, Arabic or Devanagari text) must appear in the article;
   unsupported points are dropped with their reason; with fewer than ``min_key_points``
   left the extractive summary is used and the reason kept in ``Summary.fallback_reason``.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections.abc import Callable, Sequence
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
from digest.summarize.extractive import ExtractiveSummarizer, trim_point
from digest.text.rules import MODEL_LIST_ITEM, repeat_key
from digest.text.sentences import SPLITTER_VERSION, Sentence, article_sentences, split_sentences

__all__ = [
    "Prompt",
    "Support",
    "SupportCheck",
    "check_support",
    "language_name",
    "load_prompt",
    "map_reduce",
    "model_cache_version",
    "pack_chunks",
    "parse_answer",
    "parse_output",
    "prompt_values",
    "prompts_dir",
    "summary_sentences",
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


def model_cache_version(prompt_version: str, o: SummarizerOptions) -> str:
    """The cache key of a model backend's summaries: its prompt and every option that
    changes what it writes or keeps."""
    return (
        f"{prompt_version}:{o.min_key_points}-{o.max_key_points}x{o.words_per_point}"
        f":s{o.support_threshold}:c{o.chunk_tokens}:n{o.max_new_tokens}:p{SPLITTER_VERSION}"
    )


def summary_sentences(article: Article) -> list[Sentence]:
    """The article's sentences a model is given (no boilerplate), or a ``SummaryError``."""
    sentences = [s for s in article_sentences(article) if not s.is_boilerplate]
    if not sentences:
        raise SummaryError(f"{article.id}: no sentence to summarise")
    return sentences


def prompt_values(
    article: Article, options: SummarizerOptions, wanted: int, prefix: str = ""
) -> dict[str, Any]:
    """What a prompt template is given besides the text and its stage."""
    return {
        "title": article.title,
        "count": wanted,
        "words": options.words_per_point,
        "language": language_name(article.language),
        "prefix": prefix,
    }


def language_name(tag: str | None) -> str:
    """The English name of a BCP 47 tag for a prompt ("German", "Urdu"); "" when unknown."""
    if not tag:
        return ""
    from babel import Locale, UnknownLocaleError

    try:
        return str(Locale.parse(tag.replace("-", "_")).get_display_name("en") or "")
    except (UnknownLocaleError, ValueError, TypeError):
        return ""


# --- reading the answer ----------------------------------------------------------------------

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
    return _distinct(points), conclusion


def _distinct(points: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for point in points:
        point = point.strip(" *")
        key = repeat_key(point)
        if count_words(point) >= 3 and key not in seen:
            seen.add(key)
            out.append(point)
    return out


_FENCE = re.compile(r"^\s*```(?:json)?\s*\n?(.*?)\n?```\s*$", re.S | re.I)
_POINT_KEYS = ("key_points", "keypoints", "points", "bullets")


def parse_answer(text: str) -> tuple[list[str], str | None]:
    """Key points and a conclusion from an answer asked for as JSON: an object with
    ``key_points`` (strings) and ``conclusion`` (a string or null), or a plain list of
    strings; an answer in bullets or prose is read by ``parse_output``. An answer that
    starts as JSON but does not parse, or has another shape, raises ``SummaryError``."""
    body = text.strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group(1).strip()
    if not body.startswith(("{", "[")):
        return parse_output(body)
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise SummaryError(f"malformed JSON answer ({exc.msg} at character {exc.pos})") from None
    conclusion: Any = None
    if isinstance(data, dict):
        found = next((data[k] for k in _POINT_KEYS if k in data), None)
        conclusion = data.get("conclusion")
        data = found
    if not isinstance(data, list) or not all(isinstance(p, str) for p in data):
        raise SummaryError("the JSON answer holds no list of key points as strings")
    if conclusion is not None and not isinstance(conclusion, str):
        raise SummaryError("the JSON answer's conclusion is not a string")
    return _distinct(data), (conclusion.strip() or None) if conclusion else None


# --- long articles --------------------------------------------------------------------------


def pack_chunks(
    sentences: Sequence[Sentence], limit: int, count_tokens: Callable[[str], int]
) -> list[str]:
    """Sentences packed into chunks of at most ``limit`` tokens (at least 16); a single
    sentence longer than that is a chunk of its own."""
    limit = max(16, limit)
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for sentence in sentences:
        tokens = count_tokens(sentence.text) + 1
        if current and size + tokens > limit:
            chunks.append(" ".join(current))
            current, size = [], 0
        current.append(sentence.text)
        size += tokens
    if current:
        chunks.append(" ".join(current))
    return chunks


def map_reduce(
    prompt: Prompt,
    values: dict[str, Any],
    chunks: Sequence[str],
    call: Callable[[str], str],
    parse: Callable[[str], tuple[list[str], str | None]],
    *,
    label: str = "",
    logger: logging.Logger = log,
) -> str:
    """The answer for ``chunks``: one call when there is one chunk, else a call per chunk
    (map, ``count`` spread over the chunks) whose parsed points are merged by a last call
    (reduce)."""
    wanted = int(values["count"])
    if len(chunks) == 1:
        return call(prompt.render(**values, text=chunks[0], stage="single", part=1, parts=1))
    per_chunk = max(1, -(-wanted // len(chunks)) + 1)
    notes: list[str] = []
    for n, chunk in enumerate(chunks, start=1):
        text = prompt.render(
            **{**values, "count": per_chunk}, text=chunk, stage="map", part=n, parts=len(chunks)
        )
        found, _ = parse(call(text))
        notes.extend(f"- {p}" for p in found)
    logger.debug("%s: %d chunks gave %d notes", label, len(chunks), len(notes))
    merged = "\n".join(notes) or " ".join(chunks)
    return call(prompt.render(**values, text=merged, stage="reduce", part=1, parts=len(chunks)))


# --- the support check ----------------------------------------------------------------------------

_NUMBER = re.compile(r"\d+(?:[.,٫٬]\d+)*")
# A capitalised Latin word (or an acronym) not glued to other Latin letters: found in Latin
# text and inside text of unspaced or uncased scripts ("在NASA宣布", "ناسا NASA").
_LATIN = "A-Za-zÀ-ÖØ-öø-ÿ"
_NAME = re.compile(
    rf"(?<![{_LATIN}\d'’-])(?:[A-ZÀ-ÖØ-Þ][{_LATIN}'’-]*[a-zß-öø-ÿ][{_LATIN}'’-]*|[A-Z]{{2,}})"
    rf"(?![{_LATIN}\d])"
)
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

    def why(self, threshold: float) -> str:
        """Why the point was dropped, in a few words ("" when it was not)."""
        if self.missing:
            return f"not in the article: {', '.join(self.missing)}"
        if not self.sources:
            return f"no source sentence (best match {self.score:.2f} < {threshold:.2f})"
        return ""


def check_support(
    points: Sequence[str],
    point_vectors: Vectors,
    sentences: Sequence[Sentence],
    sentence_vectors: Vectors,
    threshold: float,
) -> list[Support]:
    """For each point: source sentences with cosine >= ``threshold`` (best first, at most
    two), and the numbers and capitalised names of the point the article lacks. Digits of
    any script count as the same number (``٢٠٢٨``, ``२०२८`` and ``2028``)."""
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
    digits = "".join(str(unicodedata.digit(c)) if c.isdigit() else c for c in text)
    return digits.replace(",", "").replace("٬", "").replace("٫", ".").rstrip(".")


_FIRST_WORD = re.compile(rf"^[^{_LATIN}\w]*[{_LATIN}'’-]+(?=[\s,;:])")


def _drop_first_word(text: str) -> str:
    # A Latin sentence's first word is capitalised whatever it is; it is not a name by
    # that. In unspaced text ("SpaceX与…") a leading Latin word is no such first word.
    return _FIRST_WORD.sub("", text, count=1)


class SupportCheck:
    """Turns a model's parsed points into a ``Summary``: every point checked against the
    article with ``encoder``, the unsupported dropped with their reasons, and the
    extractive summary (same encoder) when too few remain."""

    def __init__(
        self, options: SummarizerOptions, encoder: Encoder, vectors: VectorCache | None = None
    ) -> None:
        self.options = options
        self.encoder = encoder
        self.vectors = vectors
        self.extractive = ExtractiveSummarizer(options, encoder, vectors=vectors)

    def summary(
        self,
        article: Article,
        sentences: Sequence[Sentence],
        points: Sequence[str],
        conclusion: str | None,
        wanted: int,
        *,
        method: str,
        model: str,
        prompt_version: str,
    ) -> Summary:
        """The summary of the points that pass the check, else the extractive fallback."""
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
        why = tuple(f"{c.why(o.support_threshold)}: {c.text}" for c in checks if not c.supported)
        for line in why:
            log.info("%s: dropped unsupported point (%s)", article.id, line)
        if len(kept) < o.min_key_points:
            reason = (
                f"{len(kept)} of {len(points)} generated points were supported by the article"
                f" (at least {o.min_key_points} needed)"
            )
            return self.fallback(article, reason, why)
        if closing is not None and closing.supported:
            final: KeyPoint | None = KeyPoint(closing.text, closing.sources)
        else:
            final = self.extractive.summarize(article).conclusion
        return Summary(
            key_points=tuple(KeyPoint(c.text, c.sources) for c in kept),
            conclusion=final,
            method=method,
            model=model,
            prompt_version=prompt_version,
            dropped_points=len(why),
            dropped_why=why,
        )

    def fallback(
        self, article: Article, reason: str, why: Sequence[str] = (), *, quiet: bool = False
    ) -> Summary:
        """The extractive summary, with ``reason`` kept (and logged, unless ``quiet``: the
        caller has already said it once for the whole run)."""
        (log.info if quiet else log.warning)("%s: extractive summary used: %s", article.id, reason)
        summary = self.extractive.summarize(article)
        return replace(
            summary, dropped_points=len(why), dropped_why=tuple(why), fallback_reason=reason
        )
