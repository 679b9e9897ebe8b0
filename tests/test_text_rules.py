"""The shared text rules (``digest.text.rules``), checked through what each caller needs of
them, on text in several scripts: German, Urdu, Chinese, Hindi and Portuguese.

Readers (``sources.text``), the splitter (``text.sentences``), the model's answer
(``summarize.generative``), related stories (``edition.related``), the email
(``publish.render``) and ids (``identity``) each use some of them; where they differ on
purpose (which glyphs open an item, how words are cut), the difference is tested here.
"""

from __future__ import annotations

import pytest

from digest.identity import article_id
from digest.models import Article, Event, Section
from digest.sources.article import Meta
from digest.sources.text import parse_text
from digest.summarize.generative import parse_output
from digest.text.rules import (
    BULLET_GLYPHS,
    BULLET_LINE,
    LIST_MARK,
    MODEL_BULLET_GLYPHS,
    MODEL_LIST_ITEM,
    casefold_words,
    identity_form,
    is_boilerplate,
    lowercase_words,
    mostly_same_words,
    repeat_key,
    strip_glued_boilerplate,
    title_key,
)
from digest.text.sentences import article_sentences, split_paragraph

# --- list items -------------------------------------------------------------------------------


def _german_layout(glyph: str) -> str:
    return (
        "Welt\n\n"
        "Neue Brücke für Hamburg genehmigt\n\n"
        "Neue Brücke für Hamburg genehmigt\n\n"
        "Der Senat hat am Montag den Bau einer neuen Brücke genehmigt. Sie soll 2028 fertig"
        " sein.\n\n"
        f"  {glyph} May 9, 2025: Der Senat stimmt dem Bau zu.\n"
        f"  {glyph} Die Brücke kostet 40 Millionen Euro.\n\n"
        "Anwohner hatten seit Jahren darauf gewartet.\n"
    )


@pytest.mark.parametrize("glyph", BULLET_GLYPHS)
def test_a_reader_takes_a_line_opened_by_any_bullet_glyph_for_an_item(glyph: str) -> None:
    article = parse_text(_german_layout(glyph), Meta(source="t"))
    assert article.events == (
        Event("May 9, 2025", article.events[0].when, "Der Senat stimmt dem Bau zu."),
    )
    assert "Die Brücke kostet 40 Millionen Euro." in article.paragraphs  # the glyph is gone


def test_a_reader_takes_no_numbered_line_and_no_other_glyph_for_an_item() -> None:
    article = parse_text(_german_layout("+"), Meta(source="t"))
    assert article.events == ()
    for line in ("1. Der Senat stimmt zu.", "-Wort ohne Leerzeichen", "+ Der Senat stimmt zu."):
        assert BULLET_LINE.match(line) is None
    found = BULLET_LINE.match("  • नगर परिषद ने मंज़ूरी दी।")
    assert found is not None and found["text"] == "नगर परिषद ने मंज़ूरी दी।"


@pytest.mark.parametrize("glyph", BULLET_GLYPHS)
def test_the_splitter_keeps_a_bullet_line_whole_without_its_glyph(glyph: str) -> None:
    paragraph = (
        f"Kurz gesagt\n{glyph} Der Senat stimmt zu. Die Brücke kommt.\nWeitere Sätze, viele."
    )
    assert split_paragraph(paragraph) == [
        "Kurz gesagt",
        "Der Senat stimmt zu.",
        "Die Brücke kommt.",
        "Weitere Sätze, viele.",
    ]


def test_the_splitter_drops_the_number_of_an_item_in_any_script() -> None:
    # Devanagari and Urdu (extended Arabic-Indic) digits are digits too.
    paragraph = "Kurz\n۲) اجلاس میں بجٹ پر بات ہوئی۔\n१. नगर परिषद ने मंज़ूरी दी।\n12) 新桥获批。"
    assert split_paragraph(paragraph) == [
        "Kurz",
        "اجلاس میں بجٹ پر بات ہوئی۔",
        "नगर परिषद ने मंज़ूरी दी।",
        "新桥获批。",
    ]
    # A bracket before the number is the model's habit, not an article's.
    assert split_paragraph("(3) Der Senat stimmt zu.") == ["(3) Der Senat stimmt zu."]
    assert LIST_MARK.match("2025. Das Jahr begann ruhig.") is None  # three digits: a year


def test_the_model_reads_a_subset_of_the_glyphs() -> None:
    assert set(MODEL_BULLET_GLYPHS) < set(BULLET_GLYPHS)


@pytest.mark.parametrize("glyph", MODEL_BULLET_GLYPHS)
def test_a_model_point_may_open_with_a_model_bullet(glyph: str) -> None:
    answer = f"{glyph} O Senado aprovou a ponte nova.\n{glyph} A obra custará 40 milhões."
    assert parse_output(answer) == (
        ["O Senado aprovou a ponte nova.", "A obra custará 40 milhões."],
        None,
    )


