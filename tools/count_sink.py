"""A fast counting SMTP sink for the scale benchmark: accepts every message, keeps none.

aiosmtpd (``tools/smtp_sink.py``) reads DATA line by line in Python, a few milliseconds for
a 60 kB newsletter: at a few hundred messages a second it, not the senders, is what a
many-worker benchmark measures. This sink speaks just enough SMTP for a client that
behaves (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT; 8BITMIME and SMTPUTF8 announced,
no pipelining) and finds the end of DATA with ``bytes.find``. It never relays and never
writes anything.

    python tools/count_sink.py --port 2525     # prints the count on SIGTERM/SIGINT
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

__all__ = ["main"]

MAX_LINE = 4096  # a command line longer than this closes the connection
MAX_MESSAGE = 64 << 20  # bytes of DATA per message


class _Session(asyncio.Protocol):
    count = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.buffer = bytearray()
        self.in_data = False
        transport.write(b"220 count-sink ESMTP\r\n")

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.buffer:
            if self.in_data:
                end = self.buffer.find(b"\r\n.\r\n")
                if end < 0:
                    if len(self.buffer) > MAX_MESSAGE:
                        self.transport.close()
                        self.buffer.clear()
                    return
                del self.buffer[: end + 5]
                self.in_data = False
                _Session.count += 1
                self.transport.write(b"250 2.0.0 OK counted\r\n")
                continue
            end = self.buffer.find(b"\r\n")
            if end < 0:
                if len(self.buffer) > MAX_LINE:
                    self.transport.close()
                    self.buffer.clear()
                return
            line = bytes(self.buffer[:end])
            del self.buffer[: end + 2]
            self._command(line)

    def _command(self, line: bytes) -> None:
        verb = line[:4].upper()
        if verb == b"EHLO":
            self.transport.write(b"250-count-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
        elif verb == b"DATA":
            self.in_data = True
            # A message whose DATA starts with the terminator ("\r\n.\r\n" right away).
            self.buffer[:0] = b"\r\n"
            self.transport.write(b"354 go ahead\r\n")
        elif verb == b"QUIT":
            self.transport.write(b"221 bye\r\n")
            self.transport.close()
        elif verb in (b"HELO", b"MAIL", b"RCPT", b"RSET", b"NOOP"):
            self.transport.write(b"250 OK\r\n")
        else:
            self.transport.write(b"502 5.5.2 not implemented\r\n")


async def _serve(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Session, host, port, backlog=512)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    asyncio.run(_serve(args.host, args.port))
    print(f"count sink stopped: {_Session.count} messages received", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
