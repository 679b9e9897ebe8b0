"""The preferences page behind every message's signed link, over real HTTP (uvicorn,
httpx); the weekly recap built from the daily editions."""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest

from digest import serialize
from digest.config import Config, EditionOptions, NewsletterOptions
from digest.edition.settings import EditionSettings
from digest.edition.weekly import weekly_recap
from digest.models import Edition, Subscriber
from digest.pipeline.daily import send_rendered, send_weekly
from digest.publish.messages import MessageFactory
from digest.publish.render import recap_title, render_edition, title_for
from digest.signed import make_preferences_token
from digest.store import Database, EditionStore, open_database
from digest.store.ledger import DeliveryLedger
from digest.store.subscribers import SubscriberStore
from digest.web.app import create_app
from tests.app_server import serving as serve_app
from tools.smtp_sink import free_port

ROOT = Path(__file__).resolve().parent.parent
KEY = b"preferences-test-secret-012345"


def sample() -> Edition:
    return serialize.loads(Edition, (ROOT / "tests/data/edition.json").read_text("utf-8"))


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


def footer_link(config: Config, subscriber: Subscriber, label: str) -> str:
    rendered = render_edition(sample(), config.newsletter)
    message = email.message_from_bytes(
        MessageFactory(rendered, config.newsletter, KEY)(subscriber).data,
        policy=email.policy.default,
    )
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    found = re.search(rf'<a class="footer-link" href="([^"]+)"[^>]*>{label}</a>', html)
    assert found, html[-2000:]
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert found.group(1) in text  # the text version carries the same link
    return found.group(1)


def test_every_message_links_its_own_preferences_page(
    served: tuple[httpx.Client, Database, Config],
) -> None:
    client, db, config = served
    store = SubscriberStore(db)
    ana, _ = store.upsert("ana@example.com", name="Ana", topics=("climate",))
    link = footer_link(config, ana, "Preferences")
    path = link.removeprefix(config.newsletter.base_url)
    assert path.startswith("/p/")

    shown = client.get(path)
    assert shown.status_code == 200
    assert 'value="climate"' in shown.text and 'value="daily" checked' in shown.text
    assert store.get(ana.id) == ana  # looking changes nothing

    saved = client.post(
        path, data={"action": "save", "topics": "space, Klima, 宇宙", "frequency": "weekly"}
    )
    assert saved.status_code == 200 and "Saved." in saved.text
    now = store.get(ana.id)
    assert now is not None
    assert (now.topics, now.frequency, now.state) == (
        ("space", "Klima", "宇宙"),
        "weekly",
        "active",
    )
    assert 'value="weekly" checked' in saved.text

    bad = client.post(path, data={"action": "save", "topics": "x", "frequency": "hourly"})
    assert bad.status_code == 400 and store.get(ana.id) == now

    gone = client.post(path, data={"action": "unsubscribe"})
    assert gone.status_code == 200 and "no longer receive" in gone.text
    assert store.get(ana.id).state == "unsubscribed"  # type: ignore[union-attr]


def test_forged_and_foreign_tokens_change_nothing(
    served: tuple[httpx.Client, Database, Config],
) -> None:
    client, db, _ = served
    store = SubscriberStore(db)
    ana, _ = store.upsert("ana@example.com")
    bob, _ = store.upsert("bob@example.com")
    ana_token = make_preferences_token(KEY, ana.id, ana.email)
    moved = f"{bob.id}.{ana_token.split('.', 1)[1]}"  # ana's mac on bob's id
    cases = {
        moved: 400,
        make_preferences_token(b"another secret", ana.id, ana.email): 400,
        make_preferences_token(KEY, 999, "nobody@example.com"): 400,  # as forged: ids do not show
        "abc": 400,
        "1." + "A" * 5000: 400,
    }
    for token, status in cases.items():
        for method in ("GET", "POST"):
            response = client.request(
                method, f"/p/{token}", data={"action": "unsubscribe"} if method == "POST" else None
            )
            assert response.status_code in (status, 414), (token[:20], method)
    assert [s.state for s in store.all()] == ["active", "active"]


