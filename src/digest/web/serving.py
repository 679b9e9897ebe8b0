"""Running an app of the package with uvicorn: ``digest serve`` and ``digest preview --serve``.

The listening socket is opened here, before uvicorn, so that a port in use or a host that
does not resolve is one ``DigestError`` line, not uvicorn's log lines and its exit status 3.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable

from starlette.types import ASGIApp

from digest.errors import DigestError

__all__ = ["listen", "run", "url_of"]


def listen(host: str, port: int) -> socket.socket:
    """A socket listening on ``host:port`` (0: a free port); ``DigestError`` when it
    cannot be opened."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        return socket.create_server((host, port), family=family)
    except (OSError, OverflowError) as exc:
        reason = (getattr(exc, "strerror", None) or str(exc)).split(" (while ")[0]
        raise DigestError(f"cannot listen on {host}:{port}: {reason}") from exc


def url_of(listener: socket.socket) -> str:
    """The base URL of a listening socket, ``http://host:port/``."""
    bound = listener.getsockname()
    shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
    return f"http://{shown}:{bound[1]}/"


def run(
    app: ASGIApp,
    listener: socket.socket,
    *,
    on_ready: Callable[[str], None] | None = None,
    log_level: str = "info",
) -> None:
    """Serve ``app`` on ``listener`` until interrupted (Ctrl-C); ``on_ready`` gets the base
    URL once the port is open; ``log_level`` is uvicorn's."""
    import uvicorn  # deferred: only the serving commands need it

    server = uvicorn.Server(
        uvicorn.Config(
            app,
            log_level=log_level,
            access_log=False,  # tokens are in the paths: keep them out of the logs
        )
    )
    with listener:
        if on_ready is not None:
            on_ready(url_of(listener))
        # uvicorn shuts down on Ctrl-C, then raises it again: that is how a server stops.
        with contextlib.suppress(KeyboardInterrupt):
            server.run(sockets=[listener])
