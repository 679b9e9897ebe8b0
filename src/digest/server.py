"""``digest serve``: one-click unsubscribe (RFC 8058) and the archive, on Starlette.

- ``GET /u/<token>`` shows a confirmation page with a button. It never unsubscribes by
  itself: mail scanners and link previewers follow every link in a message.
- ``POST /u/<token>`` unsubscribes at once and answers 200 with a short page, no
  redirect. That is both the page's button and the ``List-Unsubscribe-Post:
  List-Unsubscribe=One-Click`` request a mail provider sends; the token is the
  authority, so the body is not needed (RFC 8058 allows urlencoded or multipart).
- A token that is malformed or signed for another address is 400, one naming no
  subscriber 404; nothing changes.
- ``/archive/`` serves ``data_dir/archive`` (written by ``digest archive``).
- ``/subscribe`` and ``/subscribe/confirm/<token>``: sign-up with double opt-in
  (``digest.web.signup``); ``/p/<token>``: the preferences page of every message's
  footer (``digest.web.preferences``).
"""

from __future__ import annotations

import contextlib
import html
import logging
from collections.abc import Callable
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from digest.config import Config
from digest.errors import DigestError
from digest.models import Subscriber
from digest.publish.tokens import read_token, secret_key, verify_token
from digest.store import Database, open_database
from digest.store.subscribers import SubscriberStore
from digest.web.preferences import preferences_routes
from digest.web.signup import signup_routes

__all__ = ["create_app", "serve"]

log = logging.getLogger(__name__)

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{title}</title>
<style>
body {{ font: 17px/1.5 system-ui, sans-serif; max-width: 32rem; margin: 4rem auto;
       padding: 0 1rem; color: #1a1a1a; background: #fff; }}
button {{ font: inherit; padding: .6rem 1.2rem; border: 0; border-radius: .3rem;
         background: #1a1a1a; color: #fff; cursor: pointer; }}
@media (prefers-color-scheme: dark) {{ body {{ background: #111; color: #eee; }}
  button {{ background: #eee; color: #111; }} }}
</style></head>
<body><main><h1>{title}</h1>{body}</main></body></html>
"""


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        _PAGE.format(title=html.escape(title), body=body),
        status_code=status,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def create_app(
    config: Config, *, db: Database | None = None, key: bytes | None = None
) -> Starlette:
    """The ASGI app. ``db`` defaults to the configured store, ``key`` to the secret."""
    database = db if db is not None else open_database(config.store_path)
    store = SubscriberStore(database)
    hmac_key = key if key is not None else secret_key(config)
    title = config.newsletter.title

    def subscriber_for(token: str) -> Subscriber | Response:
        subscriber_id = read_token(token)
        if subscriber_id is None:
            return _page("Invalid link", "<p>This unsubscribe link is not valid.</p>", 400)
        subscriber = store.get(subscriber_id)
        if subscriber is None:
            return _page("Unknown link", "<p>This link names no subscriber.</p>", 404)
        if not verify_token(hmac_key, token, subscriber.email):
            log.warning("unsubscribe: a forged or altered token for subscriber %d", subscriber_id)
            return _page("Invalid link", "<p>This unsubscribe link is not valid.</p>", 400)
        return subscriber

    def confirm(request: Request) -> Response:
        found = subscriber_for(request.path_params["token"])
        if not isinstance(found, Subscriber):
            return found
        if found.state != "active":
            return _page("Unsubscribed", f"<p>You no longer receive {html.escape(title)}.</p>")
        body = (
            f"<p>Stop sending {html.escape(title)} to"
            f" <strong>{html.escape(found.email)}</strong>?</p>"
            '<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">'
            "<button type=submit>Unsubscribe</button></form>"
        )
        return _page("Unsubscribe", body)

    def unsubscribe(request: Request) -> Response:
        found = subscriber_for(request.path_params["token"])
        if not isinstance(found, Subscriber):
            return found
        if store.set_state(found.id, "unsubscribed"):
            log.info("subscriber %d unsubscribed", found.id)
        return _page(
            "Unsubscribed",
            f"<p>Done: {html.escape(found.email)} will no longer receive {html.escape(title)}.</p>",
        )

    def health(request: Request) -> Response:
        return PlainTextResponse("ok")

    def index(request: Request) -> Response:
        return RedirectResponse("/archive/")

    archive = Path(config.data_path, "archive")
    routes = [
        Route("/", index),
        Route("/healthz", health),
        Route("/u/{token}", confirm, methods=["GET"]),
        Route("/u/{token}", unsubscribe, methods=["POST"]),
        Mount("/archive", StaticFiles(directory=archive, html=True, check_dir=False)),
        # The subscriber's pages (digest.web): sign-up with double opt-in, preferences.
        *signup_routes(config, database, hmac_key),
        *preferences_routes(config, database, hmac_key),
    ]
    return Starlette(routes=routes)


def serve(
    config: Config,
    host: str | None = None,
    port: int | None = None,
    *,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Run the app with uvicorn until interrupted; ``on_ready`` gets the base URL once the
    port is open.

    The listening socket is opened here, so that a port in use or a host that does not
    resolve is one ``DigestError`` line, not uvicorn's log lines and its exit status 3.
    """
    import socket

    import uvicorn

    host = host or config.server.host
    port = config.server.port if port is None else port
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        listener = socket.create_server((host, port), family=family)
    except (OSError, OverflowError) as exc:
        reason = (getattr(exc, "strerror", None) or str(exc)).split(" (while ")[0]
        raise DigestError(f"cannot listen on {host}:{port}: {reason}") from exc
    app = create_app(config)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            log_level="info",
            access_log=False,  # tokens are in the paths: keep them out of the logs
        )
    )
    with listener:
        if on_ready is not None:
            bound = listener.getsockname()
            shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
            on_ready(f"http://{shown}:{bound[1]}/")
        # uvicorn shuts down on Ctrl-C, then raises it again: that is how a server stops.
        with contextlib.suppress(KeyboardInterrupt):
            server.run(sockets=[listener])
