"""Who an article is: its id, its canonical URL and its content hash.

Below every reader and every later stage: readers make these once (``build_article``), the
store keys articles by them, and related stories, the summary cache and the links of the
email read them back. Nothing here knows a format; ids and hashes are made of the text's
``digest.text.rules.identity_form``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from digest.models import Event, Section
from digest.text.rules import identity_form

__all__ = ["article_id", "canonical_url", "content_hash"]

# Query parameters that track the reader, not the article.
_TRACKING = re.compile(
    r"^(utm_\w*|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|igshid|ref|ref_src|ref_url|"
    r"cmpid|campaign|spm|_ga|_gl|yclid|ocid|at_medium|at_campaign|soc_src|soc_trk)$",
    re.IGNORECASE,
)


def canonical_url(url: str | None) -> str | None:
    """``url`` without tracking parameters and fragment, with a lower-case scheme and host.

    Only http(s) URLs have a canonical form; anything else gives None.
    """
    if not url:
        return None
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if parts.port and not (
        (scheme == "http" and parts.port == 80) or (scheme == "https" and parts.port == 443)
    ):
        host = f"{host}:{parts.port}"
    query = urlencode(
        sorted(
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not _TRACKING.match(k)
        )
    )
    return urlunsplit((scheme, host, parts.path or "/", query, ""))


def content_hash(title: str, sections: Sequence[Section], events: Sequence[Event]) -> str:
    """A hash of what a reader sees: headline, paragraphs and events, whitespace-normalised."""
    digest = hashlib.sha256()
    digest.update(identity_form(title).encode())
    for section in sections:
        digest.update(b"\x1eH" + identity_form(section.heading or "").encode())
        for paragraph in section.paragraphs:
            digest.update(b"\x1fP" + identity_form(paragraph).encode())
    for event in events:
        digest.update(b"\x1fE" + identity_form(f"{event.label}: {event.text}").encode())
    return digest.hexdigest()


def article_id(source: str, canonical: str | None, title: str) -> str:
    """Stable id: from the canonical URL when there is one, else from source and headline."""
    key = canonical if canonical else f"{identity_form(source)}\n{identity_form(title)}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]
