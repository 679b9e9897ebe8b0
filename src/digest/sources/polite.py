"""The polite client: every request of a run goes through one ``PoliteClient``.

On top of ``http.fetch`` (whose guard and bounds apply to every request, robots.txt too):

- **robots.txt**, per host, parsed by Protego, read once a run and kept on disk for
  ``fetch.robots_hours``; a disallowed URL is never requested (``Disallowed``). A robots.txt
  that answers 4xx allows everything; one that cannot be read (5xx, no connection) allows
  nothing for the run (RFC 9309, 2.3.1).
- **per host**: at most ``fetch.per_host`` requests in flight, and at least ``fetch.delay``
  seconds (or the robots.txt ``Crawl-delay``, when longer) between two requests' starts.
- **who**: a User-Agent naming digest and a contact URL.
- **conditional GET**: the ETag and Last-Modified of each URL fetched before are sent
  back; a 304 is returned as such (``Fetched.status``), and new validators are kept in
  ``validators`` for the caller to store.
- **429 and 503** wait for ``Retry-After`` (seconds or a date), else back off, at most
  ``fetch.max_wait`` and never past the run's deadline; then one more try.
- **a failing host** (no connection, a timeout, a 5xx, ``fetch.host_failures`` times in a
  row) is skipped for the rest of the run, said in one line (``HostSkipped``).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit

from protego import Protego

from digest.config import FetchOptions
from digest.errors import SourceError
from digest.sources.http import (
    FETCH_SECONDS,
    SOURCE_PRIVATE_HINT,
    AddressRefused,
    Fetched,
    HTTPStatusError,
    fetch,
)

__all__ = ["Disallowed", "HostSkipped", "PoliteClient", "user_agent"]

log = logging.getLogger(__name__)

# A robots.txt longer than this is read only this far (Google reads 500 KiB).
MAX_ROBOTS_BYTES = 512 * 1024
# Tries of one request answered 429 or 503.
MAX_TRIES = 3
_PRODUCT = "digest/0.1"


def user_agent(contact: str) -> str:
    """The User-Agent digest sends: the product, its version, and where to reach its owner."""
    return f"{_PRODUCT} (newsletter reader; +{contact})"


class Disallowed(SourceError):
    """The URL's robots.txt does not allow digest to read it."""


class HostSkipped(SourceError):
    """The URL's host failed too often this run: it is not asked again."""


@dataclass
class _Host:
    slots: threading.BoundedSemaphore
    lock: threading.Lock = field(default_factory=threading.Lock)
    reading: threading.Lock = field(default_factory=threading.Lock)  # robots.txt, once
    last_start: float = float("-inf")  # when the latest request to the host started
    robots: Protego | None = None
    robots_error: str | None = None
    robots_read: bool = False
    failures: int = 0
    skipped: bool = False


