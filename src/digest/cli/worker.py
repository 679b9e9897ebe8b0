"""``digest worker``: a Celery worker for ``digest run --distributed``."""

from __future__ import annotations

import click

from digest.cli.base import main, pass_config
from digest.config import Config
from digest.distributed.app import start_worker

__all__ = ["worker_command"]


@main.command("worker")
@click.option("--name", default=None, help="Worker name (default: celery@HOSTNAME).")
@click.option(
    "--concurrency",
    type=click.IntRange(1, 256),
    default=1,
    help="Processes in this worker (1: the task runs in this process).",
)
@pass_config
def worker_command(config: Config, name: str | None, concurrency: int) -> None:
    """Run a worker: fetch, summarise and send tasks from the configured broker."""
    start_worker(config, name=name, concurrency=concurrency)
