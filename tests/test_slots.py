"""Slot forgery: no text of an article, however nested, split, encoded or case-varied, puts a
subscriber's unsubscribe token or name anywhere in a message but its own slot.

Every field of an edition that reaches the mail carries every marker variant an attacker
could try without knowing the render's nonce; the test then builds real messages with
``MessageFactory`` and looks at the decoded text and HTML parts and every header.
"""

from __future__ import annotations

import dataclasses
import email
import json
import re
from datetime import date
from email import policy
from email.message import EmailMessage
from pathlib import Path

import lxml.html
import pytest

from digest.config import NewsletterOptions
from digest.models import (
    AlsoReported,
    Edition,
    EditionSection,
    Headline,
    KeyPoint,
    RelatedItem,
    Story,
    Subscriber,
)
from digest.publish.messages import MessageFactory
from digest.publish.render import render_edition
from digest.signed import make_token
from tests.newsletter_sample import sample_edition

SECRET = b"slot forgery test secret, 32 bytes"
OPTIONS = NewsletterOptions(base_url="https://news.example.org")
VICTIM = Subscriber(id=41, email="victim@example.com", name="Quintavius Zorobabel")
TOKEN = make_token(SECRET, VICTIM.id, VICTIM.email)
GUESS = "0123456789abcdef" * 2  # a nonce-shaped guess

# What a feed author could write, for each slot name, hoping it becomes a live marker.
_NAMES = ("UNSUBSCRIBE_URL", "NAME_SUFFIX", "BROWSER_URL")


def _variants(name: str) -> list[str]:
    plain = f"DIGEST_SLOT_{name}_"
    return [
        plain,
        f"DIGEST_SLDIGEST_SLOT_OT_{name}_",  # nested: survives one strip pass
        f"DIGEST_SLOT_DIGEST_SLOT_{name}__",
        f"DIGEST_SLOT_{GUESS}_{name}_",  # a guessed nonce
        f"DIGEST_SLDIGEST_SLOT_OT_{GUESS}_{name}_",
        plain.replace("_", "&#95;"),  # HTML entities
        plain.replace("D", "&#x44;", 1),
        plain.replace("_", "%5F"),  # URL-encoded
        plain.replace("_", "%5f"),
        plain.lower(),  # case-varied
        plain.title(),
        f"DIGEST_\u200bSLOT_{name}_",  # a zero-width space to be stripped somewhere
    ]


HOSTILE = " ".join(v for n in _NAMES for v in _variants(n))
# The two halves of a marker in two fields next to each other (title | dek, point | point).
HEAD, TAIL = "DIGEST_SLOT_", "UNSUBSCRIBE_URL_"


def _url(tag: str) -> str:
    return f"https://evil.example/track?{tag}=DIGEST_SLDIGEST_SLOT_OT_UNSUBSCRIBE_URL_&n=" + (
        "DIGEST%5FSLOT%5FNAME%5FSUFFIX%5F"
    )


def hostile_edition() -> Edition:
    """The sample edition, two stories in each of two sections and three More news lines,
    with the markers in every field that reaches the mail."""
    base = sample_edition()
    sections = []
    for s_index, section in enumerate(base.sections[:2]):
        stories = []
        for index, story in enumerate(section.stories[:2]):
            points = tuple(
                KeyPoint(f"Point {i} {HOSTILE} {HEAD if i % 2 == 0 else TAIL}", p.sources)
                for i, p in enumerate(story.summary.key_points)
            )
            summary = dataclasses.replace(
                story.summary,
                key_points=points,
                conclusion=KeyPoint(f"In short {HOSTILE}", (0,)),
            )
            stories.append(
                Story(
                    article_id=story.article_id,
                    title=f"Headline {index} {HOSTILE} {HEAD}",
                    url=_url(f"story{s_index}{index}"),
                    source=f"Outlet {HOSTILE}",
                    section=section.name,
                    summary=summary,
                    score=story.score,
                    published=story.published,
                    dek=f"{TAIL} Dek {HOSTILE}",
                    also_reported=(
                        AlsoReported(f"Wire {HOSTILE}", f"Also {HOSTILE}", _url("also"), "x1"),
                    ),
                    related=(
                        RelatedItem(f"Related {HOSTILE} {HEAD}", _url("rel"), story.published),
                        RelatedItem(f"{TAIL} bare title {HOSTILE}"),
                    ),
                    terms=story.terms,
                )
            )
        sections.append(EditionSection(f"Section {section.name}", tuple(stories)))
    more = tuple(
        Headline(h.article_id, f"More {HOSTILE} {HEAD}", f"{TAIL} Src {HOSTILE}", _url("more"))
        for h in base.more_news[:3]
    )
    return dataclasses.replace(
        base, title=f"Edition {HOSTILE}", sections=tuple(sections), more_news=more
    )


