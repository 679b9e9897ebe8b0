"""Every command the CLI offers is documented, in the README or in the pages of docs/."""

from __future__ import annotations

import re
from collections.abc import Iterable

import click

from digest.cli import main

from .conftest import ROOT

# The README is the way in; the full reference and the guides are in docs/.
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def command_paths(group: click.Group, prefix: str = "digest") -> list[str]:
    paths = []
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}"
        paths.append(path)
        if isinstance(command, click.Group):
            paths.extend(command_paths(command, path))
    return paths


def undocumented(paths: Iterable[str], text: str) -> list[str]:
    """The command paths that ``text`` shows nowhere: neither in inline code (`digest run`)
    nor at the start of a line of a command block."""
    documented = set(re.findall(r"`(digest(?: [a-z][a-z-]*)+)", text))
    documented |= {m.strip() for m in re.findall(r"^\s*(digest [a-z][a-z -]*)", text, re.M)}
    return [p for p in paths if not any(d.startswith(p) for d in documented)]


def test_every_command_is_documented_in_the_readme_or_docs() -> None:
    text = "\n".join(path.read_text(encoding="utf-8") for path in DOC_FILES)
    assert undocumented(command_paths(main), text) == []


def test_a_command_documented_nowhere_is_missing() -> None:
    # The check above is only as good as this: a command in neither file is reported.
    text = "Run `digest run --dry-run`, `digest edition drop ID`.\n\n    digest subscribers add X\n"
    paths = ["digest run", "digest edition drop", "digest subscribers add", "digest serve"]
    assert undocumented(paths, text) == ["digest serve"]


def test_the_docs_pages_are_read() -> None:
    names = {path.name for path in DOC_FILES}
    assert {"README.md", "reference.md", "how-it-works.md", "benchmarks.md", "scaling.md"} <= names


def test_every_command_has_help_text() -> None:
    def walk(group: click.Group) -> list[click.Command]:
        found: list[click.Command] = []
        for command in group.commands.values():
            found.append(command)
            if isinstance(command, click.Group):
                found.extend(walk(command))
        return found

    assert all(c.help for c in walk(main)), [c.name for c in walk(main) if not c.help]


def test_python_dash_m_digest_is_the_same_command() -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "digest", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    listed = set(re.findall(r"^  ([a-z][a-z-]*)\s", done.stdout, re.M))
    assert set(main.commands) <= listed
