"""Summaries from an OpenAI-compatible model server the operator runs (Ollama, llama.cpp's
server, vLLM, LM Studio, ``transformers serve``), checked like the in-process model's.

1. the server: ``summarizer.base_url`` (http(s), the operator's own address: a private
   network is allowed, and nothing a feed wrote ever reaches it), ``summarizer.model`` the
   name it knows the model by, a key from the environment variable ``summarizer.api_key_env``
   sent as ``Authorization: Bearer`` (never in the config, never logged);
2. the prompt: ``<summarizer.prompt>_json.j2`` when it exists (JSON asked for, with
   ``response_format`` where the server takes it), else the prompt itself; map-reduce over
   long articles, the answer read and every point checked by ``support.py``;
3. bounds: ``timeout_s`` a request, ``concurrency`` requests in flight, ``retries`` with
   exponential backoff (and ``Retry-After``) on 429 and 5xx, a per-run budget of
   ``max_requests`` and ``max_tokens``;
4. failures are fallbacks, not crashes: a malformed answer, a timeout, a refused key or a
   spent budget gives the extractive summary with the reason kept; a server that is down
   is said once (one warning) and every article of the run falls back.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from digest.config import SummarizerOptions
from digest.embed import Encoder, VectorCache
from digest.errors import SummaryError
from digest.models import Article, Summary
from digest.summarize.extractive import point_count
from digest.summarize.support import (
    SupportCheck,
    load_prompt,
    map_reduce,
    model_cache_version,
    pack_chunks,
    parse_answer,
    prompt_values,
    prompts_dir,
    summary_sentences,
)
from digest.text.sentences import Sentence

__all__ = ["UNANSWERED", "ModelServer", "ServerDown", "ServerSummarizer", "unanswered"]

log = logging.getLogger(__name__)

_BACKOFF_S = 0.5  # the first wait after a 429 or 5xx; doubled at each retry
_BACKOFF_CAP_S = 30.0  # the longest wait, whatever Retry-After asks
_ERROR_EXCERPT = 200  # characters of a server's error body kept in a reason


# How the fallback reason of an article the server did not answer begins: such a summary
# is not cached, so the next run asks again once the server is back.
UNANSWERED = "model server: "


def unanswered(summary: Summary) -> bool:
    """Whether ``summary`` is a fallback because the server gave no usable answer."""
    return (summary.fallback_reason or "").startswith(UNANSWERED)


class ServerDown(SummaryError):
    """The model server cannot be reached at all (refused, unknown host)."""


class BudgetSpent(SummaryError):
    """The run's request or token budget is spent."""


def estimate_tokens(text: str) -> int:
    """A server-side token count without the server's tokenizer: a UTF-8 byte count over 3,
    about right for CJK (3 bytes, one token) and generous for Latin text (4 characters)."""
    return max(1, math.ceil(len(text.encode("utf-8")) / 3))