def test_weekly_recap_takes_each_story_once_best_first() -> None:
    config = EditionSettings()
    monday = sample()
    tuesday = replace(monday, id="2026-11-25", date=date(2026, 11, 25))
    stories = list(tuesday.stories)
    better = replace(stories[-1], score=stories[0].score + 1)  # led higher on Tuesday
    tuesday = replace(tuesday, sections=(replace(tuesday.sections[0], stories=(better,)),))
    recap = weekly_recap([monday, tuesday], date(2026, 11, 29), config)
    assert recap is not None and recap.id == "2026-11-29-weekly"
    ids = [s.article_id for s in recap.stories]
    assert len(ids) == len(set(ids)) == min(len(monday.stories), config.edition.stories)
    assert ids[0] == better.article_id
    small = replace(config, edition=replace(EditionOptions(), stories=2, more_news=3))
    short = weekly_recap([monday], date(2026, 11, 29), small)
    assert short is not None and len(short.stories) == 2 and len(short.more_news) == 3
    assert weekly_recap([], date(2026, 11, 29), config) is None


@pytest.mark.parametrize(
    ("language", "name", "expected"),
    [
        ("en", "The Daily Digest", "The Daily Digest: the week to Sunday, November 29, 2026"),
        ("de", "Tagesüberblick", "Tagesüberblick: die Woche bis Sonntag, 29. November 2026"),
        ("zh", "每日简报", "每日简报：截至2026年11月29日星期日的一周"),
        ("ar", "الموجز اليومي", "الموجز اليومي: الأسبوع حتى الأحد، 29 نوفمبر 2026"),
    ],
)
def test_the_weekly_recap_title_follows_the_newsletter_language(
    language: str, name: str, expected: str
) -> None:
    """The recap's title, as built and as shown (``title_for``), says it is the week's,
    with the date in the newsletter's language (not an English one)."""
    options = NewsletterOptions(title=name, language=language)
    day = date(2026, 11, 29)
    recap = weekly_recap(
        [sample()], day, EditionSettings(title=options.title), title=recap_title(day, options)
    )
    assert recap is not None
    assert recap.title == title_for(recap, options) == expected
    # A daily edition of the same day keeps the daily title.
    assert "2026" in title_for(sample(), options) and title_for(sample(), options) != expected


def test_weekly_subscribers_get_the_recap_on_its_day_only(tmp_path: Path) -> None:
    config = replace(
        Config(), base_dir=str(tmp_path), edition=replace(EditionOptions(), weekly_day="sunday")
    )
    sunday = date(2026, 11, 29)
    with open_database(config.store_path) as db:
        editions = EditionStore(db)
        for back in range(3):
            day = sunday - timedelta(days=back)
            editions.save(replace(sample(), id=day.isoformat(), date=day))
        store = SubscriberStore(db)
        store.upsert("daily@example.com")
        weekly, _ = store.upsert("weekly@example.com")
        store.set_preferences(weekly.id, (), "weekly")

        day_report, _ = send_rendered(config, db, render_edition(sample(), config.newsletter), KEY)
        assert (day_report.recipients, day_report.sent) == (1, 1)  # the daily one only
        assert send_weekly(config, db, sunday - timedelta(days=1), KEY) is None  # a Saturday
        report = send_weekly(config, db, sunday, KEY)
        assert report is not None and report.sent == 1
        rows = DeliveryLedger(db).rows("2026-11-29-weekly")
        assert [(r.subscriber_id, r.state) for r in rows] == [(weekly.id, "sent")]
        again = send_weekly(config, db, sunday, KEY)
        assert again is not None and (again.sent, again.already_sent) == (0, 1)
    outbox = config.data_path / "outbox" / "2026-11-29-weekly"
    [mail] = list(outbox.glob("*.eml"))
    message = email.message_from_bytes(mail.read_bytes(), policy=email.policy.default)
    assert message["To"] == "weekly@example.com"
