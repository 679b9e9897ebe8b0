"""``digest run``, ``digest send-test``, ``digest subscribers ...`` and ``digest serve``."""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path
from typing import Any, cast

import click

from digest import pipeline
from digest.cli.base import (
    EXIT_FAILED,
    EmailAddress,
    Interrupted,
    count,
    date_option,
    edition_day,
    main,
    pass_config,
    verbosity,
)
from digest.config import Config
from digest.distributed.dispatch import run_distributed
from digest.log import RepeatedWarnings, warnings_once
from digest.models import SubscriberState
from digest.pipeline.signup import confirm_pending
from digest.signed import secret_key
from digest.store.subscribers import SubscriberStore
from digest.subscribers import (
    add_subscriber,
    export_csv,
    import_csv,
    remove_subscriber,
)

__all__ = [
    "StageLines",
    "interrupt",
    "print_run_report",
    "run_command",
    "send_test_command",
    "serve_command",
    "subscribers_group",
]


class StageLines:
    """One line per finished stage on stderr, and on long stages (a big summarize or send)
    a "done/total" line at most every ``every`` seconds, so a log shows the job is alive.
    It remembers where the run is, for the line Ctrl-C prints (``after_interrupt``);
    ``show=False`` only remembers."""

    def __init__(self, every: float = 5.0, *, show: bool = True) -> None:
        self.started = time.monotonic()
        self.every = every
        self.show = show
        self._last = self.started
        self.stage: str | None = None
        self.counts: dict[str, tuple[int, int]] = {}

    def after_interrupt(self) -> str:
        """What was done and what to do, for ``interrupted: ...``."""
        again = "run the same command again"
        if "send" in self.counts:
            done, total = self.counts["send"]
            return f"{done} of {total} sent; {again} to send the rest, nobody gets it twice"
        if self.stage == "ingest":
            done, total = self.counts["ingest"]
            return (
                f"{done} of {count(total, 'source')} read and stored, nothing sent;"
                f" {again} to go on"
            )
        where = f" (stopped at {self.stage})" if self.stage else ""
        return f"nothing sent{where}; {again}: it goes on from what is stored"

    def __call__(self, stage: str, done: int, total: int, detail: str) -> None:
        self.stage = stage
        self.counts[stage] = (done, total)
        if not self.show:
            return
        now = time.monotonic()
        if done != total and (done == 0 or now - self._last < self.every):
            return
        self._last = now
        extra = f"  {detail}" if detail and stage != "send" and done == total else ""
        click.echo(f"[{now - self.started:6.1f}s] {stage:<9} {done}/{total}{extra}", err=True)


def interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@main.command("run")
@date_option
@click.option("--dry-run", is_flag=True, help="Write the messages as .eml files; send nothing.")
@click.option(
    "--distributed", is_flag=True, help="Fetch, summarise and send on Celery workers (PostgreSQL)."
)
@pass_config
def run_command(config: Config, day: Any, dry_run: bool, distributed: bool) -> None:
    """The daily job: ingest, rank, summarise, build, render and send the edition.

    Safe to re-run: a second run of the same date only sends what is left.
    """
    # SIGTERM (`systemctl stop`, a job's timeout) stops the run as Ctrl-C does: the
    # messages in flight are finished and recorded first.
    if distributed and dry_run:
        raise click.UsageError("--distributed sends for real; --dry-run is one process")
    # A re-run (cron, after a failure) says again only the warnings that are new; those
    # the last run gave are counted in one line (-v shows them all).
    state = config.data_path / LAST_RUN_WARNINGS
    lines = StageLines()
    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        with warnings_once(state, enabled=verbosity() == 0) as once:
            if distributed:
                report = run_distributed(
                    config, edition_day(config, day, newest=False), progress=lines
                )
            else:
                report = pipeline.run_daily(
                    config,
                    edition_day(config, day, newest=False),
                    dry_run=dry_run,
                    progress=lines,
                )
            print_run_report(report, once)
    except KeyboardInterrupt as exc:
        raise Interrupted(lines.after_interrupt()) from exc
    finally:
        signal.signal(signal.SIGTERM, previous)


# In the data folder: the warnings of the last `digest run` (hashes), for the next one.
LAST_RUN_WARNINGS = "last-run-warnings.json"


def print_run_report(report: pipeline.RunReport, once: RepeatedWarnings | None = None) -> None:
    """Warnings and failed sources on stderr, the summary line; exit status 1 when a source
    or a message failed (or stays deferred). With ``once``, a warning the last run gave
    is counted, not repeated."""
    warnings = [
        *report.source_warnings,
        *(f"the newsletter was over the size limit; trimmed: {note}" for note in report.trimmed),
    ]
    for warning in warnings:
        if once is None or once.fresh(warning):
            click.echo(f"warning: {warning}", err=True)
    for failure in report.failed_sources:
        click.echo(f"error: source {failure}", err=True)
    if once is not None and once.held:
        click.echo(
            f"warning: {count(once.held, 'warning')} as in the last run, not repeated"
            " (digest -v run shows them)",
            err=True,
        )
    click.echo(report.summary())
    if report.failed or report.deferred or report.failed_sources or report.weekly_unsent:
        sys.exit(EXIT_FAILED)


