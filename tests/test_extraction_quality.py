"""The page reader's quality floor on the 90-page extraction benchmark (bench/extraction.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from .conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
import extraction

# bench/extraction.py measured F1 0.967 for our reader (trafilatura defaults: 0.955).
F1_FLOOR = 0.95


def test_measure_on_known_cases() -> None:
    text = "one two three four five six"
    assert extraction.page_scores(text, text) == (1.0, 1.0)
    precision, recall = extraction.page_scores("one two three four", text)
    assert precision == 1.0 and recall == pytest.approx(1 / 3)
    assert extraction.page_scores("", text) == (0.0, 0.0)


@pytest.mark.slow
def test_page_reader_f1_stays_above_the_floor(shared: Path) -> None:
    score = extraction.evaluate(extraction.ours, extraction.load_pages())
    assert score.f1 >= F1_FLOOR, f"F1 {score.f1:.4f} below {F1_FLOOR}"
