"""Sentences, word counts, languages and bylines in scripts other than Latin (issue 10).

Every text here was written for these tests.
"""

from __future__ import annotations

import pytest

from digest.models import Article, Section, count_words
from digest.summarize.extractive import mend_quotes, trim_point
from digest.text.language import detect_language, normal_language
from digest.text.rules import is_boilerplate, strip_glued_boilerplate
from digest.text.sentences import article_sentences, split_paragraph, split_sentences

# --- sentences ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Chinese: 。！？ need no space after them.
        (
            "今年夏季长江流域降雨偏多。武汉多处积水！市民出行受影响吗？专家说影响有限。",
            [
                "今年夏季长江流域降雨偏多。",
                "武汉多处积水！",
                "市民出行受影响吗？",
                "专家说影响有限。",
            ],
        ),
        # A quotation closed after its full stop, then a short attribution: one sentence.
        (
            "“我们会尽快修复道路。”他说。工程将在下月完成。",
            ["“我们会尽快修复道路。”他说。", "工程将在下月完成。"],
        ),
        # Japanese: 「…。」と述べた continues the sentence.
        (
            "大阪市は新しい図書館を開いた。市長は「本は町の宝だ。」と述べた。開館は午前十時。",
            [
                "大阪市は新しい図書館を開いた。",
                "市長は「本は町の宝だ。」と述べた。",
                "開館は午前十時。",
            ],
        ),
        # A fullwidth full stop inside a number is not an end.
        ("物价上涨了３．５％。这是新高。", ["物价上涨了３．５％。", "这是新高。"]),
        # Urdu: ۔ and ؟ end sentences; the Arabic comma does not.
        (
            "شہر میں نئی سڑک کھل گئی۔ کیا ٹریفک کم ہوگا؟ حکام کے مطابق، ہاں۔",
            ["شہر میں نئی سڑک کھل گئی۔", "کیا ٹریفک کم ہوگا؟", "حکام کے مطابق، ہاں۔"],
        ),
        # Arabic: the Latin full stop and ؟ before a caseless letter; ، is a pause.
        (
            "افتتحت البلدية جسرا جديدا، وحضر الوزير. هل ستنخفض الزحمة؟ يأمل السكان ذلك.",
            ["افتتحت البلدية جسرا جديدا، وحضر الوزير.", "هل ستنخفض الزحمة؟", "يأمل السكان ذلك."],
        ),
        # Hindi: danda and double danda.
        (
            "नगर निगम ने नया पुल खोला। लोग खुश हैं॥ अगला पुल अगले साल बनेगा।",
            ["नगर निगम ने नया पुल खोला।", "लोग खुश हैं॥", "अगला पुल अगले साल बनेगा।"],
        ),
        # English is unchanged: abbreviations, times.
        (
            "Dr. Lee met Gov. Ortiz at 3 p.m. on Friday. They spoke for an hour.",
            ["Dr. Lee met Gov. Ortiz at 3 p.m. on Friday.", "They spoke for an hour."],
        ),
    ],
)
def test_sentences_end_where_each_script_ends_them(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_thai_sentences_come_from_a_model_not_from_every_space() -> None:
    text = (
        "รัฐบาลประกาศแผนสร้างสะพานใหม่เมื่อวันจันทร์ ประชาชนในพื้นที่ต่างดีใจ"
        " สะพานนี้จะช่วยลดเวลาเดินทางได้มาก โครงการจะเริ่มก่อสร้างในปีหน้า"
    )
    found = split_sentences(text)
    assert 2 <= len(found) <= 4
    assert "".join(found).replace(" ", "") == text.replace(" ", "")


def test_lao_is_cut_at_spaces_without_leaving_lone_words() -> None:
    found = split_sentences("ລັດຖະບານປະກາດແຜນໃໝ່ໃນມື້ນີ້ ແລະ ປະຊາຊົນຍິນດີຫຼາຍກັບແຜນນີ້")
    assert len(found) == 2 and all(count_words(p) >= 3 for p in found)


def test_a_chinese_paragraph_of_lines_is_not_read_as_headings() -> None:
    # A one-"word" line (no spaces) ending in 。 is prose, not a short heading line.
    lines = "市政府批准了新桥。\n该桥将在两年内建成。\n居民们对此表示欢迎。"
    assert split_paragraph(lines) == [
        "市政府批准了新桥。",
        "该桥将在两年内建成。",
        "居民们对此表示欢迎。",
    ]


# --- word counts ---------------------------------------------------------------------------


def test_words_count_cjk_and_thai_letters_as_word_equivalents() -> None:
    assert count_words("The bridge opened on Monday.") == 5  # exactly str.split()
    assert count_words("市政府周一批准了一座新桥。") == 8  # 12 Han letters / 1.5
    assert count_words("大阪市は新しい図書館を開いた。") == 9  # 14 letters / 1.5
    assert count_words("รัฐบาลประกาศแผนใหม่") == 4  # 16 spacing letters / 4, marks not counted
    # "2025", "5", "9", "Apple", and 5 Han letters (年月日发布) / 1.5
    assert count_words("2025年5月9日 Apple 发布") == 4 + 3
    article = Article(
        id="zh",
        source="t",
        title="新桥",
        content_hash="h",
        sections=(Section(None, ("市政府周一批准了一座新桥。" * 10,)),),
    )
    assert article.word_count == 80  # was 1 ("1 words" in digest read)


# --- languages -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("市政府周一批准了一座新桥，预计两年后建成，居民们对此表示欢迎。", "zh"),
        ("大阪市は新しい図書館を開いた。市長は本は町の宝だと述べた。", "ja"),
        ("شہر میں نئی سڑک کھل گئی اور لوگوں نے خوشی کا اظہار کیا۔", "ur"),
        ("افتتحت البلدية جسرا جديدا وحضر الوزير حفل الافتتاح في المدينة.", "ar"),
        ("نخست وزیر گفت که پروژه پل جدید در ماه آینده آغاز می‌شود.", "fa"),
        ("नगर निगम ने नया पुल खोला और लोगों ने खुशी जताई।", "hi"),
        ("รัฐบาลประกาศแผนสร้างสะพานใหม่เมื่อวันจันทร์", "th"),
        ("Der Stadtrat hat am Montag den Bau einer neuen Brücke beschlossen.", "de"),
        ("A prefeitura aprovou na segunda-feira a construção de uma nova ponte.", "pt"),
        ("Городской совет в понедельник одобрил строительство нового моста.", "ru"),
        ("Too short", None),
    ],
)
def test_the_language_is_read_from_the_text(text: str, code: str | None) -> None:
    assert detect_language(text) == code


