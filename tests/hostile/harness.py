"""Runs one hostile case through the real ``digest`` command, under caps, and judges it.

Each case runs the click command group (``digest.cli.main``, what the ``digest`` script
calls) in a forked child of this process, so that the corpus pays for importing digest
once, not once per case: the child gets a memory cap (``RLIMIT_AS``: its address space at
the fork plus ``MEMORY_CAP``), its stdout and stderr go to files, and the parent kills it
at ``TIME_LIMIT``. An exception that escapes the command is printed as the ``digest``
script would print it (a traceback) and is judged as one.

Verdicts: ``ok``, ``traceback``, ``hang`` (killed at the time limit), ``memory`` (peak
resident memory grew by more than ``MEMORY_LIMIT``, or the child died of the cap),
``wrong`` (a clean outcome, but not the expected one: the reason says what differed).
"""

from __future__ import annotations

import http.server
import io
import json
import logging
import os
import re
import resource
import shutil
import signal
import sys
import threading
import time
import traceback
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# Imported once here, before any fork: each case's child then starts at once.
from digest.cli import main as digest_main
from tests.mail_samples import UNSUBSCRIBE, delay_notice

CASES = Path(__file__).resolve().parent / "cases"
BOUNCE_SECRET_ENV = "DIGEST_HOSTILE_CORPUS_SECRET"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

TIME_LIMIT = 30.0  # seconds a case may run before it counts as a hang
MEMORY_CAP = 1 << 30  # address space a child may add (RLIMIT_AS)
MEMORY_LIMIT = 500 << 20  # peak resident memory a case may add before it counts as excess

Expect = str  # "error" | "skip" | "accept" | "clean" | "kept-or-noted"


@dataclass(frozen=True)
class Case:
    """One hostile input and what must become of it.

    ``command`` is how it is read: ``read`` (``digest read FILE --json``), ``read-text``
    (``--kind text``), ``ingest`` (a config with the file as a source, ``digest ingest``),
    ``config`` (the file is the config, ``digest --config FILE articles``), ``import``
    (``digest subscribers import FILE``), ``bounces`` (the file is a message in a Maildir,
    followed by a good delay notice, ``digest bounces``), or ``argv`` (``args`` as given,
    ``{server}`` replaced by the loopback test server's address).

    ``expect``: ``error`` (exit status 1 or 2 and a one-line error), ``skip`` (a warning or
    refused row, the rest goes on), ``accept`` (articles read, ``title`` and ``check`` hold),
    ``clean`` (no traceback, hang or excess memory, whatever the outcome), ``kept-or-noted``
    (read without an error: the article kept, or skipped with a warning; for dates whose
    value ``sources/dates.py`` decides).
    """

    name: str
    command: str
    expect: Expect
    file: str | None = None  # under cases/
    make: Callable[[Path], Path] | None = None  # writes a generated file into a folder
    match: str = ""  # a regex the output (stdout + stderr) must contain
    absent: tuple[str, ...] = ()  # strings the output must not contain
    articles: int | None = None  # how many articles ``read --json`` must print
    title: str | None = None  # the exact title of the first article
    check: Callable[[dict[str, Any]], bool] | None = None  # on the first article's JSON
    source: Mapping[str, Any] = field(default_factory=dict)  # extra source options (ingest)
    args: tuple[str, ...] = ()
    untouched: tuple[str, ...] = ()  # server paths that must never be requested


@dataclass(frozen=True)
class Outcome:
    verdict: str
    reason: str
    status: int | None
    seconds: float
    peak_mib: float
    output: str


# --- the loopback server some cases read from --------------------------------------------

HITS: list[str] = []


def _gzip_bomb() -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"\0" * (1 << 20)
    parts = [compressor.compress(block) for _ in range(64)]  # 64 MiB of zeros
    return b"".join(parts) + compressor.flush()


