"""An ASGI app (``digest serve``'s, or any other) on real uvicorn, 127.0.0.1 and a free
port, with an httpx client on it: for the tests that go over HTTP."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn

from tools.smtp_sink import free_port


@contextmanager
def serving(app: Any, *, port: int | None = None, **client_options: Any) -> Iterator[httpx.Client]:
    """A client whose ``base_url`` is ``app`` served in a thread; the server stops at exit.
    ``port``: one the test chose beforehand (``free_port()``, when the app's config names
    its own URL), else a free one; ``client_options`` go to ``httpx.Client``."""
    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:  # a start-up wait, not a timing assertion
        if not thread.is_alive():
            raise RuntimeError(f"uvicorn did not start on 127.0.0.1:{port}")
        time.sleep(0.01)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", **client_options) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(10)
