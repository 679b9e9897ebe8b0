"""The mail as a public web page: its slots filled for no one in particular.

The preview and the archive show an edition exactly as the mail, with a neutral greeting,
the generic unsubscribe link (``newsletter.unsubscribe_mailto``) and the edition's archive
address as its "view in browser" link.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from digest.config import NewsletterOptions
from digest.models import RenderedEdition
from digest.publish.messages import archive_url
from digest.publish.render import Filled, Renderer, personalize

__all__ = ["PageSettings", "for_no_one", "generic_unsubscribe", "public_html"]


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
    """The unsubscribe link of pages that belong to no subscriber (preview, archive)."""
    return f"mailto:{options.unsubscribe_mailto}?subject=unsubscribe"


def for_no_one(options: NewsletterOptions, rendered: RenderedEdition) -> Filled:
    """The mail (HTML and text) with the slots filled for no one in particular."""
    return personalize(
        rendered,
        name="",
        unsubscribe_url=generic_unsubscribe(options),
        browser_url=archive_url(options, rendered.edition_id),
    )


def public_html(options: NewsletterOptions, rendered: RenderedEdition) -> str:
    """The mail's HTML with the slots filled for no one in particular (preview, archive)."""
    return for_no_one(options, rendered).html
