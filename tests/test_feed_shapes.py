"""Real feed shapes as subscribers meet them (issue 20): the picture an item offers (https
before http, the largest media:content, never FeedBurner's advert image or a pixel), the
outlet's name and the section a category may give, dates without a zone. Feeds
written here after the shapes of Indian Express, Reuters, Jornal de Notícias, BBC 中文 and
Al Jazeera and QQ; the text is ours."""

from __future__ import annotations

import dataclasses
from datetime import UTC
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from digest.cli import main
from digest.config import NewsletterOptions, SourceOptions, load_config
from digest.edition.select import section_of
from digest.edition.settings import EditionSettings
from digest.errors import ConfigError
from digest.publish.render import render_edition
from digest.sources import read_location, read_source
from digest.sources.article import SourceResult
from digest.sources.feeds import feed_outlet, parse_feed
from digest.text.sponsored import is_sponsored
from tests.edition_data import make_article
from tests.newsletter_sample import sample_edition
from tests.static_site import static_site

MEDIA = 'xmlns:media="http://search.yahoo.com/mrss/"'


def rss(
    items: str, *, title: str = "Feed", link: str = "https://example.org/", lang: str = ""
) -> bytes:
    language = f"<language>{lang}</language>" if lang else ""
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" {MEDIA}><channel>'
        f"<title>{title}</title><link>{link}</link>{language}{items}</channel></rss>"
    ).encode()


def item(title: str, body: str, extra: str = "", n: int = 1) -> str:
    return (
        f"<item><title>{title}</title><link>https://example.org/{n}</link>"
        f"<description><![CDATA[{body}]]></description>{extra}</item>"
    )


def picture_of(feed: bytes) -> str | None:
    (article,) = parse_feed(feed, location="https://example.org/feed", source="s").articles
    return article.image.url if article.image else None


def test_the_https_media_content_wins_over_an_http_thumbnail() -> None:
    # Indian Express: an http thumbnail first, the https picture in media:content.
    extra = (
        '<media:thumbnail url="http://images.indianexpress.com/2026/11/rail.jpg?w=200"/>'
        '<media:content url="https://images.indianexpress.com/2026/11/rail.jpg" medium="image"'
        ' width="1200" height="667"/>'
    )
    body = "Indian Railways will run 40 new trains from December, the minister said."
    assert picture_of(rss(item("New trains", body, extra))) == (
        "https://images.indianexpress.com/2026/11/rail.jpg"
    )


def test_an_https_variant_wins_over_an_earlier_http_one() -> None:
    extra = (
        '<media:content url="http://images.indianexpress.com/2026/11/port.jpg" medium="image"'
        ' width="1200" height="667"/>'
        '<media:thumbnail url="https://images.indianexpress.com/2026/11/port.jpg?w=600"'
        ' width="600" height="333"/>'
    )
    body = "The port at Mumbai handled a record number of containers in November."
    assert picture_of(rss(item("Port record", body, extra))) == (
        "https://images.indianexpress.com/2026/11/port.jpg?w=600"
    )


def test_the_largest_media_content_is_chosen() -> None:
    extra = "".join(
        f'<media:content url="https://img.example.net/{w}.jpg" medium="image" width="{w}"'
        f' height="{w * 9 // 16}"/>'
        for w in (320, 1600, 800)
    )
    body = "A nova linha de metro abre no sábado e liga o Porto a Gaia em doze minutos."
    assert (
        picture_of(rss(item("Metro do Porto", body, extra))) == "https://img.example.net/1600.jpg"
    )


def test_feedburner_advert_images_and_pixels_are_never_the_picture() -> None:
    # Reuters via FeedBurner: the description ends with the "~ff" flare images.
    body = (
        "<p>Oil prices rose on Tuesday after the cartel agreed to extend its output cuts.</p>"
        '<a href="http://feeds.reuters.com/~ff/reuters/businessNews?a=xyz">'
        '<img src="http://feeds.feedburner.com/~ff/reuters/businessNews?d=yIl2AUoC8zA"'
        ' border="0"></a>'
        '<img src="http://feeds.feedburner.com/~r/reuters/businessNews/~4/abc" height="1"'
        ' width="1" alt="">'
    )
    assert picture_of(rss(item("Oil rises", body))) is None
    # With a real picture in the item, that one is taken.
    extra = '<media:content url="https://static.reuters.example/oil.jpg" medium="image"/>'
    assert (
        picture_of(rss(item("Oil rises", body, extra))) == "https://static.reuters.example/oil.jpg"
    )


def test_a_small_declared_picture_gives_way_to_a_real_one() -> None:
    extra = (
        '<media:content url="https://ichef.example.co.uk/icon.png" medium="image" width="64"'
        ' height="64"/>'
    )
    body = (
        '<p><img src="https://ichef.example.co.uk/news/976/photo.jpg" width="976"'
        ' height="549" alt="高铁列车">连接两座城市的高铁新线今天正式开通。</p>'
    )
    feed = rss(item("高铁新线开通", body, extra), lang="zh-cn")
    (article,) = parse_feed(feed, location="https://example.org/feed", source="s").articles
    assert article.image is not None
    assert article.image.url == "https://ichef.example.co.uk/news/976/photo.jpg"
    assert article.image.alt == "高铁列车"


