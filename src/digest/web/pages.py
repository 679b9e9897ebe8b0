"""The pages' templates (``templates/*.html.j2``, package resources, autoescaped) and the
responses made of them.

``subscriber_page`` is a page of the sign-up and preferences routes, ``plain_page`` one
of the one-click unsubscribe and archive routes; both in ``newsletter.language`` and its
direction, their words (``words``) the messages of ``digest.publish.strings``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import jinja2
from starlette.responses import HTMLResponse

from digest.config import NewsletterOptions
from digest.publish.i18n import localizer
from digest.publish.strings import text

__all__ = [
    "MAX_FORM_BYTES",
    "plain_page",
    "render",
    "subscriber_page",
    "template_module",
    "words",
]

MAX_FORM_BYTES = 8_192  # a sign-up or preferences form is a few hundred bytes

# Loaded through the package, so that an installed wheel serves what a checkout does.
_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("digest.web", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

# The subscriber's pages allow no script, no image and no outside resource at all.
SUBSCRIBER_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline';"
    " form-action 'self'; frame-ancestors 'none'",
}


def render(template: str, **context: Any) -> str:
    """The template ``template`` of ``templates/`` filled with ``context`` (escaped)."""
    return _ENV.get_template(template).render(**context)


def template_module(template: str) -> Any:
    """The macros of ``template``, as functions that return escaped markup."""
    return _ENV.get_template(template).module


def words(newsletter: NewsletterOptions, **defaults: object) -> Callable[..., str]:
    """``t(key, **values)``: the pages' message ``key`` (``digest.publish.strings``) in the
    newsletter's language, ``title`` and ``defaults`` filled in with ``values``."""

    def t(key: str, **values: object) -> str:
        filled = {"title": newsletter.title, **defaults, **values}
        return text(newsletter.language, key, newsletter.direction, **filled)

    return t


def subscriber_page(
    newsletter: NewsletterOptions,
    template: str,
    title: str,
    status: int = 200,
    *,
    headers: Mapping[str, str] = SUBSCRIBER_HEADERS,
    **context: Any,
) -> HTMLResponse:
    """A page in ``newsletter.language``, its direction the newsletter's
    (``newsletter.direction``; ``auto``: the locale's, ``rtl`` for Arabic and Urdu)."""
    loc = localizer(newsletter.language, newsletter.direction)
    page = render(template, lang=loc.tag, dir=loc.direction, title=title, **context)
    return HTMLResponse(page, status_code=status, headers=dict(headers))


def plain_page(
    newsletter: NewsletterOptions, template: str, title: str, status: int = 200, **context: Any
) -> HTMLResponse:
    """A page of the one-click unsubscribe or the archive: as ``subscriber_page``, with
    ``digest serve``'s own security headers (images allowed: the archive's pictures)."""
    return subscriber_page(
        newsletter, template, title, status, headers={"Cache-Control": "no-store"}, **context
    )