def _parts(data: bytes) -> tuple[EmailMessage, str, str]:
    message = email.message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    return message, text.get_content(), html.get_content()


@pytest.fixture(scope="module")
def victim_message() -> tuple[EmailMessage, str, str]:
    rendered = render_edition(hostile_edition(), OPTIONS)
    factory = MessageFactory(rendered, OPTIONS, SECRET)
    return _parts(factory.message(VICTIM).data)


def test_the_hostile_edition_renders_and_keeps_its_text(
    victim_message: tuple[EmailMessage, str, str],
) -> None:
    _, text, html = victim_message
    assert "Headline 0" in html and "Headline 0" in text
    assert "evil.example/track" in html  # the hostile links stay, inert


def test_the_token_is_only_in_the_unsubscribe_slots(
    victim_message: tuple[EmailMessage, str, str],
) -> None:
    message, text, html = victim_message
    doc = lxml.html.document_fromstring(html)
    holders = [
        (element, attr)
        for element in doc.iter()
        if isinstance(element.tag, str)
        for attr, value in element.attrib.items()
        if TOKEN in value
    ]
    in_text = [e for e in doc.iter() if isinstance(e.tag, str) and TOKEN in (e.text or "")]
    assert len(holders) == 1 and not in_text
    anchor, attr = holders[0]
    assert attr == "href" and anchor.text_content() == "Unsubscribe"
    assert anchor.get("href") == f"https://news.example.org/u/{TOKEN}"
    assert html.count(TOKEN) == 1
    # Text part: once, as the reference the "Unsubscribe:" line cites.
    assert text.count(TOKEN) == 1
    number = re.search(r"Unsubscribe:\s*\[(\d+)\]", text)
    assert number is not None
    assert f"[{number.group(1)}] https://news.example.org/u/{TOKEN}" in text
    # Headers: only List-Unsubscribe (https and mailto).
    for name, value in message.items():
        if TOKEN in str(value):
            assert name == "List-Unsubscribe", name
    assert str(message["List-Unsubscribe"]).count(TOKEN) == 2


def test_the_name_is_only_in_the_greeting_and_the_to_header(
    victim_message: tuple[EmailMessage, str, str],
) -> None:
    message, text, html = victim_message
    doc = lxml.html.document_fromstring(html)
    holders = [e for e in doc.iter() if isinstance(e.tag, str) and VICTIM.name in (e.text or "")]
    assert [e.get("class") for e in holders] == ["greeting font"]
    assert html.count(VICTIM.name) == 1 and text.count(VICTIM.name) == 1
    assert f"Good morning, {VICTIM.name}." in text
    headers = [name for name, value in message.items() if VICTIM.name in str(value)]
    assert headers == ["To"]


def test_a_second_subscriber_sees_neither_the_first_ones_token_nor_name() -> None:
    rendered = render_edition(hostile_edition(), OPTIONS)
    factory = MessageFactory(rendered, OPTIONS, SECRET)
    other = Subscriber(id=42, email="other@example.com", name="Ordinary Reader")
    message, text, html = _parts(factory.message(other).data)
    everything = html + text + "".join(str(v) for _, v in message.items())
    assert TOKEN not in everything and VICTIM.name not in everything
    assert make_token(SECRET, other.id, other.email) in html


def test_no_marker_of_the_render_is_left_in_the_message() -> None:
    rendered = render_edition(hostile_edition(), OPTIONS)
    message, text, html = _parts(MessageFactory(rendered, OPTIONS, SECRET).message(VICTIM).data)
    everything = html + text + "".join(str(v) for _, v in message.items())
    assert rendered.slot_nonce not in everything
    # The guess stays plain text (its prefix removed with every other marker prefix in content).
    assert f"{GUESS}_UNSUBSCRIBE_URL_" in text


# --- the whole way: a feed's articles through the daily job ------------------------------------


_BODIES = {
    "Flood defence": [
        "Engineers in Rotterdam finished raising the northern dike by two metres on Monday.",
        "The works cost 410 million euros and protect about 90,000 homes near the river.",
        "Hydrologists warned that storm surges in the North Sea are growing more frequent.",
    ],
    "Rail freight": [
        "A new freight corridor between Lyon and Turin opened to container trains this week.",
        "Operators expect the tunnel to move 40 lorries' worth of cargo from every train.",
        "Hauliers in the Alpine valleys said the change would cut diesel traffic sharply.",
    ],
    "Orchard harvest": [
        "Apple growers in Kashmir reported their smallest harvest in fifteen years.",
        "An early frost in April destroyed blossoms across almost half of the orchards.",
        "Exporters in Srinagar said prices at the Delhi wholesale market doubled in October.",
    ],
    "Chess final": [
        "A seventeen-year-old from Chennai won the rapid chess final in Oslo on Sunday.",
        "She beat the defending champion in a sharp endgame after six hours of play.",
        "Her coach said she had trained for the event with a group of veteran players.",
    ],
}


