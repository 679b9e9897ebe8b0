"""The editor's preview: the draft as subscribers will see it, plus an editor-only panel.

``preview_page`` renders an edition exactly as the mail is rendered (one premailer run),
fills the slots with neutral values, and inserts into a *copy* of the finished HTML the
editor panel (ranking, the source sentences behind each key point, what was left out and
why) and, when served, a small polling script that reloads the page when the templates or
the store change. Neither ever reaches a subscriber: both are added after ``render`` is
done, to the preview only.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from digest.config import Config
from digest.errors import DigestError, RenderError
from digest.models import Edition, RenderedEdition
from digest.publish.desk import MAX_FORM_BYTES, ActionForm, add_desk_controls, read_action_form
from digest.publish.public import for_no_one, public_html
from digest.publish.render import Renderer, bundled_templates

__all__ = [
    "PreviewServer",
    "PreviewWritten",
    "preview_page",
    "watch_stamp",
    "write_preview",
]

log = logging.getLogger(__name__)


def _renderer(config: Config) -> Renderer:
    return Renderer(config.newsletter, base_dir=config.base_dir, timezone=config.tz)


def _insert_after_body(document: str, fragment: str) -> str:
    lower = document.lower()
    start = lower.find("<body")
    end = lower.find(">", start)
    if start < 0 or end < 0:
        raise RenderError("the rendered HTML has no <body> to put the editor panel in")
    return document[: end + 1] + fragment + document[end + 1 :]


def _reload_script(stamp: str) -> str:
    # Preview only: polls /version and reloads when the server's stamp changes.
    poll = (
        "fetch('/version', {cache: 'no-store'}).then(function (r) { return r.text(); })"
        ".then(function (v) { if (v && v !== seen) { location.reload(); } })"
        ".catch(function () {});"
    )
    return (
        f"<script>(function () {{ var seen = {json.dumps(stamp)};"
        f" setInterval(function () {{ {poll} }}, 1000); }})();</script>"
    )


def preview_page(
    config: Config,
    edition: Edition,
    *,
    sentences: Mapping[str, Sequence[str]] | None = None,
    reload_stamp: str | None = None,
) -> tuple[str, RenderedEdition]:
    """The preview HTML (mail + editor panel [+ reload script]) and the rendered edition."""
    renderer = _renderer(config)
    rendered = renderer.render(edition)
    panel = renderer.editor_panel(edition, sentences, trimmed=rendered.trimmed)
    page = _insert_after_body(public_html(config, rendered), panel)
    if reload_stamp is not None:
        script = _reload_script(reload_stamp)
        at = page.lower().rfind("</body>")
        page = page[:at] + script + page[at:] if at >= 0 else page + script
    return page, rendered


@dataclass(frozen=True, slots=True)
class PreviewWritten:
    html: Path
    text: Path
    rendered: RenderedEdition


def write_preview(
    config: Config,
    edition: Edition,
    out: Path | None = None,
    *,
    sentences: Mapping[str, Sequence[str]] | None = None,
) -> PreviewWritten:
    """Write the preview HTML (default ``data_dir/previews/<edition>.html``) and the text
    version beside it (``.txt``)."""
    page, rendered = preview_page(config, edition, sentences=sentences)
    html_path = out if out is not None else config.data_path / "previews" / f"{edition.id}.html"
    text_path = html_path.with_suffix(".txt")
    filled_text = for_no_one(config, rendered).text
    try:
        html_path.parent.mkdir(parents=True, exist_ok=True)
        html_path.write_text(page, encoding="utf-8")
        text_path.write_text(filled_text, encoding="utf-8")
    except OSError as exc:
        raise RenderError(f"cannot write the preview to {html_path}: {exc.strerror}") from exc
    return PreviewWritten(html_path, text_path, rendered)


# --- the served preview -----------------------------------------------------------------------


def _template_folders(config: Config) -> list[Path]:
    """The folders whose changes reload the served preview: the package's templates when
    they are files on disk (they change as one edits an editable checkout) and the override
    folder, ``newsletter.templates``."""
    bundled = bundled_templates()
    folders = [bundled] if isinstance(bundled, Path) else []
    if config.newsletter.templates:
        folders.append(Path(config.base_dir, config.newsletter.templates).expanduser())
    return folders


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


# No other site may frame the preview: a framed desk's buttons could be clicked for the
# editor by a page laid over them (clickjacking), each POST then same-origin with its token.
FRAMING_HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
}


class PreviewServer:
    """Serves the preview on 127.0.0.1 and reloads it when templates or the store change.

    ``load`` gives the current edition and its key-point sentences; it runs on each page
    request, so an edition rebuilt in the store shows up on the next reload.
    """

    def __init__(
        self,
        config: Config,
        load: Callable[[], tuple[Edition, Mapping[str, Sequence[str]]]],
        *,
        port: int = 8030,
        host: str = "127.0.0.1",
        act: Callable[[ActionForm], str] | None = None,
    ) -> None:
        self.config = config
        self.load = load
        # The desk: with ``act``, the page carries the actions as forms that POST to /act.
        self.act = act
        self.csrf = secrets.token_urlsafe(32)
        store = config.store_path
        watched = _template_folders(config)
        if isinstance(store, Path):
            watched += [store, store.with_name(store.name + "-wal")]
        self.watched = watched
        handler = self._handler()
        try:
            self.httpd = ThreadingHTTPServer((host, port), handler)
        except OSError as exc:
            raise RenderError(f"cannot serve the preview on {host}:{port}: {exc.strerror}") from exc
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}/"

    def stamp(self) -> str:
        return watch_stamp(self.watched)

    def page(self) -> str:
        edition, sentences = self.load()
        page, _ = preview_page(self.config, edition, sentences=sentences, reload_stamp=self.stamp())
        return page if self.act is None else add_desk_controls(page, edition, self.csrf)

    def post_action(self, body: bytes) -> str:
        """Run the action a desk form posted; ``DigestError`` when it is refused."""
        if self.act is None:
            raise RenderError("this preview has no desk")
        return self.act(read_action_form(body, self.csrf))

    def _hosts(self) -> set[str]:
        port = self.httpd.server_address[1]
        return {f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"}

    def own_host(self, headers: Mapping[str, str]) -> bool:
        """Whether a request names this server as its host: a DNS-rebound name (another
        site's page whose name now resolves to 127.0.0.1) reads nothing, neither the
        unpublished edition nor the page's CSRF token."""
        return headers.get("Host", "") in self._hosts()

    def same_origin(self, headers: Mapping[str, str]) -> bool:
        """Whether a POST names this server as its host (and origin, when it names one):
        no other site's page, and no DNS-rebound name, can post to the desk."""
        origin = headers.get("Origin")
        return self.own_host(headers) and (
            origin is None or origin.removeprefix("http://") in self._hosts()
        )

    def text(self) -> str:
        edition, _ = self.load()
        return for_no_one(self.config, _renderer(self.config).render(edition)).text

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                routes: dict[str, tuple[Callable[[], str], str]] = {
                    "/": (server.page, "text/html"),
                    "/version": (server.stamp, "text/plain"),
                    "/text": (server.text, "text/plain"),
                }
                route = routes.get(self.path.split("?", 1)[0])
                if not server.own_host({k: v for k, v in self.headers.items()}):
                    self._send(403, "text/plain", "the preview answers this machine's pages only")
                    return
                if route is None:
                    self._send(404, "text/plain", "not found")
                    return
                make, kind = route
                try:
                    body = make()
                except DigestError as exc:
                    log.warning("preview: %s", exc)
                    body = f"<h1>Preview failed</h1><pre>{_escape(str(exc))}</pre>"
                    body += _reload_script(server.stamp())
                    self._send(500, "text/html", body)
                    return
                self._send(200, kind, body)

            def do_POST(self) -> None:
                if self.path != "/act":
                    self._send(404, "text/plain", "not found")
                    return
                loopback = self.client_address[0] in ("127.0.0.1", "::1")
                headers = {k: v for k, v in self.headers.items()}
                if not loopback or not server.same_origin(headers):
                    self._send(403, "text/plain", "the desk answers this machine's pages only")
                    return
                try:
                    length = int(self.headers.get("Content-Length", ""))
                except ValueError:
                    self._send(411, "text/plain", "a form needs a Content-Length")
                    return
                if not 0 <= length <= MAX_FORM_BYTES:
                    self._send(413, "text/plain", f"a form is at most {MAX_FORM_BYTES} bytes")
                    return
                try:
                    server.post_action(self.rfile.read(length))
                except DigestError as exc:
                    log.info("desk: %s", exc)
                    page = f'<h1>Not done</h1><p>{_escape(str(exc))}</p><p><a href="/">Back</a></p>'
                    self._send(400, "text/html", page)
                    return
                self.send_response(303)
                self.send_header("Location", "/")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _send(self, status: int, kind: str, body: str) -> None:
                data = body.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", f"{kind}; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                for name, value in FRAMING_HEADERS.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                log.debug("preview: " + format, *args)

        return Handler

    def start(self) -> None:
        """Serve in a background thread (tests, embedding)."""
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def close(self) -> None:
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join()
        self.httpd.server_close()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
