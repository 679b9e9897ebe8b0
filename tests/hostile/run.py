"""Run the hostile corpus and print each case's verdict and the counts per verdict.

PYTHONPATH=src:. python tests/hostile/run.py [-v] [NAME-SUBSTRING ...]
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.hostile.corpus import CASES
from tests.hostile.harness import loopback_server, run_case


def main(argv: list[str]) -> int:
    verbose = "-v" in argv
    wanted = [a for a in argv if a != "-v"]
    cases = [c for c in CASES if not wanted or any(w in c.name for w in wanted)]
    counts: Counter[str] = Counter()
    started = time.monotonic()
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp, loopback_server() as server:
        for index, case in enumerate(cases):
            outcome = run_case(case, Path(tmp, str(index)), server)
            counts[outcome.verdict] += 1
            worst = max(worst, outcome.peak_mib)
            if outcome.verdict != "ok" or verbose:
                print(
                    f"{outcome.verdict:9} {case.name}  ({outcome.seconds:.1f} s,"
                    f" +{outcome.peak_mib:.0f} MiB) {outcome.reason}"
                )
    total = sum(counts.values())
    print(
        f"\n{total} cases in {time.monotonic() - started:.1f} s, largest peak +{worst:.0f} MiB: "
        + ", ".join(f"{counts[v]} {v}" for v in ("ok", "wrong", "traceback", "hang", "memory"))
    )
    return 0 if counts["ok"] == total else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
