"""Every benchmark runs: each ``bench/*.py --smoke`` as a subprocess must exit 0.

A benchmark that no longer runs against the library (a renamed function, a moved module)
or whose own check fails (a DKIM signature that does not verify, a lost or doubled
message, a quality floor) fails here, so the figures the README quotes stay reproducible.
A new benchmark is picked up by the glob; it needs a ``--smoke`` mode that runs in a few
seconds and exits 0 with a message where its data or services are absent.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.slow

BENCHMARKS = sorted((ROOT / "bench").glob("*.py"))
# Per benchmark, on 2 shared cores: most take 2-20 s; the ones that load the encoder or
# start PostgreSQL, Redis and workers can take a minute when the machine is busy.
TIMEOUT_S = 300


def test_every_benchmark_is_found() -> None:
    assert len(BENCHMARKS) >= 10, BENCHMARKS


@pytest.mark.parametrize("script", BENCHMARKS, ids=lambda path: path.stem)
def test_benchmark_runs_in_smoke_mode(script: Path) -> None:
    # This checkout's src/ wins over whatever digest the interpreter has installed.
    path = os.pathsep.join(p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PYTHONPATH": path, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    # A session of its own: on a timeout the whole group goes (the servers, sinks and
    # workers a benchmark starts would outlive it otherwise).
    process = subprocess.Popen(
        [sys.executable, str(script), "--smoke"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGTERM)  # the benchmarks stop their servers on it
        try:
            stdout, stderr = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
        pytest.fail(
            f"{script.name} --smoke ran past {TIMEOUT_S} s\n"
            f"stdout:\n{_tail(stdout)}\nstderr:\n{_tail(stderr)}"
        )
    assert process.returncode == 0, (
        f"{script.name} --smoke exited {process.returncode}\n"
        f"stdout:\n{_tail(stdout)}\nstderr:\n{_tail(stderr)}"
    )


def _tail(text: str | None, lines: int = 40) -> str:
    return "\n".join((text or "").splitlines()[-lines:])
