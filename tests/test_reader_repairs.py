"""What readers make of damaged, foreign and odd input (issue 10): repaired text, original
links, languages, lead images, dates to trust, and undated articles at ingest.

Every feed and page here was written for these tests.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from digest import pipeline, serialize
from digest.cli import main
from digest.config import load_config
from digest.models import Article, LeadImage
from digest.pipeline.ingest import first_seen
from digest.sources import read_location
from digest.sources.article import MAX_IMAGE_URL_CHARS, lead_image
from digest.sources.dates import parse_datetime
from digest.sources.feeds import parse_feed
from digest.sources.pages import parse_page
from digest.sources.plain import article_from_text
from digest.store import ArticleStore, open_database
from digest.text.clean import counting_repairs, repair

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/"
      xml:lang="en-GB">
  <title>Borough Sport</title>
  <id>https://sport.example.org/</id>
  <link href="https://sport.example.org/"/>
  <entry>
    <title type="html">Sutton &amp;#038; Nicholson go out on loan</title>
    <id>https://sport.example.org/1</id>
    <link href="https://sport.example.org/1"/>
    <updated>2026-11-23T10:00:00Z</updated>
    <author><name>Ana MÃ¼ller</name></author>
    <content type="html">&lt;p&gt;Both players weâ€™re told will return in May. The club
      called it a â€˜secretâ€™ deal reached at the airportÂ&#160;on Friday.&lt;/p&gt;</content>
    <media:thumbnail url="/img/loan.jpg" width="640" height="360"/>
  </entry>
  <entry xml:lang="de">
    <title>Neuer Trainer für die Jugend</title>
    <id>https://sport.example.org/2</id>
    <link href="https://sport.example.org/2"/>
    <updated>2026-11-23T11:00:00Z</updated>
    <content type="html">&lt;p&gt;Der Verein stellt einen neuen Trainer vor.&lt;/p&gt;
      &lt;img src="https://sport.example.org/t.gif" width="1" height="1"&gt;
      &lt;img src="https://sport.example.org/coach.png" alt="Der neue Trainer"&gt;</content>
  </entry>
</feed>
"""

RSS_PT = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:feedburner="http://rssnamespace.org/feedburner/ext/1.0"
     xmlns:media="http://search.yahoo.com/mrss/">
<channel>
  <title>Jornal Exemplo</title>
  <link>https://jornal.example.com.br/</link>
  <language>pt-BR</language>
  <item>
    <title>Prefeitura aprova nova ponte</title>
    <link>https://feeds.feedburner.example/~r/jornal/abc123</link>
    <feedburner:origLink>https://jornal.example.com.br/cidade/ponte</feedburner:origLink>
    <pubDate>Seg, 24 Set 2018 10:00:00 -0300</pubDate>
    <description>A prefeitura aprovou a obra na segunda-feira.</description>
    <enclosure url="https://jornal.example.com.br/ponte.jpg" type="image/jpeg" length="1000"/>
  </item>
  <item>
    <title>Data impossível</title>
    <link>https://jornal.example.com.br/cidade/9999</link>
    <pubDate>Fri, 31 Dec 9999 23:59:59 -1200</pubDate>
    <description>Uma data que não existe.</description>
    <media:content url="javascript:alert(1)" medium="image"/>
  </item>
  <item>
    <title>Ano zero</title>
    <link>https://jornal.example.com.br/cidade/0000</link>
    <pubDate>Mon, 01 Jan 0000 00:00:00 +0000</pubDate>
    <description>Outra data que não existe.</description>
  </item>
  <item>
    <title>Sem data nenhuma</title>
    <link>https://jornal.example.com.br/cidade/sem-data</link>
    <description>Um texto sem data.</description>
  </item>
