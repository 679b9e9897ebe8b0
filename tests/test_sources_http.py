"""Fetching within bounds a server cannot stretch: the SSRF guard against real loopback
servers (refused unless allowed, on every redirect hop, after DNS resolution), an address
refused before any connection, and one deadline over the whole download."""

from __future__ import annotations

import contextlib
import http.server
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from digest.config import SourceOptions
from digest.errors import SourceError
from digest.sources import http as http_module
from digest.sources import read_location, read_source
from digest.sources.http import blocked_reason, fetch
from tests.smtp_sink import make_tls_files

PAGE = (
    "<html><head><title>Internal admin</title></head><body><article><h1>Internal admin</h1>"
    + "<p>internal admin secret: the backup key of the staff intranet is kept here.</p>" * 30
    + "</article></body></html>"
).encode()


class _Server:
    """A real HTTP server on 127.0.0.1 (a free port) that records the paths asked for
    (its robots.txt, a 404 unless routed, is counted apart in ``robots``)."""

    def __init__(self, routes: dict[str, Callable[[http.server.BaseHTTPRequestHandler], None]]):
        hits = self.hits = []  # type: list[str]
        robots = self.robots = []  # type: list[str]

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/robots.txt" and self.path not in routes:
                    robots.append(self.path)
                    _send(404)(self)
                    return
                hits.append(self.path)
                routes[self.path](self)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _send(status: int, body: bytes = b"", **headers: str) -> Callable[..., None]:
    def answer(handler: http.server.BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            handler.wfile.write(body)

    return answer


def _drip(handler: http.server.BaseHTTPRequestHandler) -> None:
    """A byte every 0.2 s, for up to a minute: each read is quick, the download is not."""
    handler.send_response(200)
    handler.send_header("Content-Type", "text/html")
    handler.end_headers()
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        for _ in range(300):
            handler.wfile.write(b"<")
            handler.wfile.flush()
            time.sleep(0.2)


@pytest.fixture
def admin() -> Iterator[_Server]:
    server = _Server({"/admin": _send(200, PAGE), "/drip": _drip})
    yield server
    server.close()


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("0.0.0.0", "unspecified"),
        ("100.64.0.1", "not a public"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("fc00::1", "private"),
        ("ff02::1", "multicast"),
        ("::", "unspecified"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:169.254.169.254", "link-local"),
        ("::ffff:10.0.0.1", "private"),
        ("93.184.215.14", None),
        ("2606:4700:4700::1111", None),
    ],
)
def test_blocked_reason_names_every_kind_of_non_public_address(
    address: str, reason: str | None
) -> None:
    assert blocked_reason(address) == reason


def test_a_loopback_server_is_refused_unless_allowed(admin: _Server) -> None:
    with pytest.raises(SourceError, match=r"refused: 127\.0\.0\.1 is a loopback address"):
        fetch(f"{admin.url}/admin")
    assert admin.hits == []  # refused before any request
    fetched = fetch(f"{admin.url}/admin", allow_private=True)
    assert b"internal admin secret" in fetched.content
    assert admin.hits == ["/admin"]


def test_a_host_name_is_checked_after_resolution(admin: _Server) -> None:
    with pytest.raises(SourceError, match=r"refused: localhost is a loopback address"):
        fetch(f"http://localhost:{admin.port}/admin")
    assert admin.hits == []


def test_a_redirect_to_loopback_is_refused_on_its_hop(
    admin: _Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first server stands for a public one (the guard is told to let exactly its
    address through); it redirects to the admin server by another spelling of loopback,
    which the guard checks like any first hop."""
    public = _Server(
        {"/story": _send(302, Location=f"http://[::ffff:127.0.0.1]:{admin.port}/admin")}
    )
    real = blocked_reason
    monkeypatch.setattr(
        http_module, "blocked_reason", lambda a: None if a == "127.0.0.1" else real(a)
    )
    try:
        with pytest.raises(SourceError, match=r"refused: ::ffff:127\.0\.0\.1 is a loopback"):
            fetch(f"{public.url}/story")
        assert public.hits == ["/story"]
        assert admin.hits == []
    finally:
        public.close()


def test_a_metadata_address_is_refused_before_any_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the guard let a connection or a lookup start")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    for url in (
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/",
    ):
        with pytest.raises(SourceError, match=r"refused: .* is a (link-local|private) address"):
            fetch(url)
    with pytest.raises(SourceError, match="only http and https"):
        fetch("gopher://169.254.169.254/")


def test_one_deadline_covers_the_whole_download(admin: _Server) -> None:
    """Each read returns in 0.2 s, far inside any per-read timeout; the whole download
    is what the deadline bounds."""
    started = time.monotonic()
    with pytest.raises(SourceError, match="timed out after 1 s"):
        fetch(f"{admin.url}/drip", timeout=1.0, allow_private=True)
    assert time.monotonic() - started < 30  # not the drip's whole minute


def test_feed_teasers_linking_to_internal_pages_keep_their_teaser(
    admin: _Server, tmp_path: Path
) -> None:
    feed = tmp_path / "feed.rss"
    feed.write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>'
        f"<item><title>Admin panel leaks</title><link>{admin.url}/admin</link>"
        "<description>A short teaser.</description></item>"
        "<item><title>Cloud metadata</title><link>http://169.254.169.254/latest/</link>"
        "<description>Another teaser.</description></item></channel></rss>",
        encoding="utf-8",
    )
    result = read_location(str(feed), fetch_full_text=True)
    assert [a.text for a in result.articles] == ["A short teaser.", "Another teaser."]
    assert admin.hits == []
    assert len(result.warnings) == 2
    assert all("kept the teaser" in w and "refused" in w for w in result.warnings)

    # A source that says allow_private reads its intranet pages.
    options = SourceOptions(
        name="intranet", location=str(feed), fetch_full_text=True, allow_private=True
    )
    allowed = read_source(options)
    assert "internal admin secret" in allowed.articles[0].text
    assert admin.hits == ["/admin"]


def test_teaser_pages_fetched_per_source_are_bounded(
    admin: _Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("digest.sources.MAX_PAGE_FETCHES", 2)
    feed = tmp_path / "feed.rss"
    feed.write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>'
        + "".join(
            f"<item><title>Teaser {i}</title><link>{admin.url}/admin</link>"
            f"<description>Teaser number {i}.</description></item>"
            for i in range(5)
        )
        + "</channel></rss>",
        encoding="utf-8",
    )
    result = read_location(str(feed), fetch_full_text=True, allow_private=True)
    assert admin.hits == ["/admin", "/admin"]
    pages = ["internal admin secret" in a.text for a in result.articles]
    assert pages == [True, True, False, False, False]
    assert result.warnings == (
        "kept 3 more teasers as they are: 2 pages fetched already (the limit of one source)",
    )


def test_https_goes_through_the_guard_and_checks_certificates(tmp_path: Path) -> None:
    """TLS runs over the guarded, deadline-bound connection, and certificates are checked
    (this server's is self-signed: the handshake happens, then the check refuses it)."""
    tls = make_tls_files(tmp_path)
    server = _Server({"/admin": _send(200, PAGE)})
    server.httpd.socket = tls.server_context().wrap_socket(server.httpd.socket, server_side=True)
    try:
        with pytest.raises(SourceError, match="CERTIFICATE_VERIFY_FAILED"):
            fetch(f"https://127.0.0.1:{server.port}/admin", allow_private=True, timeout=10)
        with pytest.raises(SourceError, match="loopback"):
            fetch(f"https://127.0.0.1:{server.port}/admin", timeout=10)
    finally:
        server.close()


def test_each_refusal_names_the_switch_of_the_place_that_read(
    admin: _Server, tmp_path: Path
) -> None:
    """A configured source names its key; `digest read` and `digest summarize` name their
    flag, which lets the same URL through (issue 23, item 8)."""
    from click.testing import CliRunner

    from digest.cli import main

    with pytest.raises(SourceError, match="set allow_private: true on the source") as refused:
        read_source(SourceOptions(name="intranet", location=f"{admin.url}/admin"))
    assert "--allow-private" not in str(refused.value)

    config = tmp_path / "config.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\n", "utf-8")
    runner = CliRunner()
    for command in ("read", "summarize"):
        for url in (f"{admin.url}/admin", f"http://localhost:{admin.port}/admin"):
            result = runner.invoke(main, ["--config", str(config), command, url])
            assert result.exit_code == 1, result.output
            assert "add --allow-private to read it" in result.stderr
            assert "allow_private: true" not in result.output
    assert admin.hits == []
    allowed = runner.invoke(
        main, ["--config", str(config), "read", "--allow-private", f"{admin.url}/admin"]
    )
    assert admin.hits == ["/admin"] and "refused" not in allowed.output
