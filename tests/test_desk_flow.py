"""The editor's desk end to end, on the examples and a real aiosmtpd sink: the run waits
for approval; the editor drops a story, pins another first, rewrites a key point and
approves; the mail sent is exactly the approved edition; the panel lists the actions; a
rebuild keeps them (and renders to the approved hash)."""

from __future__ import annotations

import email
from datetime import UTC, date, datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path

import lxml.html
import pytest
import yaml
from click.testing import CliRunner, Result

from digest.cli import main
from digest.config import load_config
from digest.models import DeskAction, Edition
from digest.pipeline.desk import rendered_hash
from digest.publish.messages import MessageFactory
from digest.publish.render import render_edition
from digest.signed import secret_key
from digest.store import EditionStore, open_database
from digest.store.desk import DeskStore
from digest.store.subscribers import SubscriberStore
from tools.smtp_sink import SmtpSink

ROOT = Path(__file__).resolve().parent.parent
DAY = "2026-11-24"
SECRET = "desk-flow-secret"
POINT = "Gletscher verlieren Eis: 4 % — हिमनद पिघल रहे हैं (the editor's words)"


def parts(data: bytes) -> tuple[str, str]:
    message = email.message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    html, text = message.get_body(("html",)), message.get_body(("plain",))
    assert html is not None and text is not None
    return html.get_content(), text.get_content()


def saved(path: Path) -> Edition:
    with open_database(load_config(path).store_path) as db:
        edition = EditionStore(db).for_day(date(2026, 11, 24))
    assert edition is not None
    return edition


