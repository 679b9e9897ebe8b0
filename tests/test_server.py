"""One-click unsubscribe and the archive over real HTTP: uvicorn on 127.0.0.1, httpx."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from email import policy
from email.parser import BytesHeaderParser
from pathlib import Path

import httpx
import pytest
import uvicorn

from digest.config import Config, DeliveryOptions
from digest.deliver import OutboxTransport, deliver_edition
from digest.errors import ConfigError
from digest.models import Edition, EditionSection, KeyPoint, Story, Summary
from digest.publish.messages import MessageFactory
from digest.publish.render import render_edition
from digest.publish.tokens import make_token, secret_key
from digest.server import create_app
from digest.store import Database, open_database
from digest.store.ledger import DeliveryLedger
from digest.store.subscribers import SubscriberStore
from tools.smtp_sink import free_port

KEY = b"test-secret-0123456789"


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[httpx.Client, SubscriberStore]]:
    config = replace(Config(), base_dir=str(tmp_path))
    archive = config.data_path / "archive"
    archive.mkdir(parents=True)
    (archive / "index.html").write_text("<h1>Archive</h1>", encoding="utf-8")
    db: Database = open_database(config.store_path)
    store = SubscriberStore(db)
    app = create_app(config, db=db, key=KEY)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:  # a start-up wait, not a timing assertion
        time.sleep(0.01)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", follow_redirects=False) as client:
        yield client, store
    server.should_exit = True
    thread.join(10)
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
    again = client.post(f"/u/{make_token(KEY, ann.id, ann.email)}", data={"x": "y"})
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
    for token in forged:
        assert client.post(f"/u/{token}").status_code == 400, token
        assert client.get(f"/u/{token}").status_code == 400, token
    assert client.post(f"/u/{make_token(KEY, 999, 'x@example.com')}").status_code == 404
    assert {s.state for s in store.all()} == {"active"}


def test_the_link_in_a_sent_message_stops_the_next_edition(
    setup: tuple[httpx.Client, SubscriberStore], tmp_path: Path
) -> None:
    client, store = setup
    ann, _ = store.upsert("ann@example.com", name="Ann")
    bob, _ = store.upsert("bob@example.com")
    story = Story(
        "a1",
        "A title",
        "https://example.org/a",
        "Example",
        "World",
        Summary((KeyPoint("Point one.", (0,)),), None, "extractive", "test"),
        1.0,
    )
    edition = Edition(
        "2026-11-24", date(2026, 11, 24), "Digest", (EditionSection("World", (story,)),)
    )
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
        secret_key(Config())


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
