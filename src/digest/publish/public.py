"""The mail as a public web page: its slots filled for no one in particular.

The preview and the archive show an edition exactly as the mail, with a neutral greeting,
the generic unsubscribe link (``newsletter.unsubscribe_mailto``) and the edition's archive
address as its "view in browser" link.
"""

from __future__ import annotations

from digest.config import Config
from digest.models import RenderedEdition
from digest.publish.messages import archive_url
from digest.publish.render import Filled, personalize

__all__ = ["for_no_one", "generic_unsubscribe", "public_html"]


def generic_unsubscribe(config: Config) -> str:
    """The unsubscribe link of pages that belong to no subscriber (preview, archive)."""
    return f"mailto:{config.newsletter.unsubscribe_mailto}?subject=unsubscribe"


def for_no_one(config: Config, rendered: RenderedEdition) -> Filled:
    """The mail (HTML and text) with the slots filled for no one in particular."""
    return personalize(
        rendered,
        name="",
        unsubscribe_url=generic_unsubscribe(config),
        browser_url=archive_url(config.newsletter, rendered.edition_id),
    )


def public_html(config: Config, rendered: RenderedEdition) -> str:
    """The mail's HTML with the slots filled for no one in particular (preview, archive)."""
    return for_no_one(config, rendered).html
