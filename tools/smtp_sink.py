"""A local SMTP sink (aiosmtpd): accepts every message and keeps it, for the demo, the
tests and the benchmark. Never a relay: nothing received is passed on. A tool of the
checkout, not part of the ``digest`` package (aiosmtpd comes with the ``dev`` extra).

    python tools/smtp_sink.py --port 2525 --dir .digest-demo/sink

writes each received message to ``DIR/<n>-<Message-ID>.eml`` (atomically) until it gets
SIGINT or SIGTERM. ``--count-only`` keeps nothing and prints the count at exit (the
benchmark's sink). In Python (``from tools.smtp_sink import SmtpSink``), ``SmtpSink``
runs the same server in a thread and can be told to misbehave: answer 4xx/5xx for chosen
recipients at RCPT or at the end of DATA (or to every message), drop the connection, go
slow.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import email.policy
import itertools
import logging
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from pathlib import Path
from types import FrameType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session

__all__ = ["Received", "SinkRules", "SmtpSink", "free_port", "main"]

log = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^A-Za-z0-9._@+=-]")
_HEADERS = BytesHeaderParser(policy=email.policy.default)  # decodes RFC 2047 words


@dataclass(frozen=True, slots=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    message_id: str
    subject: str
    peer: str = ""  # the client's host:port: one per connection


@dataclass
class SinkRules:
    """How the sink misbehaves, per recipient address (lower case). Thread-safe enough for
    tests: set the rules before the client sends."""

    # RCPT replies to give first, in order, before accepting (e.g. two "451 ..." replies).
    rcpt_replies: dict[str, list[str]] = field(default_factory=dict)
    # A reply given to RCPT every time (e.g. "550 5.1.1 no such user").
    rcpt_always: dict[str, str] = field(default_factory=dict)
    # A reply given to every RCPT (a broken relay: "550 5.1.1 no such user" for everyone).
    rcpt_all: str | None = None
    # Drop the connection at end of DATA, this many times, without keeping the message.
    drop_before_store: dict[str, int] = field(default_factory=dict)
    # Keep the message, then drop the connection before replying (the ambiguous window).
    drop_after_store: dict[str, int] = field(default_factory=dict)
    # Seconds to wait before answering end of DATA.
    data_delay: float = 0.0
    # End-of-DATA replies to give first, in order, per recipient (the message is not kept).
    data_replies: dict[str, list[str]] = field(default_factory=dict)
    # An end-of-DATA reply given every time, per recipient (e.g. "550 5.1.1 no such user").
    data_always: dict[str, str] = field(default_factory=dict)
    # An end-of-DATA reply to every message (a content filter: "554 5.7.1 rejected").
    data_reply: str | None = None


def _message_id(data: bytes) -> tuple[str, str]:
    headers = _HEADERS.parsebytes(data, headersonly=True)
    return str(headers.get("Message-ID", "")).strip(), str(headers.get("Subject", ""))


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        rules = self.sink.rules
        key = address.lower()
        queued = rules.rcpt_replies.get(key)
        if queued:
            return queued.pop(0)
        if key in rules.rcpt_always:
            return rules.rcpt_always[key]
        if rules.rcpt_all is not None:
            return rules.rcpt_all
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        rules = self.sink.rules
        if rules.data_delay:
            await asyncio.sleep(rules.data_delay)
        keys = [a.lower() for a in envelope.rcpt_tos]
        if any(self.sink.take(rules.drop_before_store, k) for k in keys):
            self._drop(server)
            return "421 4.4.2 dropped"
        for key in keys:
            queued = rules.data_replies.get(key)
            if queued:
                return queued.pop(0)
            if key in rules.data_always:
                return rules.data_always[key]
        if rules.data_reply is not None:
            return rules.data_reply
        content = envelope.content
        data = content if isinstance(content, bytes) else str(content).encode()
        peer = session.peer
        where = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        self.sink.keep(str(envelope.mail_from), tuple(envelope.rcpt_tos), data, where)
        if any(self.sink.take(rules.drop_after_store, k) for k in keys):
            self._drop(server)
            return "421 4.4.2 dropped"
        return "250 2.0.0 OK queued"

    @staticmethod
    def _drop(server: SMTP) -> None:
        transport = server.transport
        if isinstance(transport, asyncio.Transport):
            transport.abort()


class SmtpSink:
    """An aiosmtpd server on ``host:port`` in a background thread.

    ``folder``: write each message there as an .eml file; ``keep``: also keep them in
    ``messages`` (tests); ``tls``: a server ``SSLContext`` for STARTTLS (or, with
    ``implicit_tls``, TLS from the first byte); ``users``: AUTH logins it accepts
    (then required).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        folder: str | Path | None = None,
        keep: bool = True,
        tls: ssl.SSLContext | None = None,
        implicit_tls: bool = False,
        require_starttls: bool = False,
        users: dict[str, str] | None = None,
        rules: SinkRules | None = None,
        on_message: Callable[[Received], None] | None = None,
    ) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.folder = Path(folder) if folder is not None else None
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
        self.keep_messages = keep
        self.rules = rules or SinkRules()
        self.on_message = on_message
        self.messages: list[Received] = []
        self.count = 0
        self.logins: list[str] = []
        self._lock = threading.Lock()
        self._serial = itertools.count(1)
        self._taken: dict[tuple[int, str], int] = defaultdict(int)
        kwargs: dict[str, Any] = {}
        if tls is not None and implicit_tls:
            kwargs["ssl_context"] = tls
        elif tls is not None:
            kwargs["tls_context"] = tls
            kwargs["require_starttls"] = require_starttls
        if users is not None:
            self.users = dict(users)
            kwargs["authenticator"] = self._authenticate
            # AUTH is required only over STARTTLS: aiosmtpd warns (rightly) about requiring
            # a password in the clear, and cannot tell implicit TLS from plain.
            starttls = tls is not None and not implicit_tls
            kwargs["auth_required"] = starttls
            kwargs["auth_require_tls"] = starttls
        self._controller = Controller(
            _Handler(self), hostname=host, port=self.port, data_size_limit=None, **kwargs
        )

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        login = getattr(data, "login", b"")
        password = getattr(data, "password", b"")
        user = login.decode() if isinstance(login, bytes) else str(login)
        secret = password.decode() if isinstance(password, bytes) else str(password)
        ok = self.users.get(user) == secret
        if ok:
            with self._lock:
                self.logins.append(user)
        return AuthResult(success=ok, handled=False)

    def take(self, counters: dict[str, int], key: str) -> bool:
        """Use up one of ``counters[key]``; whether one was left."""
        with self._lock:
            slot = (id(counters), key)
            if self._taken[slot] < counters.get(key, 0):
                self._taken[slot] += 1
                return True
            return False

    def keep(self, mail_from: str, rcpt_tos: tuple[str, ...], data: bytes, peer: str = "") -> None:
        with self._lock:
            self.count += 1
            serial = next(self._serial)
        if not (self.keep_messages or self.folder is not None or self.on_message is not None):
            return
        message_id, subject = _message_id(data)
        received = Received(mail_from, rcpt_tos, data, message_id, subject, peer)
        if self.keep_messages:
            with self._lock:
                self.messages.append(received)
        if self.folder is not None:
            name = _UNSAFE.sub("_", message_id.strip("<>"))[:150] or "message"
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-")
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, self.folder / f"{serial:06d}-{name}.eml")
        if self.on_message is not None:
            self.on_message(received)

    def by_recipient(self) -> dict[str, list[Received]]:
        found: dict[str, list[Received]] = defaultdict(list)
        with self._lock:
            for received in self.messages:
                for rcpt in received.rcpt_tos:
                    found[rcpt.lower()].append(received)
        return dict(found)

    def start(self) -> SmtpSink:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` right now."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, sink: subprocess.Popen[bytes], seconds: float = 20) -> None:
    """Return once a sink process answers on 127.0.0.1:``port``; SystemExit if it exits
    first or does not answer within ``seconds`` (the benchmarks' sink start)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if sink.poll() is not None:
            raise SystemExit("the sink exited at start")
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("the sink did not start")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/smtp_sink.py", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2525)
    parser.add_argument("--dir", type=Path, default=None, help="folder for received .eml files")
    parser.add_argument("--count-only", action="store_true", help="keep nothing, count")
    args = parser.parse_args(argv)
    if args.dir is None and not args.count_only:
        parser.error("give --dir DIR (where received messages go) or --count-only")
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    sink = SmtpSink(args.host, args.port, folder=None if args.count_only else args.dir, keep=False)
    try:
        sink.start()
    except (OSError, RuntimeError) as exc:
        print(f"error: cannot listen on {args.host}:{args.port} ({exc})", file=sys.stderr)
        return 1
    where = "counting only" if args.count_only else f"writing to {args.dir}"
    print(f"SMTP sink listening on {args.host}:{args.port}, {where}", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        sink.stop()
        print(f"SMTP sink stopped: {sink.count} messages received", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
