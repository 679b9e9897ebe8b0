"""Personal editions: topics re-rank the day's stories; one render per topic set."""

from __future__ import annotations

import email
import email.policy
import json
import re
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from digest import serialize
from digest.cli import main
from digest.config import load_config
from digest.edition.personal import personal_edition, topic_key, word_match
from digest.models import Edition, KeyPoint, Story, Subscriber, Summary
from digest.pipeline import personal as personal_pipeline
from digest.publish.render import Renderer
from digest.store import open_database
from digest.store.subscribers import SubscriberStore

ROOT = Path(__file__).resolve().parent.parent
DAY = "2026-11-24"


def sample() -> Edition:
    return serialize.loads(Edition, (ROOT / "tests/data/edition.json").read_text("utf-8"))


def candidate(article_id: str, title: str, section: str = "Business") -> Story:
    summary = Summary((KeyPoint(f"{title}.", (0,)),), None, "test", "none")
    return Story(article_id, title, None, "wire", section, summary, 0.0)


def ids(edition: Edition) -> list[str]:
    return [s.article_id for s in edition.stories]


def test_no_match_is_the_default_edition_itself() -> None:
    edition = sample()
    assert personal_edition(edition, {}) is edition
    assert personal_edition(edition, {"f-glacier": 0.2}) is edition


def test_matching_stories_lead_best_match_first() -> None:
    edition = sample()
    mine = personal_edition(edition, {"i-probe": 0.7, "m-rates": 1.0})
    # The best match leads; each section shows once (issue 23, item 1), so a match leads
    # its own section and the sections follow their best match.
    assert ids(mine)[0] == "m-rates"
    assert [s.name for s in mine.sections] == [
        "Technology & Economy",
        "Science & Climate",
        "World",
    ]
    assert [s.article_id for s in mine.sections[1].stories] == ["i-probe", "f-glacier", "h-malaria"]
    # The rest keep the edition's order inside their section; nothing added, nothing lost.
    assert sorted(ids(mine)) == sorted(ids(edition))
    assert [s.article_id for s in mine.sections[2].stories] == ["a-geneva-talks", "d-sahel-aid"]
    assert mine.id == edition.id and mine.more_news == edition.more_news


@pytest.mark.parametrize(
    "matches",
    [
        {"a-geneva-talks": 1.0, "d-sahel-aid": 0.8},  # two topics in one section
        {"d-sahel-aid": 0.9, "f-glacier": 0.8, "a-geneva-talks": 0.6},
        {"h-malaria": 0.6, "j-chips": 1.0, "i-probe": 0.9},
    ],
)
def test_a_section_appears_once_whatever_the_order_topics_give(
    matches: dict[str, float],
) -> None:
    edition = sample()
    wind = candidate("n3", "Record wind output covers half of demand for a day", "World")
    mine = personal_edition(edition, {**matches, "n3": 0.7}, [wind])
    names = [s.name for s in mine.sections]
    assert len(names) == len(set(names)), names
    assert ids(mine)[0] == max(matches, key=lambda k: matches[k])


def test_matching_candidates_swap_in_and_the_replaced_become_headlines() -> None:
    edition = sample()
    wind = candidate("n3", "Record wind output covers half of demand for a day", "Climate")
    coffee = candidate("n6", "Coffee prices climb on poor Brazilian harvest")
    mine = personal_edition(edition, {"n3": 0.9, "f-glacier": 1.0}, [wind, coffee])
    assert ids(mine)[0] == "f-glacier"
    assert mine.sections[1].name == "Climate" and ids(mine).index("n3") > 0
    assert len(mine.stories) == len(edition.stories)
    assert "n6" not in ids(mine)  # matched nothing: stays a headline
    # The last non-matching story made room and leads the headlines; n3 left them.
    assert "m-rates" not in ids(mine)
    assert mine.more_news[0].article_id == "m-rates"
    assert "n3" not in [h.article_id for h in mine.more_news]


def test_swaps_are_capped_at_half_the_stories() -> None:
    edition = sample()
    pool = [candidate(f"c{i}", f"Candidate {i}") for i in range(10)]
    mine = personal_edition(edition, {c.article_id: 0.9 for c in pool}, pool)
    swapped = [i for i in ids(mine) if i.startswith("c")]
    assert len(swapped) == len(edition.stories) // 2


@pytest.mark.parametrize(
    ("topics", "text", "expected"),
    [
        (("climate",), "Alpine glaciers: the CLIMATE record", True),
        (("climate",), "Climatology conference opens", False),  # a word, not a prefix
        (("space travel",), "Travel agents see space tourism demand", True),
        (("klima",), "Das Klima der Alpen ändert sich schnell", True),
        (("气候",), "瑞士冰川今年因气候变暖失去百分之四", True),
        (("宇宙",), "瑞士冰川今年因气候变暖失去百分之四", False),
        (("موسیقی",), "لاہور میں موسیقی کا میلہ شروع", True),
        (("पानी",), "दिल्ली में पानी की कमी", True),
    ],
)
def test_word_match_in_many_scripts(topics: tuple[str, ...], text: str, expected: bool) -> None:
    assert word_match(topic_key(topics), text) is expected


