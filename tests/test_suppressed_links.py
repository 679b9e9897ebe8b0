"""A suppressed address (after a complaint or hard bounces) stays suppressed whatever its
old links ask: only an operator's command changes it. Over real HTTP (uvicorn, httpx)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from digest.cli import main
from digest.config import Config, NewsletterOptions, load_config
from digest.models import Subscriber
from digest.pipeline.signup import request_signup
from digest.signed import make_preferences_token, make_token
from digest.store import Database, open_database
from digest.store.subscribers import SubscriberStore
from digest.web.app import create_app
from tests.app_server import serving as serve_app
from tools.smtp_sink import free_port

KEY = b"suppressed-links-test-secret-0123"
ONE_CLICK = {"List-Unsubscribe": "One-Click"}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[httpx.Client, Database, Config]]:
    port = free_port()
    config = replace(
        Config(),
        base_dir=str(tmp_path),
        newsletter=replace(NewsletterOptions(), base_url=f"http://127.0.0.1:{port}"),
    )
    db = open_database(config.store_path)
    app = create_app(config, db=db, key=KEY)
    try:
        with serve_app(app, port=port) as client:
            yield client, db, config
    finally:
        db.close()


def subscriber(db: Database, email: str, state: str) -> Subscriber:
    store = SubscriberStore(db)
    found, _ = store.upsert(email)
    if state != "active":
        assert store.set_state(found.id, state)  # type: ignore[arg-type]
    fresh = store.get(found.id)
    assert fresh is not None and fresh.state == state
    return fresh


def state_of(db: Database, found: Subscriber) -> str:
    fresh = SubscriberStore(db).get(found.id)
    assert fresh is not None
    return fresh.state


def test_old_links_do_not_lift_a_suppression(
    served: tuple[httpx.Client, Database, Config],
) -> None:
    client, db, config = served
    zoe = subscriber(db, "zoe@example.de", "suppressed")  # complained through a feedback loop
    unsubscribe = f"/u/{make_token(KEY, zoe.id, zoe.email, zoe.token_version)}"
    preferences = f"/p/{make_preferences_token(KEY, zoe.id, zoe.email, zoe.token_version)}"
    answers = [
        client.post(unsubscribe, data=ONE_CLICK),  # the mail client's one-click button
        client.post(preferences, data={"action": "unsubscribe"}),
        client.post(preferences, data=ONE_CLICK),
    ]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert state_of(db, zoe) == "suppressed"
    # So a new sign-up for the address mails no confirmation to the person who complained.
    assert request_signup(config, db, KEY, "zoe@example.de").token is None


def test_an_active_subscriber_still_unsubscribes_by_either_link(
    served: tuple[httpx.Client, Database, Config],
) -> None:
    client, db, _ = served
    ana = subscriber(db, "ana@example.es", "active")
    bea = subscriber(db, "bea@example.es", "active")
    one_click = client.post(f"/u/{make_token(KEY, ana.id, ana.email)}", data=ONE_CLICK)
    page = client.post(
        f"/p/{make_preferences_token(KEY, bea.id, bea.email)}", data={"action": "unsubscribe"}
    )
    assert (one_click.status_code, page.status_code) == (200, 200)
    assert (state_of(db, ana), state_of(db, bea)) == ("unsubscribed", "unsubscribed")


def test_an_operator_still_can(tmp_path: Path) -> None:
    config_path = tmp_path / "config.yaml"
    config_path.write_text("data_dir: data\n", encoding="utf-8")
    config = load_config(config_path)
    with open_database(config.store_path) as db:
        li = subscriber(db, "li@example.cn", "suppressed")
    runner = CliRunner()
    removed = runner.invoke(
        main, ["--config", str(config_path), "subscribers", "remove", "li@example.cn"]
    )
    assert removed.exit_code == 0, removed.output
    with open_database(config.store_path) as db:
        assert state_of(db, li) == "unsubscribed"