</channel>
</rss>
"""


def _feed(text: str, location: str = "https://example.org/feed") -> list[Article]:
    return list(parse_feed(text.encode(), location=location, source="test").articles)


# --- repairs ------------------------------------------------------------------------------


def test_double_escaped_entities_and_mojibake_are_repaired_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "sport.atom"
    path.write_text(ATOM, encoding="utf-8")
    result = read_location(str(path))
    loan = result.articles[0]
    assert loan.title == "Sutton & Nicholson go out on loan"
    assert loan.author == "Ana Müller"
    text = loan.text
    assert "we’re told" in text and "‘secret’" in text and "airport on Friday" in text
    assert "â€" not in text and "Â" not in text
    assert result.repairs.get("entity", 0) >= 1 and result.repairs.get("mojibake", 0) >= 2


def test_repair_leaves_sound_text_alone_and_counts_only_inside_a_tally() -> None:
    for sound in ("AT&T and R&D", "“Curly” quotes stay", "今天！？ fullwidth stays", "Straße"):
        assert repair(sound) == sound
    with counting_repairs() as tally:
        assert repair("Tom &amp;amp; Jerry") == "Tom & Jerry"
    assert tally == {"entity": 1}
    assert repair("weâ€™re") == "we’re"  # outside a tally: repaired, not counted


# --- links, languages, images ----------------------------------------------------------------


def test_the_original_link_wins_over_a_tracking_redirect() -> None:
    ponte = _feed(RSS_PT)[0]
    assert ponte.url == "https://jornal.example.com.br/cidade/ponte"
    assert ponte.canonical_url == "https://jornal.example.com.br/cidade/ponte"


def test_languages_come_from_the_entry_then_the_feed_then_the_text() -> None:
    loan, coach = _feed(ATOM)
    assert (loan.language, coach.language) == ("en-gb", "de")
    assert {a.language for a in _feed(RSS_PT)} == {"pt-br"}
    undeclared = RSS_PT.replace("<language>pt-BR</language>", "").replace(
        "Um texto sem data.",
        "A prefeitura anunciou na segunda-feira que a construção da nova ponte começa em março.",
    )
    assert _feed(undeclared)[3].language == "pt"


def test_lead_images_from_media_enclosures_and_content() -> None:
    loan, coach = _feed(ATOM, "https://sport.example.org/feed.atom")
    assert loan.image == LeadImage("https://sport.example.org/img/loan.jpg", 640, 360, "")
    # A 1x1 tracking pixel is passed over for the content's real picture.
    assert coach.image == LeadImage("https://sport.example.org/coach.png", alt="Der neue Trainer")
    ponte, impossible, *_ = _feed(RSS_PT)
    assert ponte.image is not None and ponte.image.url.endswith("/ponte.jpg")
    assert impossible.image is None  # javascript: is never an image


def test_lead_image_bounds() -> None:
    assert lead_image("data:image/png;base64,AAAA") is None
    assert lead_image("https://x.example/" + "a" * MAX_IMAGE_URL_CHARS) is None
    assert lead_image("https://x.example/a b.jpg") is None
    assert lead_image("https://x.example/a.jpg", width="1", height="1") is None
    kept = lead_image("https://x.example/a.jpg", width="99999", height="abc", alt="x" * 900)
    assert kept is not None and (kept.width, kept.height, len(kept.alt)) == (None, None, 300)


def test_a_page_gives_its_declared_language_and_og_image() -> None:
    html = """<!doctype html><html lang="pt-BR"><head><title>Ponte</title>
    <meta property="og:title" content="Prefeitura aprova nova ponte">
    <meta property="og:image" content="/fotos/ponte.jpg">
    <meta property="og:image:width" content="1200"><meta property="og:image:height" content="630">
    <meta property="og:image:alt" content="A ponte vista do rio">
    </head><body><article><h1>Prefeitura aprova nova ponte</h1>
    <p>A prefeitura aprovou na segunda-feira a construção de uma nova ponte sobre o rio.</p>
    <p>A obra deve custar 40 milhões de reais e ficar pronta em dois anos, disse o prefeito.</p>
    </article></body></html>"""
    article = parse_page(html, source="jornal", url="https://jornal.example.com.br/ponte")
    assert article.language == "pt-br"
    assert article.image == LeadImage(
        "https://jornal.example.com.br/fotos/ponte.jpg", 1200, 630, "A ponte vista do rio"
    )


def test_the_lead_image_round_trips_through_the_store(tmp_path: Path) -> None:
    loan = _feed(ATOM, "https://sport.example.org/feed.atom")[0]
    assert serialize.loads(Article, serialize.dumps(loan)) == loan
    with open_database(tmp_path / "s.sqlite3") as db:
        ArticleStore(db).add_many([loan])
        assert ArticleStore(db).get(loan.id) == loan


# --- dates ------------------------------------------------------------------------------------


def test_localised_dates_are_read_and_impossible_ones_are_no_date(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="digest.sources.dates"):
        ponte, impossible, zero, undated = _feed(RSS_PT)
    assert ponte.published == datetime(2018, 9, 24, 13, tzinfo=UTC)
    assert impossible.published is None and zero.published is None and undated.published is None
    assert "no date" in caplog.text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("24. März 2025", datetime(2025, 3, 24, 12, tzinfo=UTC)),
        ("3. Dezember 2018 10:30", datetime(2018, 12, 3, 10, 30, tzinfo=UTC)),
        ("Seg, 24 Set 2018 10:00:00 -0300", datetime(2018, 9, 24, 13, tzinfo=UTC)),
        ("2026-11-24", datetime(2026, 11, 24, 12, tzinfo=UTC)),
        ("9999-12-31T23:00:00-12:00", None),
        ("0000-01-01T00:00:00Z", None),
        ("1989-12-31", None),
        ("today", None),
        ("vor 3 Tagen", None),
        ("not a date at all", None),
        ("2" * 5000, None),
        (date(1, 1, 1), None),
        (datetime.max, None),
    ],
)
def test_dates_never_raise_and_are_believed_only_in_range(value: object, expected: object) -> None:
    found = parse_datetime(value)
    assert found == expected


def test_tomorrow_is_believed_but_next_week_is_not() -> None:
    soon = datetime.now(UTC) + timedelta(hours=20)
    assert parse_datetime(soon.isoformat()) is not None
    assert parse_datetime((soon + timedelta(days=7)).isoformat()) is None


def test_the_plain_text_layout_dates_itself_from_its_lede_then_its_timeline(
    seed_article: Path,
) -> None:
    seed = read_location(str(seed_article)).articles[0]
    assert seed.published == datetime(2025, 5, 11, 12, tzinfo=UTC)  # "On May 11, 2025, ..."
    text = (
        "Neue Brücke\n\nNeue Brücke\n\nDer Stadtrat hat den Bau einer Brücke beschlossen.\n\n"
        "Zeitleiste\n\n  • March 3, 2026: Erste Pläne.\n  • April 9, 2026: Der Beschluss.\n"
    )
    timeline = article_from_text("t", text)
    assert timeline.published == datetime(2026, 4, 9, 12, tzinfo=UTC)


def test_undated_articles_get_their_first_seen_time_once(tmp_path: Path) -> None:
    articles = _feed(RSS_PT)
    first = datetime(2026, 11, 20, 8, tzinfo=UTC)
    with open_database(tmp_path / "s.sqlite3") as db:
        store = ArticleStore(db)
        dated, undated = first_seen(articles, store, first)
        assert undated == 3
        assert [a.published for a in dated[1:]] == [first] * 3
        store.add_many(dated)
        # Seen again later: the stored first-seen time stays.
        again, _ = first_seen(articles, store, first + timedelta(days=2))
        assert [a.published for a in again[1:]] == [first] * 3


def test_ingest_and_read_say_how_many_were_undated_and_repaired(tmp_path: Path) -> None:
    (tmp_path / "jornal.xml").write_text(RSS_PT, encoding="utf-8")
    (tmp_path / "sport.atom").write_text(ATOM, encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text(
        "data_dir: data\nsources:\n  - name: jornal\n    location: jornal.xml\n"
        "  - name: sport\n    location: sport.atom\n"
    )
    with pipeline.open_store(load_config(config)) as db:
        report = pipeline.ingest(load_config(config), db)
    assert [s.undated for s in report.sources] == [3, 0]
    result = CliRunner().invoke(main, ["--config", str(config), "ingest"])
    assert "jornal: 4 read, 0 new, 0 updated, 4 unchanged, 3 undated" in result.stdout
    assert "text repairs (" in result.stdout
    result = CliRunner().invoke(main, ["read", str(tmp_path / "jornal.xml")])
    assert result.exit_code == 0
    assert "4 articles, 3 undated; languages: pt-br 4" in result.stderr


ZH_LAYOUT = """国际新闻