class _Handler(http.server.BaseHTTPRequestHandler):
    server_version = "hostile/1"
    bomb: bytes = b""

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes, **headers: str) -> None:
        self.send_response(status)
        headers.setdefault("Content-Type", "text/html; charset=utf-8")
        headers.setdefault("Content-Length", str(len(body)))
        for key, value in headers.items():
            self.send_header(key.replace("_", "-"), value)
        self.end_headers()
        with suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)

    def do_GET(self) -> None:
        HITS.append(self.path)
        port = self.server.server_address[1]
        if self.path == "/feed.xml":
            self._send(
                200,
                (CASES / "rss-date-localised-german.rss").read_bytes(),
                Content_Type="application/rss+xml",
            )
        elif self.path == "/admin":
            self._send(200, b"<html><body><p>internal admin secret: hunter2</p></body></html>")
        elif self.path == "/drip":
            # One byte at a time, slowly, for ever: only a deadline on the whole download
            # stops this (each read returns in time).
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.end_headers()
            with suppress(BrokenPipeError, ConnectionResetError):
                for _ in range(600):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.5)
        elif self.path == "/loop":
            self._send(302, b"", Location=f"http://127.0.0.1:{port}/loop")
        elif self.path == "/to-file":
            self._send(302, b"", Location="file:///etc/passwd")
        elif self.path == "/to-admin":
            self._send(302, b"", Location=f"http://127.0.0.1:{port}/admin")
        elif self.path == "/gzip-bomb":
            self._send(
                200, _Handler.bomb, Content_Encoding="gzip", Content_Type="application/rss+xml"
            )
        elif self.path == "/huge-length":
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(10**12))
            self.end_headers()
        else:
            self._send(404, b"no")


@contextmanager
def loopback_server() -> Iterator[str]:
    """The hostile HTTP server on 127.0.0.1 (a free port), in a thread of this process."""
    if not _Handler.bomb:
        _Handler.bomb = _gzip_bomb()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


# --- running a case ------------------------------------------------------------------------


def _argv(case: Case, work: Path, server: str) -> list[str]:
    """The ``digest`` arguments for a case, its input copied or generated into ``work``."""
    path: Path | None = None
    if case.make is not None:
        path = case.make(work)
    elif case.file is not None:
        path = work / case.file
        shutil.copyfile(CASES / case.file, path)
    if path is not None and path.is_file() and path.stat().st_size < 1 << 20:
        data = path.read_bytes()
        if b"{server}" in data:
            path.write_bytes(data.replace(b"{server}", server.encode()))
    config = work / "config.yaml"
    base = {"data_dir": str(work / "data")}
    if case.command in ("read", "read-text"):
        kind = ["--kind", "text"] if case.command == "read-text" else []
        return ["read", str(path), "--json", *kind]
    if case.command == "ingest":
        assert path is not None
        source = {"name": "hostile", "location": str(path), **case.source}
        source["location"] = source["location"].replace("{server}", server)
        config.write_text(yaml.safe_dump({**base, "sources": [source]}), encoding="utf-8")
        return ["--config", str(config), "ingest"]
    if case.command == "config":
        return ["--config", str(path), "articles"]
    if case.command == "import":
        config.write_text(yaml.safe_dump(base), encoding="utf-8")
        return ["--config", str(config), "subscribers", "import", str(path)]
    if case.command == "bounces":
        assert path is not None
        _bounce_maildir(work / "Maildir", path)
        bounces = {"maildir": str(work / "Maildir")}
        newsletter = {"bounce_address": "bounces@example.org", "unsubscribe_mailto": UNSUBSCRIBE}
        # A secret of the corpus's own: signed links need one, and the tests' environment
        # is left as it is.
        os.environ.setdefault(BOUNCE_SECRET_ENV, "hostile-corpus-secret-0123456789")
        settings = {
            **base,
            "newsletter": newsletter,
            "server": {"secret_env": BOUNCE_SECRET_ENV},
            "delivery": {"bounces": bounces},
        }
        config.write_text(yaml.safe_dump(settings), encoding="utf-8")
        return ["--config", str(config), "bounces"]
    if case.command == "argv":
        config.write_text(yaml.safe_dump(base), encoding="utf-8")
        port = server.rsplit(":", 1)[1]
        return [a.replace("{server}", server).replace("{port}", port) for a in case.args]
    raise ValueError(f"unknown command {case.command!r}")


def _bounce_maildir(folder: Path, hostile: Path) -> None:
    """A Maildir holding the hostile message, then a good one (a delay notice, which is
    handled without a subscriber): the good one must still be handled."""
    for sub in ("tmp", "new", "cur"):
        (folder / sub).mkdir(parents=True)
    # Maildir reads its messages in name order: the hostile one first.
    shutil.copyfile(hostile, folder / "new" / "1000000000.M1P1.hostile")
    (folder / "new" / "1000000001.M1P1.good").write_bytes(delay_notice())


def _vm_size() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    return 0


