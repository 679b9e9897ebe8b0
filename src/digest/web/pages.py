"""The pages' templates (``templates/*.html.j2``, package resources, autoescaped) and the
responses made of them.

``subscriber_page`` is a page of the sign-up and preferences routes, in
``newsletter.language`` and its direction; ``plain_page`` one of the one-click
unsubscribe and archive routes, whose words are English.
"""

from __future__ import annotations

from typing import Any

import jinja2
from starlette.responses import HTMLResponse

from digest.publish.i18n import localizer

__all__ = ["MAX_FORM_BYTES", "plain_page", "render", "subscriber_page", "template_module"]

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


def subscriber_page(
    language: str,
    template: str,
    title: str,
    status: int = 200,
    direction: str = "auto",
    **context: Any,
) -> HTMLResponse:
    """A page in ``language`` (``newsletter.language``), its direction the newsletter's
    (``newsletter.direction``; ``auto``: the locale's, ``rtl`` for Arabic and Urdu)."""
    loc = localizer(language, direction)
    page = render(template, lang=loc.tag, dir=loc.direction, title=title, **context)
    return HTMLResponse(page, status_code=status, headers=SUBSCRIBER_HEADERS)


def plain_page(template: str, title: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A page of the one-click unsubscribe or the archive (English words, ``lang="en"``)."""
    page = render(template, lang="en", dir="ltr", title=title, **context)
    return HTMLResponse(page, status_code=status, headers={"Cache-Control": "no-store"})
