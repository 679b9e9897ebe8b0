"""The editor's desk: ``digest approve`` and ``digest send`` (the approval gate), and the
actions on the draft (``digest edition drop|pin|move|swap|promote|edit-point|headline|note|
unrelate``).
"""

from __future__ import annotations

import getpass
import os
import signal
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import click

from digest import pipeline
from digest.cli.base import Interrupted, date_option, edition_day, main, pass_config
from digest.cli.edition import edition_command
from digest.cli.sending import StageLines, interrupt, print_run_report
from digest.config import Config
from digest.models import DeskAction, DeskActionKind
from digest.pipeline.act import act
from digest.pipeline.desk import approve

__all__ = ["approve_command", "editor_option", "login_name", "send_command"]

F = TypeVar("F", bound=Callable[..., Any])


def login_name() -> str:
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
    when = edition_day(config, day, newest=False)
    done = approve(config, when, editor or login_name())
    approval = done.approval
    again = " (again)" if done.replaced is not None else ""
    click.echo(
        f"approved{again}: edition {approval.edition_id} by {approval.editor}"
        f" ({approval.edition_hash[:12]}), subject: {done.subject}"
    )
    if config.delivery.require_approval:
        click.echo(
            "the next `digest run` (or `digest send`) sends it; a change needs approval again"
        )
    else:
        click.echo("note: delivery.require_approval is off: `digest run` sends without approval")


@main.command("send")
@date_option
@pass_config
def send_command(config: Config, day: Any) -> None:
    """Send the day's saved edition now (approved, if delivery.require_approval)."""
    where = StageLines(show=False)  # only for the line Ctrl-C prints
    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        report = pipeline.run_daily(
            config, edition_day(config, day, newest=False), send_only=True, progress=where
        )
    except KeyboardInterrupt as exc:
        raise Interrupted(where.after_interrupt()) from exc
    finally:
        signal.signal(signal.SIGTERM, previous)
    print_run_report(report)


# --- the actions on the draft: `digest edition <action>` -------------------------------------


def _act(
    config: Config,
    day: Any,
    kind: DeskActionKind,
    editor: str | None,
    *,
    resend: bool = False,
    **fields: Any,
) -> None:
    parent = click.get_current_context().parent
    if day is None and parent is not None:  # `digest edition --date D drop ID` means day D
        day = parent.params.get("day")
    when = edition_day(config, day)
    action = DeskAction(kind=kind, editor=editor or login_name(), at=datetime.now(UTC), **fields)
    done = act(config, when, action, resend=resend)
    click.echo(f"{done.entry.line} ({done.action.editor}, edition {done.edition.id})")
    order = "; ".join(f"{n}. {s.title}" for n, s in enumerate(done.edition.stories[:3], start=1))
    if order:
        click.echo(f"now: {order}{' ...' if len(done.edition.stories) > 3 else ''}")


def _action(name: str, help_text: str) -> Callable[[F], F]:
    """A subcommand of ``digest edition`` with --date and --editor."""

    def register(func: F) -> F:
        func = pass_config(func)
        func = editor_option(func)
        func = date_option(func)
        edition_command.command(name, help=help_text)(func)
        return func

    return register


@_action("drop", "Drop story ID from the draft (it joins the left-out list).")
@click.argument("story_id", metavar="ID")
def drop_command(config: Config, story_id: str, day: Any, editor: str | None) -> None:
    _act(config, day, "drop", editor, article_id=story_id)


@_action("pin", "Pin story ID at a position (default 1: the lead); it stays there.")
@click.argument("story_id", metavar="ID")
@click.option("--position", type=int, default=1, show_default=True, help="1 is the first story.")
def pin_command(config: Config, story_id: str, position: int, day: Any, editor: str | None) -> None:
    _act(config, day, "pin", editor, article_id=story_id, position=position)


@_action("move", "Move story ID to position N (1 is the first story).")
@click.argument("story_id", metavar="ID")
@click.argument("position", metavar="N", type=int)
def move_command(
    config: Config, story_id: str, position: int, day: Any, editor: str | None
) -> None:
    _act(config, day, "move", editor, article_id=story_id, position=position)


@_action("swap", "Swap the places of stories ID and OTHER.")
@click.argument("story_id", metavar="ID")
@click.argument("other_id", metavar="OTHER")
def swap_command(
    config: Config, story_id: str, other_id: str, day: Any, editor: str | None
) -> None:
    _act(config, day, "swap", editor, article_id=story_id, other_id=other_id)


@_action("promote", "Make More news headline or left-out article ID a story.")
@click.argument("article_id", metavar="ID")
@click.option(
    "--resend",
    is_flag=True,
    help="Promote even an article an earlier edition sent (its subscribers get it again).",
)
def promote_command(
    config: Config, article_id: str, resend: bool, day: Any, editor: str | None
) -> None:
    _act(config, day, "promote", editor, article_id=article_id, resend=resend)


@_action("edit-point", "Rewrite key point N of story ID (marked as the editor's).")
@click.argument("story_id", metavar="ID")
@click.argument("number", metavar="N", type=int)
@click.argument("text")
def edit_point_command(
    config: Config, story_id: str, number: int, text: str, day: Any, editor: str | None
) -> None:
    _act(config, day, "edit-point", editor, article_id=story_id, position=number, text=text)


@_action("headline", "Replace the headline of story ID.")
@click.argument("story_id", metavar="ID")
@click.argument("text")
def headline_command(
    config: Config, story_id: str, text: str, day: Any, editor: str | None
) -> None:
    _act(config, day, "headline", editor, article_id=story_id, text=text)


@_action("note", "Put an editor's note at the top of the newsletter.")
@click.argument("text")
def note_command(config: Config, text: str, day: Any, editor: str | None) -> None:
    _act(config, day, "note", editor, text=text)


@_action("unrelate", "Remove related item ITEM (its article id or title) from story ID.")
@click.argument("story_id", metavar="ID")
@click.argument("item", metavar="ITEM")
def unrelate_command(
    config: Config, story_id: str, item: str, day: Any, editor: str | None
) -> None:
    _act(config, day, "unrelate", editor, article_id=story_id, other_id=item)
