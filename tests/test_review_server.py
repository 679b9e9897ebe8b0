"""An attacker's review of ``digest serve`` over real HTTP (uvicorn on 127.0.0.1, httpx):
tokens of every purpose, answers that must not tell ids apart, bodies that must not crash
the server, and the sign-up's confirmation link."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest
import uvicorn

from digest.config import Config, NewsletterOptions, ServerOptions, SignupOptions
from digest.signed import (
    make_confirm_token,
    make_preferences_token,
    make_token,
    verp_address,
)
from digest.store import Database, open_database
from digest.store.consent import ConsentStore
from digest.store.subscribers import SubscriberStore
from digest.web.app import create_app
from tools.smtp_sink import free_port

KEY = b"review-test-secret-0123456789abcdef"


@dataclass
class Served:
    client: httpx.Client
    db: Database
    config: Config
    base: str


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = replace(
        Config(),
        base_dir=str(tmp_path),
        newsletter=replace(NewsletterOptions(), base_url="https://news.example.org"),
        server=replace(
            ServerOptions(),
            signup=replace(SignupOptions(), per_ip_per_hour=3, mails_per_address_per_day=1),
        ),
    )
    db = open_database(config.store_path)
    app = create_app(config, db=db, key=KEY)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:  # a start-up wait, not a timing assertion
        time.sleep(0.01)
    with httpx.Client(base_url=base, timeout=30) as client:
        yield Served(client, db, config, base)
    server.should_exit = True
    thread.join(10)
    db.close()


def active(db: Database, email: str) -> int:
    subscriber, _ = SubscriberStore(db).upsert(email, state="active")
    return subscriber.id


def test_preferences_answer_the_same_for_a_missing_id_and_a_forged_token(
    served: Served,
) -> None:
    """A forged token for an id that exists and one for an id that does not must be one
    answer (status and body): otherwise anyone can list which subscriber ids exist."""
    known = active(served.db, "maria.souza@exemplo.com.br")
    forged = make_preferences_token(b"not-the-key", known, "maria.souza@exemplo.com.br")
    missing = make_preferences_token(KEY, known + 1000, "niemand@beispiel.de")
    for method in ("GET", "POST"):
        a = served.client.request(method, f"/p/{forged}", data={"action": "save"})
        b = served.client.request(method, f"/p/{missing}", data={"action": "save"})
        assert (a.status_code, a.text) == (b.status_code, b.text), method
        assert a.status_code == 400


@pytest.mark.parametrize(
    "token",
    [
        "\u00b2.AAAAAAAAAAAAAAAAAAAAAAAA",  # a superscript two: str.isdigit, not int()
        "\u0661.AAAAAAAAAAAAAAAAAAAAAAAA",  # Arabic-Indic one: int() reads it as 1
        "1.\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9",
    ],
)
def test_preferences_token_with_non_ascii_digits_is_a_bad_link_not_a_crash(
    served: Served, token: str
) -> None:
    active(served.db, "hamid@misal.pk")  # id 1 exists: the MAC check is reached
    for method in ("GET", "POST"):
        answer = served.client.request(method, f"/p/{token}", data={"action": "unsubscribe"})
        assert answer.status_code == 400, (method, answer.text[:200])
    assert SubscriberStore(served.db).get(1).state == "active"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "expires",
    ["\u00b2\u00b2\u00b2", "\u0669\u0669\u0669\u0669\u0669\u0669\u0669\u0669\u0669\u0669"],
)
def test_confirm_token_with_non_ascii_digits_is_a_bad_link_not_a_crash(
    served: Served, expires: str
) -> None:
    good = make_confirm_token(KEY, "li.wei@lizi.cn", int(time.time()) + 3600)
    address, _, mac = good.split(".")
    for token in (f"{address}.{expires}.{mac}", f"{address}.{good.split('.')[1]}.{'é' * 24}"):
        for method in ("GET", "POST"):
            answer = served.client.request(method, f"/subscribe/confirm/{token}")
            assert answer.status_code == 400, (method, token, answer.text[:200])


def test_tokens_of_one_purpose_are_refused_for_every_other(served: Served) -> None:
    """Unsubscribe, preferences, confirmation and VERP MACs are domain-separated: each
    one, moved to another route, changes nothing."""
    email = "chiara.rossi@esempio.it"
    sid = active(served.db, email)
    unsub = make_token(KEY, sid, email)
    prefs = make_preferences_token(KEY, sid, email)
    confirm = make_confirm_token(KEY, email, int(time.time()) + 3600)
    verp = verp_address(KEY, "bounces@news.example.org", sid, email)
    verp_mac = verp.split("-", 1)[1].split("@")[0]
    as_token = f"{sid}.{verp_mac}"
    for token in (prefs, as_token):
        assert (
            served.client.post(f"/u/{token}", data={"List-Unsubscribe": "One-Click"}).status_code
            == 400
        )
    for token in (unsub, as_token):
        assert served.client.post(f"/p/{token}", data={"action": "unsubscribe"}).status_code == 400
    for token in (unsub, prefs, as_token):
        assert served.client.post(f"/subscribe/confirm/{token}").status_code == 400
    # A confirmation token names an address, not an id: never an unsubscribe.
    assert (
        served.client.post(f"/u/{confirm}", data={"List-Unsubscribe": "One-Click"}).status_code
        == 400
    )
    assert SubscriberStore(served.db).get(sid).state == "active"  # type: ignore[union-attr]


def test_confirmation_link_comes_from_base_url_never_the_host_header(served: Served) -> None:
    sent: list[bytes] = []
    # The mail queue's sender is the transport; read what would go out instead.
    from digest.web import signup as signup_module

    original = signup_module.send_confirmation
    signup_module.send_confirmation = lambda config, message: sent.append(message.data)  # type: ignore[assignment]
    try:
        app = create_app(served.config, db=served.db, key=KEY)
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.01)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            answer = client.post(
                "/subscribe",
                data={"email": "anna@beispiel.de"},
                headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"},
            )
        assert answer.status_code == 200
        for _ in range(1000):  # the queue's thread sends after the answer
            if sent:
                break
            time.sleep(0.01)
        server.should_exit = True
        thread.join(10)
    finally:
        signup_module.send_confirmation = original
    assert sent, "no confirmation mail"
    assert b"https://news.example.org/subscribe/confirm/" in sent[0]
    assert b"evil.example" not in sent[0]


def test_sign_up_answers_alike_for_new_active_and_repeated_addresses(served: Served) -> None:
    active(served.db, "yuki@rei.jp")
    answers = []
    for email in ("yuki@rei.jp", "kenji@rei.jp", "kenji@rei.jp"):
        r = served.client.post("/subscribe", data={"email": email})
        answers.append((r.status_code, r.text.replace(email, "X"), sorted(r.headers.keys())))
    # Each one the "check your inbox" page, and the same for all three.
    assert [(status, "Check your inbox" in page) for status, page, _ in answers] == [
        (200, True)
    ] * 3
    assert answers[0] == answers[1] == answers[2]


def test_sign_up_form_fields_are_escaped_and_crlf_is_refused(served: Served) -> None:
    hostile = '"><script>alert(1)</script>\r\nBcc: victim@example.com'
    answer = served.client.post(
        "/subscribe", data={"email": f"a@b.de{hostile}", "topics": f"Klima{hostile}"}
    )
    assert answer.status_code == 400
    assert "<script>" not in answer.text
    # Repeated fields: the first counts, a later one cannot smuggle another address in.
    answer = served.client.post(
        "/subscribe",
        content=b"email=ok%40beispiel.de&email=%0d%0aBcc%3a+x%40y.z",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 200
    # Not UTF-8, and too large: one clear 400.
    bad = served.client.post(
        "/subscribe",
        content=b"email=\xff\xfe@x.de",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert bad.status_code == 400
    huge = served.client.post(
        "/subscribe",
        content=b"email=" + b"a" * 100_000,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert huge.status_code in (400, 429)


@pytest.mark.parametrize(
    "path",
    [
        "/archive/../config.yaml",
        "/archive/%2e%2e/config.yaml",
        "/archive/..%2fconfig.yaml",
        "/archive//etc/passwd",
        "/archive/%2fetc%2fpasswd",
    ],
)
def test_archive_paths_stay_inside_the_archive(served: Served, path: str) -> None:
    answer = served.client.get(path)
    assert answer.status_code in (404, 400)
    assert "root:" not in answer.text


def test_old_links_stop_working_after_leaving_and_signing_up_again(served: Served) -> None:
    """Token versions: the unsubscribe and preferences links of mail sent before someone
    left and came back (double opt-in) no longer act on the new subscription."""
    email = "fatima.zahra@mithal.ma"
    sid = active(served.db, email)
    old_unsub = make_token(KEY, sid, email)
    old_prefs = make_preferences_token(KEY, sid, email)
    one_click = {"List-Unsubscribe": "One-Click"}
    assert served.client.post(f"/u/{old_unsub}", data=one_click).status_code == 200
    assert served.client.post("/subscribe", data={"email": email}).status_code == 200
    # The link mailed for this request: its expiry names the pending request, recorded
    # after the answer (the sign-up queue's thread).
    deadline = time.monotonic() + 30
    while (pending := ConsentStore(served.db).pending(email)) is None:
        assert time.monotonic() < deadline, "the sign-up request was never recorded"
        time.sleep(0.02)  # a wait for the queue's thread, not an assertion on timing
    confirm = make_confirm_token(KEY, email, int(pending.expires_at.timestamp()))
    assert served.client.post(f"/subscribe/confirm/{confirm}").status_code == 200
    again = SubscriberStore(served.db).get(sid)
    assert again is not None and again.state == "active" and again.token_version == 1
    assert served.client.post(f"/u/{old_unsub}", data=one_click).status_code == 400
    assert served.client.post(f"/p/{old_prefs}", data={"action": "unsubscribe"}).status_code == 400
    assert SubscriberStore(served.db).get(sid).state == "active"  # type: ignore[union-attr]
    new_prefs = make_preferences_token(KEY, sid, email, again.token_version)
    assert served.client.get(f"/p/{new_prefs}").status_code == 200


def test_sign_up_rate_limit_counts_an_ipv6_client_by_its_64_prefix(tmp_path: Path) -> None:
    """One IPv6 subscriber line holds a whole /64 (2**64 addresses): counting each address
    alone lets one client make any number of sign-up requests."""
    from starlette.testclient import TestClient

    config = replace(
        Config(),
        base_dir=str(tmp_path),
        server=replace(ServerOptions(), signup=replace(SignupOptions(), per_ip_per_hour=2)),
    )
    db = open_database(config.store_path)
    app = create_app(config, db=db, key=KEY)
    statuses = []
    for n in range(4):
        with TestClient(app, client=(f"2001:db8:5:7::{n + 1:x}", 40000)) as client:
            answer = client.post("/subscribe", data={"email": "x", "website": "bot"})
            statuses.append(answer.status_code)
    # Another /64, and an IPv4 client, have their own allowance.
    with TestClient(app, client=("2001:db8:5:8::1", 40000)) as client:
        statuses.append(client.post("/subscribe", data={"email": "x"}).status_code)
    db.close()
    assert statuses[:2] == [200, 200]
    assert statuses[2:4] == [429, 429]
    assert statuses[4] == 400  # not limited: the address is refused as not one


def trickle(base: str, path: str, head: bytes) -> bytes:
    """A POST whose body never finishes arriving: the answer the server gives, or b""
    when it gives none before the client gives up (30 s)."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n".encode()
            + b"Content-Type: application/x-www-form-urlencoded\r\n"
            + b"Content-Length: 200\r\n\r\n"
            + head
        )
        try:
            return sock.recv(65536)
        except TimeoutError:
            return b""


