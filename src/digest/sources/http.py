"""Fetching feeds and pages over http(s) with httpx: timeouts, redirects, a size limit."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from digest.errors import SourceError
from digest.sources.article import MAX_DOCUMENT_BYTES

__all__ = ["Fetched", "fetch"]

USER_AGENT = "digest/0.1 (newsletter reader)"


@dataclass(frozen=True, slots=True)
class Fetched:
    url: str  # after redirects
    content: bytes
    content_type: str | None
    charset: str | None


def fetch(url: str, *, timeout: float = 20.0, max_bytes: int = MAX_DOCUMENT_BYTES) -> Fetched:
    """GET ``url``; ``SourceError`` for a bad scheme, a timeout, an HTTP error or a body
    over ``max_bytes``."""
    if not url.startswith(("http://", "https://")):
        raise SourceError("only http and https URLs can be fetched", location=url, reader="http")
    try:
        with (
            httpx.Client(
                timeout=httpx.Timeout(timeout),
                follow_redirects=True,
                headers={"User-Agent": USER_AGENT},
            ) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code >= 400:
                raise SourceError(
                    f"HTTP {response.status_code} {response.reason_phrase}",
                    location=url,
                    reader="http",
                )
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise SourceError(
                    f"{int(declared):,} bytes, over the {max_bytes:,} limit",
                    location=url,
                    reader="http",
                )
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise SourceError(
                        f"more than {max_bytes:,} bytes, over the limit",
                        location=url,
                        reader="http",
                    )
                chunks.append(chunk)
            content_type = response.headers.get("content-type")
            return Fetched(
                url=str(response.url),
                content=b"".join(chunks),
                content_type=content_type,
                charset=response.charset_encoding,
            )
    except httpx.TimeoutException as exc:
        raise SourceError(f"timed out after {timeout:g} s", location=url, reader="http") from exc
    except httpx.HTTPError as exc:
        raise SourceError(f"{type(exc).__name__}: {exc}", location=url, reader="http") from exc
