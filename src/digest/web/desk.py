"""``digest preview --serve``: the editor's desk, on Starlette.

``GET /`` is the preview (``digest.publish.preview``) with the desk's forms in it (drop,
pin first, up, down, a new headline, a rewritten key point per story; promote on each
More news and left-out line; the editor's note) and a small script that polls
``GET /version`` and reloads the page when the templates or the store change; ``GET
/text`` is the text version. Each form POSTs to ``/act`` with the app's CSRF token;
``read_action_form`` checks what comes back before anything acts on it.

Its protections are middleware of the app (``DeskGuard`` and ``SecurityHeaders``): only
this machine's own pages are answered (a DNS-rebound name reads nothing, neither the
unpublished edition nor the token); a POST must come from a loopback address, name this
server as its host and origin, and carry a form of at most ``MAX_FORM_BYTES``; and no
answer may be framed (``FRAMING_HEADERS``).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import lxml.etree
import lxml.html
from lxml.html import HtmlElement
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from digest.config import Config
from digest.edition.actions import sent_already
from digest.errors import DigestError, RenderError
from digest.models import DeskAction, DeskActionKind, Edition
from digest.pipeline.act import act
from digest.pipeline.build import LoadedEdition
from digest.pipeline.options import page_settings
from digest.publish.preview import preview_page, preview_text
from digest.publish.render import bundled_templates
from digest.web.app import SecurityHeaders
from digest.web.forms import parse_form, read_body
from digest.web.pages import render, template_module

__all__ = [
    "ACTIONS",
    "FRAMING_HEADERS",
    "MAX_FORM_BYTES",
    "ActionForm",
    "Desk",
    "DeskGuard",
    "act_on_form",
    "add_desk_controls",
    "create_desk_app",
    "read_action_form",
    "watch_stamp",
    "watched_paths",
]

log = logging.getLogger(__name__)

MAX_FORM_BYTES = 16_384  # a form with a rewritten key point is well under this
ACTIONS: frozenset[str] = frozenset(
    {"drop", "pin", "move", "swap", "promote", "edit-point", "headline", "note", "unrelate"}
)
# No other site may frame the desk: a framed desk's buttons could be clicked for the
# editor by a page laid over them (clickjacking), each POST then same-origin with its token.
FRAMING_HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}
_LOOPBACK = ("127.0.0.1", "::1")
_NUMBER = re.compile(r"\d{1,4}")


# --- the forms in the page, and what they post ------------------------------------------------


def _fragment(markup: str) -> HtmlElement:
    element: HtmlElement = lxml.html.fragment_fromstring(markup)
    return element


def _classes(element: HtmlElement) -> list[str]:
    return (element.get("class") or "").split()


def _add_promotes(doc: HtmlElement, edition: Edition, token: str, controls: Any) -> None:
    """A promote button on each More news line and each left-out line that has one."""
    items = [li for li in doc.iter("li") if "more-item" in _classes(li)]
    for item, headline in zip(items, edition.more_news, strict=False):
        item.append(_fragment(controls.promote(token, headline.article_id)))
    left = doc.get_element_by_id("digest-left-out", None)
    if left is None:
        return
    entries = [li for li in left.iter("li") if li.getparent().getparent() is left]
    # The panel lists the stories a cap gave way for apart ("Caps relaxed"): they are in
    # the edition, with nothing to promote.
    still_out = [item for item in edition.left_out if item.kind != "cap_relaxed"]
    for entry, out in zip(entries, still_out, strict=False):
        if sent_already(edition, out.article_id) is not None:
            continue  # subscribers had it: only `promote --resend` on the CLI sends it again
        entry.append(_fragment(controls.promote(token, out.article_id)))


def add_desk_controls(page: str, edition: Edition, token: str) -> str:
    """``page`` (a preview with the editor's panel) with the desk's forms in it."""
    try:
        doc = lxml.html.document_fromstring(page)
    except (ValueError, lxml.etree.ParserError) as exc:
        raise RenderError(f"the preview does not parse: {exc}") from exc
    controls = template_module("desk_controls.html.j2")
    count = len(edition.stories)
    cells = [td for td in doc.iter("td") if "story" in _classes(td)]
    for index, cell in enumerate(cells[:count]):
        story = edition.stories[index]
        cell.insert(0, _fragment(controls.toolbar(token, story, index, count)))
    _add_promotes(doc, edition, token, controls)
    panel = doc.get_element_by_id("digest-editor-panel", None)
    if panel is not None:
        panel.insert(1, _fragment(controls.note(token, edition.note)))
    out: str = lxml.html.tostring(doc, encoding="unicode", doctype="<!DOCTYPE html>")
    return out


@dataclass(frozen=True, slots=True)
class ActionForm:
    kind: DeskActionKind
    article_id: str = ""
    other_id: str = ""
    position: int | None = None
    text: str = ""


def read_action_form(body: bytes, token: str) -> ActionForm:
    """The action a desk form posted; ``RenderError`` for a body that is too large, not
    urlencoded UTF-8, without the right CSRF token, or naming no known action."""
    if len(body) > MAX_FORM_BYTES:
        raise RenderError(f"the form is over {MAX_FORM_BYTES} bytes")
    fields = parse_form(body, strict=True)
    if fields is None:
        raise RenderError("the form does not parse (urlencoded UTF-8, at most 20 fields)")
    sent = fields.get("csrf", "")
    if not token or not hmac.compare_digest(sent.encode(), token.encode()):
        raise RenderError("the form's CSRF token is missing or wrong (reload the page)")
    kind = fields.get("action", "")
    if kind not in ACTIONS:
        raise RenderError(f"unknown action {kind[:40]!r}")
    raw = fields.get("position", "").strip()
    if raw and not _NUMBER.fullmatch(raw):
        raise RenderError(f"position {raw[:20]!r} is not a number")
    return ActionForm(
        kind=kind,  # type: ignore[arg-type]
        article_id=fields.get("id", ""),
        other_id=fields.get("other", ""),
        position=int(raw) if raw else None,
        text=fields.get("text", ""),
    )


def act_on_form(config: Config, day: date, form: ActionForm, editor: str) -> str:
    """A desk form, as ``digest edition <action>``: the panel's line for what it did."""
    action = DeskAction(
        kind=form.kind,
        editor=editor,
        at=datetime.now(UTC),
        article_id=form.article_id,
        other_id=form.other_id,
        position=form.position,
        text=form.text,
    )
    return act(config, day, action).entry.line


# --- the desk: what its routes show and do ----------------------------------------------------


def watched_paths(config: Config) -> list[Path]:
    """What reloads the served preview when it changes: the package's templates when they
    are files on disk (they change as one edits an editable checkout), the override folder
    (``newsletter.templates``), and the store's file (and its write-ahead log)."""
    bundled = bundled_templates()
    paths = [bundled] if isinstance(bundled, Path) else []
    if config.newsletter.templates:
        paths.append(Path(config.base_dir, config.newsletter.templates).expanduser())
    store = config.store_path
    if isinstance(store, Path):
        paths += [store, store.with_name(store.name + "-wal")]
    return paths


def watch_stamp(paths: Iterable[Path]) -> str:
    """A short digest of the names, sizes and modification times of ``paths`` (files, or
    the files directly in folders): it changes when any of them does."""
    parts: list[str] = []
    for path in paths:
        files = sorted(path.iterdir()) if path.is_dir() else [path]
        for file in files:
            try:
                info = file.stat()
            except FileNotFoundError:
                continue
            parts.append(f"{file}:{info.st_size}:{info.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _with_reload(page: str, stamp: str) -> str:
    script = render("reload.html.j2", stamp=stamp)
    at = page.lower().rfind("</body>")
    return page[:at] + script + page[at:] if at >= 0 else page + script


@dataclass
class Desk:
    """The served preview of one edition: ``load`` gives the current edition and its
    key-point sentences (it runs on each page request, so an edition rebuilt in the store
    shows up on the next reload); with ``act``, the page carries the desk's forms."""

    config: Config
    load: Callable[[], LoadedEdition]
    act: Callable[[ActionForm], str] | None = None
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    watched: Iterable[Path] = ()

    def __post_init__(self) -> None:
        self.watched = list(self.watched) or watched_paths(self.config)

    def stamp(self) -> str:
        return watch_stamp(self.watched)

    def page(self) -> str:
        loaded = self.load()
        edition = loaded.edition
        page = preview_page(
            page_settings(self.config),
            edition,
            sentences=loaded.sentences,
            source_alarms=loaded.source_alarms,
            teaser_notes=loaded.teaser_notes,
        ).html
        if self.act is not None:
            page = add_desk_controls(page, edition, self.csrf)
        return _with_reload(page, self.stamp())

    def text(self) -> str:
        return preview_text(page_settings(self.config), self.load().edition)

    def post_action(self, body: bytes) -> str:
        """Run the action a desk form posted; ``DigestError`` when it is refused."""
        if self.act is None:
            raise RenderError("this preview has no desk")
        return self.act(read_action_form(body, self.csrf))


# --- its protections, as middleware -----------------------------------------------------------


def _own_hosts(scope: Scope) -> set[str]:
    port = (scope.get("server") or ("", 0))[1]
    return {f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"}


class DeskGuard:
    """ASGI middleware: the desk answers this machine's own pages only.

    Every request must name this server as its host (a DNS-rebound name, another site's
    page whose name now resolves to 127.0.0.1, reads nothing); a POST must also come from
    a loopback address, name this server as its origin when it names one, and carry a
    ``Content-Length`` of at most ``MAX_FORM_BYTES``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refused = self.refusal(Request(scope))
            if refused is not None:
                await refused(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def refusal(self, request: Request) -> Response | None:
        hosts = _own_hosts(request.scope)
        own = request.headers.get("host", "") in hosts
        if request.method != "POST":
            if own:
                return None
            return PlainTextResponse("the preview answers this machine's pages only", 403)
        origin = request.headers.get("origin")
        loopback = request.client is not None and request.client.host in _LOOPBACK
        same_origin = origin is None or origin.removeprefix("http://") in hosts
        if not (loopback and own and same_origin):
            return PlainTextResponse("the desk answers this machine's pages only", 403)
        return _size_refusal(request.headers.get("content-length", ""))


def _size_refusal(length: str) -> Response | None:
    if not length.isascii() or not length.isdigit():
        return PlainTextResponse("a form needs a Content-Length", 411)
    if int(length) > MAX_FORM_BYTES:
        return PlainTextResponse(f"a form is at most {MAX_FORM_BYTES} bytes", 413)
    return None


# --- the routes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Routes:
    desk: Desk

    def failed(self, exc: DigestError) -> Response:
        log.warning("preview: %s", exc)
        return HTMLResponse(
            render("desk_failed.html.j2", error=str(exc), stamp=self.desk.stamp()), 500
        )

    def page(self, request: Request) -> Response:
        try:
            return HTMLResponse(self.desk.page())
        except DigestError as exc:
            return self.failed(exc)

    def text(self, request: Request) -> Response:
        try:
            return PlainTextResponse(self.desk.text())
        except DigestError as exc:
            return self.failed(exc)

    def version(self, request: Request) -> Response:
        return PlainTextResponse(self.desk.stamp())

    async def act(self, request: Request) -> Response:
        body = await read_body(request, MAX_FORM_BYTES)
        try:
            if body is None:
                raise RenderError(f"the form is over {MAX_FORM_BYTES} bytes or too slow")
            self.desk.post_action(body)
        except DigestError as exc:
            log.info("desk: %s", exc)
            return HTMLResponse(render("desk_refused.html.j2", error=str(exc)), 400)
        return RedirectResponse("/", 303)


async def _not_found(request: Request, exc: Exception) -> Response:
    return PlainTextResponse("not found", 404)


class _DeskApp(Starlette):
    """Starlette with the desk's guard and headers outside everything (errors included)."""

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeaders(DeskGuard(super().build_middleware_stack()), FRAMING_HEADERS)


def create_desk_app(desk: Desk) -> Starlette:
    """The desk's ASGI app (serve it on 127.0.0.1: ``digest preview --serve``)."""
    routes = _Routes(desk)
    return _DeskApp(
        routes=[
            Route("/", routes.page, methods=["GET"]),
            Route("/text", routes.text, methods=["GET"]),
            Route("/version", routes.version, methods=["GET"]),
            Route("/act", routes.act, methods=["POST"]),
        ],
        exception_handlers={404: _not_found, 405: _not_found},
    )
