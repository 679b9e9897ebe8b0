from __future__ import annotations

from pathlib import Path

import pytest

from digest.models import Article, Event, Section
from digest.sources.plain import article_from_text
from digest.text.rules import is_boilerplate
from digest.text.sentences import article_sentences, split_paragraph, split_sentences


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Dr. Smith arrived at 9 a.m. on Monday. The U.S. Senate voted 52.5 to 47.",
            ["Dr. Smith arrived at 9 a.m. on Monday.", "The U.S. Senate voted 52.5 to 47."],
        ),
        (
            "He moved to the U.S. The next year he won.",
            ["He moved to the U.S.", "The next year he won."],
        ),
        (
            'She said "Stop." Then she left!',
            ['She said "Stop."', "Then she left!"],
        ),
        (
            "Gov. Sam Brownback signed it. J. K. Rowling wrote No. 10 letters. It worked.",
            ["Gov. Sam Brownback signed it.", "J. K. Rowling wrote No. 10 letters.", "It worked."],
        ),
        ("Prices rose 3.5% in Q1... Analysts were surprised.", None),
        ("Is it over? Nobody knows.", ["Is it over?", "Nobody knows."]),
        ("e.g. this stays whole because a lowercase word follows.", None),
    ],
)
def test_split_sentences_survives_news_text(text: str, expected: list[str] | None) -> None:
    got = split_sentences(text)
    if expected is None:
        expected = (
            ["Prices rose 3.5% in Q1...", "Analysts were surprised."]
            if text.startswith("Prices")
            else [text]
        )
    assert got == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (  # German: a sentence may open on an umlaut
            "Der Minister sprach am Montag. Über 500 Menschen kamen. Ärzte warnten.",
            ["Der Minister sprach am Montag.", "Über 500 Menschen kamen.", "Ärzte warnten."],
        ),
        (  # Cyrillic capitals
            "Министр выступил в понедельник. Москва ответила отказом.",
            ["Министр выступил в понедельник.", "Москва ответила отказом."],
        ),
        (  # Urdu: the Arabic full stop, and a script without capitals
            "وزیراعظم نے اجلاس طلب کیا۔ اجلاس میں بجٹ پر بات ہوئی۔ فیصلہ کل ہوگا؟ جی ہاں۔",
            [
                "وزیراعظم نے اجلاس طلب کیا۔",
                "اجلاس میں بجٹ پر بات ہوئی۔",
                "فیصلہ کل ہوگا؟",
                "جی ہاں۔",
            ],
        ),
        # A lowercase letter after a full stop goes on, in any script.
        (
            "Sie kam gestern an. über Nacht blieb sie.",
            ["Sie kam gestern an. über Nacht blieb sie."],
        ),
    ],
)
def test_split_sentences_beyond_english(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_split_paragraph_keeps_bullets_and_headings_as_lines() -> None:
    paragraph = "Key facts\n• May 9, 2025: A thing happened. It mattered.\n- Another point here."
    assert split_paragraph(paragraph) == [
        "Key facts",
        "May 9, 2025: A thing happened.",
        "It mattered.",
        "Another point here.",
    ]


@pytest.mark.parametrize(
    "line",
    [
        "By John Smith and Jane Doe",
        "By . Daily Mail Reporter .",
        "Related: Russia’s Victory Day Parade Highlights Military Power",
        "Click here to read the full interview.",
        "Gravity Filters – Get clean water without power — gravity filters are passive.",
        "Signal Mirrors – Get found faster — include a signal mirror in your pack.",
        "Share this article on Facebook",
        "Photo: Getty Images",
        "Sign up for our free daily newsletter.",
        "Follow us on Twitter for updates.",
        "PUBLISHED: 12:01 EST, 1 April 2015",
    ],
)
def test_boilerplate_lines_are_recognised(line: str) -> None:
    assert is_boilerplate(line)


@pytest.mark.parametrize(
    "line",
    [
        "By Tuesday, the talks had collapsed.",
        "Russia launches drone attacks on Kyiv, demonstrating the fragility of the truce.",
        "The ministry said it would share the data with regulators next month.",
        "Officials related the delay to the storm.",
    ],
)
def test_news_sentences_are_not_boilerplate(line: str) -> None:
    assert not is_boilerplate(line)


def _layout_article() -> Article:
    return Article(
        id="a1",
        source="test",
        title="Talks set for Friday",
        content_hash="h1",
        sections=(
            Section(None, ("Leaders agreed to meet on Friday. Both sides welcomed it.",)),
            Section("Key Developments & Timeline", ()),
            Section("Analysis", ("Experts doubt the talks will succeed.",)),
            Section("Conclusion", ("The meeting may decide the war's course.",)),
        ),
        events=(
            Event("May 9, 2025", None, "A ceasefire began. It held for a day."),
            Event("Upcoming", None, "Talks in Istanbul."),
        ),
    )


def test_article_sentences_number_sections_events_and_conclusion_in_reading_order() -> None:
    sentences = article_sentences(_layout_article())
    assert [s.text for s in sentences] == [
        "Leaders agreed to meet on Friday.",
        "Both sides welcomed it.",
        "May 9, 2025: A ceasefire began.",
        "It held for a day.",
        "Upcoming: Talks in Istanbul.",
        "Experts doubt the talks will succeed.",
        "The meeting may decide the war's course.",
    ]
    assert [s.index for s in sentences] == list(range(7))
    assert [s.is_event for s in sentences] == [False, False, True, True, True, False, False]
    assert sentences[0].is_lede and not sentences[5].is_lede
    assert [s.is_conclusion for s in sentences] == [False] * 6 + [True]
    assert sentences[2].event_label == "May 9, 2025"
    assert article_sentences(_layout_article()) == sentences  # deterministic


def test_timeline_bullets_kept_as_paragraphs_are_numbered_once() -> None:
    base = _layout_article()
    doubled = Article(
        id="a2",
        source="test",
        title=base.title,
        content_hash="h2",
        sections=(
            base.sections[0],
            Section("Key Developments & Timeline", ("• Upcoming: Talks in Istanbul.",)),
            *base.sections[2:],
        ),
        events=base.events,
    )
    texts = [s.text for s in article_sentences(doubled)]
    assert texts.count("Upcoming: Talks in Istanbul.") == 1


def test_article_from_text_builds_paragraphs_and_strips_glued_boilerplate() -> None:
    article = article_from_text(
        "x",
        "(CNN)A new law passed on Tuesday. It is the first.\n\n"
        "Scroll down for video Critics said no.",
    )
    assert article.paragraphs == (
        "(CNN)A new law passed on Tuesday. It is the first.",
        "Scroll down for video Critics said no.",
    )
    sentences = article_sentences(article)
    assert [s.text for s in sentences] == [
        "A new law passed on Tuesday.",
        "It is the first.",
        "Critics said no.",
    ]
    assert [s.paragraph for s in sentences] == [0, 0, 1]
    assert article.content_hash == article_from_text("y", article.text).content_hash


def test_seed_article_promotions_and_related_lines_are_never_plain_sentences(
    seed_article: Path,
) -> None:
    from digest.sources import read_location

    article = read_location(str(seed_article)).articles[0]
    sentences = article_sentences(article)
    texts = " ".join(s.text for s in sentences if not s.is_boilerplate)
    assert "Gravity Filters" not in texts and "Related:" not in texts
    assert any(s.is_event for s in sentences)
    assert any(s.is_conclusion for s in sentences)


def test_article_from_text_hashes_title_and_text_like_the_readers() -> None:
    # The summary cache is keyed by content hash, and the title changes a summary.
    text = "The council approved a new bridge on Monday. It will cost 40 million pounds."
    plain = article_from_text("1", text)
    titled = article_from_text("2", text, "Bridge approved")
    assert plain.content_hash != titled.content_hash
    assert article_from_text("3", text, "Bridge approved").content_hash == titled.content_hash