def test_declared_languages_become_lowercase_codes() -> None:
    assert normal_language("pt-BR") == "pt-br"
    assert normal_language(" en_US ") == "en-us"
    assert normal_language("ZH") == "zh"
    for bad in ("", "x", "english please", "<script>", "de" * 40, None, 7):
        assert normal_language(bad) is None


# --- bylines and datelines -------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "Von Stefan Krempl",
        "Ein Bericht von Anna Müller und Jörg Schmidt",
        "Por Ana Souza",
        "Por Maria da Silva e João Pereira",
        "Par Jean Dupont, à Paris",
        "Un reportage de Marie Lefèvre",
        "Door Pieter de Vries",
        "Texto: Pedro Alves",
        "بقلم أحمد علي",
        "تحریر: محمد علی",
        "本报记者 李华",
        "（记者 张三）",
    ],
)
def test_bylines_in_other_languages_are_boilerplate(line: str) -> None:
    assert is_boilerplate(line)


@pytest.mark.parametrize(
    "sentence",
    [
        "Por isso, o governo decidiu agir ainda nesta semana.",
        "Von Berlin nach Hamburg fahren täglich viele Züge.",
        "Par ailleurs, la mairie a promis une réponse.",
        "记者会上，总理宣布了新的计划，引起广泛关注。",
        "كتب الوزير رسالة طويلة إلى البرلمان يشرح فيها الخطة الجديدة.",
    ],
)
def test_sentences_that_only_start_like_a_byline_are_news(sentence: str) -> None:
    assert not is_boilerplate(sentence)


def test_wire_datelines_are_taken_off_the_first_sentence() -> None:
    assert strip_glued_boilerplate("BERLIN (dpa) - Der Bundestag hat entschieden.") == (
        "Der Bundestag hat entschieden."
    )
    assert strip_glued_boilerplate("São Paulo (Reuters) – O governo anunciou um plano.") == (
        "O governo anunciou um plano."
    )


def test_a_byline_paragraph_is_numbered_but_never_a_candidate() -> None:
    article = Article(
        id="de",
        source="t",
        title="Neue Brücke",
        content_hash="h",
        sections=(Section(None, ("Von Stefan Krempl", "Der Stadtrat hat entschieden.")),),
    )
    found = article_sentences(article)
    assert [s.is_boilerplate for s in found] == [True, False]


# --- key points ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("point", "mended"),
    [
        ('He was eager to get back," he said.', "He was eager to get back, he said."),
        (
            "She wants the bridge finished,” the mayor added.",
            "She wants the bridge finished, the mayor added.",
        ),
        ('The plan worked."', "The plan worked."),
        ('"We will win the next match.', "We will win the next match."),
        ('"Stop," he said, "and wait.', '"Stop," he said, and wait.'),
        ("“Wir bauen weiter,” sagte sie, “und dann", "“Wir bauen weiter,” sagte sie, und dann"),
        ('He said "no" twice.', 'He said "no" twice.'),
        ("„Wir bauen weiter“, sagte sie.", "„Wir bauen weiter“, sagte sie."),
    ],
)
def test_a_point_never_keeps_a_dangling_quote(point: str, mended: str) -> None:
    assert mend_quotes(point) == mended
    trimmed = trim_point(point, 45)
    assert trimmed.count('"') % 2 == 0 and trimmed.split() == mended.split()


def test_a_long_chinese_point_is_cut_at_a_comma_within_its_budget() -> None:
    point = (
        "长江中下游地区的降雨量比往年同期多出四成，多个城市出现了内涝，"
        "气象部门表示这是多年来最强的一次汛期降雨，武汉市一周内降雨超过四百毫米。"
    )
    trimmed = trim_point(point, 20)
    assert trimmed.endswith("…") and count_words(trimmed) <= 21
    assert point.startswith(trimmed.removesuffix("…"))
    assert trimmed.removesuffix("…")[-1] not in "，、"
