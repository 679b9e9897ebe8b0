"""A real HTTP server on loopback that serves files by path (404 for anything else) and
counts the requests per path: the feeds, pages and pictures of the tests that fetch."""

from __future__ import annotations

import contextlib
import http.server
import threading
from collections.abc import Iterator


class StaticSite:
    """Files by path on 127.0.0.1 (404 for anything else), counting requests by path."""

    def __init__(self, files: dict[str, tuple[bytes, str]]) -> None:
        self.files = files
        self.hits: dict[str, int] = {}
        served = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                served.hits[self.path] = served.hits.get(self.path, 0) + 1
                body, kind = served.files.get(self.path, (b"not found", "text/plain"))
                self.send_response(200 if self.path in served.files else 404)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@contextlib.contextmanager
def static_site(files: dict[str, tuple[bytes, str]]) -> Iterator[StaticSite]:
    server = StaticSite(files)
    try:
        yield server
    finally:
        server.close()