@main.command("send-test")
@click.option(
    "--to", "email", type=EmailAddress(), required=True, help="The address to send the draft to."
)
@date_option
@pass_config
def send_test_command(config: Config, email: str, day: Any) -> None:
    """Send the day's draft to one address with [TEST] in the subject (no ledger entry)."""
    reply = pipeline.send_test(config, edition_day(config, day), email)
    click.echo(f"sent to {email}: {reply.code} {reply.text}")


@main.group("subscribers")
def subscribers_group() -> None:
    """Add, remove, list, import and export subscribers."""


@subscribers_group.command("add")
@click.argument("email")
@click.option("--name", default=None, help="The subscriber's name (used in the greeting).")
@click.option("--topics", multiple=True, help="Topics, repeated or comma-separated.")
@pass_config
def subscribers_add(config: Config, email: str, name: str | None, topics: tuple[str, ...]) -> None:
    """Add EMAIL (or re-activate and update it: duplicates merge)."""
    with pipeline.open_store(config) as db:
        subscriber, what = add_subscriber(
            SubscriberStore(db), email, name=name, topics=",".join(topics) if topics else None
        )
    click.echo(f"{what}: {subscriber.email} (id {subscriber.id})")


@subscribers_group.command("remove")
@click.argument("email")
@click.option("--forget", is_flag=True, help="Delete the address and its delivery history.")
@pass_config
def subscribers_remove(config: Config, email: str, forget: bool) -> None:
    """Unsubscribe EMAIL (kept as unsubscribed unless --forget)."""
    with pipeline.open_store(config) as db:
        subscriber = remove_subscriber(SubscriberStore(db), email, forget=forget)
    click.echo(f"{'forgotten' if forget else 'unsubscribed'}: {subscriber.email}")


@subscribers_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON array.")
@click.option("--state", type=click.Choice(["active", "unsubscribed", "suppressed"]))
@pass_config
def subscribers_list(config: Config, as_json: bool, state: str | None) -> None:
    """List subscribers."""
    with pipeline.open_store(config) as db:
        found = SubscriberStore(db).all(cast(SubscriberState | None, state))
    if as_json:
        rows = [
            {
                "id": s.id,
                "email": s.email,
                "name": s.name,
                "topics": list(s.topics),
                "state": s.state,
                "frequency": s.frequency,
            }
            for s in found
        ]
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for s in found:
        topics = f"  [{', '.join(s.topics)}]" if s.topics else ""
        click.echo(f"{s.id:>6}  {s.state:<12}  {s.email}  {s.name}{topics}".rstrip())
    click.echo(count(len(found), "subscriber"), err=True)


@subscribers_group.command("import")
@click.argument("csv_file", type=click.Path(dir_okay=False, path_type=Path))
@pass_config
def subscribers_import(config: Config, csv_file: Path) -> None:
    """Import CSV_FILE (columns email,name,topics,state); bad rows are reported, skipped."""
    with pipeline.open_store(config) as db:
        report = import_csv(SubscriberStore(db), csv_file)
    for error in report.errors:
        click.echo(f"{csv_file}: {error}", err=True)
    click.echo(report.summary())
    if report.errors:
        sys.exit(EXIT_FAILED)


@subscribers_group.command("confirm-pending")
@click.option("--dry-run", is_flag=True, help="Count the mails; send and record nothing.")
@pass_config
def subscribers_confirm_pending(config: Config, dry_run: bool) -> None:
    """Send the double opt-in confirmation to the pending rows an import kept (no consent
    date) that were never mailed one; they subscribe by confirming."""
    with pipeline.open_store(config) as db:
        report = confirm_pending(config, db, secret_key(config.server.secret_env), dry_run=dry_run)
    click.echo(report.summary())
    if report.failed:
        sys.exit(EXIT_FAILED)


@subscribers_group.command("export")
@click.argument("csv_file", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@pass_config
def subscribers_export(config: Config, csv_file: Path) -> None:
    """Write every subscriber to CSV_FILE ('-' for standard output)."""
    with pipeline.open_store(config) as db:
        to_stdout = str(csv_file) == "-"
        text = export_csv(SubscriberStore(db), None if to_stdout else csv_file)
    if to_stdout:
        click.echo(text, nl=False)


@main.command("serve")
@click.option("--host", default=None, help="Address to listen on (default: server.host).")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=None, help="Port (default: server.port)."
)
@pass_config
def serve_command(config: Config, host: str | None, port: int | None) -> None:
    """Serve one-click unsubscribe (/u/<token>), preferences (/p/<token>), the sign-up
    form (/subscribe) and the archive (/archive/)."""
    # Deferred: the server pulls in starlette and uvicorn, which no other command needs.
    from digest.web.app import serve

    def ready(url: str) -> None:
        signup = f", {url}subscribe (sign-up)" if config.server.signup.enabled else ""
        click.echo(
            f"serving {url}u/<token> (unsubscribe), {url}p/<token> (preferences){signup}"
            f" and {url}archive/; Ctrl+C stops"
        )

    serve(config, host, port, on_ready=ready)