class ModelServer:
    """The HTTP side: one chat completion per call, under the options' bounds. Thread-safe
    (one ``httpx.Client`` and a lock around the budget)."""

    def __init__(self, options: SummarizerOptions) -> None:
        self.options = options
        self.url = (options.base_url or "").rstrip("/") + "/chat/completions"
        self.model = options.model or ""
        key = os.environ.get(options.api_key_env, "") if options.api_key_env else ""
        self._secret = key  # kept out of every message: see _scrub
        self._headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()
        self.requests = 0
        self.tokens = 0
        self.json_mode = True  # response_format, until the server says it takes none
        self.down: str | None = None

    @contextmanager
    def connected(self) -> Iterator[None]:
        """Connections to the server for the ``with`` block (a batch of articles), closed
        at its end; nested blocks share the outer one's."""
        if self._client is not None:
            yield
            return
        o = self.options
        self._client = httpx.Client(
            headers=self._headers,
            timeout=httpx.Timeout(o.timeout_s, connect=min(o.timeout_s, 10.0)),
            limits=httpx.Limits(max_connections=o.concurrency),
            follow_redirects=False,
        )
        try:
            yield
        finally:
            self._client.close()
            self._client = None

    def complete(self, prompt: str, *, json: bool) -> str:
        """The text of the model's answer to ``prompt``; ``SummaryError`` with a one-line
        reason when there is none."""
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": "user", "content": prompt}],
            "temperature": 0,
            "max_tokens": self.options.max_new_tokens,
        }
        for attempt in range(self.options.retries + 1):
            if json and self.json_mode:
                body["response_format"] = {"type": "json_object"}
            else:
                body.pop("response_format", None)
            response = self._post(body, prompt)
            status = response.status_code
            if status in (400, 422) and "response_format" in body:
                # Perhaps a server that does not take response_format: ask again without it,
                # and when that is answered, never send it again.
                body.pop("response_format", None)
                response = self._post(body, prompt)
                status = response.status_code
                if status == 200:
                    log.info("%s: no response_format; asking in the prompt only", self.url)
                    self.json_mode = False
            if status == 200:
                return self._answer(response, prompt)
            if (status == 429 or status >= 500) and attempt < self.options.retries:
                wait = self._backoff(response, attempt)
                log.info("%s: HTTP %d; retry %d in %.1f s", self.url, status, attempt + 1, wait)
                time.sleep(wait)
                continue
            raise SummaryError(self._refusal(response))
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _post(self, body: dict[str, Any], prompt: str) -> httpx.Response:
        with self._lock:
            if self.down is not None:
                raise ServerDown(self.down)
            if self.requests >= self.options.max_requests:
                raise BudgetSpent(
                    f"the run's budget of {self.options.max_requests} requests is spent"
                )
            if self.tokens >= self.options.max_tokens:
                raise BudgetSpent(f"the run's budget of {self.options.max_tokens} tokens is spent")
            self.requests += 1
        try:
            with self.connected():
                assert self._client is not None
                return self._client.post(self.url, json=body)
        except httpx.TimeoutException:
            self._spend(estimate_tokens(prompt))
            raise SummaryError(
                f"{self.url}: no answer within {self.options.timeout_s:g} s (summarizer.timeout_s)"
            ) from None
        except (httpx.ConnectError, httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            reason = f"{self.url}: model server unreachable ({self._scrub(str(exc)) or 'refused'})"
            with self._lock:
                first = self.down is None
                self.down = reason
            if first:
                log.warning("%s; every article of this run gets its extractive summary", reason)
            raise ServerDown(reason) from None
        except httpx.HTTPError as exc:
            raise SummaryError(f"{self.url}: {self._scrub(str(exc))}") from None

    def _answer(self, response: httpx.Response, prompt: str) -> str:
        try:
            data = response.json()
            text = data["choices"][0]["message"]["content"]
            usage = data.get("usage") or {}
        except (ValueError, KeyError, IndexError, TypeError):
            self._spend(estimate_tokens(prompt))
            raise SummaryError(f"{self.url}: the answer is not a chat completion") from None
        if not isinstance(text, str):
            raise SummaryError(f"{self.url}: the answer's message has no text")
        total = usage.get("total_tokens") if isinstance(usage, dict) else None
        self._spend(
            total if isinstance(total, int) and total > 0 else estimate_tokens(prompt + text)
        )
        return text

    def _spend(self, tokens: int) -> None:
        with self._lock:
            self.tokens += tokens

    def _backoff(self, response: httpx.Response, attempt: int) -> float:
        wait: float = _BACKOFF_S * 2**attempt
        asked = response.headers.get("retry-after", "")
        if asked.replace(".", "", 1).isdigit():  # seconds; an HTTP date gets the exponential wait
            wait = max(wait, float(asked))
        return min(wait, _BACKOFF_CAP_S)

    def _refusal(self, response: httpx.Response) -> str:
        status = response.status_code
        if status in (401, 403):
            where = (
                f"the environment variable {self.options.api_key_env}"
                if self.options.api_key_env
                else "summarizer.api_key_env (no key was sent)"
            )
            return f"{self.url}: HTTP {status}, the server refused the key: check {where}"
        excerpt = " ".join(response.text.split())[:_ERROR_EXCERPT]
        return f"{self.url}: HTTP {status} {self._scrub(excerpt)}".rstrip()

    def _scrub(self, text: str) -> str:
        return text.replace(self._secret, "***") if self._secret else text


@dataclass(frozen=True, slots=True)
class _Answer:
    """One article's answer from the server, or why there is none."""

    sentences: tuple[Sentence, ...]
    wanted: int
    points: tuple[str, ...] = ()
    conclusion: str | None = None
    failure: str | None = None
    down: bool = False


class ServerSummarizer:
    """Points written by a model behind an OpenAI-compatible server, each checked against
    the article with the caller's ``encoder`` (which also drives the extractive fallback)."""

    backend = "openai"

    def __init__(
        self,
        options: SummarizerOptions,
        encoder: Encoder,
        *,
        vectors: VectorCache | None = None,
        prompts: Path | None = None,
    ) -> None:
        self.options = options
        self.model = options.model or ""
        self.server = ModelServer(options)
        folder = prompts or prompts_dir()
        name = options.prompt
        self.json = name.endswith(".j2") or (folder / f"{name}_json.j2").is_file()
        if not name.endswith(".j2") and self.json:
            name = f"{name}_json"
        self.prompt = load_prompt(name, folder)
        self.check = SupportCheck(options, encoder, vectors)

    @property
    def cache_version(self) -> str:
        return model_cache_version(self.prompt.version, self.options)

    def summarize(self, article: Article) -> Summary:
        return self.summarize_many([article])[0]

    def summarize_many(self, articles: Sequence[Article]) -> list[Summary]:
        """The server writes for up to ``concurrency`` articles at once; the checks run
        here, one article after another, on the encoder."""
        workers = max(1, min(self.options.concurrency, len(articles)))
        with (
            self.server.connected(),
            ThreadPoolExecutor(workers, thread_name_prefix="digest-llm") as pool,
        ):
            answers = list(pool.map(self._ask, articles))
        return [self._summary(a, answer) for a, answer in zip(articles, answers, strict=True)]

    def _ask(self, article: Article) -> _Answer:
        sentences = tuple(summary_sentences(article))
        wanted = point_count(article, self.options)
        values = prompt_values(article, self.options, wanted)
        empty = self.prompt.render(**values, text="", stage="map", part=1, parts=2)
        chunks = pack_chunks(
            sentences, self.options.chunk_tokens - estimate_tokens(empty), estimate_tokens
        )
        try:
            text = map_reduce(
                self.prompt,
                values,
                chunks,
                lambda prompt: self.server.complete(prompt, json=self.json),
                parse_answer,
                label=article.id,
                logger=log,
            )
            points, conclusion = parse_answer(text)
        except ServerDown as exc:
            return _Answer(sentences, wanted, failure=str(exc), down=True)
        except SummaryError as exc:
            return _Answer(sentences, wanted, failure=str(exc))
        return _Answer(sentences, wanted, tuple(points), conclusion)

    def _summary(self, article: Article, answer: _Answer) -> Summary:
        if answer.failure is not None:
            return self.check.fallback(article, f"{UNANSWERED}{answer.failure}", quiet=answer.down)
        return self.check.summary(
            article,
            answer.sentences,
            answer.points,
            answer.conclusion,
            answer.wanted,
            method=self.backend,
            model=self.model,
            prompt_version=self.prompt.version,
        )