def test_a_body_that_trickles_in_is_refused_at_its_bound(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client sending a form a byte at a time (or never finishing it) holds a
    connection until ``MAX_FORM_SECONDS`` / ``MAX_POST_SECONDS``, then gets 400."""
    from digest.web import forms as forms_module
    from digest.web import unsubscribe as unsubscribe_module

    monkeypatch.setattr(forms_module, "MAX_FORM_SECONDS", 0.2)
    monkeypatch.setattr(unsubscribe_module, "MAX_POST_SECONDS", 0.2)
    email = "olga@primer.ru"
    sid = active(served.db, email)
    prefs = make_preferences_token(KEY, sid, email)
    unsub = make_token(KEY, sid, email)
    for path, head in (
        ("/subscribe", b"email=slow%40primer.ru&topics="),
        (f"/p/{prefs}", b"action=unsubscribe&x="),
        (f"/u/{unsub}", b"List-Unsubscribe=One-Click&x="),
    ):
        answer = trickle(served.base, path, head)
        assert answer.startswith(b"HTTP/1.1 400"), (path, answer[:80])
    assert SubscriberStore(served.db).get(sid).state == "active"  # type: ignore[union-attr]


def test_topics_echoed_on_the_preferences_page_are_escaped(served: Served) -> None:
    email = "sana@misal.pk"
    sid = active(served.db, email)
    token = make_preferences_token(KEY, sid, email)
    hostile = '"><img src=x onerror=alert(1)>سیاست, <b>Klima</b>'
    saved = served.client.post(f"/p/{token}", data={"action": "save", "topics": hostile})
    assert saved.status_code == 200
    assert "<img" not in saved.text and "<b>Klima" not in saved.text
    assert "&lt;b&gt;Klima&lt;/b&gt;" in saved.text and "سیاست" in saved.text
    stored = SubscriberStore(served.db).get(sid)
    assert stored is not None and "<b>Klima</b>" in stored.topics
    refused = served.client.post(
        f"/p/{token}", data={"action": "save", "topics": "Wirtschaft\r\nBcc: x@y.z"}
    )
    assert refused.status_code == 400 and "\r\nBcc" not in refused.text
    odd = served.client.post(f"/p/{token}", data={"action": "save", "frequency": "<hourly>"})
    assert odd.status_code == 400 and "<hourly>" not in odd.text
