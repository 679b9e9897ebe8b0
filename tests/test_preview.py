"""``digest preview`` and ``digest archive`` through the CLI, on a stored edition."""

from __future__ import annotations

import stat
import time
from pathlib import Path

import httpx
import lxml.html
import pytest
from click.testing import CliRunner

from digest.cli import main
from digest.config import load_config
from digest.pipeline.build import LoadedEdition
from digest.pipeline.options import page_settings
from digest.publish.preview import preview_page
from digest.store import EditionStore, open_database
from digest.web.desk import Desk
from tests.desk_server import serving_desk
from tests.newsletter_sample import sample_edition

DAY = "2026-11-24"


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    """A config whose store holds the sample edition of 2026-11-24."""
    path = tmp_path / "config.yaml"
    path.write_text("data_dir: data\nsources: []\n", encoding="utf-8")
    config = load_config(path)
    with open_database(config.store_path) as db:
        EditionStore(db).save(sample_edition())
    return path


def run(config_file: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--config", str(config_file), *args])
    return result.exit_code, result.stdout, result.stderr


def test_preview_writes_html_and_text_with_the_editor_panel(config_file: Path) -> None:
    code, out, err = run(config_file, "preview", "--date", DAY)
    assert code == 0, err
    html_path = config_file.parent / "data" / "previews" / f"{DAY}.html"
    assert f"preview of {DAY}: {html_path}" in out
    assert f"text version: {html_path.with_suffix('.txt')}" in out
    doc = lxml.html.document_fromstring(html_path.read_text(encoding="utf-8"))
    panel = doc.get_element_by_id("digest-editor-panel")
    assert panel.getparent().tag == "body"
    assert "Left out (4)" in panel.text_content() and "too short: 42 words" in panel.text_content()
    assert doc.find_class("headline")[0].text_content().startswith("Ceasefire talks")
    assert not doc.findall(".//script")  # the written preview has no reload script
    text = html_path.with_suffix(".txt").read_text(encoding="utf-8")
    assert "Good morning." in text
    # A preview is nobody's: its Preferences and Unsubscribe lead to the sign-up page.
    footer = [a.get("href") for a in doc.iter("a") if a.text in ("Preferences", "Unsubscribe")]
    assert footer == ["http://127.0.0.1:8025/subscribe"] * 2
    assert "mailto:" not in text and "http://127.0.0.1:8025/subscribe" in text


def test_preview_out_and_text(config_file: Path, tmp_path: Path) -> None:
    target = tmp_path / "draft" / "today.html"
    code, out, err = run(config_file, "preview", "--date", DAY, "--out", str(target), "--text")
    assert code == 0, err
    assert target.is_file() and target.with_suffix(".txt").is_file()
    assert out.startswith("THE DAILY DIGEST\n")
    assert "Links:\n[1] http://127.0.0.1:8025/archive/2026-11-24.html" in out
    assert f"preview of {DAY}: {target}" in err


def test_preview_open_hands_the_file_to_the_browser(
    config_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.sh"
    browser.write_text(f'#!/bin/sh\necho "$1" > {opened}\n')
    browser.chmod(browser.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("BROWSER", str(browser))
    code, _, err = run(config_file, "preview", "--date", DAY, "--open")
    assert code == 0, err
    deadline = time.monotonic() + 10
    while not opened.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    expected = (config_file.parent / "data" / "previews" / f"{DAY}.html").resolve().as_uri()
    assert opened.read_text().strip() == expected


def test_archive_writes_an_index_and_a_page_per_edition(config_file: Path) -> None:
    config = load_config(config_file)
    older = sample_edition()
    older = type(older)(
        id="2026-11-23",
        date=older.date.replace(day=23),
        title=older.title,
        sections=older.sections[:1],
    )
    with open_database(config.store_path) as db:
        EditionStore(db).save(older)
    code, out, err = run(config_file, "archive")
    assert code == 0, err
    folder = config_file.parent / "data" / "archive"
    assert f"2 editions in {folder}" in out
    index = lxml.html.document_fromstring((folder / "index.html").read_text(encoding="utf-8"))
    links = [a.get("href") for a in index.iter("a")]
    assert links == ["2026-11-24.html", "2026-11-23.html", "feed.xml"]  # newest first
    page = (folder / "2026-11-24.html").read_text(encoding="utf-8")
    assert "digest-editor-panel" not in page and "<script" not in page
    assert 'href="http://127.0.0.1:8025/archive/2026-11-24.html"' in page
    # Read by anyone: no link to a mailbox action, the footer's links lead to the sign-up
    # page (issue 23, item 2).
    assert "mailto:" not in page
    assert 'href="http://127.0.0.1:8025/subscribe"' in page


def test_archive_out_folder(config_file: Path, tmp_path: Path) -> None:
    code, out, err = run(config_file, "archive", "--out", str(tmp_path / "site"))
    assert code == 0, err
    assert f"1 edition in {tmp_path / 'site'}" in out
    assert (tmp_path / "site" / "index.html").is_file()
    assert (tmp_path / "site" / f"{DAY}.html").is_file()


def test_preview_server_serves_and_reloads_on_template_changes(tmp_path: Path) -> None:
    overrides = tmp_path / "templates"
    overrides.mkdir()
    (tmp_path / "config.yaml").write_text(
        f"data_dir: data\nsources: []\nnewsletter:\n  templates: {overrides}\n"
    )
    config = load_config(tmp_path / "config.yaml")
    edition = sample_edition()
    desk = Desk(config, lambda: LoadedEdition(edition, {}))
    with serving_desk(desk) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        page = client.get("/")
        assert page.status_code == 200 and "digest-editor-panel" in page.text
        first = client.get("/version").text
        assert f'var seen = "{first}"' in page.text  # the polling script, preview only
        assert client.get("/text").text.startswith("THE DAILY DIGEST")
        (overrides / "_footer.html.j2").write_text(
            '<table role="presentation"><tr><td>New footer'
            ' <a href="{{ slot.unsubscribe_url }}">unsubscribe</a></td></tr></table>'
        )
        assert client.get("/version").text != first
        assert "New footer" in client.get("/").text
        assert client.get("/nothing").status_code == 404


def test_preview_page_is_the_mail_plus_the_panel(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("data_dir: data\nsources: []\n")
    config = load_config(tmp_path / "config.yaml")
    preview = preview_page(page_settings(config), sample_edition())
    page, rendered = preview.html, preview.rendered
    assert "digest-editor-panel" in page and "digest-editor-panel" not in rendered.html
    body = rendered.html.split("<body", 1)[1].split(">", 1)[1]
    assert body[:200] in page  # the mail's own body follows the panel unchanged


def test_preview_open_without_a_browser_says_so(config_file: Path) -> None:
    """On a server there is no browser: --open says where the file is instead of nothing.
    (A process of its own: webbrowser keeps its list of browsers for the process.)"""
    import os
    import subprocess
    import sys

    digest = Path(sys.executable).parent / "digest"
    result = subprocess.run(
        [str(digest), "--config", str(config_file), "preview", "--date", DAY, "--open"],
        env={**os.environ, "BROWSER": "false", "DISPLAY": "", "WAYLAND_DISPLAY": ""},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    expected = (config_file.parent / "data" / "previews" / f"{DAY}.html").resolve().as_uri()
    assert f"warning: no browser to open here; open {expected} yourself" in result.stderr


def test_the_panel_shows_the_backend_the_dropped_points_and_the_fallback(
    tmp_path: Path,
) -> None:
    from dataclasses import replace

    (tmp_path / "config.yaml").write_text("data_dir: data\nsources: []\n")
    config = load_config(tmp_path / "config.yaml")
    edition = sample_edition()
    first, second = edition.sections[0].stories[:2]
    written = replace(
        first,
        summary=replace(
            first.summary,
            method="openai",
            model="qwen2.5:7b",
            dropped_points=1,
            dropped_why=("not in the article: 90: Die Stadt baute 90 neue Brücken.",),
        ),
    )
    fell_back = replace(
        second,
        summary=replace(second.summary, fallback_reason="model server: no answer within 5 s"),
    )
    section = replace(edition.sections[0], stories=(written, fell_back))
    edition = replace(edition, sections=(section, *edition.sections[1:]))
    panel = preview_page(page_settings(config), edition).html.split("</body>")[0]
    doc = lxml.html.fromstring(panel)
    header = doc.get_element_by_id("digest-editor-panel").text_content()
    assert "openai (qwen2.5:7b)" in header and "1 unsupported point(s) dropped" in header
    dropped = [li.text_content() for li in doc.find_class("dropped-points")[0]]
    assert dropped == ["dropped: not in the article: 90: Die Stadt baute 90 neue Brücken."]
    assert "fell back: model server: no answer within 5 s" in header
