"""Usage errors, click's own included: one ``error:`` line on stderr and exit status 2, for
every command (issue 23, item 5)."""

from __future__ import annotations

from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from digest.cli import EXIT_USAGE, main


def commands(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command path under ``group``, groups included (``("subscribers", "add")``)."""
    for name, command in sorted(group.commands.items()):
        yield (*path, name)
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))


def with_date(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, command in sorted(group.commands.items()):
        if any(p.name == "day" and "--date" in p.opts for p in command.params):
            yield (*path, name)
        if isinstance(command, click.Group):
            yield from with_date(command, (*path, name))


ALL = list(commands(main))
DATED = list(with_date(main))


def one_error_line(result: click.testing.Result) -> str:
    assert result.exit_code == EXIT_USAGE, (result.exit_code, result.output)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert "Usage:" not in result.output and "Traceback" not in result.output
    return lines[0]


def test_the_walk_finds_the_commands() -> None:
    # The walk is what the tests below rest on: it must reach nested commands too.
    assert {("edition",), ("send-test",), ("subscribers", "add"), ("store", "migrate")} <= set(ALL)
    assert ("edition",) in DATED and ("run",) in DATED


@pytest.mark.parametrize("path", ALL, ids=" ".join)
def test_an_unknown_option_is_one_line_and_status_2(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*path, "--no-such-option"])
    line = one_error_line(result)
    assert "--no-such-option" in line
    assert f"{' '.join(path)} --help" in line  # where to read the command's options


@pytest.mark.parametrize("path", DATED, ids=" ".join)
def test_a_date_in_another_form_is_one_line_and_status_2(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*path, "--date", "07/01/2017"])
    line = one_error_line(result)
    assert "'--date'" in line and "07/01/2017" in line


def test_the_group_s_own_errors() -> None:
    assert "No such command 'nosuch'" in one_error_line(CliRunner().invoke(main, ["nosuch"]))
    assert "--bogus" in one_error_line(CliRunner().invoke(main, ["--bogus"]))
    missing = one_error_line(CliRunner().invoke(main, ["subscribers", "add"]))
    assert "Missing argument 'EMAIL'" in missing


@pytest.mark.parametrize(
    "address", ["not-an-address", "zhang@", "محمد@@example.org", "x@example.com\r\nBcc: y@z.org"]
)
def test_send_test_to_a_malformed_address_is_a_usage_error(address: str) -> None:
    # Refused while the options are read: no config, no store, no edition built.
    result = CliRunner().invoke(main, ["send-test", "--to", address])
    line = one_error_line(result)
    assert "'--to'" in line and "is not an address" in line


def test_a_command_s_own_usage_error_is_one_line() -> None:
    result = CliRunner().invoke(main, ["run", "--dry-run", "--distributed"])
    assert "--distributed sends for real" in one_error_line(result)


def test_a_bare_group_still_shows_its_help() -> None:
    # Typing a group alone is asking what it holds: its help, not an error line.
    result = CliRunner().invoke(main, ["subscribers"])
    assert "add" in result.output and "export" in result.output
    assert "error:" not in result.output
