"""The editor's desk: ``digest approve`` and ``digest send`` (the approval gate), and the
actions on the draft (``digest edition drop|pin|move|swap|promote|edit-point|headline|note``).
"""

from __future__ import annotations

import getpass
import os
import signal
from collections.abc import Callable
from typing import Any, TypeVar

import click

from digest import pipeline
from digest.cli.base import date_option, edition_day, main, pass_config
from digest.cli.sending import interrupt, print_run_report
from digest.config import Config
from digest.pipeline.desk import approve

__all__ = ["approve_command", "editor_option", "send_command"]

F = TypeVar("F", bound=Callable[..., Any])


def _login_name() -> str:
    try:
        return os.environ.get("USER") or getpass.getuser() or "editor"
    except (OSError, KeyError):  # no passwd entry (a container's random uid)
        return "editor"


def editor_option(func: F) -> F:
    """``--editor NAME``: who acts (default: $USER, the login name)."""
    return click.option(
        "--editor",
        default=None,
        help="Who acts, recorded with the action (default: $USER).",
    )(func)


@main.command("approve")
@date_option
@editor_option
@pass_config
def approve_command(config: Config, day: Any, editor: str | None) -> None:
    """Approve the day's edition as it renders now; the next `digest run` sends it."""
    when = edition_day(config, day)
    done = approve(config, when, editor or _login_name())
    approval = done.approval
    again = " (again)" if done.replaced is not None else ""
    click.echo(
        f"approved{again}: edition {approval.edition_id} by {approval.editor}"
        f" ({approval.edition_hash[:12]}), subject: {done.subject}"
    )
    click.echo("the next `digest run` (or `digest send`) sends it; a change needs approval again")


@main.command("send")
@date_option
@pass_config
def send_command(config: Config, day: Any) -> None:
    """Send the day's saved edition now (approved, if delivery.require_approval)."""
    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        report = pipeline.run_daily(config, edition_day(config, day), send_only=True)
    finally:
        signal.signal(signal.SIGTERM, previous)
    print_run_report(report)
