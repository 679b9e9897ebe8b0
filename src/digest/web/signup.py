"""Sign-up with double opt-in: ``GET/POST /subscribe`` and ``GET/POST
/subscribe/confirm/<token>``.

- ``GET /subscribe``: the form (address, optional topics), in ``newsletter.language``,
  with the privacy note (no tracking).
- ``POST /subscribe``: the same "check your inbox" page whatever the address's state
  (new, pending, active, unsubscribed, suppressed), so that the form tells nobody who is
  on the list; only an address that is not one is told so. The confirmation mail goes
  out after the answer (``MailQueue``, one sending thread), so the answer takes as long
  either way.
  Limits: ``per_ip_per_hour`` requests per client address (an IPv6 client's /64; 429
  past it), and
  ``mails_per_address_per_day`` confirmation mails per address (the page stays the same).
  A hidden field that people leave empty catches simple bots: filled, nothing is done.
- ``GET /subscribe/confirm/<token>``: a page with a Confirm button, and nothing more:
  mail scanners follow every link in a message.
- ``POST /subscribe/confirm/<token>``: confirms (the address becomes active, with its
  consent recorded).
"""

from __future__ import annotations

import asyncio
import html
import ipaddress
import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from digest.config import Config
from digest.errors import SubscriberError
from digest.models import OutgoingMessage
from digest.pipeline.signup import (
    confirm_signup,
    confirmation_mail,
    confirmation_texts,
    confirmation_url,
    request_signup,
    send_confirmation,
)
from digest.publish.strings import text
from digest.signed import read_confirm_token
from digest.store import Database
from digest.web.pages import MAX_FORM_BYTES, page

__all__ = ["MailQueue", "RateLimit", "client_key", "form_fields", "signup_routes"]

log = logging.getLogger(__name__)

MAX_CLIENTS = 10_000  # client addresses the rate limit remembers (oldest forgotten first)
MAX_QUEUED_MAILS = 1_000  # confirmation mails waiting to be sent
MAX_FORM_SECONDS = 10.0  # the most a form's body may take to arrive
IPV6_CLIENT_PREFIX = 64  # one IPv6 line holds a whole /64: the rate limit counts prefixes


def client_key(host: str) -> str:
    """What the per-client rate limit counts: an IPv4 address, or an IPv6 address's /64
    (one client can use any address of its /64); anything else as it is."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/{IPV6_CLIENT_PREFIX}", strict=False))
    return str(address)


class MailQueue:
    """Confirmation mails, sent one after another by one thread, after the answer: the
    answer never waits for SMTP (it takes as long whether a mail goes out or not)."""

    def __init__(self, send: Callable[[OutgoingMessage], object]) -> None:
        self._send = send
        self._queue: queue.Queue[OutgoingMessage] = queue.Queue(maxsize=MAX_QUEUED_MAILS)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def put(self, message: OutgoingMessage) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="signup-mail", daemon=True)
                self._thread.start()
        try:
            self._queue.put_nowait(message)
        except queue.Full:
            log.warning("sign-up: %d confirmation mails waiting; one dropped", MAX_QUEUED_MAILS)

    def _run(self) -> None:
        while True:
            message = self._queue.get()
            try:
                self._send(message)
            except Exception:  # one broken mail must not stop the ones after it
                log.exception("sign-up: sending a confirmation mail failed")


class RateLimit:
    """At most ``limit`` events per key in a sliding ``window`` of seconds (in memory)."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic):
        self.limit = limit
        self.window = window
        self.clock = clock
        self._seen: OrderedDict[str, list[float]] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = self.clock()
        with self._lock:
            times = [t for t in self._seen.pop(key, []) if now - t < self.window]
            allowed = len(times) < self.limit
            if allowed:
                times.append(now)
            self._seen[key] = times
            while len(self._seen) > MAX_CLIENTS:
                self._seen.popitem(last=False)
            return allowed


async def _body(request: Request) -> bytes | None:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    return body


async def form_fields(request: Request) -> dict[str, str] | None:
    """The urlencoded form's fields (first value of each), or None when the body is over
    ``MAX_FORM_BYTES``, takes longer than ``MAX_FORM_SECONDS`` to arrive (a client
    trickling a byte at a time holds the connection no longer) or is not a form."""
    try:
        body = await asyncio.wait_for(_body(request), MAX_FORM_SECONDS)
    except TimeoutError:
        log.info("a form body took longer than %g s to arrive: refused", MAX_FORM_SECONDS)
        return None
    if body is None:
        return None
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        return None
    fields: dict[str, str] = {}
    for name, value in pairs:
        fields.setdefault(name, value)
    return fields


