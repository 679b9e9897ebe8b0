"""The plain-text reader (``digest summarize --jsonl``): the caller's id, the readers' hash.

A summary is cached under the article's content hash, so moving this reader out of
``digest.text.sentences`` must not change the hash of any text: the hashes below are the
ones the reader gave before the move.
"""

from __future__ import annotations

import pytest

from digest.identity import content_hash
from digest.models import Section
from digest.sources.plain import article_from_text

# (id, text, title, the hash before the move, the headline it gives)
TEXTS = [
    (
        "en",
        "The council approved a new bridge on Monday. It will cost 40 million pounds.\n\n"
        "Residents had asked for it for a decade.",
        None,
        "43a80882dc978c4c04642d738f243f07d6f95c9f797e32f244e2079fcf488127",
        "The council approved a new bridge on Monday.",
    ),
    (
        "de",
        "Der Senat hat am Montag den Bau einer neuen Brücke genehmigt.  Sie soll 2028 fertig"
        " sein.\n\n\n  Anwohner   hatten seit Jahren darauf gewartet.\n",
        "Neue Brücke für Hamburg",
        "9bf74b3b3e3c123c32ca119f47296cf13ff52a8e5c89f6fd87c13fa32f4d50d3",
        "Neue Brücke für Hamburg",
    ),
    (
        "ur",
        "وزیراعظم نے اجلاس طلب کیا۔ اجلاس میں بجٹ پر بات ہوئی۔\n \nفیصلہ کل ہوگا۔",
        None,
        "2054ea9b1a3b192081a3dde6ecc38eeedc94d58e613d7026aa40912a7c5511c0",
        "وزیراعظم نے اجلاس طلب کیا۔",
    ),
    (
        "zh",
        "市政府周一批准了一座新桥。\n该桥预计二〇二八年建成。\n\n居民们已经等了十年。",
        None,
        # Changed on purpose (issue 10): "。" now ends a sentence without a space after it,
        # so the headline is the first sentence, no longer both lines.
        "571fbf7206195c774d4d6022331c64585304ea83de8527dfb28e110162cdc893",
        "市政府周一批准了一座新桥。",
    ),
    (
        "hi",
        "नगर परिषद ने सोमवार को नए पुल को मंज़ूरी दी। इस पर चार करोड़ रुपये खर्च होंगे।",
        "नया पुल मंज़ूर",
        "6734f917413ea14034c3b9382b4e78e730844a1a336e183a4c375961e91e7891",
        "नया पुल मंज़ूर",
    ),
    (
        "pt",
        "A Câmara aprovou na segunda-feira a construção de uma nova ponte. A obra custará 40"
        " milhões de reais.",
        None,
        "1c9bb6ec01240589ba41fb8205d14a6276f7609b277662f334ddbb516b23090d",
        "A Câmara aprovou na segunda-feira a construção de uma nova ponte.",
    ),
]


@pytest.mark.parametrize(("ident", "text", "title", "before", "headline"), TEXTS)
def test_the_content_hash_is_the_one_given_before_the_move(
    ident: str, text: str, title: str | None, before: str, headline: str
) -> None:
    article = article_from_text(ident, text, title)
    assert article.id == ident
    assert article.title == headline
    assert article.content_hash == before
    # ... which is the readers' hash of the headline and the paragraphs, as it was made.
    sections = (Section(None, article.paragraphs),)
    assert article.content_hash == content_hash(headline, sections, ())


def test_paragraphs_are_blank_line_blocks_with_whitespace_collapsed() -> None:
    article = article_from_text("de", TEXTS[1][1], TEXTS[1][2], source="jsonl")
    assert article.source == "jsonl"
    assert article.paragraphs == (
        "Der Senat hat am Montag den Bau einer neuen Brücke genehmigt. Sie soll 2028 fertig sein.",
        "Anwohner hatten seit Jahren darauf gewartet.",
    )
    assert article.sections[0].heading is None
    # A line break inside a block stays (the splitter may keep a short line whole).
    assert article_from_text("zh", TEXTS[3][1]).paragraphs[0] == (
        "市政府周一批准了一座新桥。\n该桥预计二〇二八年建成。"
    )


def test_an_empty_text_gives_an_article_without_paragraphs() -> None:
    # The --jsonl reader skips it ("empty text"); nothing is raised here.
    article = article_from_text("empty", " \n\n \n")
    assert article.paragraphs == () and article.title == ""
    assert article_from_text("titled", "", "Nur ein Titel").title == "Nur ein Titel"


def test_the_headline_is_the_first_fourteen_words_of_the_first_sentence() -> None:
    text = " ".join(f"palavra{i}" for i in range(20)) + ". Segunda frase."
    assert article_from_text("pt", text).title == " ".join(f"palavra{i}" for i in range(14))
