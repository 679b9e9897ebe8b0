"""The preferences page behind every message's signed link: ``GET/POST /p/<token>``.

``GET`` shows the subscriber's topics and frequency (daily, or weekly: the week's top
stories) in a form, and an Unsubscribe button; it changes nothing. ``POST`` with
``action=save`` stores the topics and frequency, with ``action=unsubscribe``
unsubscribes. The token (``digest.signed``) names one subscriber and is bound to
their address: a malformed or forged one, or one naming nobody, is the same 400 (the
answers never tell which ids exist).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from digest.config import Config
from digest.errors import SubscriberError
from digest.models import Frequency, Subscriber
from digest.store import Database
from digest.store.subscribers import SubscriberStore
from digest.subscribers import clean_topics
from digest.web.forms import form_fields
from digest.web.links import PREFERENCES, subscriber_of
from digest.web.pages import MAX_FORM_BYTES, subscriber_page, words

__all__ = ["preferences_routes"]

log = logging.getLogger(__name__)

FREQUENCIES: tuple[Frequency, ...] = ("daily", "weekly")


@dataclass(frozen=True)
class _Preferences:
    """The preferences routes' handlers, over one config, store and key."""

    config: Config
    store: SubscriberStore
    key: bytes
    t: Callable[..., str]  # the pages' words (``digest.web.pages.words``)

    def page(self, template: str, heading: str, status: int = 200, **context: Any) -> Response:
        return subscriber_page(
            self.config.newsletter, template, heading, status, t=self.t, **context
        )

    def message(self, message: str, status: int = 200, heading: str = "") -> Response:
        return self.page(
            "message.html.j2", heading or self.t("prefs_title"), status, message=message
        )

    def bad(self) -> Response:
        return self.message(self.t("bad_link_body"), 400, self.t("bad_link_title"))

    def gone(self, subscriber: Subscriber) -> Response:
        """The page of a subscriber who no longer receives the newsletter."""
        return self.message(self.t("unsubscribed", email=subscriber.email))

    def form(
        self, subscriber: Subscriber, note: str = "", error: str = "", status: int = 200
    ) -> Response:
        return self.page(
            "preferences.html.j2",
            self.t("prefs_title"),
            status,
            subscriber=subscriber,
            note=note,
            error=error,
            frequencies=FREQUENCIES,
        )

    def subscriber_for(self, token: str) -> Subscriber | Response:
        found = subscriber_of(PREFERENCES, self.store, self.key, token)
        return self.bad() if found is None else found

    def show(self, request: Request) -> Response:
        found = self.subscriber_for(request.path_params["token"])
        if not isinstance(found, Subscriber):
            return found
        return self.form(found) if found.state == "active" else self.gone(found)

    async def change(self, request: Request) -> Response:
        found = self.subscriber_for(request.path_params["token"])
        if not isinstance(found, Subscriber):
            return found
        fields = await form_fields(request, MAX_FORM_BYTES)
        if fields is None:
            return self.message(self.t("bad_request"), 400)
        if fields.get("action") == "unsubscribe" or "List-Unsubscribe" in fields:
            if self.store.unsubscribe(found.id):
                log.info("subscriber %d unsubscribed on the preferences page", found.id)
            return self.gone(found)
        if found.state != "active":
            return self.gone(found)
        return self.save(found, fields)

    def save(self, found: Subscriber, fields: dict[str, str]) -> Response:
        frequency = fields.get("frequency", found.frequency)
        if frequency not in FREQUENCIES:
            return self.form(found, error=f"{frequency[:20]!r}?", status=400)
        try:
            topics = clean_topics(fields.get("topics", ""))
        except SubscriberError as exc:
            return self.form(found, error=str(exc), status=400)
        self.store.set_preferences(found.id, topics, "weekly" if frequency == "weekly" else "daily")
        changed = self.store.get(found.id)
        assert changed is not None
        return self.form(changed, note=self.t("saved"))


def preferences_routes(config: Config, db: Database, key: bytes) -> list[Route]:
    handlers = _Preferences(config, SubscriberStore(db), key, words(config.newsletter))
    return [
        Route("/p/{token}", handlers.show, methods=["GET"]),
        Route("/p/{token}", handlers.change, methods=["POST"]),
    ]