def test_topic_key_groups_the_same_set_however_written() -> None:
    assert topic_key(["Space", " climate  change"]) == topic_key(["climate change", "space"])
    assert topic_key([]) == ()


# --- end to end: the daily job over the examples --------------------------------------------


def write_config(folder: Path) -> Path:
    config = {
        "data_dir": "data",
        "sources": [{"name": "examples", "location": str(ROOT / "examples"), "kind": "folder"}],
    }
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def story_titles(html: str) -> list[str]:
    found = re.findall(r'<h3 class="headline[^"]*"[^>]*>(?:<a[^>]*>)?([^<]+)', html)
    return [t.strip() for t in found]


@pytest.mark.slow
def test_two_subscribers_with_different_topics_get_different_orders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_path = write_config(tmp_path)
    monkeypatch.setenv("DIGEST_CONFIG", str(config_path))
    monkeypatch.setenv("DIGEST_SECRET", "personal-test-secret")
    config = load_config(config_path)
    with open_database(config.store_path) as db:
        store = SubscriberStore(db)
        store.upsert("plain@example.com")
        store.upsert("moon@example.com", topics=("moon",))
        store.upsert("moon2@example.com", topics=("Moon",))  # the same set, written otherwise
        store.upsert("money@example.com", topics=("shipping", "freight"))
        # A "More news" headline of the day: swapped in as a story for this reader.
        store.upsert("hear@example.com", topics=("gene therapy",))
    renders: Counter[tuple[str, ...]] = Counter()  # by story order
    real_render = Renderer.render

    def counting(self: Renderer, edition: Edition) -> object:
        renders[tuple(s.article_id for s in edition.stories)] += 1
        return real_render(self, edition)

    monkeypatch.setattr(Renderer, "render", counting)
    runner = CliRunner()
    result = runner.invoke(main, ["run", "--date", DAY])
    assert result.exit_code == 0, result.output
    # default, {moon}, {freight, shipping}, {gene therapy}: not one per subscriber. Each
    # personal variant is rendered once; the default also once more for the archive page.
    assert len(renders) == 4
    assert sorted(renders.values()) == [1, 1, 1, 2]

    outbox = config.data_path / "outbox" / DAY
    orders: dict[str, list[str]] = {}
    for path in outbox.glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
        orders[str(message["To"])] = story_titles(html)
    assert set(orders) == {
        "plain@example.com",
        "moon@example.com",
        "moon2@example.com",
        "money@example.com",
        "hear@example.com",
    }
    default, moon, money = (
        orders["plain@example.com"],
        orders["moon@example.com"],
        orders["money@example.com"],
    )
    assert moon == orders["moon2@example.com"]
    assert "Moon" in moon[0] or "Lunar" in moon[0]
    assert "hipping" in money[0] or "reight" in money[0]
    assert len({tuple(default), tuple(moon), tuple(money)}) == 3
    assert orders["hear@example.com"][0].startswith("Gene Therapy")

    # Message-IDs stay one per (edition, subscriber): a re-run sends nothing again.
    again = runner.invoke(main, ["run", "--date", DAY])
    assert again.exit_code == 0 and "5 already sent" in again.output, again.output

    shown = runner.invoke(main, ["edition", "--date", DAY, "--json"])
    data = json.loads(shown.output)
    variants = {tuple(v["topics"]): v for v in data["variants"]}
    assert variants[()]["stories"] == [
        {"article_id": s["article_id"], "title": s["title"]} for s in data["stories"]
    ]
    assert variants[("moon",)]["subscribers"] == 2
    assert [s["title"] for s in variants[("moon",)]["stories"]] == moon[: len(data["stories"])]
    # The swap: a More news headline became a story for this reader, in place of another.
    default_titles = [s["title"] for s in variants[()]["stories"]]
    hear_titles = [s["title"] for s in variants[("gene therapy",)]["stories"]]
    assert hear_titles[0].startswith("Gene Therapy")
    assert not any(t.startswith("Gene Therapy") for t in default_titles)
    assert len(hear_titles) == len(default_titles)

    preview = runner.invoke(main, ["preview", "--date", DAY, "--as", "MONEY@example.com"])
    assert preview.exit_code == 0, preview.output
    html = (config.data_path / "previews" / f"{DAY}.html").read_text("utf-8")
    assert story_titles(html)[: len(money)] == money
    unknown = runner.invoke(main, ["preview", "--date", DAY, "--as", "nobody@example.com"])
    assert unknown.exit_code != 0 and "no such subscriber" in unknown.output


def test_personal_messages_pick_the_render_of_the_topic_set() -> None:
    # Subscribers whose topics matched nothing share the default render (one factory).
    from digest.config import Config

    edition = sample()
    rendered = Renderer(Config().newsletter).render(edition)
    moved = Renderer(Config().newsletter).render(personal_edition(edition, {"m-rates": 1.0}))
    messages = personal_pipeline.PersonalMessages(
        replace(Config()), {(): rendered, ("rates",): moved, ("nothing",): rendered}, b"k" * 16
    )
    assert messages.renders == 2
    rates = messages.factory(Subscriber(1, "a@example.com", topics=("Rates",)))
    plain = messages.factory(Subscriber(2, "b@example.com"))
    assert rates.rendered is moved and plain.rendered is rendered
