"""``digest serve``: one-click unsubscribe (RFC 8058) and the archive, on Starlette.

- ``GET /u/<token>`` shows a confirmation page with a button. It never unsubscribes by
  itself: mail scanners and link previewers follow every link in a message.
- ``POST /u/<token>`` with the body ``List-Unsubscribe=One-Click`` (urlencoded or
  multipart, RFC 8058) unsubscribes at once and answers 200 with a short page, no
  redirect. That is both the page's button (a form with that one field) and the
  request a mail provider sends for ``List-Unsubscribe-Post``. A POST without that
  field (an empty one, a scanner's) changes nothing: 400.
- A token that is malformed, forged, signed for another address or for an earlier
  subscription, or that names no subscriber gets one answer, the same status and body,
  so that the answers never tell which ids exist; nothing changes.
- ``/archive/`` serves ``data_dir/archive`` (written by ``digest run`` after each send and
  by ``digest archive``): a page that is not there is 404, never an error, and an archive
  not written yet answers with an empty index.
- Every response, whatever route made it (errors included), carries the security
  headers of ``SECURITY_HEADERS``: a Content-Security-Policy that allows no script at
  all, ``nosniff``, no framing, no referrer.
- ``/subscribe`` and ``/subscribe/confirm/<token>``: sign-up with double opt-in
  (``digest.web.signup``); ``/p/<token>``: the preferences page of every message's
  footer (``digest.web.preferences``).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from digest.config import Config
from digest.errors import DigestError
from digest.models import Subscriber
from digest.publish.archive import archive_file, archive_folder
from digest.signed import read_token, secret_key, verify_token
from digest.store import Database, open_store
from digest.store.subscribers import SubscriberStore
from digest.web.preferences import preferences_routes
from digest.web.signup import signup_routes

__all__ = ["SECURITY_HEADERS", "SecurityHeaders", "create_app", "serve"]

log = logging.getLogger(__name__)

# On every response. Styles may be inline (the pages' <style>, the archive's inlined
# CSS); scripts may not exist at all; images only from https (the archive's pictures).
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:;"
        " form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
# The one-click body (RFC 8058), and the most of a POST body that is read to find it.
ONE_CLICK = ("List-Unsubscribe", "One-Click")
MAX_POST_BYTES = 4096
MAX_POST_SECONDS = 10.0  # the most that body may take to arrive (a trickle is refused)

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
        headers={"Cache-Control": "no-store"},
    )


def _not_valid() -> HTMLResponse:
    """The one answer to every token that does not unsubscribe anyone."""
    return _page("Invalid link", "<p>This unsubscribe link is not valid.</p>", 400)


class SecurityHeaders:
    """ASGI middleware: ``SECURITY_HEADERS`` on every HTTP response of the app it wraps
    (a header a route set itself is kept)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


class _App(Starlette):
    """Starlette with ``SecurityHeaders`` outside everything, even the 500 page of its
    error middleware: routes added later get the headers too."""

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeaders(super().build_middleware_stack())


async def _one_click(request: Request) -> bool:
    """Whether the POST body carries ``List-Unsubscribe=One-Click`` (urlencoded or
    multipart, at most ``MAX_POST_BYTES``)."""
    length = request.headers.get("content-length", "")
    if not length.isascii() or not length.isdigit() or int(length) > MAX_POST_BYTES:
        return False  # no length (chunked), or too long: not a one-click request
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return False

    async def read() -> bool:
        async with request.form(max_files=0, max_fields=8, max_part_size=MAX_POST_BYTES) as form:
            return form.get(ONE_CLICK[0]) == ONE_CLICK[1]

    try:
        return await asyncio.wait_for(read(), MAX_POST_SECONDS)
    except HTTPException:
        return False  # a body that does not parse
    except TimeoutError:
        log.info("unsubscribe: a body took longer than %g s to arrive", MAX_POST_SECONDS)
        return False


def create_app(
    config: Config, *, db: Database | None = None, key: bytes | None = None
) -> Starlette:
    """The ASGI app. ``db`` defaults to the configured store, ``key`` to the secret."""
    database = db if db is not None else open_store(config)
    store = SubscriberStore(database)
    hmac_key = key if key is not None else secret_key(config.server.secret_env)
    title = config.newsletter.title

    def subscriber_for(token: str) -> Subscriber | Response:
        subscriber_id = read_token(token)
        if subscriber_id is None:
            return _not_valid()
        subscriber = store.get(subscriber_id)
        if subscriber is None:
            # The same HMAC work as for a known id, so that time does not tell either.
            verify_token(hmac_key, token, "unknown@invalid")
            return _not_valid()
        if not verify_token(hmac_key, token, subscriber.email, subscriber.token_version):
            log.warning("unsubscribe: a forged, altered or revoked token for a subscriber")
            return _not_valid()
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

    async def unsubscribe(request: Request) -> Response:
        found = subscriber_for(request.path_params["token"])
        if not isinstance(found, Subscriber):
            return found
        if not await _one_click(request):
            return _page(
                "Nothing changed",
                "<p>This request did not ask to unsubscribe: open the link and use the"
                " Unsubscribe button.</p>",
                400,
            )
        if store.unsubscribe(found.id):
            log.info("subscriber %d unsubscribed", found.id)
        return _page(
            "Unsubscribed",
            f"<p>Done: {html.escape(found.email)} will no longer receive {html.escape(title)}.</p>",
        )

    def health(request: Request) -> Response:
        return PlainTextResponse("ok")

    def index(request: Request) -> Response:
        return RedirectResponse("/archive/")

    archive = archive_folder(config)

    def archive_page(request: Request) -> Response:
        name = request.path_params.get("name", "")
        found = archive_file(archive, name)
        if found is not None:
            kind = "application/atom+xml" if found.suffix == ".xml" else "text/html"
            return FileResponse(found, media_type=kind)
        if name in ("", "index.html"):  # nothing sent yet: an empty archive, not an error
            return _page(f"{title}: archive", "<p>No editions yet.</p>")
        return _page("Not found", "<p>There is no such page in the archive.</p>", 404)

    routes = [
        Route("/", index),
        Route("/healthz", health),
        Route("/u/{token}", confirm, methods=["GET"]),
        Route("/u/{token}", unsubscribe, methods=["POST"]),
        Route("/archive", lambda request: RedirectResponse("/archive/")),
        Route("/archive/{name:path}", archive_page),
        # The subscriber's pages (digest.web): sign-up with double opt-in, preferences.
        *signup_routes(config, database, hmac_key),
        *preferences_routes(config, database, hmac_key),
    ]
    return _App(routes=routes)


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
