"""Sign-up with double opt-in: ``GET/POST /subscribe`` and ``GET/POST
/subscribe/confirm/<token>``.

- ``GET /subscribe``: the form (address, optional topics), in ``newsletter.language``,
  with the privacy note (no tracking).
- ``POST /subscribe``: the same "check your inbox" page whatever the address's state
  (new, pending, active, unsubscribed, suppressed), so that the form tells nobody who is
  on the list; only an address that is not one is told so. The answer reads nothing
  stored: it checks the form's values, and once it is sent the request is queued
  (``SignupQueue``, one thread) to be recorded, and its confirmation mail built and
  sent. The answer does the same work, and takes as long, whatever the address's state.
  Limits: ``per_ip_per_hour`` requests per client address (an IPv6 client's /64; 429
  past it), and
  ``mails_per_address_per_day`` confirmation mails per address (the page stays the same).
  A hidden field that people leave empty catches simple bots: filled, nothing is done.
- ``GET /subscribe/confirm/<token>``: what the link's request asked (the address, its
  topics, the page it came from) and a Confirm button, nothing more: mail scanners
  follow every link in a message.
- ``POST /subscribe/confirm/<token>``: confirms what that link's request asked (the
  address becomes active, with its consent recorded).
"""

from __future__ import annotations

import ipaddress
import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from digest.config import Config
from digest.pipeline.signup import (
    SignupRefused,
    check_signup,
    confirm_signup,
    confirmation_mail,
    confirmation_texts,
    confirmation_url,
    request_signup,
    send_confirmation,
    signup_to_confirm,
)
from digest.store import Database
from digest.web.forms import form_fields
from digest.web.pages import MAX_FORM_BYTES, subscriber_page, words

__all__ = ["RateLimit", "SignupQueue", "client_key", "signup_routes"]

log = logging.getLogger(__name__)

MAX_CLIENTS = 10_000  # client addresses the rate limit remembers (oldest forgotten first)
MAX_QUEUED_REQUESTS = 1_000  # sign-up requests waiting to be recorded and mailed
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


class SignupQueue:
    """Sign-up requests, each recorded and mailed by one thread, one after another, after
    the answer: the answer never reads the store, builds a mail or waits for SMTP, so it
    takes as long whether a mail goes out or not."""

    def __init__(self) -> None:
        self._queue: queue.Queue[Callable[[], object]] = queue.Queue(maxsize=MAX_QUEUED_REQUESTS)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def put(self, job: Callable[[], object]) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="signup", daemon=True)
                self._thread.start()
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            log.warning("sign-up: %d requests waiting; one dropped", MAX_QUEUED_REQUESTS)

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            try:
                job()
            except Exception:  # one broken request must not stop the ones after it
                log.exception("sign-up: recording or mailing a request failed")


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


def _echo(value: str, limit: int) -> str:
    """What the form shows again of a refused value: its first line (a browser's one-line
    field sends no line break; a crafted post's header lines are not shown back)."""
    lines = value.splitlines()
    return lines[0][:limit] if lines else ""


@dataclass(frozen=True)
class _Signup:
    """The sign-up routes' handlers, over one config, store and key."""

    config: Config
    db: Database
    key: bytes
    per_ip: RateLimit
    requests: SignupQueue
    t: Callable[..., str]  # the pages' words (``digest.web.pages.words``)

    def page(self, template: str, heading: str, status: int = 200, **context: Any) -> Response:
        return subscriber_page(
            self.config.newsletter, template, heading, status, t=self.t, **context
        )

    def message(self, heading: str, message: str, status: int = 200) -> Response:
        return self.page("message.html.j2", heading, status, message=message)

    def form(
        self, error: str = "", email: str = "", topics: str = "", status: int = 200
    ) -> Response:
        title = self.t("subscribe_title")
        return self.page(
            "subscribe.html.j2", title, status, error=error, email=email, topics=topics
        )

    def check_inbox(self, email: str) -> Response:
        return self.message(self.t("check_title"), self.t("check_body", email=email.strip()[:254]))

    def bad_link(self) -> Response:
        return self.page("bad_link.html.j2", self.t("bad_link_title"), 400)

    def show_form(self, request: Request) -> Response:
        return self.form()

    async def subscribe(self, request: Request) -> Response:
        client = client_key(request.client.host) if request.client else "unknown"
        if not self.per_ip.allow(client):
            return self.message(self.t("subscribe_title"), self.t("too_many"), 429)
        fields = await form_fields(request, MAX_FORM_BYTES)
        if fields is None:
            return self.message(self.t("subscribe_title"), self.t("bad_request"), 400)
        email, topics = fields.get("email", ""), fields.get("topics", "")
        if fields.get("website"):
            log.info("sign-up: the bot trap was filled; nothing done")
            return self.check_inbox(email)
        try:
            address, _ = check_signup(email, topics)
        except SignupRefused as exc:
            error = self.t("invalid_email", reason=exc.reason)
            return self.form(error, _echo(email, 254), _echo(topics, 500), 400)
        source = fields.get("source", "")
        answer = self.check_inbox(address)
        # Queued once the answer is sent: the request's work never competes with it.
        answer.background = BackgroundTask(
            self.requests.put, lambda: self.record(email, topics, source)
        )
        return answer

    def record(self, email: str, topics: str, source: str) -> None:
        """Record a request and mail its confirmation (on the queue's thread)."""
        made = request_signup(self.config, self.db, self.key, email, topics=topics, source=source)
        if made.token is None:
            return
        link = confirmation_url(self.config, made.token)
        subject, body = confirmation_texts(self.config, made.email, link)
        message = confirmation_mail(self.config, made.email, made.token, subject, body)
        send_confirmation(self.config, message)

    def confirm_page(self, request: Request) -> Response:
        asked = signup_to_confirm(self.db, self.key, request.path_params["token"])
        if asked is None:
            return self.bad_link()
        return self.page(
            "confirm.html.j2",
            self.t("confirm_title"),
            email=asked.email,
            topics=", ".join(asked.topics),
            source=asked.source,
        )

    def confirm(self, request: Request) -> Response:
        subscriber = confirm_signup(self.config, self.db, self.key, request.path_params["token"])
        if subscriber is None:
            return self.bad_link()
        body = self.t("confirmed_body", email=subscriber.email)
        return self.message(self.t("confirmed_title"), body)


def signup_routes(config: Config, db: Database, key: bytes) -> list[Route]:
    """The sign-up routes, or none when ``server.signup.enabled`` is off."""
    options = config.server.signup
    if not options.enabled:
        return []
    handlers = _Signup(
        config,
        db,
        key,
        per_ip=RateLimit(options.per_ip_per_hour, 3600.0),
        requests=SignupQueue(),
        t=words(config.newsletter, hours=f"{options.confirm_hours:g}"),
    )
    return [
        Route("/subscribe", handlers.show_form, methods=["GET"]),
        Route("/subscribe", handlers.subscribe, methods=["POST"]),
        Route("/subscribe/confirm/{token}", handlers.confirm_page, methods=["GET"]),
        Route("/subscribe/confirm/{token}", handlers.confirm, methods=["POST"]),
    ]
