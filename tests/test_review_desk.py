"""An attacker's review of the editor's desk (``digest preview --serve``) over real HTTP:
a DNS-rebound name must read nothing (the draft, the CSRF token) and post nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest

from digest.config import Config
from digest.store import open_database
from digest.store.desk import DeskStore
from tests.desk_server import DeskServer, running_desk

DAY = date(2026, 11, 24)


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[tuple[DeskServer, Config]]:
    with running_desk(tmp_path, "Reviewer") as served:
        yield served


def actions(config: Config) -> int:
    with open_database(config.store_path) as db:
        return len(DeskStore(db).actions(DAY))


@pytest.mark.parametrize("path", ["/", "/text", "/version"])
def test_a_rebound_host_reads_nothing(desk: tuple[DeskServer, Config], path: str) -> None:
    """A page of evil.example whose name now resolves to 127.0.0.1 sends
    ``Host: evil.example:<port>``: it must not get the unpublished edition, nor the page's
    CSRF token (with which it could post)."""
    server, _ = desk
    port = server.port
    with httpx.Client(base_url=server.url, timeout=30) as client:
        assert client.get(path).status_code == 200  # this machine's own page: served
        answer = client.get(path, headers={"Host": f"evil.example:{port}"})
    assert answer.status_code == 403
    assert server.csrf not in answer.text


def test_a_cross_site_or_rebound_post_changes_nothing(desk: tuple[DeskServer, Config]) -> None:
    server, config = desk
    port = server.port
    with httpx.Client(base_url=server.url, timeout=30) as client:
        page = client.get("/").text
        token = re.search(r'name="csrf" value="([^"]+)"', page)
        assert token is not None
        story = re.search(r'class="desk-form desk-drop" data-id="([^"]+)"', page)
        assert story is not None
        body = {"csrf": token.group(1), "action": "drop", "id": story.group(1)}
        hostile = [
            {"Host": f"evil.example:{port}"},
            {"Origin": "http://evil.example"},
            {"Origin": "null"},
            {"Origin": f"http://127.0.0.1:{port}.evil.example"},
        ]
        for headers in hostile:
            answer = client.post("/act", data=body, headers=headers)
            assert answer.status_code == 403, headers
        wrong = client.post("/act", data={**body, "csrf": "x" * 43})
        assert wrong.status_code == 400
        repeated = client.post(
            "/act",
            content=f"csrf=wrong&csrf={token.group(1)}&action=drop&id={story.group(1)}".encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert repeated.status_code == 400  # the first value counts
        assert actions(config) == 0
        done = client.post("/act", data=body, follow_redirects=False)
        assert done.status_code == 303 and done.headers["location"] == "/"
    assert actions(config) == 1


@pytest.mark.parametrize("path", ["/", "/text", "/version", "/nothing"])
def test_no_other_site_may_frame_the_desk(desk: tuple[DeskServer, Config], path: str) -> None:
    """Framed by another site, the desk's buttons could be clicked for the editor by a
    page laid over them (clickjacking): every answer forbids framing."""
    server, _ = desk
    with httpx.Client(base_url=server.url, timeout=30) as client:
        answer = client.get(path)
    assert answer.headers.get("x-frame-options") == "DENY"
    assert "frame-ancestors 'none'" in answer.headers.get("content-security-policy", "")
