"""The shipped config.yaml says what it holds: every key at its default, and the keys that
show examples instead named at its top, each left out meaning none (issue 23, item 15)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from digest.config import Config, load_config

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "config.yaml"


def header(text: str) -> str:
    """The comment block the file opens with."""
    lines = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        lines.append(line)
    return "\n".join(lines)


def test_the_header_names_exactly_the_keys_that_are_not_defaults() -> None:
    shipped = load_config(SHIPPED)
    defaults = Config(base_dir=shipped.base_dir)
    differ = {
        f.name
        for f in dataclasses.fields(Config)
        if f.name != "base_dir" and getattr(shipped, f.name) != getattr(defaults, f.name)
    }
    top = header(SHIPPED.read_text("utf-8"))
    assert "every key with its default" in top
    named = set(re.findall(r"`([a-z_]+)`", top))
    assert named == differ, (named, differ)


def test_each_example_key_left_out_means_none(tmp_path: Path) -> None:
    empty = tmp_path / "config.yaml"
    empty.write_text("data_dir: data\n", "utf-8")
    config = load_config(empty)
    assert config.topics == () and config.sources == ()
    assert "(left out, there are none)" in header(SHIPPED.read_text("utf-8"))


def test_the_topics_comment_says_what_they_do_and_in_which_language() -> None:
    text = SHIPPED.read_text("utf-8")
    block = text[: text.index("\ntopics:")]
    block = block[block.rindex("\n\n") :]
    assert "interest" in block and "section" in block and "English" in block
    rank = (ROOT / "src/digest/edition/rank.py").read_text("utf-8")
    quoted = re.search(r"\(no topics configured\)", block)
    assert quoted is not None and '"no topics configured"' in rank  # the same words as the code
