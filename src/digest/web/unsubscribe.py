"""One-click unsubscribe (RFC 8058): ``GET/POST /u/<token>``.

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
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from digest.config import Config, NewsletterOptions
from digest.models import Subscriber
from digest.store import Database
from digest.store.subscribers import SubscriberStore
from digest.web.links import UNSUBSCRIBE, subscriber_of
from digest.web.pages import plain_page, words

__all__ = ["MAX_POST_BYTES", "MAX_POST_SECONDS", "ONE_CLICK", "unsubscribe_routes"]

log = logging.getLogger(__name__)

# The one-click body (RFC 8058), and the most of a POST body that is read to find it.
ONE_CLICK = ("List-Unsubscribe", "One-Click")
MAX_POST_BYTES = 4096
MAX_POST_SECONDS = 10.0  # the most that body may take to arrive (a trickle is refused)
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


async def _one_click(request: Request) -> bool:
    """Whether the POST body carries ``List-Unsubscribe=One-Click`` (urlencoded or
    multipart, at most ``MAX_POST_BYTES``)."""
    length = request.headers.get("content-length", "")
    if not length.isascii() or not length.isdigit() or int(length) > MAX_POST_BYTES:
        return False  # no length (chunked), or too long: not a one-click request
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in _FORMS:
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


@dataclass(frozen=True)
class _Unsubscribe:
    """The unsubscribe routes' handlers, over one store and key."""

    newsletter: NewsletterOptions
    store: SubscriberStore
    key: bytes
    t: Callable[..., str]  # the pages' words (``digest.web.pages.words``)

    def page(self, template: str, heading: str, status: int = 200, **context: Any) -> Response:
        return plain_page(self.newsletter, template, heading, status, t=self.t, **context)

    def message(self, heading: str, message: str, status: int = 200) -> Response:
        return self.page("plain_message.html.j2", self.t(heading), status, message=message)

    def not_valid(self) -> Response:
        """The one answer to every token that does not unsubscribe anyone."""
        return self.message("invalid_link_title", self.t("invalid_link_body"), 400)

    def subscriber_for(self, token: str) -> Subscriber | Response:
        found = subscriber_of(UNSUBSCRIBE, self.store, self.key, token)
        return self.not_valid() if found is None else found

    def confirm(self, request: Request) -> Response:
        found = self.subscriber_for(request.path_params["token"])
        if not isinstance(found, Subscriber):
            return found
        if found.state != "active":
            return self.message("unsubscribed_title", self.t("no_longer_body"))
        return self.page("unsubscribe.html.j2", self.t("unsubscribe_button"), email=found.email)

    async def unsubscribe(self, request: Request) -> Response:
        found = self.subscriber_for(request.path_params["token"])
        if not isinstance(found, Subscriber):
            return found
        if not await _one_click(request):
            return self.message("nothing_changed_title", self.t("nothing_changed_body"), 400)
        if self.store.unsubscribe(found.id):
            log.info("subscriber %d unsubscribed", found.id)
        return self.message("unsubscribed_title", self.t("unsubscribed", email=found.email))


def unsubscribe_routes(config: Config, db: Database, key: bytes) -> list[Route]:
    nl = config.newsletter
    handlers = _Unsubscribe(nl, SubscriberStore(db), key, words(nl))
    return [
        Route("/u/{token}", handlers.confirm, methods=["GET"]),
        Route("/u/{token}", handlers.unsubscribe, methods=["POST"]),
    ]