@pytest.mark.parametrize("glyph", sorted(set(BULLET_GLYPHS) - set(MODEL_BULLET_GLYPHS)))
def test_other_glyphs_in_a_model_answer_are_read_as_prose(glyph: str) -> None:
    answer = f"{glyph} O Senado aprovou a ponte nova.\n{glyph} A obra custará 40 milhões."
    assert MODEL_LIST_ITEM.match(answer.splitlines()[0]) is None
    points, _ = parse_output(answer)
    assert points == [f"{glyph} O Senado aprovou a ponte nova. {glyph} A obra custará 40 milhões."]


def test_a_model_point_may_be_numbered_with_or_without_a_bracket() -> None:
    answer = (
        "(1) 市政府 周一 批准了 新桥。\n2) 该桥 预计 二〇二八年 建成。\n"
        "3. जनता ने फैसले का स्वागत किया।"
    )
    assert parse_output(answer)[0] == [
        "市政府 周一 批准了 新桥。",
        "该桥 预计 二〇二八年 建成。",
        "जनता ने फैसले का स्वागत किया।",
    ]


# --- normal forms ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "title", "form", "ident"),
    [  # ids as they were before the rules moved here: they must never change
        ("Tagesblatt", "Neue  Brücke für  HAMBURG", "neue brücke für hamburg", "843301a52241da38"),
        ("جنگ", "وزیراعظم نے اجلاس طلب کیا", "وزیراعظم نے اجلاس طلب کیا", "301517d3c34af740"),
        ("新华", "市政府批准新桥（ＡＢＣ）", "市政府批准新桥(abc)", "ccb2792690d277a9"),
        ("दैनिक", "नया पुल मंज़ूर", None, "a726564946b56df7"),
        ("Folha", "Câmara aprova ﬁnanciamento", "câmara aprova financiamento", "68c525e142b462d8"),
    ],
)
def test_identity_form_is_what_ids_are_made_of(
    source: str, title: str, form: str | None, ident: str
) -> None:
    if form is not None:
        assert identity_form(title) == form
    assert article_id(source, None, title) == ident


def test_identity_form_folds_case_fully() -> None:
    assert identity_form("STRASSE") == identity_form("Straße") == "strasse"


@pytest.mark.parametrize(
    ("cited", "stored"),
    [
        ("Ação do Governo: São Paulo!", "acao do governo sao paulo"),
        ("Über die Brücke – Hamburgs neuer Weg", "uber die brucke hamburgs neuer weg"),
        ("中国，经济！增长", "中国 经济 增长"),
        ("پاکِستان میں بارش", "پاکستان میں بارش"),  # with and without a zer
        ("भारत: नई नीति!", "भारत — नई नीति"),
    ],
)
def test_title_key_matches_a_title_written_differently(cited: str, stored: str) -> None:
    assert title_key(cited) == title_key(stored)


def test_title_key_tells_different_titles_apart() -> None:
    assert title_key("Câmara aprova ponte") != title_key("Câmara rejeita ponte")
    assert title_key("中国经济增长") != title_key("中国经济放缓")


def test_repeat_key_folds_only_case_and_spaces() -> None:
    assert repeat_key("  Ação\tAGORA \n em Lisboa ") == "ação agora em lisboa"
    assert repeat_key("STRASSE") != repeat_key("Straße")  # lower(), not casefold()


def test_a_timeline_line_kept_as_a_paragraph_too_is_numbered_once() -> None:
    article = Article(
        id="pt",
        source="t",
        title="Negociações marcadas",
        content_hash="h",
        sections=(
            Section(None, ("Os líderes concordaram em se reunir na sexta-feira.",)),
            Section("Cronologia", ("• Próximo:  negociações em   Lisboa.",)),
        ),
        events=(Event("Próximo", None, "Negociações em Lisboa."),),
    )
    texts = [s.text for s in article_sentences(article)]
    assert texts == [
        "Os líderes concordaram em se reunir na sexta-feira.",
        "Próximo: Negociações em Lisboa.",
    ]


def test_a_point_a_model_wrote_twice_is_kept_once() -> None:
    answer = "- O Senado aprovou a ponte nova.\n- o senado  aprovou a ponte   nova."
    assert parse_output(answer)[0] == ["O Senado aprovou a ponte nova."]


