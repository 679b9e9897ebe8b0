"""No fragment is ever a point: abbreviations in every language we split, descriptions a
feed cut short, and the teaser shown as a teaser (issue 20, part 1). Texts written here."""

from __future__ import annotations

import dataclasses

import lxml.html
import pytest

from digest.config import SummarizerOptions
from digest.models import Article, Section, Summary
from digest.publish.render import personalize, render_edition
from digest.sources.feeds import parse_feed
from digest.text.sentences import article_sentences, split_sentences
from tests.newsletter_sample import sample_edition
from tests.test_render import OPTIONS, replace_story


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        (
            "de",
            "Auch wenn nicht jedes Geschäftsmodell von Disruption bzw. Digitalisierung betroffen"
            " ist, ändert sich viel. Das zeigt z. B. Siemens. Es kamen ca. 300 Gäste, vgl. Nr. 5"
            " der Liste. Die Wahl fand am 3. Oktober statt.",
            [
                "Auch wenn nicht jedes Geschäftsmodell von Disruption bzw. Digitalisierung"
                " betroffen ist, ändert sich viel.",
                "Das zeigt z. B. Siemens.",
                "Es kamen ca. 300 Gäste, vgl. Nr. 5 der Liste.",
                "Die Wahl fand am 3. Oktober statt.",
            ],
        ),
        (
            "de",
            "Äpfel, Birnen usw. Alles wird teurer, d. h. Familien sparen. Das ist neu.",
            ["Äpfel, Birnen usw. Alles wird teurer, d. h. Familien sparen.", "Das ist neu."],
        ),
        (
            "pt",
            "O Sr. Costa e a Sra. Lima chegaram ao Porto, p. ex. Matosinhos. Depois saíram.",
            ["O Sr. Costa e a Sra. Lima chegaram ao Porto, p. ex. Matosinhos.", "Depois saíram."],
        ),
        (
            "es",
            "La Dra. Ruiz vive en la Av. Libertad, pág. Tres del informe. Nadie lo sabía.",
            ["La Dra. Ruiz vive en la Av. Libertad, pág. Tres del informe.", "Nadie lo sabía."],
        ),
        (
            "fr",
            "Mme Durand et M. Petit ont vu Mlle Roux, cf. Annexe deux. La séance est levée.",
            ["Mme Durand et M. Petit ont vu Mlle Roux, cf. Annexe deux.", "La séance est levée."],
        ),
        (
            "ru",
            "Это важно, т. е. Москва ждёт ответа. Ул. Ленина закрыта на ремонт. Потом всё.",
            ["Это важно, т. е. Москва ждёт ответа.", "Ул. Ленина закрыта на ремонт.", "Потом всё."],
        ),
        (
            "it",
            "Il Sig. Rossi e il Dott. Bianchi sono arrivati. Poi è piovuto.",
            ["Il Sig. Rossi e il Dott. Bianchi sono arrivati.", "Poi è piovuto."],
        ),
        (
            "en",  # English keeps its own rules: a capitalised acronym still ends a sentence
            "He moved to the U.S. The next year he joined the CIA. Then he left.",
            ["He moved to the U.S.", "The next year he joined the CIA.", "Then he left."],
        ),
        (
            "en",  # a lone letter ends a sentence unless a second piece follows ("z. B.")
            "We don't. We haven't had a request. Clare without an i. The end is near.",
            ["We don't.", "We haven't had a request.", "Clare without an i.", "The end is near."],
        ),
        (
            "nl",
            "Er kwamen ca. 300 mensen, bijv. Jan en dhr. Peters. Het regende.",
            ["Er kwamen ca. 300 mensen, bijv. Jan en dhr. Peters.", "Het regende."],
        ),
        (
            "tr",
            "Dr. Yılmaz ve Prof. Demir geldi. Toplantı başladı.",
            ["Dr. Yılmaz ve Prof. Demir geldi.", "Toplantı başladı."],
        ),
    ],
)
def test_abbreviations_never_end_a_sentence(language: str, text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected, language


def _article(*paragraphs: str, language: str = "zh") -> Article:
    return Article(
        id="a1",
        source="QQ",
        title="标题",
        content_hash="h",
        language=language,
        sections=(Section(None, paragraphs),),
    )


@pytest.mark.parametrize(
    ("paragraphs", "fragments"),
    [
        # QQ: cut mid-sentence with no mark at all
        (
            ("抗战胜利的重大意义。中国人民抗日战争胜利，是近代以来中国抗击外敌入侵的第一",),
            [False, True],
        ),
        # German teaser ending on "…" and Portuguese on "[…]"
        (("Die Regierung plant neue Regeln. Die Opposition kritisiert, dass…",), [False, True]),
        (("O governo anunciou medidas. A oposição disse que vai […]",), [False, True]),
        # Arabic: a whole last sentence is no fragment; "..." inside a paragraph is a pause
        (("أعلنت الحكومة خطة جديدة. وقال الوزير إن العمل سيبدأ غدا.",), [False, False]),
        (("Prices rose in Q1... Analysts were surprised.",), [False, False]),
    ],
)
def test_sentences_cut_by_the_source_are_fragments(
    paragraphs: tuple[str, ...], fragments: list[bool]
) -> None:
    sentences = article_sentences(_article(*paragraphs))
    assert [s.is_fragment for s in sentences] == fragments


def _qq_feed(descriptions: list[str]) -> bytes:
    items = "".join(
        f"<item><title>新闻{i}</title><link>https://news.qq.com/a/{i}</link>"
        f"<description>{d}</description></item>"
        for i, d in enumerate(descriptions)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>腾讯新闻</title>'
        f"<link>https://news.qq.com/</link><language>zh-cn</language>{items}</channel></rss>"
    ).encode()


def test_descriptions_cut_at_the_feeds_fixed_length_are_marked_cut() -> None:
    cut = 40
    full = "中国人民抗日战争胜利是近代以来中国抗击外敌入侵的第一次完全胜利。" * 3
    # Four descriptions cut at exactly 40 characters, one of them just after a full stop,
    # and one shorter description that is whole.
    at_stop = ("这是一个完整的句子。" * 4)[:cut]
    assert len(at_stop) == cut and at_stop.endswith("。")
    descriptions = [full[:cut], full[1 : cut + 1], full[2 : cut + 2], at_stop, "短新闻完整。"]
    result = parse_feed(_qq_feed(descriptions), location="https://news.qq.com/rss", source="qq")
    texts = [a.text for a in result.articles]
    assert [t.endswith("…") for t in texts] == [True, True, True, True, False]
    for article in result.articles[:4]:
        assert article_sentences(article)[-1].is_fragment


def test_a_feed_of_whole_descriptions_is_not_marked_cut() -> None:
    descriptions = ["Die Bahn streikt am Montag.", "Der Bund zahlt mehr.", "Es regnet viel."]
    result = parse_feed(
        _qq_feed(descriptions), location="https://example.de/rss", source="de", language="de"
    )
    assert [a.text for a in result.articles] == descriptions


@pytest.mark.slow  # loads the real encoder
def test_a_fragment_is_never_a_point_and_a_cut_teaser_shows_as_a_teaser() -> None:
    from digest.embed import get_encoder
    from digest.summarize.extractive import ExtractiveSummarizer

    summarizer = ExtractiveSummarizer(SummarizerOptions(), get_encoder())
    whole_then_cut = _article(
        "国务院今天公布了新的住房政策。政策将在明年一月开始实施。"
        "专家认为这将帮助年轻家庭购买第一套住房。地方政府还将提供保护见义勇"
    )
    only_cut = _article(
        "抗战胜利的重大意义第一次完全胜利中国人民抗日战争胜利，是近代以来中国抗击外敌入侵的第一"
    )
    german = _article(
        "Die Regierung will die Steuern senken. Die Opposition kritisiert, dass die Länder…",
        language="de",
    )
    summaries = summarizer.summarize_many([whole_then_cut, only_cut, german])
    for article, summary in zip((whole_then_cut, only_cut, german), summaries, strict=True):
        sentences = article_sentences(article)
        points = [*summary.key_points, *([summary.conclusion] if summary.conclusion else [])]
        assert all(not sentences[i].is_fragment for p in points for i in p.sources)
        assert all("保护见义勇" not in p.text and "Länder" not in p.text for p in points)
    assert summaries[0].key_points and summaries[0].teaser is None
    teaser = summaries[1]
    assert not teaser.key_points and teaser.conclusion is None
    assert teaser.teaser is not None and teaser.teaser.endswith("第一…")
    assert teaser.note is not None and teaser.note.startswith("teaser only")


def test_the_teaser_renders_as_a_teaser_never_as_points_or_bottom_line() -> None:
    edition = sample_edition()
    summary = Summary(
        key_points=(),
        conclusion=None,
        method="extractive",
        model="m",
        teaser="Die Opposition kritisiert, dass die Länder…",
    )
    edition = replace_story(edition, 0, summary=summary)
    rendered = render_edition(edition, OPTIONS)
    filled = personalize(
        rendered,
        name="Ana",
        unsubscribe_url="https://news.example.org/u/1.x",
        browser_url="https://news.example.org/archive/1.html",
    )
    doc = lxml.html.document_fromstring(filled.html)
    story = doc.find_class("story")[0]
    assert not story.find_class("points") and not story.find_class("conclusion")
    (teaser,) = story.find_class("teaser")
    assert teaser.text_content() == "Teaser only: Die Opposition kritisiert, dass die Länder…"
    block = filled.text.split(edition.stories[1].title)[0]
    assert "Teaser only: Die Opposition kritisiert, dass die Länder…" in " ".join(block.split())
    assert "Bottom line" not in block and "  * " not in block
    # The other stories keep their points.
    assert dataclasses.replace(edition.stories[1].summary).key_points
