"""The hostile corpus, one test per case: each input through the ``digest`` command that
reads it, in a forked child capped at ``MEMORY_CAP`` of address space and ``TIME_LIMIT``
seconds; a traceback, a hang, more than ``MEMORY_LIMIT`` of memory or any outcome but the
expected one fails. ``python tests/hostile/run.py`` prints the verdict counts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hostile.corpus import CASES, case_ids
from tests.hostile.harness import MEMORY_LIMIT, Case, loopback_server, run_case

pytestmark = pytest.mark.slow  # each case runs in a child process


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with loopback_server() as address:
        yield address


def test_the_corpus_is_large_and_each_case_has_its_file() -> None:
    assert len(CASES) >= 60
    assert len(set(case_ids())) == len(CASES)
    for case in CASES:
        assert (case.file is None) != (case.make is None) or case.command == "argv", case.name
        if case.file is not None:
            assert (Path(__file__).parent / "cases" / case.file).is_file(), case.file


@pytest.mark.parametrize("case", CASES, ids=case_ids())
def test_hostile_case(case: Case, server: str, tmp_path: Path) -> None:
    outcome = run_case(case, tmp_path, server)
    assert outcome.verdict == "ok", (
        f"{outcome.verdict}: {outcome.reason} (status {outcome.status},"
        f" {outcome.seconds:.1f} s, +{outcome.peak_mib:.0f} MiB)\n{outcome.output[-2000:]}"
    )
    assert outcome.peak_mib * (1 << 20) <= MEMORY_LIMIT
