"""The README stays a page a newcomer reads to the end, its links and those of docs/ lead
somewhere, every key of the shipped config.yaml is documented, and every YAML example
loads as a config."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import yaml

from digest.config import load_config

from .conftest import ROOT
from .test_cli_docs import DOC_FILES

README_MAX_LINES = 600

_FENCE = re.compile(r"^```.*?^```", re.S | re.M)
_CODE = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def prose(text: str) -> str:
    """``text`` without its code blocks and inline code, where brackets are not links."""
    return _CODE.sub("", _FENCE.sub("", text))


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to -."""
    text = heading.strip().lower().replace("`", "")
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(text: str) -> set[str]:
    found: set[str] = set()
    for line in _FENCE.sub("", text).splitlines():
        if line.startswith("#"):
            base = slug(line.lstrip("#"))
            name, n = base, 0
            while name in found:  # GitHub numbers repeated headings: name, name-1, ...
                n += 1
                name = f"{base}-{n}"
            found.add(name)
    return found


def broken_links(path: Path, text: str) -> Iterator[str]:
    """Each relative link of ``text`` (a file at ``path``) whose file or heading is missing."""
    for target in _LINK.findall(prose(text)):
        if re.match(r"[a-z][a-z+.-]*:", target):  # https:, mailto:: not ours to check
            continue
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve()
        if file_part and not linked.exists():
            yield f"{path.name}: {target}: no such file"
        elif anchor and (not file_part or linked.suffix == ".md"):
            there = linked.read_text(encoding="utf-8") if file_part else text
            if anchor not in anchors(there):
                yield f"{path.name}: {target}: no such heading"


def test_the_readme_is_short_enough_to_read_to_the_end() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; move detail to docs/"


def test_every_relative_link_leads_to_a_file_and_heading() -> None:
    broken = [b for path in DOC_FILES for b in broken_links(path, path.read_text("utf-8"))]
    assert broken == []


def test_a_broken_link_is_found(tmp_path: Path) -> None:
    # The check above is only as good as this: a missing file or heading is reported,
    # a link in code is not a link, and an outside address is left alone.
    (tmp_path / "there.md").write_text("# Here it is\n", encoding="utf-8")
    page = tmp_path / "page.md"
    text = (
        "[ok](there.md#here-it-is) [gone](missing.md) [no heading](there.md#elsewhere)\n"
        "`[--date D](not-a-link)` [web](https://example.org/x) [self](#top)\n\n# Top\n"
    )
    assert list(broken_links(page, text)) == [
        "page.md: missing.md: no such file",
        "page.md: there.md#elsewhere: no such heading",
    ]


def config_keys(mapping: dict[str, object], prefix: str = "") -> Iterator[str]:
    """Every key of the shipped config as a dotted path (the entries of a source, the
    weights and the section names are values, not keys)."""
    for key, value in mapping.items():
        yield prefix + key
        if isinstance(value, dict) and key not in ("weights", "section_names"):
            yield from config_keys(value, f"{prefix}{key}.")


def undocumented_keys(keys: list[str], text: str) -> list[str]:
    # A key is documented when inline code names it: `key`, `key: value`, or within a
    # dotted path (`delivery.smtp.password_env` documents smtp and password_env).
    missing = []
    for key in keys:
        leaf = re.escape(key.rsplit(".", 1)[-1])
        if not re.search(rf"`(?:[a-z0-9_]+\.)*{leaf}(?:[.:][^`\n]*)?`", text):
            missing.append(key)
    return missing


def test_every_config_key_is_documented() -> None:
    shipped = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    keys = list(config_keys(shipped))
    source_keys = ["fetch_full_text", "fetch_timeout", "allow_private", "outlet", "category"]
    text = "\n".join(path.read_text(encoding="utf-8") for path in DOC_FILES)
    assert undocumented_keys(keys + source_keys, text) == []


def test_an_undocumented_key_is_found() -> None:
    text = "Set `delivery.smtp.password_env` and `timezone: UTC`."
    keys = ["delivery", "delivery.smtp", "delivery.smtp.password_env", "timezone", "store"]
    assert undocumented_keys(keys, text) == ["store"]


def yaml_blocks(text: str) -> list[str]:
    return re.findall(r"^```yaml\n(.*?)^```", text, re.S | re.M)


def test_every_yaml_example_is_a_config_that_loads(tmp_path: Path) -> None:
    # A YAML block in the README or docs/ is a config, or a part of one, that a reader
    # copies: each must load as it is written (an unknown key or a bad value fails here).
    blocks = [block for path in DOC_FILES for block in yaml_blocks(path.read_text("utf-8"))]
    assert len(blocks) >= 3  # the essentials, the newsletter's language, a generative model
    for n, block in enumerate(blocks):
        path = tmp_path / f"{n}" / "config.yaml"
        path.parent.mkdir()
        path.write_text(block, encoding="utf-8")
        load_config(path)