@pytest.mark.slow
def test_drop_pin_edit_approve_send_and_rebuild(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIGEST_SECRET", SECRET)
    monkeypatch.setenv("USER", "farah")
    with SmtpSink() as sink:
        config = {
            "data_dir": "data",
            "sources": [{"name": "examples", "location": str(ROOT / "examples"), "kind": "folder"}],
            "delivery": {
                "transport": "smtp",
                "require_approval": True,
                "smtp": {"host": "127.0.0.1", "port": sink.port},
            },
        }
        path = tmp_path / "config.yaml"
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
        with open_database(load_config(path).store_path) as db:
            SubscriberStore(db).upsert("mei@example.org", name="Mei")

        def digest(*args: str) -> Result:
            result = CliRunner().invoke(main, ["--config", str(path), *args])
            assert result.exit_code == 0, result.output
            return result

        assert "waiting for approval" in digest("run", "--date", DAY).stdout
        assert sink.messages == []
        built = saved(path)
        ids = [s.article_id for s in built.stories]
        dropped, pinned, edited = ids[1], ids[4], ids[0]
        digest("edition", "drop", dropped, "--date", DAY)
        digest("edition", "pin", pinned, "--date", DAY, "--editor", "Tomás")
        digest("edition", "edit-point", edited, "2", POINT, "--date", DAY)
        headline = built.more_news[0]
        digest("edition", "promote", headline.article_id, "--date", DAY)
        digest("approve", "--date", DAY)
        sent = digest("run", "--date", DAY)
        assert "1 recipient, 1 sent" in sent.stdout

    # What was sent is exactly the approved edition, rendered for Mei.
    approved = saved(path)
    loaded = load_config(path)
    rendered = render_edition(approved, loaded.newsletter, timezone=loaded.tz)
    with open_database(loaded.store_path) as db:
        [mei] = SubscriberStore(db).all()
        approval = DeskStore(db).approval(date(2026, 11, 24))
    assert approval is not None and approval.edition_hash == rendered_hash(rendered)
    expected = MessageFactory(
        rendered, loaded.newsletter, secret_key(loaded.server.secret_env)
    ).message(mei)
    [received] = sink.messages
    assert parts(received.data) == parts(expected.data)
    assert received.message_id == expected.message_id

    # ... and it is the edited edition: the pinned story leads, the dropped one is gone,
    # the rewritten point is in the mail and marked as the editor's in the edition.
    html, text = parts(received.data)
    doc = lxml.html.document_fromstring(html)
    headlines = [h.text_content() for h in doc.find_class("headline")]
    titles = {s.article_id: s.title for s in built.stories}
    assert headlines[0] == titles[pinned]
    assert titles[dropped] not in headlines
    assert POINT in html.replace("&#39;", "'") and POINT.split(" (")[0] in text
    point = next(s for s in approved.stories if s.article_id == edited).summary.key_points[1]
    assert (point.edited_by, point.sources) == ("farah", ())
    assert point.original == built.stories[0].summary.key_points[1].text

    # The editor's panel lists the actions, who took them and when.
    digest_preview = CliRunner().invoke(main, ["--config", str(path), "preview", "--date", DAY])
    assert digest_preview.exit_code == 0
    page = (tmp_path / "data" / "previews" / f"{DAY}.html").read_text(encoding="utf-8")
    log = lxml.html.document_fromstring(page).get_element_by_id("digest-desk-log").text_content()
    assert "Editor's actions (4)" in log
    assert f"farah: dropped “{titles[dropped]}”" in log
    assert f"Tomás: pinned “{titles[pinned]}” at 1" in log
    assert f"farah: edited key point 2 of “{titles[edited]}”" in log

    # The edition went out: a plain rebuild is refused in one line, and nothing changes.
    refused = CliRunner().invoke(
        main, ["--config", str(path), "edition", "--rebuild", "--date", DAY]
    )
    assert refused.exit_code == 1
    assert refused.stderr.strip() == (
        "error: edition 2026-11-24 went out to 1 subscriber already: a rebuild would replace"
        " what they received (--force to do it anyway)"
    )
    assert saved(path) == approved

    # A forced rebuild replays them: same stories, same order, same rendering as approved.
    rebuilt_run = CliRunner().invoke(
        main, ["--config", str(path), "edition", "--rebuild", "--force", "--date", DAY]
    )
    assert rebuilt_run.exit_code == 0, rebuilt_run.output
    assert "warning" not in rebuilt_run.stderr
    rebuilt = saved(path)
    assert [s.article_id for s in rebuilt.stories] == [s.article_id for s in approved.stories]
    assert all(e.applied for e in rebuilt.desk) and len(rebuilt.desk) == 4
    again = render_edition(rebuilt, loaded.newsletter, timezone=loaded.tz)
    assert rendered_hash(again) == approval.edition_hash

    # The promoted More news headline was sent as a summarised story (extracted points).
    story = next(s for s in rebuilt.stories if s.article_id == headline.article_id)
    assert story.summary.key_points and all(p.sources for p in story.summary.key_points)
    assert headline.article_id not in {h.article_id for h in rebuilt.more_news}
    assert story.title in headlines

    # An edition that went out is no draft: actions on it are refused, nothing recorded.
    late = CliRunner().invoke(
        main, ["--config", str(path), "edition", "drop", pinned, "--date", DAY]
    )
    assert late.exit_code == 1
    assert late.stderr.strip() == (
        "error: edition 2026-11-24 went out to 1 subscriber already: actions change a draft only"
    )

    # An action whose story is gone at the next rebuild is skipped and reported.
    with open_database(loaded.store_path) as db:
        DeskStore(db).record(
            date(2026, 11, 24),
            DeskAction(
                kind="headline",
                editor="farah",
                at=datetime.now(UTC),
                article_id="gone-article-0001",
                text="Nicht mehr da",
            ),
        )
    last = CliRunner().invoke(
        main, ["--config", str(path), "edition", "--rebuild", "--force", "--date", DAY]
    )
    assert last.exit_code == 0, last.output
    assert (
        "warning: farah's action headline of “gone-article-0001” → “Nicht mehr da” not applied:"
        " no story with id 'gone-article-0001' in this edition"
    ) in last.stderr
    final = saved(path)
    assert [e.applied for e in final.desk] == [True, True, True, True, False]
    assert len(final.desk) == 5
    assert headline.article_id in {s.article_id for s in final.stories}  # promote replayed