def signup_routes(config: Config, db: Database, key: bytes) -> list[Route]:
    options = config.server.signup
    if not options.enabled:
        return []
    lang = config.newsletter.language
    title = config.newsletter.title
    hours = f"{options.confirm_hours:g}"
    per_ip = RateLimit(options.per_ip_per_hour, 3600.0)
    mails = MailQueue(lambda message: send_confirmation(config, message))

    direction = config.newsletter.direction

    def t(name: str, **values: object) -> str:
        return text(lang, name, direction, title=title, hours=hours, **values)

    def respond(heading: str, body: str, status: int = 200) -> Response:
        return page(lang, heading, body, status, direction)

    def form(error: str = "", email: str = "", topics: str = "", status: int = 200) -> Response:
        shown = (
            f'<p class="error" id="error" role="alert">{html.escape(error)}</p>' if error else ""
        )
        invalid = ' aria-invalid="true" aria-describedby="error"' if error else ""
        body = (
            f"{shown}"
            '<form method="post" action="/subscribe">'
            f'<label for="email">{html.escape(t("email_label"))}</label>'
            f'<input type="email" id="email" name="email" required autocomplete="email"'
            f' inputmode="email" maxlength="254" value="{html.escape(email, quote=True)}"{invalid}>'
            f'<label for="topics">{html.escape(t("topics_label"))}</label>'
            f'<input type="text" id="topics" name="topics" maxlength="500"'
            f' aria-describedby="topics-hint" value="{html.escape(topics, quote=True)}">'
            f'<p class="hint" id="topics-hint">{html.escape(t("topics_hint"))}</p>'
            '<div class="trap" aria-hidden="true"><label for="website">Website</label>'
            '<input type="text" id="website" name="website" tabindex="-1" autocomplete="off">'
            "</div>"
            '<input type="hidden" name="source" value="/subscribe">'
            f'<button type="submit">{html.escape(t("subscribe_button"))}</button>'
            "</form>"
            f'<p class="small">{html.escape(t("privacy"))}</p>'
        )
        return respond(t("subscribe_title"), body, status)

    def show_form(request: Request) -> Response:
        return form()

    async def subscribe(request: Request) -> Response:
        client = client_key(request.client.host) if request.client else "unknown"
        if not per_ip.allow(client):
            return respond(t("subscribe_title"), f"<p>{html.escape(t('too_many'))}</p>", 429)
        fields = await form_fields(request)
        if fields is None:
            return respond(t("subscribe_title"), f"<p>{html.escape(t('bad_request'))}</p>", 400)
        email = fields.get("email", "")
        topics = fields.get("topics", "")
        checked = _check_inbox(email)
        if fields.get("website"):
            log.info("sign-up: the bot trap was filled; nothing done")
            return checked
        try:
            request_made = request_signup(
                config, db, key, email, topics=topics, source=fields.get("source", "")
            )
        except SubscriberError as exc:
            reason = str(exc).split(": ", 1)[-1]
            return form(t("invalid_email", reason=reason), email[:254], topics[:500], 400)
        if request_made.token is None:
            return _check_inbox(request_made.email)
        link = confirmation_url(config, request_made.token)
        subject, body = confirmation_texts(config, request_made.email, link)
        message = confirmation_mail(config, request_made.email, request_made.token, subject, body)
        mails.put(message)
        return _check_inbox(request_made.email)

    def _check_inbox(email: str) -> Response:
        body = f"<p>{html.escape(t('check_body', email=email.strip()[:254]))}</p>"
        return respond(t("check_title"), body)

    def bad_link() -> Response:
        body = (
            f"<p>{html.escape(t('bad_link_body'))}</p>"
            f'<p><a href="/subscribe">{html.escape(t("subscribe_title"))}</a></p>'
        )
        return respond(t("bad_link_title"), body, 400)

    def confirm_page(request: Request) -> Response:
        found = read_confirm_token(key, request.path_params["token"])
        if found is None:
            return bad_link()
        body = (
            f"<p>{html.escape(t('confirm_body', email=found.email))}</p>"
            '<form method="post">'
            f'<button type="submit">{html.escape(t("confirm_button"))}</button></form>'
        )
        return respond(t("confirm_title"), body)

    def confirm(request: Request) -> Response:
        subscriber = confirm_signup(config, db, key, request.path_params["token"])
        if subscriber is None:
            return bad_link()
        body = f"<p>{html.escape(t('confirmed_body', email=subscriber.email))}</p>"
        return respond(t("confirmed_title"), body)

    return [
        Route("/subscribe", show_form, methods=["GET"]),
        Route("/subscribe", subscribe, methods=["POST"]),
        Route("/subscribe/confirm/{token}", confirm_page, methods=["GET"]),
        Route("/subscribe/confirm/{token}", confirm, methods=["POST"]),
    ]