长江流域今年夏季降雨创新高

长江流域今年夏季降雨创新高

长江流域夏季降雨创下二十多年来新高

2026年7月20日，长江中下游地区的降雨量比往年同期多出四成，多个城市出现了内涝。

背景

武汉市在七月的一周内降雨超过四百毫米，部分地铁站被迫临时关闭。

时间线

  • 2026年7月14日：武汉开始连续降雨。
  • 2026年7月18日：当地政府启动防汛二级应急响应。

结论

专家认为，城市需要尽快提高排水标准，以应对更频繁的极端天气。
"""


def test_a_chinese_article_in_the_plain_text_layout(tmp_path: Path) -> None:
    path = tmp_path / "zh.txt"
    path.write_text(ZH_LAYOUT, encoding="utf-8")
    article = read_location(str(path)).articles[0]
    assert (article.category, article.title) == ("国际新闻", "长江流域今年夏季降雨创新高")
    assert article.dek == "长江流域夏季降雨创下二十多年来新高"
    assert [s.heading for s in article.sections] == [None, "背景", "结论"]
    assert [e.when for e in article.events] == [date(2026, 7, 14), date(2026, 7, 18)]
    assert article.published == datetime(2026, 7, 20, 12, tzinfo=UTC)  # from the lede
    assert article.language == "zh"
    # The same text through --jsonl's reader gives the same article, under the caller's id.
    assert article_from_text("x", ZH_LAYOUT) == replace(article, id="x", source="text")
