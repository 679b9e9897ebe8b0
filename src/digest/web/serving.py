"""Running an app of the package with uvicorn: ``digest serve`` and ``digest preview --serve``.

The listening socket is opened here, before uvicorn, so that a port in use or a host that
does not resolve is one ``DigestError`` line, not uvicorn's log lines and its exit status 3.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp

from digest.errors import DigestError

__all__ = ["TRUSTED_PROXY", "listen", "run", "url_of", "uvicorn_config"]

# The one address whose ``X-Forwarded-For`` uvicorn believes (the proxy on this host), unless
# ``FORWARDED_ALLOW_IPS`` names others. uvicorn's own default adds ``::1``; the docs say
# 127.0.0.1 only, and so does the code.
TRUSTED_PROXY = "127.0.0.1"


def listen(host: str, port: int) -> socket.socket:
    """A socket listening on ``host:port`` (0: a free port); ``DigestError`` when it
    cannot be opened."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        listener = socket.create_server((host, port), family=family)
        # Accepted connections inherit it. asyncio sets it only on sockets made with
        # IPPROTO_TCP, which create_server's are not: without it, every answer of more than
        # one write waited ~40 ms for the client's delayed ACK.
        listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return listener
    except (OSError, OverflowError) as exc:
        reason = (getattr(exc, "strerror", None) or str(exc)).split(" (while ")[0]
        raise DigestError(f"cannot listen on {host}:{port}: {reason}") from exc


def url_of(listener: socket.socket) -> str:
    """The base URL of a listening socket, ``http://host:port/``."""
    bound = listener.getsockname()
    shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
    return f"http://{shown}:{bound[1]}/"


def uvicorn_config(app: ASGIApp, log_level: str = "info") -> Any:
    """uvicorn's settings for ``app``: no access log, and ``X-Forwarded-For`` believed from
    ``TRUSTED_PROXY`` only (or ``FORWARDED_ALLOW_IPS``, when set)."""
    import uvicorn  # deferred: only the serving commands need it

    return uvicorn.Config(
        app,
        log_level=log_level,
        access_log=False,  # tokens are in the paths: keep them out of the logs
        forwarded_allow_ips=os.environ.get("FORWARDED_ALLOW_IPS") or TRUSTED_PROXY,
    )


def run(
    app: ASGIApp,
    listener: socket.socket,
    *,
    on_ready: Callable[[str], None] | None = None,
    log_level: str = "info",
) -> None:
    """Serve ``app`` on ``listener`` until interrupted (Ctrl-C); ``on_ready`` gets the base
    URL once the port is open; ``log_level`` is uvicorn's."""
    import uvicorn

    server = uvicorn.Server(uvicorn_config(app, log_level))
    with listener:
        if on_ready is not None:
            on_ready(url_of(listener))
        # uvicorn shuts down on Ctrl-C, then raises it again: that is how a server stops.
        with contextlib.suppress(KeyboardInterrupt):
            server.run(sockets=[listener])
