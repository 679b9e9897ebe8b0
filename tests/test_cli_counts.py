"""Counts a person reads in the CLI's output: the noun in the right number (issue 23, item 4)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from digest import serialize
from digest.cli.base import count
from digest.cli.edition import left_out_line
from digest.models import Edition

ROOT = Path(__file__).resolve().parent.parent


def sample() -> Edition:
    return serialize.loads(Edition, (ROOT / "tests/data/edition.json").read_text("utf-8"))


def test_one_article_left_out_is_singular() -> None:
    edition = sample()
    assert len(edition.left_out) > 1
    one = replace(edition, left_out=edition.left_out[:1])
    assert left_out_line(one) == "1 article left out"
    assert left_out_line(edition) == f"{len(edition.left_out)} articles left out"
    assert left_out_line(replace(edition, left_out=())) == "0 articles left out"


def test_a_relaxed_cap_counts_apart_in_the_right_number() -> None:
    edition = sample()
    relaxed = replace(edition.left_out[0], kind="cap_relaxed")
    one = replace(edition, left_out=(relaxed, edition.left_out[1]))
    assert left_out_line(one) == "1 article left out, 1 story past a relaxed cap"
    two = replace(edition, left_out=(relaxed, relaxed))
    assert left_out_line(two) == "0 articles left out, 2 stories past a relaxed cap"


def test_count_helper() -> None:
    assert [count(n, "story", "stories") for n in (0, 1, 2)] == [
        "0 stories",
        "1 story",
        "2 stories",
    ]
