"""Logging set-up for the command line: one line per record, secrets never formatted in."""

from __future__ import annotations

import logging

__all__ = ["setup_logging"]


def setup_logging(verbosity: int) -> None:
    level = logging.WARNING - 10 * verbosity
    logging.basicConfig(
        level=max(logging.DEBUG, level),
        format="%(levelname)s %(name)s: %(message)s",
    )
    # transformers and friends are chatty at INFO; keep them at WARNING unless -vv.
    for noisy in ("transformers", "urllib3", "trafilatura", "htmldate", "filelock"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING) if verbosity < 2 else level)
