"""``digest serve``: every page a subscriber reads, on Starlette.

- ``/u/<token>``: one-click unsubscribe (RFC 8058, ``digest.web.unsubscribe``).
- ``/subscribe`` and ``/subscribe/confirm/<token>``: sign-up with double opt-in
  (``digest.web.signup``); ``/p/<token>``: the preferences page of every message's
  footer (``digest.web.preferences``).
- ``/archive/`` serves ``data_dir/archive`` (written by ``digest run`` after each send and
  by ``digest archive``): a page that is not there is 404, never an error, and an archive
  not written yet answers with an empty index.
- ``/healthz`` answers ``ok``.
- No slash redirects: ``/subscribe/`` is 404. Starlette's would build ``Location`` from
  the request's ``Host`` header, and a foreign one would be sent back to the browser.
- Every response, whatever route made it (errors included), carries the security
  headers of ``SECURITY_HEADERS``: a Content-Security-Policy that allows no script at
  all, ``nosniff``, no framing, no referrer.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from digest.config import Config, NewsletterOptions
from digest.pipeline.archive import archive_folder
from digest.pipeline.options import open_store
from digest.publish.archive import archive_file
from digest.signed import secret_key
from digest.store import Database
from digest.web.pages import plain_page, words
from digest.web.preferences import preferences_routes
from digest.web.serving import listen, run
from digest.web.signup import signup_routes
from digest.web.unsubscribe import unsubscribe_routes

__all__ = ["SECURITY_HEADERS", "SecurityHeaders", "create_app", "serve"]

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


class SecurityHeaders:
    """ASGI middleware: ``SECURITY_HEADERS`` on every HTTP response of the app it wraps
    (a header a route set itself is kept)."""

    def __init__(self, app: ASGIApp, headers: dict[str, str] = SECURITY_HEADERS) -> None:
        self.app = app
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


class _App(Starlette):
    """Starlette with ``SecurityHeaders`` outside everything, even the 500 page of its
    error middleware: routes added later get the headers too."""

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeaders(super().build_middleware_stack())


def _redirect_to_archive(request: Request) -> Response:
    return RedirectResponse("/archive/")


def _health(request: Request) -> Response:
    return PlainTextResponse("ok")


_ARCHIVE_TYPES = {".xml": "application/atom+xml", ".jpg": "image/jpeg"}


def _archive_page(folder: Path, newsletter: NewsletterOptions) -> Callable[[Request], Response]:
    """The handler of ``/archive/<name>``: a file of ``folder``, an empty index when there
    is none yet, else 404."""
    t = words(newsletter)

    def page(heading: str, message: str, status: int = 200) -> Response:
        return plain_page(newsletter, "plain_message.html.j2", heading, status, message=message)

    def archive_page(request: Request) -> Response:
        name = request.path_params.get("name", "")
        found = archive_file(folder, name)
        if found is not None:
            kind = _ARCHIVE_TYPES.get(found.suffix, "text/html")
            return FileResponse(found, media_type=kind)
        if name in ("", "index.html"):  # nothing sent yet: an empty archive, not an error
            return page(t("archive_title"), t("no_editions"))
        return page(t("not_found_title"), t("not_found_body"), 404)

    return archive_page


def archive_routes(config: Config) -> list[Route]:
    """``/`` and ``/archive`` (redirects), ``/archive/<name>``, and ``/healthz``."""
    return [
        Route("/", _redirect_to_archive),
        Route("/healthz", _health),
        Route("/archive", _redirect_to_archive),
        Route("/archive/{name:path}", _archive_page(archive_folder(config), config.newsletter)),
    ]


def create_app(
    config: Config, *, db: Database | None = None, key: bytes | None = None
) -> Starlette:
    """The ASGI app. ``db`` defaults to the configured store, ``key`` to the secret."""
    database = db if db is not None else open_store(config)
    hmac_key = key if key is not None else secret_key(config.server.secret_env)
    routes = [
        *archive_routes(config),
        *unsubscribe_routes(config, database, hmac_key),
        *signup_routes(config, database, hmac_key),
        *preferences_routes(config, database, hmac_key),
    ]
    app = _App(routes=routes)
    app.router.redirect_slashes = False  # a redirect would echo the request's Host header
    return app


def serve(
    config: Config,
    host: str | None = None,
    port: int | None = None,
    *,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Run the app with uvicorn until interrupted; ``on_ready`` gets the base URL once the
    port is open."""
    listener = listen(host or config.server.host, config.server.port if port is None else port)
    try:
        app = create_app(config)
    except BaseException:
        listener.close()
        raise
    run(app, listener, on_ready=on_ready)
