"""Privacy: no open or click tracking in a message; `subscribers remove --forget` forgets
consent, bounce history and a pending sign-up too."""

from __future__ import annotations

import email
import email.policy
from dataclasses import replace
from datetime import UTC, datetime
from email import policy
from pathlib import Path

import lxml.html
from click.testing import CliRunner

from digest import serialize
from digest.cli import main
from digest.config import NewsletterOptions, load_config
from digest.models import Edition, LeadImage, Subscriber
from digest.publish.messages import MessageFactory
from digest.publish.render import render_edition
from digest.store import open_database
from digest.store.bounces import BounceStore
from digest.store.consent import Consent, ConsentStore, PendingSignup, SignupRequestRecord
from digest.store.ledger import DeliveryLedger
from digest.store.subscribers import SubscriberStore

ROOT = Path(__file__).resolve().parent.parent
KEY = b"privacy-test-secret-0123456789"


def test_a_message_carries_no_tracking() -> None:
    options = replace(NewsletterOptions(), base_url="https://news.example.org")
    edition = serialize.loads(Edition, (ROOT / "tests/data/edition.json").read_text("utf-8"))
    rendered = render_edition(edition, options)
    data = MessageFactory(rendered, options, KEY)(Subscriber(7, "ana@example.com", "Ana")).data
    message = email.message_from_bytes(data, policy=email.policy.default)
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    doc = lxml.html.document_fromstring(html)
    # Article links go straight to the article (no redirect through us, no added
    # parameters); our own links are the four of the footer, none per story.
    article_urls = {s.url for s in edition.stories} | {h.url for h in edition.more_news}
    article_urls |= {a.url for s in edition.stories for a in s.also_reported}
    article_urls |= {r.url for s in edition.stories for r in s.related}
    ours = [a.get("href") for a in doc.iter("a") if a.get("href", "").startswith(options.base_url)]
    assert sorted(h.split("/")[3] for h in ours) == ["archive", "p", "u"]
    for a in doc.iter("a"):
        href = a.get("href", "")
        if not href.startswith(options.base_url) and not href.startswith("mailto:"):
            assert href in article_urls, href
    # No image at all without a configured logo: nothing to count opens with.
    assert list(doc.iter("img")) == []
    assert "utm_" not in html


def test_no_picture_of_a_message_points_outside_base_url() -> None:
    """Every story's picture is in the edition, half of them as the publishers name them
    (https, http, a FeedBurner ad) and half as our copies: only ours reach the message."""
    options = replace(NewsletterOptions(), base_url="https://news.example.org")
    edition = serialize.loads(Edition, (ROOT / "tests/data/edition.json").read_text("utf-8"))
    theirs = [
        "https://images.indianexpress.com/2026/11/rail.jpg",
        "http://images.indianexpress.com/2026/11/rail.jpg",
        "https://feeds.feedburner.com/~ff/reuters?d=yIl2AUoC8zA",
    ]
    pictures = [
        LeadImage(theirs[i // 2 % 3], 1200, 800)
        if i % 2
        else LeadImage(f"{options.base_url}/archive/pictures/{i:024x}-520.jpg", 520, 347)
        for i in range(len(edition.stories))
    ]
    sections, n = [], 0
    for section in edition.sections:
        stories = []
        for story in section.stories:
            stories.append(replace(story, image=pictures[n]))
            n += 1
        sections.append(replace(section, stories=tuple(stories)))
    edition = replace(edition, sections=tuple(sections))
    rendered = render_edition(edition, options)
    data = MessageFactory(rendered, options, KEY)(Subscriber(7, "ana@example.com", "Ana")).data
    message = email.message_from_bytes(data, policy=policy.default)
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    sources = [img.get("src", "") for img in lxml.html.document_fromstring(html).iter("img")]
    assert len(sources) == (len(pictures) + 1) // 2
    assert all(src.startswith(options.base_url + "/archive/pictures/") for src in sources)
    assert "indianexpress" not in html and "feedburner" not in html


def test_forget_removes_consent_bounces_and_pending(tmp_path: Path) -> None:
    config_path = tmp_path / "config.yaml"
    config_path.write_text("data_dir: data\n", encoding="utf-8")
    config = load_config(config_path)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    with open_database(config.store_path) as db:
        store = SubscriberStore(db)
        ana, _ = store.upsert("ana@example.com", topics=("climate",))
        bob, _ = store.upsert("bob@example.com")
        for who in (ana, bob):
            ConsentStore(db).put(Consent(who.id, now, "double-opt-in", "/subscribe"))
            BounceStore(db).record(who.id, f"m{who.id}", "soft", "4.2.2", now, half_life_days=7)
        DeliveryLedger(db).enqueue("2026-12-01", [ana.id, bob.id])
        ConsentStore(db).put_pending(
            PendingSignup("cy@example.com", (), "/subscribe", now, now, 1, now)
        )
        # ... and the request the form kept with the link it mailed (what it asked)
        asked = SignupRequestRecord("cy@example.com", 1, ("Klima",), "/anmelden", now, now)
        ConsentStore(db).put_request(asked)
    runner = CliRunner()
    for address in ("ANA@example.com", "cy@example.com"):
        result = runner.invoke(
            main, ["--config", str(config_path), "subscribers", "remove", "--forget", address]
        )
        assert result.exit_code == 0, result.output
        assert "forgotten" in result.output
    with open_database(config.store_path) as db:
        assert SubscriberStore(db).by_email("ana@example.com") is None
        assert ConsentStore(db).get(ana.id) is None
        assert BounceStore(db).events(ana.id) == [] and BounceStore(db).score(ana.id).score == 0
        assert ConsentStore(db).pending("cy@example.com") is None
        assert ConsentStore(db).request("cy@example.com", 1) is None
        assert [r.subscriber_id for r in DeliveryLedger(db).rows("2026-12-01")] == [bob.id]
        # bob keeps everything
        assert ConsentStore(db).get(bob.id) is not None
        assert BounceStore(db).events(bob.id) == [("soft", "4.2.2")]
    missing = runner.invoke(
        main, ["--config", str(config_path), "subscribers", "remove", "--forget", "zed@example.com"]
    )
    assert missing.exit_code != 0 and "no such subscriber" in missing.output
