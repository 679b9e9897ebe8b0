"""Every command the CLI offers is documented in the README."""

from __future__ import annotations

import re

import click

from digest.cli import main

from .conftest import ROOT


def command_paths(group: click.Group, prefix: str = "digest") -> list[str]:
    paths = []
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}"
        paths.append(path)
        if isinstance(command, click.Group):
            paths.extend(command_paths(command, path))
    return paths


def test_every_command_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"`(digest [a-z][a-z -]*?)(?=[` \[])", readme))
    documented |= {m.strip() for m in re.findall(r"^\s*(digest [a-z][a-z -]*)", readme, re.M)}
    missing = [p for p in command_paths(main) if not any(d.startswith(p) for d in documented)]
    assert missing == []


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
