"""The outlet a feed's articles show: an entry's own <source>, else the configured
``sources[].outlet``, else the feed's title made a name (issue 10: BBC Urdu's channel title
carries its lead headline, and that whole string became every story's outlet)."""

from __future__ import annotations

from pathlib import Path

import pytest

from digest.config import ConfigError, SourceOptions, load_config
from digest.sources import read_location, read_source
from digest.sources.feeds import MAX_FEED_OUTLET_CHARS, feed_outlet, parse_feed

URDU_HEADLINE = "کراچی میں پانی کی قلت پر شہریوں کا احتجاج جاری ہے"


@pytest.mark.parametrize(
    ("title", "home", "items", "expected"),
    [
        # Urdu: the name, then a headline of ten words (two spaces inside the name).
        (f"BBC News  اردو - {URDU_HEADLINE}", "http://www.bbcurdu.com", (), "BBC News اردو"),
        # Arabic and Chinese: what follows the separator is no name.
        ("بي بي سي عربي - آخر أخبار الشرق الأوسط والعالم اليوم", None, (), "بي بي سي عربي"),
        ("新华网 | 国际新闻频道最新报道汇总", None, (), "新华网"),
        # The part that names the feed's site, wherever it stands.
        ("Nachrichten | Tagesschau", "https://www.tagesschau.de/", (), "Tagesschau"),
        ("The Verge -  Front Pages", "https://www.theverge.com/", (), "The Verge"),
        ("World news | The Guardian", "https://www.theguardian.com/world", (), "The Guardian"),
        (
            "Active questions tagged nmea - Stack Overflow",
            "https://stackoverflow.com/q",
            (),
            "Stack Overflow",
        ),
        # A short rest that is one of the feed's headlines is cut too.
        ("Daily Wire - Markets Rally", None, ("Markets rally!", "Oil falls"), "Daily Wire"),
        # A short rest that is neither: the title stays whole.
        ("Tech – Science", None, ("Markets rally!",), "Tech – Science"),
        ("Golem.de", "https://www.golem.de/", (), "Golem.de"),
        ("", None, (), "fallback"),
    ],
)
def test_feed_outlet_makes_a_name_of_a_feed_title(
    title: str, home: str | None, items: tuple[str, ...], expected: str
) -> None:
    assert feed_outlet(title, home=home, item_titles=items, fallback="fallback") == expected


def test_a_long_title_without_parts_is_cut_at_a_word() -> None:
    title = "Der tägliche Überblick über alles, was in Berlin und Brandenburg heute wichtig ist"
    name = feed_outlet(title)
    assert len(name) <= MAX_FEED_OUTLET_CHARS and name.endswith("…")
    assert title.startswith(name[:-1])
    assert name[-2] != " "


def _rss(channel_title: str, items: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel>
<title>{channel_title}</title><link>http://www.bbcurdu.com</link><language>ur</language>
{items}
</channel></rss>""".encode()


ITEMS = f"""
<item><title>{URDU_HEADLINE}</title>
<description>شہر کے کئی علاقوں میں تین دن سے پانی نہیں آیا۔</description>
<link>http://www.bbc.com/urdu/a-1</link><pubDate>Fri, 05 Jan 2018 16:51:00 GMT</pubDate></item>
<item><title>لاہور میں دھند سے پروازیں متاثر</title>
<description>گھنی دھند کے باعث کئی پروازیں تاخیر کا شکار ہوئیں۔</description>
<link>http://www.bbc.com/urdu/a-2</link><pubDate>Fri, 05 Jan 2018 10:00:00 GMT</pubDate>
<source url="https://www.dawn.com/feeds/home">Dawn - {"خبریں " * 200}</source></item>
"""


def test_the_feed_title_the_configured_outlet_and_an_entrys_own_source() -> None:
    data = _rss(f"BBC News  اردو - {URDU_HEADLINE}", ITEMS)
    found = parse_feed(data, location="urdu.xml", source="bbcurdu").articles
    assert [a.source for a in found] == ["BBC News اردو", "Dawn"]
    named = parse_feed(data, location="urdu.xml", source="bbcurdu", outlet="بی بی سی اردو")
    # The configured outlet replaces the feed's title; the entry that names its own keeps it.
    assert [a.source for a in named.articles] == ["بی بی سی اردو", "Dawn"]


def test_a_hostile_entry_source_is_bounded() -> None:
    items = (
        """<item><title>Kurz</title><description>Ein Satz.</description>
<link>https://x.example/1</link><source url="javascript:alert(1)">"""
        + "Quelle " * 300
        + """</source>
</item>"""
    )
    (article,) = parse_feed(_rss("Beispiel", items), location="x.xml", source="x").articles
    assert len(article.source) <= MAX_FEED_OUTLET_CHARS and article.source.startswith("Quelle")


def test_sources_outlet_reaches_every_reader(tmp_path: Path) -> None:
    feed = tmp_path / "urdu.xml"
    feed.write_bytes(_rss(f"BBC News  اردو - {URDU_HEADLINE}", ITEMS))
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "one.md").write_text("# 会议在北京举行\n\n代表们周一在北京开会。\n", encoding="utf-8")
    (notes / "two.md").write_text(
        "---\ntitle: Neue Brücke eröffnet\nsource: Lokalzeitung\n---\nDie Brücke ist offen.\n",
        encoding="utf-8",
    )
    by_feed = read_source(
        SourceOptions(name="u", location=str(feed), kind="feed", outlet="  BBC  Urdu "), tmp_path
    )
    assert [a.source for a in by_feed.articles] == ["BBC Urdu", "Dawn"]
    by_folder = read_source(
        SourceOptions(name="n", location=str(notes), kind="folder", outlet="新闻摘要"), tmp_path
    )
    assert sorted(a.source for a in by_folder.articles) == sorted(["新闻摘要", "Lokalzeitung"])
    # digest read (no config): the feed's title made a name.
    assert {a.source for a in read_location(str(feed)).articles} == {"BBC News اردو", "Dawn"}


@pytest.mark.parametrize(
    ("value", "message"),
    [('""', "empty"), ('"' + "x" * 101 + '"', "at most 100"), ('"BBC\\u0007"', "control")],
)
def test_a_bad_outlet_is_a_config_error(tmp_path: Path, value: str, message: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        f"sources:\n  - name: u\n    location: feed.xml\n    outlet: {value}\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=f"sources: 'u': outlet: .*{message}"):
        load_config(path)
    path.write_text("sources:\n  - name: u\n    location: feed.xml\n    outlet: BBC اردو\n")
    assert load_config(path).sources[0].outlet == "BBC اردو"
