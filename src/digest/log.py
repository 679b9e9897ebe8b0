"""Logging set-up for the command line: one line per record, secrets never formatted in.

Every line a person reads has one style, the CLI's own: ``warning: ...``, ``error: ...``
(``-v`` adds the logger's name, for whoever debugs). ``warnings_once`` holds back the
warnings the last run gave already (a headline-only item, a feed's teaser) and counts
them instead, so that a re-run says only what is new.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

__all__ = ["RepeatedWarnings", "setup_logging", "warnings_once"]

log = logging.getLogger(__name__)

# How many warnings a run remembers for the next one (a bound on the state file: 16
# hex characters each).
MAX_REMEMBERED = 10_000


class _Lines(logging.Formatter):
    """``warning: message``; with ``names``, ``warning: digest.summarize: message``."""

    def __init__(self, names: bool) -> None:
        super().__init__("%(message)s")
        self.names = names

    def format(self, record: logging.LogRecord) -> str:
        where = f"{record.name}: " if self.names else ""
        return f"{record.levelname.lower()}: {where}{super().format(record)}"


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to ``sys.stderr`` as it is when the record comes, not as it was when the
    handler was made (a test's captured stream, a redirected one)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def setup_logging(verbosity: int) -> None:
    """Log lines on stderr in the CLI's style. As ``logging.basicConfig`` does, nothing
    changes where the root logger has handlers of another's (a test's capture)."""
    level = logging.WARNING - 10 * verbosity
    root = logging.getLogger()
    if any(not isinstance(h, _Stderr) for h in root.handlers):
        return
    for old in list(root.handlers):
        root.removeHandler(old)
    handler = _Stderr()
    handler.setFormatter(_Lines(names=verbosity > 0))
    root.addHandler(handler)
    root.setLevel(max(logging.DEBUG, level))
    # transformers and friends are chatty at INFO; keep them at WARNING unless -vv.
    for noisy in ("transformers", "urllib3", "trafilatura", "htmldate", "filelock"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING) if verbosity < 2 else level)


def _key(message: str) -> str:
    return hashlib.sha256(message.encode("utf-8", "surrogatepass")).hexdigest()[:16]


class RepeatedWarnings(logging.Filter):
    """Warnings the last run gave too are held back and counted (``held``); every
    warning of this run is remembered (``seen``) for the next."""

    def __init__(self, before: frozenset[str] = frozenset()) -> None:
        super().__init__()
        self.before = before
        self.seen: dict[str, None] = {}
        self.held = 0

    def fresh(self, message: str) -> bool:
        """True when ``message`` should be shown: the last run did not give it."""
        key = _key(message)
        self.seen[key] = None
        if key in self.before:
            self.held += 1
            return False
        return True

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.WARNING:
            return True  # errors always show; info and debug only when asked for
        return self.fresh(record.getMessage())


def _read_state(path: Path) -> frozenset[str]:
    try:
        keys = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return frozenset()
    except (OSError, ValueError) as exc:  # unreadable or not JSON: start afresh
        log.debug("%s: ignored (%s)", path, exc)
        return frozenset()
    if not isinstance(keys, list):
        return frozenset()
    return frozenset(k for k in keys[:MAX_REMEMBERED] if isinstance(k, str))


def _write_state(path: Path, keys: list[str]) -> None:
    part = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        part.write_text(json.dumps(keys[-MAX_REMEMBERED:]), "utf-8")
        part.replace(path)
    except OSError as exc:  # a read-only data folder: the next run repeats, nothing worse
        log.debug("%s: not written (%s)", path, exc)
        with contextlib.suppress(OSError):
            part.unlink()


@contextlib.contextmanager
def warnings_once(path: Path, *, enabled: bool = True) -> Iterator[RepeatedWarnings]:
    """While the block runs, the log's warnings that the run which last used ``path``
    gave are held back (counted in ``held``); at the end, this run's are remembered
    there. Not ``enabled`` (``-v``): everything shows, and is remembered all the same."""
    repeats = RepeatedWarnings(_read_state(path) if enabled else frozenset())
    handlers = [h for h in logging.getLogger().handlers if isinstance(h, _Stderr)]
    for handler in handlers:
        handler.addFilter(repeats)
    try:
        yield repeats
    finally:
        for handler in handlers:
            handler.removeFilter(repeats)
        _write_state(path, list(repeats.seen))