class PoliteClient:
    """One run's fetcher, shared by every source and thread of the run."""

    def __init__(
        self,
        options: FetchOptions,
        *,
        contact: str,
        validators: dict[str, tuple[str | None, str | None]] | None = None,
        cache_dir: Path | None = None,
        deadline: float | None = None,
    ) -> None:
        self.options = options
        self.agent = user_agent(contact)
        # url -> (etag, last_modified): read before, and what this run learnt (under _lock)
        self.validators = dict(validators or {})
        self.changed: set[str] = set()
        self.cache_dir = cache_dir
        self.deadline = deadline
        self.skipped_hosts: list[str] = []
        self._hosts: dict[str, _Host] = {}
        self._lock = threading.Lock()

    # --- the public face --------------------------------------------------------------

    def fetch(
        self,
        url: str,
        *,
        timeout: float = FETCH_SECONDS,
        allow_private: bool = False,
        private_hint: str = SOURCE_PRIVATE_HINT,
        conditional: bool = True,
    ) -> Fetched:
        """GET ``url`` politely; ``Disallowed``, ``HostSkipped`` or ``http.fetch``'s
        ``SourceError`` (a refused private address ends with ``private_hint``). With
        ``conditional``, a URL fetched before is asked for with its validators and may come
        back as a 304."""
        key, host = self._host(url)
        self._check_skipped(url, key, host)
        robots = self._robots(url, key, host, timeout, (allow_private, private_hint))
        refusal = None
        if robots is None:
            refusal = f"not fetched: {key}/robots.txt could not be read ({host.robots_error})"
        elif not robots.can_fetch(url, self.agent):
            refusal = "not fetched: robots.txt disallows it"
        if refusal is not None:
            raise Disallowed(refusal, location=url, reader="robots")
        headers = {"User-Agent": self.agent}
        if conditional:
            with self._lock:
                etag, modified = self.validators.get(url, (None, None))
            if etag:
                headers["If-None-Match"] = etag
            if modified:
                headers["If-Modified-Since"] = modified
        fetched = self._request(
            key, host, url, headers, timeout, (allow_private, private_hint), robots
        )
        if fetched.status != 304 and (fetched.etag or fetched.last_modified):
            with self._lock:
                self.validators[url] = (fetched.etag, fetched.last_modified)
                self.changed.add(url)
        return fetched

    def skips(self) -> tuple[str, ...]:
        """One line per host skipped this run."""
        return tuple(self.skipped_hosts)

    # --- per host ---------------------------------------------------------------------

    def _check_skipped(self, url: str, key: str, host: _Host) -> None:
        if host.skipped:
            raise HostSkipped(
                f"skipped: {key} failed {host.failures} times in a row this run",
                location=url,
                reader="http",
            )

    def _host(self, url: str) -> tuple[str, _Host]:
        parts = urlsplit(url)
        key = f"{parts.scheme.lower()}://{(parts.netloc or '').lower()}"
        with self._lock:
            host = self._hosts.get(key)
            if host is None:
                host = _Host(threading.BoundedSemaphore(self.options.per_host))
                self._hosts[key] = host
            return key, host

    @contextmanager
    def _slot(self, host: _Host, delay: float) -> Iterator[None]:
        """One of the host's ``per_host`` slots, started at least ``delay`` (this
        request's: the robots.txt Crawl-delay once known) after the previous request to
        the host started."""
        host.slots.acquire()
        try:
            with host.lock:
                start = max(time.monotonic(), host.last_start + delay)
                host.last_start = start
            pause = start - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            yield
        finally:
            host.slots.release()

    def _delay(self, robots: Protego | None) -> float:
        crawl = robots.crawl_delay(self.agent) if robots is not None else None
        return max(self.options.delay, float(crawl or 0))

    def _request(
        self,
        key: str,
        host: _Host,
        url: str,
        headers: dict[str, str],
        timeout: float,
        guard: tuple[bool, str],
        robots: Protego | None,
    ) -> Fetched:
        allow_private, private_hint = guard
        for attempt in range(1, MAX_TRIES + 1):
            try:
                with self._slot(host, self._delay(robots)):
                    self._check_skipped(url, key, host)  # it may have failed meanwhile
                    fetched = fetch(
                        url,
                        timeout=timeout,
                        allow_private=allow_private,
                        private_hint=private_hint,
                        headers=headers,
                    )
            except HTTPStatusError as exc:
                if exc.status in (429, 503) and attempt < MAX_TRIES:
                    wait = self._retry_wait(exc.retry_after, attempt)
                    if wait is not None:
                        log.info("%s: HTTP %d, retrying in %.1f s", url, exc.status, wait)
                        time.sleep(wait)
                        continue
                if exc.status >= 500 or exc.status == 429:
                    self._failed(key, host)
                raise
            except (Disallowed, HostSkipped):
                raise  # not the host failing now
            except SourceError as exc:
                if exc.reader == "http" and not isinstance(exc, AddressRefused):
                    self._failed(key, host)
                raise
            host.failures = 0
            return fetched
        raise AssertionError("unreachable")  # pragma: no cover

    def _retry_wait(self, retry_after: str | None, attempt: int) -> float | None:
        """Seconds to wait before the next try, or None when that is past ``max_wait`` or
        the run's deadline."""
        wait = float(2**attempt)  # backoff when the server says nothing
        if retry_after:
            value = retry_after.strip()
            if value.isdigit():
                wait = float(value)
            else:
                with suppress(TypeError, ValueError, IndexError, OverflowError):
                    wait = parsedate_to_datetime(value).timestamp() - time.time()
        wait = max(wait, 0.0)
        if wait > self.options.max_wait:
            return None
        if self.deadline is not None and time.monotonic() + wait >= self.deadline:
            return None
        return wait

    def _failed(self, key: str, host: _Host) -> None:
        with self._lock:
            host.failures += 1
            if host.failures >= self.options.host_failures and not host.skipped:
                host.skipped = True
                line = f"{key}: skipped for the rest of the run after {host.failures} failures"
                self.skipped_hosts.append(line)
                log.warning("%s", line)

    # --- robots.txt -------------------------------------------------------------------

    def _robots(
        self, page: str, key: str, host: _Host, timeout: float, guard: tuple[bool, str]
    ) -> Protego | None:
        """The host's rules (read once a run, under the host's lock), or None when its
        robots.txt could not be read (nothing is fetched from the host then)."""
        with host.lock:
            if host.robots_read:
                return host.robots
        with host.reading:  # one thread reads it; the others wait for that one
            if not host.robots_read:
                host.robots, host.robots_error = self._read_robots(page, key, host, timeout, guard)
                host.robots_read = True
        return host.robots

    def _cache_file(self, key: str) -> Path | None:
        if self.cache_dir is None:
            return None
        return self.cache_dir / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".txt")

    def _read_robots(
        self, page: str, key: str, host: _Host, timeout: float, guard: tuple[bool, str]
    ) -> tuple[Protego | None, str | None]:
        allow_private, private_hint = guard
        cached = self._cache_file(key)
        if cached is not None and cached.is_file():
            age = time.time() - cached.stat().st_mtime
            if age < self.options.robots_hours * 3600:
                text = cached.read_text("utf-8", errors="replace")
                return Protego.parse(text), None
        url = f"{key}/robots.txt"
        try:
            with self._slot(host, self.options.delay):
                fetched = fetch(
                    url,
                    timeout=timeout,
                    allow_private=allow_private,
                    private_hint=private_hint,
                    max_bytes=MAX_ROBOTS_BYTES,
                    headers={"User-Agent": self.agent},
                )
            text = fetched.content.decode("utf-8", errors="replace")
        except HTTPStatusError as exc:
            if exc.status >= 500 or exc.status == 429:
                self._failed(key, host)
                return None, exc.detail
            text = ""  # 4xx: no rules, everything is allowed
        except SourceError as exc:
            if isinstance(exc, AddressRefused):
                # The guard refuses the host itself: the page's error, not the host's rules
                # (not kept, as another source may be allowed private addresses).
                raise AddressRefused(exc.detail, location=page) from None
            self._failed(key, host)
            return None, exc.detail
        if cached is not None:
            try:
                cached.parent.mkdir(parents=True, exist_ok=True)
                cached.write_text(text, "utf-8")
            except OSError as exc:
                log.info("robots.txt of %s not kept on disk: %s", key, exc)
        return Protego.parse(text), None
