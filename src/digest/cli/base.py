"""The ``digest`` command group and what its commands share: options, exit codes, output.

A ``DigestError`` becomes one line on stderr and an exit status: 1 for a failure of the
work (a source that failed, a send that failed), 2 for usage and configuration errors,
130 when interrupted (Ctrl-C): one line, no traceback. click's own usage errors (an unknown
option, a bad ``--date``, a missing argument) are one ``error:`` line and status 2 as well,
never its usage block.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from digest.config import Config, load_config
from digest.errors import ConfigError, DigestError, LockError, SubscriberError
from digest.log import setup_logging
from digest.pipeline import open_store
from digest.pipeline.days import default_day
from digest.progress import Progress
from digest.subscribers import normalize_email

__all__ = [
    "CLI_PRIVATE_HINT",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_USAGE",
    "EmailAddress",
    "Interrupted",
    "allow_private_option",
    "count",
    "current_config",
    "date_option",
    "main",
    "pass_config",
    "progress_bar",
    "verbosity",
]

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it

F = TypeVar("F", bound=Callable[..., Any])

# A bare group (`digest subscribers`) asks for its help: click 8.2 and later raise this
# usage error to show it (status 2), older ones exit by themselves; () catches nothing.
_BARE_GROUP: Any = getattr(click.exceptions, "NoArgsIsHelpError", ())

# ParamType is generic from click 8.4 (the type checker's click); older ones take no
# parameters at run time.
if TYPE_CHECKING:
    _AddressType = click.ParamType[str, Any]
else:
    _AddressType = click.ParamType


def _usage_error(exc: click.UsageError) -> NoReturn:
    """One ``error:`` line naming the command's help, and status 2 (click would print its
    usage block, a hint and the message on four lines)."""
    message = " ".join(exc.format_message().split())
    where = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
    click.echo(f"error: {message}{where}", err=True)
    sys.exit(EXIT_USAGE)


# What Ctrl-C leaves, said where a command knows no more: each source read and each
# message sent is committed as it finishes.
INTERRUPTED = "what had finished is kept; run the same command again to go on"


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM), with what the command had done and what to do next."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class DigestGroup(click.Group):
    """Turns a ``DigestError`` or a usage error into one clean line and an exit status."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        # The group's own options are parsed here, before ``invoke``.
        try:
            return super().make_context(info_name, args, parent, **extra)
        except _BARE_GROUP:
            raise  # a bare `digest`: its help, as asked
        except click.UsageError as exc:
            _usage_error(exc)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except _BARE_GROUP:
            raise  # a bare group (`digest subscribers`): its help, as asked
        except click.UsageError as exc:
            _usage_error(exc)
        except click.ClickException as exc:  # a file click could not open, ...
            click.echo(f"error: {' '.join(exc.format_message().split())}", err=True)
            sys.exit(exc.exit_code)
        except (ConfigError, LockError) as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_USAGE)
        except DigestError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_FAILED)
        except (KeyboardInterrupt, click.Abort) as exc:
            # What was committed stays (each source, each delivery): a re-run goes on.
            detail = exc.detail if isinstance(exc, Interrupted) else INTERRUPTED
            click.echo(f"\ninterrupted: {detail}", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except BrokenPipeError:
            # The reader of our output left (`digest articles | head`): not an error. Point
            # stdout at /dev/null so that flushing it at exit does not fail a second time.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(0)


@click.group(cls=DigestGroup)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    envvar="DIGEST_CONFIG",
    help="config.yaml to use (default: ./config.yaml or $DIGEST_CONFIG).",
)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.version_option(package_name="digest")
@click.pass_context
def main(ctx: click.Context, config_path: Path | None, verbose: int) -> None:
    """digest: summarise the day's articles into a newsletter and send it."""
    setup_logging(verbose)
    ctx.obj = {"config_path": config_path, "verbose": verbose}


def pass_config(func: F) -> F:
    """Give a command the loaded, validated ``Config`` as its first argument."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return func(current_config(), *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def verbosity() -> int:
    """How many ``-v`` the command line gave."""
    obj = click.get_current_context().find_root().obj or {}
    return int(obj.get("verbose", 0))


def current_config() -> Config:
    """The command's ``Config``, loaded once (``--config``, ``$DIGEST_CONFIG``)."""
    ctx = click.get_current_context()
    obj = ctx.find_root().obj or {}
    if "config" not in obj:
        obj["config"] = load_config(obj.get("config_path"))
    config: Config = obj["config"]
    return config


class EmailAddress(_AddressType):
    """An address given on the command line, in its normal form; a malformed one is a
    usage error (status 2), said in one line."""

    name = "address"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        try:
            return normalize_email(value)
        except SubscriberError as exc:
            reason = getattr(exc, "reason", str(exc))
            self.fail(f"{value!r} is not an address ({reason})", param, ctx)


# A refused loopback or private URL, read by a command: the command's own switch.
CLI_PRIVATE_HINT = "add --allow-private to read it"


def allow_private_option(func: F) -> F:
    """``--allow-private``: fetch from loopback and private addresses too."""
    return click.option(
        "--allow-private",
        is_flag=True,
        help="Fetch from loopback and private addresses too (refused by default).",
    )(func)


def date_option(func: F) -> F:
    """``--date YYYY-MM-DD``: the edition day (default: today in the configured timezone)."""
    return click.option(
        "--date",
        "day",
        type=click.DateTime(formats=["%Y-%m-%d"]),
        default=None,
        help="Edition date, YYYY-MM-DD (default: today in the configured timezone).",
    )(func)


@contextlib.contextmanager
def progress_bar(label: str) -> Iterator[Progress | None]:
    """A rich progress bar on stderr when it is a terminal; nothing otherwise (a log file,
    a pipe, a test), where the library's progress calls are simply not made."""
    if not sys.stderr.isatty():
        yield None
        return
    # rich is imported only for a terminal: cron runs and pipes never pay for it.
    from rich.console import Console
    from rich.progress import Progress as Bar

    with Bar(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=None)

        def update(stage: str, done: int, total: int, detail: str) -> None:
            text = f"{stage} {detail}".strip()
            bar.update(task, total=total, completed=done, description=text)

        yield update


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``1 edition``, ``2 editions``: a count with its noun in the right number."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def edition_day(config: Config, day: Any, *, newest: bool = True) -> date:
    """The ``--date`` value as a date, or today in the configured timezone; with ``newest``,
    the newest stored day with articles when today has none, said on stderr (the daily job
    and the commands that send pass False: they never fall back to another day)."""
    if day is not None:
        return day.date() if isinstance(day, datetime) else day
    today = datetime.now(config.tz).date()
    if not newest:
        return today
    with open_store(config) as db:
        choice = default_day(config, db, today)
    if choice.note:
        click.echo(f"note: {choice.note}", err=True)
    return choice.day