def _rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def _child(argv: list[str], out: Path, err: Path) -> None:  # pragma: no cover (a child)
    code = 1
    try:
        limit = _vm_size() + MEMORY_CAP
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        for fd, path in ((1, out), (2, err)):
            handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(handle, fd)
            os.close(handle)
        sys.stdout = io.TextIOWrapper(os.fdopen(1, "wb", closefd=False), encoding="utf-8")
        sys.stderr = io.TextIOWrapper(os.fdopen(2, "wb", closefd=False), encoding="utf-8")
        logging.root.handlers.clear()  # the command sets up its own, as in a fresh process
        try:
            digest_main.main(argv, prog_name="digest", standalone_mode=True)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:
            # What the ``digest`` script does with an exception that escapes: a traceback.
            traceback.print_exc()
            code = 1
    finally:
        with suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def run_case(case: Case, work: Path, server: str) -> Outcome:
    """Run ``case`` in a capped, timed child and judge what it did."""
    work.mkdir(parents=True, exist_ok=True)
    argv = _argv(case, work, server)
    out, err = work / "stdout", work / "stderr"
    HITS.clear()
    baseline = _rss()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:  # pragma: no cover
        _child(argv, out, err)
    status: int | None = None
    usage: Any = None
    hung = False
    while True:
        done, raw, usage = os.wait4(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() - started > TIME_LIMIT:
            os.kill(pid, signal.SIGKILL)
            _, raw, usage = os.wait4(pid, 0)
            hung = True
            break
        time.sleep(0.02)
    seconds = time.monotonic() - started
    killed = os.WIFSIGNALED(raw)
    if not killed:
        status = os.WEXITSTATUS(raw)
    peak = max(0, usage.ru_maxrss * 1024 - baseline)
    stdout = out.read_text(encoding="utf-8", errors="replace") if out.exists() else ""
    stderr = err.read_text(encoding="utf-8", errors="replace") if err.exists() else ""
    output = stdout + stderr

    def outcome(verdict: str, reason: str) -> Outcome:
        return Outcome(verdict, reason, status, seconds, peak / (1 << 20), output)

    if hung:
        return outcome("hang", f"killed after {TIME_LIMIT:g} s")
    if "Traceback (most recent call last)" in stderr:
        last = stderr.strip().splitlines()[-1]
        memory = "MemoryError" in last
        return outcome("memory" if memory else "traceback", last[:200])
    if killed or peak > MEMORY_LIMIT:
        return outcome("memory", f"peak +{peak / (1 << 20):.0f} MiB, killed={killed}")
    return _judge(case, stdout, stderr, status, outcome)


def _judge(
    case: Case,
    stdout: str,
    stderr: str,
    status: int | None,
    outcome: Callable[[str, str], Outcome],
) -> Outcome:
    output = stdout + stderr
    for text in case.absent:
        if text in output:
            return outcome("wrong", f"output contains {text!r}")
    for path in case.untouched:
        if path in HITS:
            return outcome("wrong", f"the server was asked for {path}")
    if case.match and re.search(case.match, output) is None:
        return outcome("wrong", f"no {case.match!r} in the output: {_tail(output)}")
    errors = [
        line for line in output.splitlines() if line.startswith("error: ") or ": failed: " in line
    ]
    if case.expect == "clean":
        return outcome("ok", "")
    if case.expect == "error":
        if status not in (1, 2) or not errors:
            return outcome(
                "wrong", f"expected a one-line error, got status {status}: {_tail(output)}"
            )
        return outcome("ok", "")
    if status not in (0, 1) or any(line.startswith("error: ") for line in output.splitlines()):
        return outcome("wrong", f"expected it read, got status {status}: {_tail(output)}")
    articles: list[dict[str, Any]] = []
    if case.command.startswith("read"):
        try:
            articles = json.loads(stdout) if stdout.strip() else []
        except ValueError:
            return outcome("wrong", f"read --json printed no JSON: {_tail(stdout)}")
        if case.articles is not None and len(articles) != case.articles:
            return outcome("wrong", f"{len(articles)} articles, expected {case.articles}")
        if case.expect == "accept" and not articles:
            return outcome("wrong", "no article read")
        first = articles[0] if articles else {}
        if case.title is not None and first.get("title") != case.title:
            return outcome("wrong", f"title {str(first.get('title'))[:80]!r}...")
        if case.check is not None and not case.check(first):
            return outcome("wrong", f"check failed on {json.dumps(first)[:300]}")
    if case.expect == "kept-or-noted" and not articles and "warning" not in stderr:
        return outcome("wrong", "no article and no warning")
    if case.expect == "skip" and "warning" not in output and not re.search(r"line \d+:", output):
        return outcome("wrong", f"expected a warning for what was skipped: {_tail(output)}")
    return outcome("ok", "")


def _tail(text: str) -> str:
    return " | ".join(text.strip().splitlines()[-3:])[:300]
