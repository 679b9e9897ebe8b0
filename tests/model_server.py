"""A real OpenAI-compatible model server for the tests: ``transformers serve`` on a tiny
random-weight Llama built here, on 127.0.0.1, with a loopback proxy in front of it that can
be told what the next requests meet (a 429, a slow answer, a rewritten answer).

The proxy forwards to the real server and keeps its answer's envelope (id, usage, finish
reason); a rewrite only swaps the message text, since random weights cannot be steered
into writing a given point. What each request carried (headers, body) is kept for the
test to read.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tools.model_server import serving_unavailable, transformers_serve

__all__ = [
    "Faults",
    "build_tiny_llama",
    "proxy_app",
    "serving_unavailable",
    "transformers_serve",
]

CHAT_TEMPLATE = (
    "{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}[assistant]{% endif %}"
)


def build_tiny_llama(folder: Path) -> Path:
    """A one-layer Llama with random weights and the bundled MiniLM's WordPiece tokenizer
    (local files), saved like any model folder."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from digest.embed import bundled_model_path

    tokenizer = AutoTokenizer.from_pretrained(str(bundled_model_path()))
    torch.manual_seed(0)
    model = LlamaForCausalLM(
        LlamaConfig(
            vocab_size=len(tokenizer),
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=1,
            num_attention_heads=2,
            num_key_value_heads=2,
            max_position_embeddings=2048,
            initializer_range=1.0,
            pad_token_id=tokenizer.pad_token_id,
            bos_token_id=tokenizer.cls_token_id,
            eos_token_id=tokenizer.sep_token_id,
        )
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    # A BERT tokenizer hands out token_type_ids, which a Llama's generate() refuses.
    config_path = folder / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["model_input_names"] = ["input_ids", "attention_mask"]
    config_path.write_text(json.dumps(config), encoding="utf-8")
    return folder


@dataclass
class Seen:
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def prompt(self) -> str:
        return str(self.body["messages"][-1]["content"])


@dataclass
class Faults:
    """What the next requests meet, in order; an empty script forwards unchanged.

    Steps: ``("status", code)`` answers that status without asking the server;
    ``("sleep", seconds)`` waits, then forwards; ``("content", text)`` forwards and puts
    ``text`` in place of the model's answer."""

    upstream: str
    model: str = ""  # the name the server knows its model by
    script: deque[tuple[str, Any]] = field(default_factory=deque)
    seen: list[Seen] = field(default_factory=list)
    in_flight: int = 0
    peak: int = 0  # the most requests in flight at once

    def then(self, *steps: tuple[str, Any]) -> Faults:
        self.script.extend(steps)
        return self

    def reset(self) -> None:
        self.script.clear()
        self.seen.clear()
        self.peak = 0


def proxy_app(faults: Faults) -> Starlette:
    async def chat(request: Request) -> Response:
        faults.in_flight += 1
        faults.peak = max(faults.peak, faults.in_flight)
        try:
            return await answer(request)
        finally:
            faults.in_flight -= 1

    async def answer(request: Request) -> Response:
        body = await request.json()
        faults.seen.append(Seen(dict(request.headers), body))
        kind, value = faults.script.popleft() if faults.script else ("pass", None)
        if kind == "status":
            return JSONResponse(
                {"error": {"message": "slow down", "code": value}},
                status_code=value,
                headers={"Retry-After": "0"},
            )
        if kind == "sleep":
            await asyncio.sleep(value)
        async with httpx.AsyncClient(timeout=120) as client:
            real = await client.post(f"{faults.upstream}/chat/completions", json=body)
        data = real.json()
        if kind == "content" and real.status_code == 200:
            data["choices"][0]["message"]["content"] = value
        return JSONResponse(data, status_code=real.status_code)

    return Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])
