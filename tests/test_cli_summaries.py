from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from digest.cli import main

pytestmark = pytest.mark.slow  # loads the real encoder


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text("data_dir: data\n")
    return path


def test_summarize_prints_points_and_the_conclusion_of_the_seed(
    config: Path, seed_article: Path
) -> None:
    result = CliRunner().invoke(main, ["--config", str(config), "summarize", str(seed_article)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    points = [line for line in lines if line.startswith("  • ")]
    assert 3 <= len(points) <= 5
    assert not any("Gravity Filters" in p or "Related:" in p for p in points)
    conclusion = [line for line in lines if line.startswith("  Conclusion: ")]
    assert conclusion and "Istanbul" in conclusion[0]
    assert (config.parent / "data" / "digest.sqlite3").is_file()  # cached in the store


def test_summarize_json_gives_sources_and_key_point_count(config: Path, seed_article: Path) -> None:
    args = ["--config", str(config), "summarize", "--json", "--key-points", "3", str(seed_article)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert len(data["key_points"]) == 3
    for point in data["key_points"]:
        assert point["sources"] and point["source_text"]
        assert point["text"].split()[-1] in " ".join(point["source_text"])
    assert data["method"] == "extractive" and data["conclusion"]["sources"]


def test_batch_mode_writes_one_line_per_good_input(config: Path, tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    rows = [
        {
            "id": "a",
            "text": "The council approved a bridge on Monday. It will cost 40 million"
            " pounds. Residents had asked for it. Opponents wanted schools.",
            "title": "Bridge",
        },
        {
            "id": "b",
            "text": "A storm closed the port. Ships waited offshore for two days."
            " The harbour master said the damage was light. Trade resumed on Friday.",
        },
    ]
    source.write_text(
        "\n".join(json.dumps(r) for r in rows) + "\nnot json\n" + json.dumps({"id": "c"}) + "\n"
    )
    out = tmp_path / "out.jsonl"
    args = ["--config", str(config), "summarize", "--jsonl", str(source), "--out", str(out)]
    result = CliRunner().invoke(main, [*args, "--key-points", "2"])
    assert result.exit_code == 0, result.output
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert [w["id"] for w in written] == ["a", "b"]
    for w in written:
        assert set(w) == {"id", "key_points", "conclusion"}
        assert len(w["key_points"]) == 2 and isinstance(w["conclusion"], str)
    assert "in.jsonl:3: not JSON" in result.output
    assert "in.jsonl:4: no 'text' string" in result.output
    # In the one style of every warning (issue 23, item 10).
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and all(line.startswith("warning: skipped ") for line in lines)


def test_usage_errors_and_a_missing_model_exit_2(config: Path, seed_article: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["--config", str(config), "summarize"])
    assert result.exit_code == 2 and "PATH_OR_URL" in result.output
    result = runner.invoke(main, ["--config", str(config), "summarize", "--jsonl", "x.jsonl"])
    assert result.exit_code == 2
    missing = runner.invoke(
        main, ["--config", str(config), "summarize", "--backend", "generative", str(seed_article)]
    )
    assert missing.exit_code == 2 and "summarizer.model is not set" in missing.output
