"""Summaries of articles in Chinese and Japanese, teasers, the unsummarisable, and batch
mode on the plain-text layout (issue 10). The articles were written for these tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from digest.cli import main
from digest.models import count_words

pytestmark = pytest.mark.slow  # loads the real encoder

ZH = """---
title: 长江流域今年夏季降雨创新高
date: 2026-11-23
source: 示例新闻
---
今年夏季，长江中下游地区的降雨量比往年同期多出四成，多个城市出现了内涝。气象部门表示，这是自一九九八年以来最强的一次汛期降雨。

本报记者 王明

武汉市在七月的一周内降雨超过四百毫米，部分地铁站被迫临时关闭。当地政府启动了防汛二级应急响应，调集了三千多名救援人员。

专家指出，城市排水系统的设计标准已经难以应对如此极端的天气。农业部门估计，受灾农田面积超过二十万公顷，水稻减产可能达到一成。保险公司已收到一万多份理赔申请，赔付金额预计将超过十亿元。

下个月，有关部门将召开会议，讨论提高城市防洪标准的方案。
"""

JA = """---
title: 大阪市、新しい中央図書館を開館
date: 2026-11-23
---
大阪市は二十二日、市の中心部に新しい中央図書館を開いた。建設には約八十億円がかかり、蔵書は百二十万冊に上る。

市長は開館式で「本は町の宝だ。」と述べた。館内には子ども向けの読書室や、学生が使える自習室が設けられた。

初日には約五千人が訪れ、入口には長い列ができた。図書館は毎日午前九時から午後九時まで開いている。

市は今後、地域の小さな図書館とも連携し、本の貸し出しをさらに便利にする計画だ。
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text("data_dir: data\n")
    return path


@pytest.mark.parametrize(("name", "text", "must"), [("zh", ZH, "长江"), ("ja", JA, "図書館")])
def test_a_cjk_article_summarises_into_three_to_five_points(
    config: Path, tmp_path: Path, name: str, text: str, must: str
) -> None:
    path = tmp_path / f"{name}.md"
    path.write_text(text, encoding="utf-8")
    args = ["--config", str(config), "summarize", "--json", "--no-cache", str(path)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    points = [p["text"] for p in data["key_points"]]
    assert 3 <= len(points) <= 5
    assert any(must in p for p in points) and data["conclusion"]
    for point in data["key_points"]:
        assert point["text"].rstrip("…") in point["source_text"][0]
        assert count_words(point["text"]) <= 46
    assert not any("记者" in p for p in points)  # the byline is never a point
    assert data["note"] is None
    plain = CliRunner().invoke(main, ["--config", str(config), "summarize", str(path)])
    assert plain.exit_code == 0 and plain.stdout.count("  • ") == len(points)


def test_an_article_that_cannot_be_summarised_says_why_and_fails(
    config: Path, tmp_path: Path
) -> None:
    path = tmp_path / "byline.md"
    path.write_text("---\ntitle: Nur eine Zeile\n---\nVon Stefan Krempl\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["--config", str(config), "summarize", str(path)])
    assert result.exit_code == 1
    assert "error: Nur eine Zeile: no sentence to summarise" in result.stderr
    assert "Traceback" not in result.output


def test_a_teaser_says_it_is_one(config: Path, tmp_path: Path) -> None:
    path = tmp_path / "teaser.md"
    path.write_text(
        "---\ntitle: Neue Brücke für Hamburg\n---\n"
        "Der Senat hat am Montag den Bau einer neuen Brücke über die Elbe genehmigt.\n\n"
        "(Elbbrücke, Hamburger Senat, Verkehr)\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["--config", str(config), "summarize", str(path)])
    assert result.exit_code == 0, result.output
    assert "(teaser only: the source gave 18 words)" in result.stdout
    assert "Elbbrücke" not in result.stdout  # a bracketed list of tags is not a point


def test_batch_mode_reads_the_plain_text_layout_as_the_file_reader_does(
    config: Path, tmp_path: Path, seed_article: Path
) -> None:
    text = seed_article.read_text(encoding="utf-8")
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"id": "seed", "text": text}) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    args = ["--config", str(config), "summarize", "--jsonl", str(source), "--out", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    [line] = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    file_run = CliRunner().invoke(
        main, ["--config", str(config), "summarize", "--json", str(seed_article)]
    )
    from_file = json.loads(file_run.stdout)
    assert line["key_points"] == [p["text"] for p in from_file["key_points"]]
    joined = " ".join(line["key_points"])
    assert "Putin Proposes Istanbul Peace Talks" not in joined  # no headline, no dek
    assert "Gravity Filters" not in joined
