"""One-click unsubscribe and the archive over real HTTP: uvicorn on 127.0.0.1, httpx."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from email import policy
from email.parser import BytesHeaderParser
from pathlib import Path

import httpx
import lxml.html
import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.testclient import TestClient

from digest.config import Config, DeliveryOptions
from digest.deliver import OutboxTransport, deliver_edition
from digest.errors import ConfigError
from digest.models import Edition, EditionSection, KeyPoint, Story, Summary
from digest.publish.messages import MessageFactory
from digest.publish.render import render_edition
from digest.signed import make_token, secret_key
from digest.store import Database, open_database
from digest.store.ledger import DeliveryLedger
from digest.store.subscribers import SubscriberStore
from digest.web.app import SECURITY_HEADERS, create_app
from tests.app_server import serving

KEY = b"test-secret-0123456789"
ONE_CLICK = {"List-Unsubscribe": "One-Click"}


def _one_story_edition() -> Edition:
    story = Story(
        "a1",
        "A title",
        "https://example.org/a",
        "Example",
        "World",
        Summary((KeyPoint("Point one.", (0,)),), None, "extractive", "test"),
        1.0,
    )
    return Edition("2026-11-24", date(2026, 11, 24), "Digest", (EditionSection("World", (story,)),))


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[httpx.Client, SubscriberStore]]:
    config = replace(Config(), base_dir=str(tmp_path))
    archive = config.data_path / "archive"
    archive.mkdir(parents=True)
    (archive / "index.html").write_text("<h1>Archive</h1>", encoding="utf-8")
    db: Database = open_database(config.store_path)
    store = SubscriberStore(db)
    with serving(create_app(config, db=db, key=KEY), follow_redirects=False) as client:
        yield client, store
    db.close()


def test_get_shows_a_button_and_never_unsubscribes(
    setup: tuple[httpx.Client, SubscriberStore],
) -> None:
    client, store = setup
    ann, _ = store.upsert("ann@example.com")
    token = make_token(KEY, ann.id, ann.email)
    for _ in range(3):  # a mail scanner following the link, several times
        page = client.get(f"/u/{token}")
        assert page.status_code == 200
    assert '<form method="post">' in page.text and "ann@example.com" in page.text
    assert store.get(ann.id).state == "active"  # type: ignore[union-attr]


def test_one_click_post_unsubscribes_with_200_and_no_redirect(
    setup: tuple[httpx.Client, SubscriberStore],
) -> None:
    client, store = setup
    ann, _ = store.upsert("ann@example.com")
    bob, _ = store.upsert("bob@example.com")
    reply = client.post(
        f"/u/{make_token(KEY, ann.id, ann.email)}",
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert reply.status_code == 200 and "location" not in reply.headers
    assert store.get(ann.id).state == "unsubscribed"  # type: ignore[union-attr]
    assert store.get(bob.id).state == "active"  # type: ignore[union-attr]
    again = client.post(
        f"/u/{make_token(KEY, ann.id, ann.email)}", data={"List-Unsubscribe": "One-Click"}
    )
    assert again.status_code == 200  # idempotent
    assert "no longer receive" in client.get(f"/u/{make_token(KEY, ann.id, ann.email)}").text


def test_forged_and_moved_tokens_change_nothing(
    setup: tuple[httpx.Client, SubscriberStore],
) -> None:
    client, store = setup
    ann, _ = store.upsert("ann@example.com")
    bob, _ = store.upsert("bob@example.com")
    forged = [
        make_token(b"another-secret", ann.id, ann.email),  # signed with the wrong key
        f"{bob.id}.{make_token(KEY, ann.id, ann.email).split('.')[1]}",  # ann's MAC on bob
        make_token(KEY, bob.id, ann.email),  # bob's id bound to ann's address
        "not-a-token",
        f"{ann.id}.",
    ]
    unknown = make_token(KEY, 999, "x@example.com")
    answers = set()
    for token in [*forged, unknown]:
        for reply in (client.post(f"/u/{token}", data=ONE_CLICK), client.get(f"/u/{token}")):
            answers.add((reply.status_code, reply.text))
    # One answer, whatever is wrong: it never tells which ids exist.
    assert len(answers) == 1 and next(iter(answers))[0] == 400
    assert {s.state for s in store.all()} == {"active"}


def test_the_link_in_a_sent_message_stops_the_next_edition(
    setup: tuple[httpx.Client, SubscriberStore], tmp_path: Path
) -> None:
    client, store = setup
    ann, _ = store.upsert("ann@example.com", name="Ann")
    bob, _ = store.upsert("bob@example.com")
    edition = _one_story_edition()
    options = replace(Config().newsletter, base_url=str(client.base_url))
    factory = MessageFactory(render_edition(edition, options), options, KEY)
    outbox = OutboxTransport(tmp_path / "out")
    sent = outbox.send(factory.message(ann))
    header = BytesHeaderParser(policy=policy.default).parsebytes(
        Path(sent.text.removeprefix("written to ")).read_bytes()
    )["List-Unsubscribe"]
    url = re.search(r"<(https?://[^>]+)>", str(header)).group(1)  # type: ignore[union-attr]
    reply = client.post(
        url,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert reply.status_code == 200
    report = deliver_edition(
        "2026-11-25",
        store.all(),
        factory.message,
        lambda: outbox,
        DeliveryOptions(),
        ledger=DeliveryLedger(store.db),
    )
    assert report.recipients == 1 and store.get(ann.id).state == "unsubscribed"  # type: ignore[union-attr]
    assert DeliveryLedger(store.db).get("2026-11-25", bob.id) is not None


def test_archive_is_served(setup: tuple[httpx.Client, SubscriberStore]) -> None:
    client, _ = setup
    assert client.get("/").headers["location"] == "/archive/"
    assert "Archive" in client.get("/archive/").text
    assert client.get("/archive/../digest.sqlite3").status_code == 404


def test_a_missing_secret_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DIGEST_SECRET", raising=False)
    with pytest.raises(ConfigError, match=r"\$DIGEST_SECRET is not set"):
        secret_key(Config().server.secret_env)


def test_digest_serve_says_where_and_a_busy_port_is_one_line(tmp_path: Path) -> None:
    """The command as run: `digest serve --port 0` prints the URL it listens on, answers,
    and stops on Ctrl-C with status 0; a port in use is `error: ...` and status 1, not
    uvicorn's log lines and its status 3."""
    import os
    import signal
    import subprocess
    import sys

    (tmp_path / "config.yaml").write_text("data_dir: data\n", encoding="utf-8")
    digest = [str(Path(sys.executable).parent / "digest"), "--config", "config.yaml", "serve"]
    env = {**os.environ, "DIGEST_SECRET": KEY.decode()}
    job = subprocess.Popen(
        [*digest, "--port", "0"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert job.stdout is not None
        line = job.stdout.readline()
        url = re.search(r"serving (http://127\.0\.0\.1:\d+/)u/<token>", line)
        assert url, line
        missing = httpx.get(f"{url[1]}u/999.bad-token")
        assert missing.status_code in (400, 404)
        port = int(url[1].rsplit(":", 1)[1].rstrip("/"))
        busy = subprocess.run(
            [*digest, "--port", str(port)], cwd=tmp_path, env=env, capture_output=True, text=True
        )
    finally:
        job.send_signal(signal.SIGINT)
        job.communicate(timeout=30)
    assert job.returncode == 0
    assert busy.returncode == 1
    assert (
        busy.stderr.strip() == f"error: cannot listen on 127.0.0.1:{port}: Address already in use"
    )


# --- hardening ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "head", ["²", "١", "１", "12345678901234567890", "9" * 5000, "-1", "+1", " 1", "0x1", "1e3"]
)
def test_odd_ids_get_the_one_answer_never_a_500(
    setup: tuple[httpx.Client, SubscriberStore], head: str
) -> None:
    client, store = setup
    ann, _ = store.upsert("ann@example.com")
    mac = make_token(KEY, ann.id, ann.email).split(".")[1]
    reference = client.get(f"/u/{make_token(KEY, 999, 'x@example.com')}")
    for token in (f"{head}.{mac}", head, f"{head}.{'A' * 5000}"):
        for reply in (client.get(f"/u/{token}"), client.post(f"/u/{token}", data=ONE_CLICK)):
            assert (reply.status_code, reply.text) == (reference.status_code, reference.text)
    assert store.get(ann.id).state == "active"  # type: ignore[union-attr]


def test_a_post_without_the_one_click_body_changes_nothing(
    setup: tuple[httpx.Client, SubscriberStore],
) -> None:
    client, store = setup
    ann, _ = store.upsert("ann@example.com")
    url = f"/u/{make_token(KEY, ann.id, ann.email)}"
    refused = [
        client.post(url),  # empty
        client.post(url, data={"x": "y"}),
        client.post(url, data={"List-Unsubscribe": "one-click-please"}),
        client.post(url, content=b"List-Unsubscribe=One-Click"),  # no form content type
        client.post(
            url,
            content=b"List-Unsubscribe=One-Click&" + b"x" * 5000,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ),
    ]
    assert [r.status_code for r in refused] == [400] * len(refused)
    assert "Nothing changed" in refused[0].text
    assert store.get(ann.id).state == "active"  # type: ignore[union-attr]
    # multipart/form-data, as some mail providers send it (RFC 8058 allows both)
    done = client.post(url, files={"List-Unsubscribe": (None, "One-Click")})
    assert done.status_code == 200
    assert store.get(ann.id).state == "unsubscribed"  # type: ignore[union-attr]


def test_the_confirmation_page_posts_the_one_click_field(
    setup: tuple[httpx.Client, SubscriberStore],
) -> None:
    client, store = setup
    ann, _ = store.upsert("ann@example.com")
    url = f"/u/{make_token(KEY, ann.id, ann.email)}"
    form = lxml.html.document_fromstring(client.get(url).text).find(".//form")
    assert form is not None and form.get("method") == "post"
    fields = {i.get("name"): i.get("value") for i in form.iter("input")}
    reply = client.post(url, data=fields)
    assert reply.status_code == 200
    assert store.get(ann.id).state == "unsubscribed"  # type: ignore[union-attr]


def test_re_subscribing_revokes_the_old_links(setup: tuple[httpx.Client, SubscriberStore]) -> None:
    client, store = setup
    ann, _ = store.upsert("ann@example.com")
    old = make_token(KEY, ann.id, ann.email, ann.token_version)
    assert client.post(f"/u/{old}", data=ONE_CLICK).status_code == 200
    again, _ = store.upsert("ann@example.com", state="active", reactivate=True)
    assert again.token_version == ann.token_version + 1
    assert store.get(ann.id) == again
    refused = client.post(f"/u/{old}", data=ONE_CLICK)
    assert refused.status_code == 400 and client.get(f"/u/{old}").status_code == 400
    assert store.get(ann.id).state == "active"  # type: ignore[union-attr]
    new = make_token(KEY, ann.id, ann.email, again.token_version)
    assert client.post(f"/u/{new}", data=ONE_CLICK).status_code == 200
    assert store.get(ann.id).state == "unsubscribed"  # type: ignore[union-attr]
    # set_state (the other way back to active) also moves the version on
    assert store.set_state(ann.id, "active")
    assert store.get(ann.id).token_version == again.token_version + 1  # type: ignore[union-attr]


def test_a_message_carries_a_token_of_the_current_version(tmp_path: Path) -> None:
    db = open_database(tmp_path / "digest.sqlite3")
    store = SubscriberStore(db)
    ann, _ = store.upsert("ann@example.com")
    store.set_state(ann.id, "unsubscribed")
    store.set_state(ann.id, "active")
    current = store.get(ann.id)
    assert current is not None and current.token_version == 1
    edition = _one_story_edition()
    factory = MessageFactory(render_edition(edition, Config().newsletter), Config().newsletter, KEY)
    data = factory.message(current).data
    assert make_token(KEY, ann.id, ann.email, 1).encode() in data
    assert make_token(KEY, ann.id, ann.email, 0).encode() not in data
    db.close()


def test_every_response_carries_the_security_headers(
    setup: tuple[httpx.Client, SubscriberStore],
) -> None:
    client, store = setup
    ann, _ = store.upsert("ann@example.com")
    replies = [
        client.get(f"/u/{make_token(KEY, ann.id, ann.email)}"),
        client.get("/u/1.bad"),
        client.post("/u/1.bad"),
        client.get("/archive/"),
        client.get("/archive/missing.html"),
        client.get("/no/such/route"),
        client.get("/healthz"),
        client.get("/"),
        client.request("DELETE", "/u/1.bad"),  # 405
    ]
    for reply in replies:
        for name, value in SECURITY_HEADERS.items():
            assert reply.headers.get(name) == value, (reply.url, reply.status_code, name)
    csp = SECURITY_HEADERS["Content-Security-Policy"]
    assert "script-src" not in csp and "default-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp


def test_routes_added_later_and_server_errors_get_the_headers(tmp_path: Path) -> None:
    config = replace(Config(), base_dir=str(tmp_path))
    db = open_database(config.store_path)
    app = create_app(config, db=db, key=KEY)

    def boom(request: Request) -> Response:
        raise RuntimeError("a bug in someone's route")

    def extra(request: Request) -> Response:
        return PlainTextResponse("added by another module")

    app.add_route("/boom", boom)
    app.add_route("/extra", extra)
    with TestClient(app, raise_server_exceptions=False) as client:
        for path, status in (("/extra", 200), ("/boom", 500)):
            reply = client.get(path)
            assert reply.status_code == status
            assert reply.headers["X-Frame-Options"] == "DENY"
            assert reply.headers["Content-Security-Policy"].startswith("default-src 'none'")
    db.close()
