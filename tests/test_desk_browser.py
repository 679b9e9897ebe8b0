"""`digest preview --serve` as the editor's desk: the actions as forms that POST to the
preview server on 127.0.0.1 with a CSRF token. Clicked in real headless Chromium (drop a
story: it is gone, the left-out list grows; pin one first), and refused over plain HTTP
without the token, from another origin or host, or too large."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from digest.config import Config
from digest.pipeline.options import page_settings
from digest.publish.preview import preview_page
from digest.store import open_database
from digest.store.desk import DeskStore
from digest.web.desk import MAX_FORM_BYTES
from tests.desk_server import DeskServer, running_desk
from tests.newsletter_sample import sample_edition

ROOT = Path(__file__).resolve().parent.parent
DAY = date(2026, 11, 24)


def _chromium_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "digest_tools_chromium_desk", ROOT / "tools" / "chromium.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[tuple[DeskServer, Config]]:
    with running_desk(tmp_path, "Chiara") as served:
        yield served


def stored_actions(config: Config) -> list[tuple[str, str]]:
    with open_database(config.store_path) as db:
        return [(a.kind, a.article_id) for a in DeskStore(db).actions(DAY)]


STATE_JS = """JSON.stringify({
  headlines: [].map.call(document.querySelectorAll('h3.headline'), function (h) {
    return h.textContent.trim(); }),
  leftOut: [].map.call(document.querySelectorAll('#digest-left-out > ul > li'), function (l) {
    return l.textContent.trim(); }),
  log: document.getElementById('digest-desk-log').textContent
})"""


@pytest.mark.browser
@pytest.mark.slow
def test_click_drop_and_pin_in_chromium(desk: tuple[DeskServer, Config]) -> None:
    chromium = _chromium_module()
    if chromium.find_chromium() is None:
        pytest.skip("headless Chromium is not installed (Debian: apt-get install chromium)")
    server, config = desk
    titles = {s.article_id: s.title for s in sample_edition().stories}
    with chromium.Browser() as browser:
        browser.open(server.url, 1100)
        before: dict[str, Any] = json.loads(browser.evaluate(STATE_JS))
        assert before["headlines"][1] == titles["d-sahel-aid"]
        assert len(before["leftOut"]) == 4

        browser.click('form.desk-drop[data-id="d-sahel-aid"] button')
        after: dict[str, Any] = json.loads(browser.evaluate(STATE_JS))
        assert titles["d-sahel-aid"] not in after["headlines"]
        assert len(after["headlines"]) == len(before["headlines"]) - 1
        assert len(after["leftOut"]) == 5
        assert after["leftOut"][0].startswith(f"{titles['d-sahel-aid']} — dropped by Chiara")
        assert "Chiara: dropped" in after["log"]

        browser.click('form.desk-pin[data-id="m-rates"] button')
        pinned: dict[str, Any] = json.loads(browser.evaluate(STATE_JS))
        assert pinned["headlines"][0] == titles["m-rates"]
    assert stored_actions(config) == [("drop", "d-sahel-aid"), ("pin", "m-rates")]


def post(server: DeskServer, body: bytes, **headers: str) -> httpx.Response:
    return httpx.post(
        f"{server.url}act",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", **headers},
    )


def test_the_desk_refuses_posts_without_the_token_or_from_elsewhere(
    desk: tuple[DeskServer, Config],
) -> None:
    server, config = desk
    page = httpx.get(server.url).text
    assert f'name="csrf" value="{server.csrf}"' in page
    assert page.count('class="desk-toolbar"') == len(sample_edition().stories)
    assert page.count('class="desk-form desk-promote"') == 10  # 6 More news + 4 left out
    drop = b"action=drop&id=d-sahel-aid"
    good = drop + f"&csrf={server.csrf}".encode()
    assert post(server, drop).status_code == 400
    assert "CSRF" in post(server, drop + b"&csrf=guess").text
    assert post(server, good, Origin="http://evil.example").status_code == 403
    assert post(server, good, Host="evil.example:80").status_code == 403
    assert post(server, b"x" * (MAX_FORM_BYTES + 1)).status_code == 413
    unknown = post(server, f"action=format-disk&csrf={server.csrf}".encode())
    assert unknown.status_code == 400 and "unknown action" in unknown.text
    bad_id = post(server, f"action=drop&id=nothere&csrf={server.csrf}".encode())
    assert bad_id.status_code == 400 and "no story with id" in bad_id.text
    assert stored_actions(config) == []
    done = post(server, good, Origin=server.url.rstrip("/"))
    assert done.status_code == 303 and done.headers["location"] == "/"
    assert stored_actions(config) == [("drop", "d-sahel-aid")]


def test_the_mail_and_the_written_preview_carry_no_desk(desk: tuple[DeskServer, Config]) -> None:
    server, _ = desk
    preview = preview_page(page_settings(server.config), sample_edition())
    written, rendered = preview.html, preview.rendered
    assert "desk-form" not in written and "desk-form" not in rendered.html
    assert "<form" not in rendered.html