# --- dates without a zone -----------------------------------------------------------------


def qq_feed() -> bytes:
    """QQ's shape: dates in Beijing time with no zone, one with a zone."""
    items = "".join(
        f"<item><title>新闻{n}</title><link>https://news.qq.com/a/{n}</link>"
        f"<description>国务院今天公布了新的住房政策。</description><pubDate>{when}</pubDate></item>"
        for n, when in enumerate(
            ("2026-11-24 08:30:00", "Tue, 24 Nov 2026 07:15:00", "Tue, 24 Nov 2026 07:15:00 +0800")
        )
    )
    return rss(items, title="腾讯新闻", link="https://news.qq.com/", lang="zh-cn")


def utc_times(result: SourceResult) -> list[str]:
    return [
        a.published.astimezone(UTC).strftime("%d %H:%M") if a.published else "-"
        for a in result.articles
    ]


def test_a_feed_date_without_a_zone_takes_the_sources_zone() -> None:
    beijing = ZoneInfo("Asia/Shanghai")
    result = parse_feed(qq_feed(), location="https://news.qq.com/rss", source="qq", zone=beijing)
    hours = [
        a.published.astimezone(UTC).strftime("%d %H:%M") for a in result.articles if a.published
    ]
    assert hours == ["24 00:30", "23 23:15", "23 23:15"]
    assert (result.zoneless, result.zone) == (2, "Asia/Shanghai")
    # Without a zone given, UTC, as before; a date with its own zone never moves.
    plain = parse_feed(qq_feed(), location="https://news.qq.com/rss", source="qq")
    hours = [
        a.published.astimezone(UTC).strftime("%d %H:%M") for a in plain.articles if a.published
    ]
    assert hours == ["24 08:30", "24 07:15", "23 23:15"]
    assert (plain.zoneless, plain.zone) == (2, "UTC")


def test_sources_timezone_wins_over_the_configs(tmp_path: Path) -> None:
    feed = tmp_path / "qq.xml"
    feed.write_bytes(qq_feed())
    config = tmp_path / "config.yaml"
    config.write_text(
        "timezone: Europe/Lisbon\n"
        f"sources:\n  - {{name: qq, location: {feed}, timezone: Asia/Shanghai}}\n"
        f"  - {{name: plain, location: {feed}}}\n",
        encoding="utf-8",
    )
    loaded = load_config(config)
    qq, plain = (read_source(s, loaded.base_dir, loaded.timezone) for s in loaded.sources)
    assert (qq.zone, plain.zone) == ("Asia/Shanghai", "Europe/Lisbon")
    first = [r.articles[0].published for r in (qq, plain)]
    assert [f.astimezone(UTC).hour if f else None for f in first] == [0, 8]
    config.write_text(
        f"sources:\n  - {{name: qq, location: {feed}, timezone: Beijing/Time}}\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=r"sources: 'qq': timezone: unknown time zone"):
        load_config(config)


def test_digest_read_says_which_zone_it_used(tmp_path: Path) -> None:
    feed = tmp_path / "qq.xml"
    feed.write_bytes(qq_feed())
    runner = CliRunner()
    result = runner.invoke(main, ["read", str(feed), "--timezone", "Asia/Shanghai"])
    assert result.exit_code == 0, result.output
    assert "2 dates without a time zone, read as Asia/Shanghai time" in result.stderr
    assert "2026-11-24T00:30:00+00:00" in result.stdout
    config = tmp_path / "config.yaml"
    config.write_text("timezone: America/Sao_Paulo\n", encoding="utf-8")
    result = runner.invoke(main, ["--config", str(config), "read", str(feed)])
    assert "read as America/Sao_Paulo time" in result.stderr
    result = runner.invoke(main, ["read", str(feed), "--timezone", "Mars/Olympus"])
    assert result.exit_code == 2 and "unknown time zone 'Mars/Olympus'" in result.output


# --- names a reader recognises ------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "home", "expected"),
    [
        (
            "World – The Indian Express",
            "https://indianexpress.com/section/world/",
            "The Indian Express",
        ),
        ("World – The Indian Express", None, "The Indian Express"),
        ("bbcchinese.com | 主页", "https://www.bbc.com/zhongwen/simp", "bbcchinese.com"),
        ("Startseite - Der Tagesspiegel", None, "Der Tagesspiegel"),
        ("Últimas | Jornal de Notícias", "https://www.jn.pt/", "Jornal de Notícias"),
        ("الرئيسية - الجزيرة نت", None, "الجزيرة نت"),
        ("新闻 | 澎湃新闻", None, "澎湃新闻"),
        ("NYT > Home Page", "https://www.nytimes.com", "NYT"),
        ("Notícias » Economia » Público", "https://www.publico.pt", "Público"),
        # Two parts that are both names stay as they were.
        ("Tech – Science", None, "Tech – Science"),
    ],
)
def test_channel_titles_are_reduced_to_the_sites_name(
    title: str, home: str | None, expected: str
) -> None:
    assert feed_outlet(title, home=home) == expected


