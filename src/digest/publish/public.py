"""The mail as a public web page: its slots filled for no one in particular.

The preview and the archive show an edition exactly as the mail, with a neutral greeting
and the edition's archive address as its "view in browser" link. Such a page is read by
anyone, so its Preferences and Unsubscribe links lead to the sign-up page (``/subscribe``
of ``digest serve``), never to a mailbox action such as ``newsletter.unsubscribe_mailto``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from digest.config import NewsletterOptions
from digest.models import RenderedEdition
from digest.publish.messages import archive_url
from digest.publish.render import Filled, Renderer, personalize

__all__ = ["PageSettings", "for_no_one", "generic_unsubscribe", "public_html", "signup_url"]


@dataclass(frozen=True)
class PageSettings:
    """What a page of the mail for no one (the preview, the archive) reads of the
    configuration."""

    newsletter: NewsletterOptions = field(default_factory=NewsletterOptions)
    base_dir: str = "."  # the config file's folder: ``newsletter.templates`` is relative to it
    timezone: str = "UTC"  # an edition without ``created`` is dated noon of its day here

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def renderer(self) -> Renderer:
        return Renderer(self.newsletter, base_dir=self.base_dir, timezone=self.tz)


def generic_unsubscribe(options: NewsletterOptions) -> str:
    """The generic unsubscribe mailto (no subscriber's token in it)."""
    return f"mailto:{options.unsubscribe_mailto}?subject=unsubscribe"


def signup_url(options: NewsletterOptions) -> str:
    """The sign-up page that ``digest serve`` answers: where the links of a page for no
    one lead (subscribe there; a subscriber manages their subscription from their mail)."""
    return f"{options.base_url.rstrip('/')}/subscribe"


def for_no_one(options: NewsletterOptions, rendered: RenderedEdition) -> Filled:
    """The mail (HTML and text) with the slots filled for no one in particular."""
    return personalize(
        rendered,
        name="",
        unsubscribe_url=signup_url(options),
        browser_url=archive_url(options, rendered.edition_id),
        preferences_url=signup_url(options),
    )


def public_html(options: NewsletterOptions, rendered: RenderedEdition) -> str:
    """The mail's HTML with the slots filled for no one in particular (preview, archive)."""
    return for_no_one(options, rendered).html