# --- word overlap ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("Neue Brücke für Hamburg genehmigt", "Hamburg: Senat genehmigt neue Brücke", True),
        ("Neue Brücke für Hamburg genehmigt", "Hafen in Kiel wegen Sturm gesperrt", False),
        ("Câmara aprova nova ponte em São Paulo", "Câmara aprova a nova ponte", True),
        ("中国经济增长放缓，出口下降", "中国经济增长放缓", True),  # runs of Han between punctuation
        ("中国经济增长放缓", "中国出口下降", False),
        ("وزیراعظم نے اجلاس طلب کر لیا", "وزیراعظم نے اجلاس طلب کیا", True),
        ("भारत में नई शिक्षा नीति लागू", "भारत में नई शिक्षा नीति लागू हुई", True),
        ("भारत में नई शिक्षा नीति लागू", "पाकिस्तान में बाढ़ से तबाही", False),
        ("", "Neue Brücke", False),
        ("— · —", "— · —", False),  # no words at all
    ],
)
def test_mostly_same_words(a: str, b: str, same: bool) -> None:
    assert mostly_same_words(a, b) is same
    assert mostly_same_words(b, a) is same


def test_the_share_is_of_the_shorter_text() -> None:
    assert mostly_same_words("Senat Brücke Hamburg Kiel Bremen", "Senat Brücke Hamburg")
    assert not mostly_same_words("Senat Brücke Hamburg", "Senat Kiel Bremen")
    assert mostly_same_words("Senat Brücke Hamburg", "Senat Kiel Bremen", share=0.3)


def test_a_reader_finds_a_repeated_headline_in_other_scripts() -> None:
    portuguese = (
        "Brasil\n\nCâmara aprova nova ponte em São Paulo\n\n"
        "Câmara aprova a nova ponte de São Paulo\n\n"
        "A Câmara aprovou na segunda-feira a construção de uma nova ponte.\n"
    )
    article = parse_text(portuguese, Meta(source="t"))
    assert (article.category, article.title, article.dek) == (
        "Brasil",
        "Câmara aprova nova ponte em São Paulo",
        "Câmara aprova a nova ponte de São Paulo",
    )
    chinese = (
        "中国\n\n市政府批准新桥，预计二〇二八年建成\n\n市政府批准新桥\n\n"
        "市政府周一批准了一座新桥。\n"
    )
    article = parse_text(chinese, Meta(source="t"))
    assert (article.category, article.dek) == ("中国", "市政府批准新桥")


def test_the_email_and_the_readers_cut_words_differently() -> None:
    # Why the email passes its own words: "ß" and "_" are cut differently, so the two
    # tokenisations disagree on whether a dek restates its headline.
    assert casefold_words("Straße_Nord") == ["strasse", "nord"]
    assert lowercase_words("Straße_Nord") == ["straße_nord"]
    dek, title = "STRASSE gesperrt", "Straße gesperrt"
    assert mostly_same_words(dek, title)
    assert not mostly_same_words(dek, title, words=lowercase_words)
    # On plain words in any script they agree.
    for a, b in [
        ("Câmara aprova a nova ponte", "Câmara aprova nova ponte em São Paulo"),
        ("وزیراعظم نے اجلاس طلب کیا", "وزیراعظم نے اجلاس طلب کر لیا"),
    ]:
        assert casefold_words(a) == lowercase_words(a)
        assert mostly_same_words(a, b, words=lowercase_words) == mostly_same_words(a, b)


# --- boilerplate -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sentence",
    [
        "Der Senat hat am Montag den Bau einer neuen Brücke genehmigt.",
        "Von der Brücke aus sieht man den Hafen.",
        "وزیراعظم نے اجلاس طلب کیا۔",
        "市政府周一批准了一座新桥。",
        "नगर परिषद ने सोमवार को नए पुल को मंज़ूरी दी।",
        "A Câmara aprovou na segunda-feira a construção de uma nova ponte.",
        "By Tuesday, Lisboa had approved the plan.",
    ],
)
def test_news_in_any_script_is_not_boilerplate(sentence: str) -> None:
    assert not is_boilerplate(sentence)


@pytest.mark.parametrize(
    "line",
    ["By Anna Schmidt and João Silva", "Related: Câmara aprova nova ponte", "Photo: Getty Images"],
)
def test_bylines_and_prompts_are_boilerplate(line: str) -> None:
    assert is_boilerplate(line)


def test_glued_boilerplate_is_stripped_from_the_front_only() -> None:
    assert strip_glued_boilerplate("(CNN) -- Der Bundestag hat gewählt.") == (
        "Der Bundestag hat gewählt."
    )
    assert strip_glued_boilerplate("Scroll down for video A Câmara aprovou a ponte.") == (
        "A Câmara aprovou a ponte."
    )
    assert strip_glued_boilerplate("市政府批准了新桥 (CNN)") == "市政府批准了新桥 (CNN)"
    assert strip_glued_boilerplate("(CNN)") == "(CNN)"  # nothing else would be left
