"""Fetching feeds and pages over http(s) with httpx, within bounds a server cannot stretch.

- **Where**: only http and https, and only public addresses. Every connection, the first
  and each redirect's, goes through ``_GuardedBackend``, which resolves the host itself,
  refuses loopback, private, link-local, multicast, reserved and unspecified addresses
  (IPv4, IPv6, IPv4-mapped IPv6) and connects to the very address it checked, so a DNS
  answer cannot change between the check and the connection. ``allow_private`` (a
  source's ``allow_private: true``) lifts the address rule for an intranet feed.
- **How long**: one deadline over the whole fetch (connecting, redirects, every read), not
  a timeout per read: a server that sends a byte every few seconds is cut at the deadline.
- **How much**: at most ``max_bytes`` of body (decoded: a gzip bomb is cut too) and
  ``MAX_REDIRECTS`` redirects.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import ssl
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

from digest.config import SourceOptions
from digest.errors import SourceError
from digest.sources.article import MAX_DOCUMENT_BYTES
from digest.sources.bounds import MAX_REDIRECTS

__all__ = [
    "FETCH_SECONDS",
    "AddressRefused",
    "Fetched",
    "HTTPStatusError",
    "blocked_reason",
    "fetch",
]

USER_AGENT = "digest/0.1 (newsletter reader)"
# The deadline of one fetch when the caller gives none: a source's default ``fetch_timeout``.
FETCH_SECONDS: float = SourceOptions.fetch_timeout


@dataclass(frozen=True, slots=True)
class Fetched:
    url: str  # after redirects
    content: bytes
    content_type: str | None
    charset: str | None
    status: int = 200  # 304: not modified since the validators sent (``content`` is empty)
    etag: str | None = None
    last_modified: str | None = None


class AddressRefused(SourceError):
    """The guard refused the URL before any request: not http(s), malformed, without a
    host, or at an address that is not public (not the host's fault: nothing was asked)."""

    def __init__(self, message: str, *, location: str) -> None:
        super().__init__(message, location=location, reader="http")


class HTTPStatusError(SourceError):
    """An HTTP error status (4xx, 5xx), with the server's ``Retry-After`` as it wrote it."""

    def __init__(self, message: str, *, location: str, status: int, retry_after: str | None):
        super().__init__(message, location=location, reader="http")
        self.status = status
        self.retry_after = retry_after


def blocked_reason(address: str) -> str | None:
    """Why digest will not connect to the IP ``address`` unasked ("loopback", ...), or
    None for a public address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone id is not the address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 reaches 127.0.0.1
    for reason, hit in (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
        ("not a public", not ip.is_global),
    ):
        if hit:
            return reason
    return None


class _Refused(Exception):
    """Raised inside httpcore for an address the guard refuses; ``fetch`` reports it."""


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write ends by the fetch's deadline."""

    def __init__(self, stream: httpcore.NetworkStream, deadline: float) -> None:
        self._stream = stream
        self._deadline = deadline

    def _left(self, timeout: float | None, error: type[Exception]) -> float:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise error("the deadline of the whole fetch passed")
        return left if timeout is None else min(timeout, left)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        left = self._left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(
            self._stream.start_tls(ssl_context, server_hostname, left), self._deadline
        )

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


# How a refused private address is allowed, said where the refusal is read: a configured
# source's key by default; the CLI's commands name their own flag (--allow-private).
SOURCE_PRIVATE_HINT = "set allow_private: true on the source to read it"


class _GuardedBackend(httpcore.SyncBackend):
    """httpcore's socket backend, connecting only to addresses ``blocked_reason`` allows
    (unless ``allow_private``), and only until ``deadline``."""

    def __init__(self, *, deadline: float, allow_private: bool, private_hint: str) -> None:
        self._deadline = deadline
        self._allow_private = allow_private
        self._private_hint = private_hint

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise httpcore.ConnectTimeout("the deadline of the whole fetch passed")
        try:
            found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
        # Refused if any address is not public: a name that resolves to a public and a
        # private address must not reach the private one on a retry.
        if not self._allow_private:
            for address in addresses:
                reason = blocked_reason(address)
                if reason is not None:
                    raise _Refused(
                        f"refused: {host} is a {reason} address ({address}); {self._private_hint}"
                    )
        error: OSError | None = None
        for address in addresses:  # connect to what was checked, not to a new lookup
            try:
                stream = super().connect_tcp(
                    address, port, min(timeout or left, left), local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                error = OSError(str(exc))
                continue
            return _DeadlineStream(stream, self._deadline)
        raise httpcore.ConnectError(str(error or f"no address for {host}"))


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """httpx's default context (certifi's CAs, certificates checked), built once: loading
    the CAs costs more than a small fetch."""
    return httpx.create_ssl_context(trust_env=False)


class _GuardedTransport(httpx.HTTPTransport):
    """httpx's transport over a connection pool that uses ``_GuardedBackend``."""

    def __init__(self, backend: _GuardedBackend) -> None:
        super().__init__(trust_env=False)  # an environment proxy would bypass the guard
        # httpx builds its pool without a way to pass a network backend: replace it with
        # one built the same way (SSL context from httpx's defaults, HTTP/1.1).
        self._pool = httpcore.ConnectionPool(
            ssl_context=_ssl_context(),
            max_connections=4,
            network_backend=backend,
        )


def _check_url(url: str, allow_private: bool, private_hint: str) -> None:
    """Refuse a URL before any connection: a scheme other than http(s), an IP literal that
    is not public. Host names are checked after resolution, in the backend."""
    if not url.lower().startswith(("http://", "https://")):
        raise AddressRefused("only http and https URLs can be fetched", location=url)
    try:
        host = httpx.URL(url).host
    except (httpx.InvalidURL, ValueError) as exc:
        raise AddressRefused(f"not a valid URL ({exc})", location=url) from None
    if not host:
        raise AddressRefused("a URL without a host", location=url)
    try:
        reason = None if allow_private else blocked_reason(host)
    except ValueError:
        return  # a name, not an address
    if reason is not None:
        raise AddressRefused(f"refused: {host} is a {reason} address; {private_hint}", location=url)


def fetch(
    url: str,
    *,
    timeout: float = FETCH_SECONDS,
    max_bytes: int = MAX_DOCUMENT_BYTES,
    allow_private: bool = False,
    private_hint: str = SOURCE_PRIVATE_HINT,
    headers: Mapping[str, str] | None = None,
) -> Fetched:
    """GET ``url`` within ``timeout`` seconds in all; ``SourceError`` for a bad scheme, an
    address that is not public (unless ``allow_private``), a timeout, an HTTP error
    (``HTTPStatusError``), too many redirects, or a body over ``max_bytes``. A refused
    address ends with ``private_hint``: how the caller's user lifts the rule (a config key,
    a CLI flag). ``headers`` are sent as well (a User-Agent, conditional validators); a 304
    answer is returned with no content."""
    _check_url(url, allow_private, private_hint)
    deadline = time.monotonic() + timeout
    backend = _GuardedBackend(
        deadline=deadline, allow_private=allow_private, private_hint=private_hint
    )
    try:
        with (
            httpx.Client(
                transport=_GuardedTransport(backend),
                timeout=httpx.Timeout(timeout),
                follow_redirects=True,
                max_redirects=MAX_REDIRECTS,
                headers={"User-Agent": USER_AGENT, **(headers or {})},
                trust_env=False,
            ) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code >= 400:
                raise HTTPStatusError(
                    f"HTTP {response.status_code} {response.reason_phrase}",
                    location=url,
                    status=response.status_code,
                    retry_after=response.headers.get("retry-after"),
                )
            if response.status_code == 304:
                return Fetched(
                    url=str(response.url),
                    content=b"",
                    content_type=None,
                    charset=None,
                    status=304,
                    etag=response.headers.get("etag"),
                    last_modified=response.headers.get("last-modified"),
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
                status=response.status_code,
                etag=response.headers.get("etag"),
                last_modified=response.headers.get("last-modified"),
            )
    except _Refused as exc:
        raise AddressRefused(str(exc), location=url) from None
    except httpx.TimeoutException as exc:
        raise SourceError(f"timed out after {timeout:g} s", location=url, reader="http") from exc
    except httpx.TooManyRedirects as exc:
        raise SourceError(
            f"more than {MAX_REDIRECTS} redirects", location=url, reader="http"
        ) from exc
    except httpx.HTTPError as exc:
        raise SourceError(f"{type(exc).__name__}: {exc}", location=url, reader="http") from exc