PAGE_TEXT = "".join(
    f"<p>第{n}段：连接两座城市的高铁新线今天正式开通，全程只需要九十分钟，每天开行四十对列车，"
    "票价比飞机便宜一半，沿线的六个车站同时启用，当地居民表示出行更加方便。</p>"
    for n in range(1, 9)
)
PAGE = (
    '<html lang="zh-CN"><head><meta charset="utf-8"><title>高铁新线开通 - BBC News 中文</title>'
    '<meta property="og:site_name" content="BBC News 中文">'
    '<meta property="og:title" content="高铁新线今天开通运营"></head><body><article>'
    f"<h1>高铁新线今天开通运营</h1>{PAGE_TEXT}</article></body></html>"
).encode()


def test_a_pages_site_name_replaces_the_channel_title_not_a_configured_outlet() -> None:
    html = "text/html; charset=utf-8"
    files: dict[str, tuple[bytes, str]] = {"/zhongwen/a1": (PAGE, html)}
    with static_site(files) as site:
        feed = rss(
            item("高铁新线今天开通运营", "连接两座城市的高铁新线今天正式开通。", n=1).replace(
                "https://example.org/1", f"{site.url}/zhongwen/a1"
            ),
            title="bbcchinese.com | 主页",
            link="https://www.bbc.com/zhongwen/simp",
            lang="zh-cn",
        )
        files["/rss.xml"] = (feed, html)
        teaser = read_location(f"{site.url}/rss.xml", allow_private=True, fetch_full_text=False)
        fetched = read_location(f"{site.url}/rss.xml", allow_private=True, fetch_full_text=True)
        configured = read_location(
            f"{site.url}/rss.xml", allow_private=True, fetch_full_text=True, outlet="BBC 中文网"
        )
    assert [a.source for a in teaser.articles] == ["bbcchinese.com"]
    (article,) = fetched.articles
    assert article.source == "BBC News 中文" and article.word_count > 150
    assert [a.source for a in configured.articles] == ["BBC 中文网"]


@pytest.mark.parametrize(
    ("category", "section"),
    [
        ("Chinese simplified", "News"),  # BBC 中文: the service's language, on every item
        ("In", "News"),  # Jornal de Notícias: a fragment of a path
        ("简体中文", "News"),
        ("Português", "News"),
        ("اردو", "News"),
        ("Economia", "Economia"),
        ("国内", "国内"),
        ("UK", "UK"),
        ("politik", "Politik"),
    ],
)
def test_sections_never_take_a_language_label_or_a_fragment(category: str, section: str) -> None:
    article = make_article("a", "Título", "Texto.", category=category)
    assert section_of(article, EditionSettings()) == section


def test_a_language_label_falls_back_to_the_topic_or_the_sources_category() -> None:
    article = make_article(
        "a", "高铁新线开通", "高铁新线今天正式开通。", category="Chinese simplified"
    )
    article = dataclasses.replace(article, origin="bbc")
    sources = (SourceOptions(name="bbc", location="x", category="中国"),)
    assert section_of(article, EditionSettings(sources=sources)) == "中国"
    settings = EditionSettings(topics=("transport, railways and roads",))
    assert section_of(article, settings, "transport, railways and roads") == "Transport"


def test_the_default_section_follows_the_newsletters_language() -> None:
    edition = sample_edition()
    sections = tuple(dataclasses.replace(s, name="News") for s in edition.sections)
    edition = dataclasses.replace(edition, sections=sections)
    html = render_edition(edition, NewsletterOptions(language="zh")).html
    assert "新闻" in html
    html = render_edition(edition, NewsletterOptions(language="pt")).html
    assert "Notícias" in html


def test_an_advert_marked_by_its_second_category_is_recognised() -> None:
    feed = rss(
        item(
            "#TGIQF - das c't-Retroquiz: 8 Bit & mehr",
            "Jetzt mitraten und gewinnen.",
            "<category>IT</category><category>heise-Angebot</category>",
        )
        + item(
            "Bahn streikt am Montag",
            "Die Gewerkschaft ruft zum Streik.",
            "<category>IT</category>",
            n=2,
        ),
        lang="de",
    )
    ad, news = parse_feed(feed, location="https://www.heise.de/rss", source="heise").articles
    assert (ad.category, news.category) == ("heise-Angebot", "IT")
    assert is_sponsored(ad.title, ad.category) and not is_sponsored(news.title, news.category)
