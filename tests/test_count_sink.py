"""tools/count_sink.py: the scale benchmark's fast sink counts what smtplib sends it."""

from __future__ import annotations

import signal
import smtplib
import socket
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT
from tools.smtp_sink import free_port


@pytest.mark.slow
def test_the_count_sink_counts_whole_messages() -> None:
    port = free_port()
    sink = subprocess.Popen(
        [sys.executable, str(ROOT / "tools" / "count_sink.py"), "--port", str(port)],
        stdout=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the sink did not start"
                time.sleep(0.05)
        conn = smtplib.SMTP("127.0.0.1", port, timeout=10)
        bodies = [b"Subject: a\r\n\r\n.leading dot\r\n", b"Subject: b\r\n\r\n" + b"x" * 200_000]
        for body in [*bodies, "Subject: 中文\r\n\r\nنص عربي\r\n".encode()]:
            assert conn.sendmail("digest@example.org", ["ana@example.com"], body) == {}
        assert conn.noop()[0] == 250
        conn.quit()
    finally:
        sink.send_signal(signal.SIGTERM)
        out, _ = sink.communicate(timeout=30)
    assert b"3 messages received" in out
