"""The plain-text layout reader, on the seed article and on layouts it has never seen."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from click.testing import CliRunner

from digest.cli import main
from digest.sources.article import Meta
from digest.sources.text import looks_like_layout, parse_text

SEED_TITLE = "Putin Proposes Istanbul Peace Talks; Ukraine Seeks Lasting Ceasefire"


def test_seed_read_json_gives_exactly_the_fields_of_the_issue(seed_article: Path) -> None:
    result = CliRunner().invoke(main, ["read", str(seed_article), "--json"])
    assert result.exit_code == 0, result.output
    [article] = json.loads(result.stdout)
    assert article["category"] == "News Russia"
    assert article["title"] == SEED_TITLE
    assert article["dek"] == (
        "Putin Proposes Istanbul Peace Talks as Ukraine Demands Lasting Ceasefire"
    )
    sections = article["sections"]
    lede = sections[0]
    assert lede["heading"] is None
    assert len(lede["paragraphs"]) == 1
    assert lede["paragraphs"][0].startswith("On May 11, 2025, Russian President Vladimir Putin")
    assert lede["paragraphs"][0].endswith("European calls for a 30-day truce.")
    assert [s["heading"] for s in sections[1:]] == [
        "Background & Context",
        "Key Developments & Timeline",
        "Official Statements & Analysis",
        "Conclusion",
    ]
    assert [len(s["paragraphs"]) for s in sections[1:]] == [2, 1, 2, 1]
    assert sections[2]["paragraphs"][0].startswith("The ongoing Russia Ukraine war remains")
    assert sections[4]["paragraphs"][0].startswith("The ongoing Russia Ukraine war may see")

    events = article["events"]
    assert [(e["label"], e["when"]) for e in events] == [
        ("May 9, 2025", "2025-05-09"),
        ("May 10, 2025", "2025-05-10"),
        ("May 11, 2025", "2025-05-11"),
        ("May 11, 2025", "2025-05-11"),
        ("May 11, 2025", "2025-05-11"),
        ("May 12, 2025 onward", "2025-05-12"),
        ("Upcoming", None),
    ]
    assert events[0]["text"].startswith("Russia enforces a 72-hour unilateral ceasefire")
    assert events[-1]["text"].startswith("Talks in Istanbul between Russia and Ukraine")

    assert [r["title"] for r in article["related"]] == [
        "Russia’s Victory Day Parade Highlights Military Power Amid Ukraine Conflict",
        "Israeli Missile Strike on Gaza Hospital Escalates Humanitarian Crisis",
    ]
    dumped = json.dumps(article, ensure_ascii=False)
    assert "Gravity Filters" not in dumped and "Signal Mirrors" not in dumped
    assert "gravity filters" not in dumped.lower()


def test_seed_events_are_dates_and_not_paragraphs(seed_article: Path) -> None:
    article = parse_text(seed_article.read_text(encoding="utf-8"), Meta(source="seed"))
    assert article.events[0].when == date(2025, 5, 9)
    assert not any(p.lstrip().startswith("•") for p in article.paragraphs)
    assert not any("May 9, 2025: Russia enforces" in p for p in article.paragraphs)


UNSEEN = """Markets

Harbour Authority Cuts Port Fees for Electric Ferries

Harbour Authority Cuts Port Fees for Electric Ferries

Harbour Authority Halves Port Fees for Electric Ferries

The harbour authority will halve docking fees for battery-powered ferries from January, \
hoping to speed up the replacement of diesel vessels on the busiest routes.

What changes

Operators of electric ferries will pay half the current rate per call, and hybrid \
vessels a quarter less.

  • 3 March 2026: The authority proposes the discount.
  • 2026-11-20: The board approves it.
  • Next year: A review of the scheme.

Conclusion

The discount is small next to the price of a new ferry, but operators say it helps.

Solar Lanterns – Light up every campsite with our foldable solar lantern.
Related: Ferry Operators Order Ten Battery Boats

Budget Binoculars: Spot wildlife from twice as far away, today only.
"""


def test_layout_parts_are_recognised_by_shape_not_by_fixed_strings() -> None:
    assert looks_like_layout(UNSEEN)
    article = parse_text(UNSEEN, Meta(source="test"))
    assert article.category == "Markets"
    assert article.title == "Harbour Authority Cuts Port Fees for Electric Ferries"
    assert article.dek == "Harbour Authority Halves Port Fees for Electric Ferries"
    assert [s.heading for s in article.sections] == [None, "What changes", "Conclusion"]
    assert [(e.label, e.when) for e in article.events] == [
        ("3 March 2026", date(2026, 3, 3)),
        ("2026-11-20", date(2026, 11, 20)),
        ("Next year", None),
    ]
    assert [r.title for r in article.related] == ["Ferry Operators Order Ten Battery Boats"]
    assert "Lantern" not in article.text
    # Not of the "Name – pitch" shape: kept, as a reader would see it.
    assert article.paragraphs[-1].startswith("Budget Binoculars:")


def test_a_dash_line_about_the_story_is_not_taken_for_an_advert() -> None:
    text = UNSEEN.replace(
        "Solar Lanterns – Light up every campsite with our foldable solar lantern.",
        "Electric Ferries – the authority expects forty of them by 2030.",
    )
    article = parse_text(text, Meta(source="test"))
    assert "Electric Ferries – the authority expects forty of them by 2030." in article.paragraphs


def test_plain_text_without_the_layout_still_reads() -> None:
    text = "A headline without repetition\n\nFirst paragraph of text.\n\nSecond paragraph.\n"
    assert not looks_like_layout(text)
    article = parse_text(text, Meta(source="plain"), default_category="General")
    assert article.title == "A headline without repetition"
    assert article.dek is None
    assert article.category == "General"
    assert article.paragraphs == ("First paragraph of text.", "Second paragraph.")


def test_question_headlines_and_headings() -> None:
    text = (
        "Opinion\n\nIs the Four-Day Week Here to Stay?\n\nIs the Four-Day Week Here to Stay?\n\n"
        "A year after the trial began, most firms have kept the shorter week.\n\n"
        "What did the firms find?\n\nOutput held steady while sick days fell.\n"
    )
    article = parse_text(text, Meta(source="test"))
    assert (article.category, article.title, article.dek) == (
        "Opinion",
        "Is the Four-Day Week Here to Stay?",
        None,
    )
    assert [s.heading for s in article.sections] == [None, "What did the firms find?"]
