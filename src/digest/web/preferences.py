"""The preferences page behind every message's signed link: ``GET/POST /p/<token>``.

``GET`` shows the subscriber's topics and frequency (daily, or weekly: the week's top
stories) in a form, and an Unsubscribe button; it changes nothing. ``POST`` with
``action=save`` stores the topics and frequency, with ``action=unsubscribe``
unsubscribes. The token (``digest.signed``) names one subscriber and is bound to
their address: a malformed or forged one, or one naming nobody, is the same 400 (the
answers never tell which ids exist).
"""

from __future__ import annotations

import html
import logging

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from digest.config import Config
from digest.errors import SubscriberError
from digest.models import Frequency, Subscriber
from digest.publish.strings import text
from digest.signed import read_preferences_token, verify_preferences_token
from digest.store import Database
from digest.store.subscribers import SubscriberStore
from digest.subscribers import clean_topics
from digest.web.pages import page
from digest.web.signup import form_fields

__all__ = ["preferences_routes"]

log = logging.getLogger(__name__)

FREQUENCIES: tuple[Frequency, ...] = ("daily", "weekly")


def preferences_routes(config: Config, db: Database, key: bytes) -> list[Route]:
    store = SubscriberStore(db)
    lang = config.newsletter.language
    title = config.newsletter.title

    direction = config.newsletter.direction

    def t(name: str, **values: object) -> str:
        return text(lang, name, direction, title=title, **values)

    def respond(heading: str, body: str, status: int = 200) -> Response:
        return page(lang, heading, body, status, direction)

    def bad(status: int) -> Response:
        return respond(t("bad_link_title"), f"<p>{html.escape(t('bad_link_body'))}</p>", status)

    def subscriber_for(token: str) -> Subscriber | Response:
        subscriber_id = read_preferences_token(token)
        if subscriber_id is None:
            return bad(400)
        found = store.get(subscriber_id)
        if found is None:
            # The answer of a forged token, after the same HMAC work: no answer may tell
            # which subscriber ids exist.
            verify_preferences_token(key, token, "unknown@invalid")
            return bad(400)
        if not verify_preferences_token(key, token, found.email, found.token_version):
            log.warning("preferences: a forged or altered token for subscriber %d", subscriber_id)
            return bad(400)
        return found

    def form(
        subscriber: Subscriber, note: str = "", error: str = "", status: int = 200
    ) -> Response:
        shown = f'<p role="status">{html.escape(note)}</p>' if note else ""
        if error:
            shown = f'<p class="error" id="error" role="alert">{html.escape(error)}</p>'
        radios = "".join(
            f'<div><input type="radio" id="f-{f}" name="frequency" value="{f}"'
            f"{' checked' if subscriber.frequency == f else ''}>"
            f' <label for="f-{f}" style="display:inline;font-weight:400">'
            f"{html.escape(t(f))}</label></div>"
            for f in FREQUENCIES
        )
        topics = html.escape(", ".join(subscriber.topics), quote=True)
        body = (
            f"{shown}<p>{html.escape(t('prefs_for', email=subscriber.email))}</p>"
            '<form method="post">'
            '<input type="hidden" name="action" value="save">'
            f'<label for="topics">{html.escape(t("topics_label"))}</label>'
            f'<input type="text" id="topics" name="topics" maxlength="500"'
            f' aria-describedby="topics-hint" value="{topics}">'
            f'<p class="hint" id="topics-hint">{html.escape(t("topics_hint"))}</p>'
            f"<fieldset><legend>{html.escape(t('frequency_label'))}</legend>{radios}</fieldset>"
            f'<button type="submit">{html.escape(t("save_button"))}</button></form>'
            f"<h2>{html.escape(t('leave_title'))}</h2>"
            '<form method="post"><input type="hidden" name="action" value="unsubscribe">'
            f'<button type="submit">{html.escape(t("unsubscribe_button"))}</button></form>'
        )
        return respond(t("prefs_title"), body, status)

    def show(request: Request) -> Response:
        found = subscriber_for(request.path_params["token"])
        if not isinstance(found, Subscriber):
            return found
        if found.state != "active":
            return respond(
                t("prefs_title"),
                f"<p>{html.escape(t('unsubscribed', email=found.email))}</p>",
            )
        return form(found)

    async def change(request: Request) -> Response:
        found = subscriber_for(request.path_params["token"])
        if not isinstance(found, Subscriber):
            return found
        fields = await form_fields(request)
        if fields is None:
            return respond(t("prefs_title"), f"<p>{html.escape(t('bad_request'))}</p>", 400)
        if fields.get("action") == "unsubscribe" or "List-Unsubscribe" in fields:
            if store.unsubscribe(found.id):
                log.info("subscriber %d unsubscribed on the preferences page", found.id)
            body = f"<p>{html.escape(t('unsubscribed', email=found.email))}</p>"
            return respond(t("prefs_title"), body)
        if found.state != "active":
            return respond(
                t("prefs_title"),
                f"<p>{html.escape(t('unsubscribed', email=found.email))}</p>",
            )
        frequency = fields.get("frequency", found.frequency)
        if frequency not in FREQUENCIES:
            return form(found, error=f"{frequency[:20]!r}?", status=400)
        try:
            topics = clean_topics(fields.get("topics", ""))
        except SubscriberError as exc:
            return form(found, error=str(exc), status=400)
        store.set_preferences(found.id, topics, "weekly" if frequency == "weekly" else "daily")
        changed = store.get(found.id)
        assert changed is not None
        return form(changed, note=t("saved"))

    return [
        Route("/p/{token}", show, methods=["GET"]),
        Route("/p/{token}", change, methods=["POST"]),
    ]