def _title(i: int) -> str:
    variants = [v for n in _NAMES for v in _variants(n)]
    return f"{list(_BODIES)[i - 1]} {' '.join(variants[i - 1 :: 4])} {HEAD}"


def _hostile_article(i: int, topic: str) -> dict[str, object]:
    """An article whose every field a feed controls carries markers: each article a
    different quarter of the variants (all of them across the four), so that shared
    marker words do not make the four one event."""
    first, second, third = _BODIES[topic]
    variants = [v for n in _NAMES for v in _variants(n)]
    hostile = " ".join(variants[i - 1 :: 4])
    sentences = [
        first,
        f"{second} {hostile}",
        f"{HEAD} {third}",
        f"{TAIL} Observers of the {topic.lower()} story expect more news before the spring.",
        f"Conclusion: {topic.lower()} {hostile} remains one to watch in the coming months.",
    ]
    return {
        "title": _title(i),
        "dek": f"{TAIL} {hostile}",
        "author": f"Reporter {hostile}",
        "url": _url(f"a{i}"),
        "source": f"Outlet {i} {hostile}",
        "category": f"Section {i} {hostile}",
        "published": f"2026-11-24T0{i}:00:00Z",
        "related": [
            {"title": f"Earlier {hostile} {HEAD}", "url": _url(f"r{i}")},
            {"title": _title(i % 4 + 1), "url": _url(f"n{i}")},  # the next one: resolves
            f"{TAIL} Bare related title {hostile}",
        ],
        "body": "\n\n".join(sentences),
    }


@pytest.mark.slow
def test_markers_in_a_feeds_articles_never_reach_another_slot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Articles in a JSON feed file, markers in title, dek, author, link, outlet, category,
    body (key points and conclusion) and related titles, through ``run_daily`` (the real
    encoder, extractive summaries) into .eml files: each subscriber's token and name are in
    their own slots only."""
    from digest.config import Config, SourceOptions
    from digest.pipeline.daily import run_daily
    from digest.store import open_database
    from digest.store.subscribers import SubscriberStore

    folder = tmp_path
    feed = folder / "articles"
    feed.mkdir()
    topics = list(_BODIES)
    (feed / "articles.json").write_text(
        json.dumps([_hostile_article(i, t) for i, t in enumerate(topics, 1)]), encoding="utf-8"
    )
    config = dataclasses.replace(
        Config(),
        base_dir=str(folder),
        newsletter=OPTIONS,
        sources=(SourceOptions("hostile", str(feed), kind="folder"),),
        # The shared marker words may make the four one event (then the others' outlets
        # reach the mail as "Also reported by", markers and all): send whatever it holds.
        edition=dataclasses.replace(Config().edition, min_stories=1),
    )
    readers = [
        Subscriber(0, "victim@example.com", VICTIM.name),
        Subscriber(0, "other@example.com", "Ordinary Reader"),
    ]
    with open_database(config.store_path) as db:
        store = SubscriberStore(db)
        stored = [store.upsert(r.email, name=r.name)[0] for r in readers]
    monkeypatch.setenv("DIGEST_SECRET", SECRET.decode())
    report = run_daily(config, date(2026, 11, 24))
    assert report.sent == 2 and report.stories >= 1
    tokens = {s.email: make_token(SECRET, s.id, s.email, s.token_version) for s in stored}
    files = sorted(Path(str(report.outbox)).glob("*.eml"))
    assert len(files) == 2
    for path in files:
        message, text, html = _parts(path.read_bytes())
        mine = str(message["To"])
        own = next(s for s in stored if s.email in mine)
        others = [s for s in stored if s is not own]
        everything = html + text + "".join(str(v) for _, v in message.items())
        assert sum(topic in html for topic in _BODIES) >= report.stories  # stories there
        related = lxml.html.document_fromstring(html).find_class("related")
        assert related and "Reporter" not in html  # related stories shown; no byline
        for other in others:
            assert tokens[other.email] not in everything and other.name not in everything
        assert html.count(tokens[own.email]) == 1 and text.count(tokens[own.email]) == 1
        assert html.count(own.name) == 1 and text.count(own.name) == 1
        headers_with_token = {n for n, v in message.items() if tokens[own.email] in str(v)}
        assert headers_with_token == {"List-Unsubscribe"}


def test_two_renders_of_an_edition_hash_the_same_for_the_desk() -> None:
    from digest.pipeline.desk import rendered_hash

    first, second = (render_edition(sample_edition(), OPTIONS) for _ in range(2))
    assert first.slot_nonce != second.slot_nonce
    assert rendered_hash(first) == rendered_hash(second)
    changed = render_edition(dataclasses.replace(sample_edition(), more_news=()), OPTIONS)
    assert rendered_hash(changed) != rendered_hash(first)
