"""Ingest into a real SQLite file: idempotence, broken sources, and the three commands."""

from __future__ import annotations

import importlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from digest import pipeline
from digest.cli import main
from digest.config import Config, SourceOptions, load_config
from digest.sources import SourceResult
from digest.store import ArticleStore

from .conftest import EXAMPLES

# The module, not the function ``digest.pipeline.ingest`` that shadows its name.
ingest_module = importlib.import_module("digest.pipeline.ingest")
BROKEN = "<html><head><title>Object moved</title></head><body>Moved.</body></html>"


def _config(tmp_path: Path, *sources: tuple[str, str]) -> Path:
    lines = ["data_dir: data", "sources:"]
    for name, location in sources:
        lines += [f"  - name: {name}", f"    location: {location}"]
    path = tmp_path / "config.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def world(tmp_path: Path) -> Path:
    """A copy of the examples, plus a feed file that is not a feed."""
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    (tmp_path / "moved.xml").write_text(BROKEN)
    return tmp_path


def _ingest(config: Config) -> pipeline.IngestReport:
    with pipeline.open_store(config) as db:
        return pipeline.ingest(config, db)


def _stored(config: Config) -> list[str]:
    with pipeline.open_store(config) as db:
        return sorted(a.title for a in ArticleStore(db).all())


def test_reingest_is_idempotent(world: Path) -> None:
    config = load_config(_config(world, ("examples", "examples")))
    first = _ingest(config)
    [report] = first.sources
    assert (report.read, report.new, report.updated, report.unchanged) == (14, 14, 0, 0)
    titles = _stored(config)
    second = _ingest(config)
    [again] = second.sources
    assert (again.new, again.updated, again.unchanged) == (0, 0, 14)
    assert _stored(config) == titles


def test_a_changed_article_is_updated_not_duplicated(world: Path) -> None:
    config = load_config(_config(world, ("examples", "examples")))
    _ingest(config)
    page = world / "examples" / "2026-11-23-offshore-wind.html"
    page.write_text(page.read_text().replace("two million homes", "2.1 million homes"))
    [report] = _ingest(config).sources
    assert (report.new, report.updated, report.unchanged) == (0, 1, 13)
    with pipeline.open_store(config) as db:
        assert ArticleStore(db).count() == 14
        [wind] = [a for a in ArticleStore(db).all() if "Offshore Wind" in a.title]
    assert "2.1 million homes" in wind.text


def test_a_broken_source_keeps_the_good_ones_and_earlier_data(world: Path) -> None:
    feed = world / "feed.xml"
    shutil.copy(EXAMPLES / "feeds" / "continental-desk.rss.xml", feed)
    config = load_config(
        _config(world, ("examples", "examples/feeds/lab-and-wire.atom.xml"), ("desk", "feed.xml"))
    )
    assert not _ingest(config).failed
    before = _stored(config)
    assert len(before) == 5
    # The feed breaks; the other sources, and what the feed gave before, stay.
    feed.write_text(BROKEN)
    config = load_config(
        _config(
            world,
            ("moved", "moved.xml"),
            ("examples", "examples/feeds/lab-and-wire.atom.xml"),
            ("desk", "feed.xml"),
            ("missing", "nowhere"),
        )
    )
    report = _ingest(config)
    assert [s.name for s in report.failed] == ["moved", "desk", "missing"]
    assert all(s.reason and "\n" not in s.reason for s in report.failed)
    assert "not an RSS or Atom feed" in (report.failed[0].reason or "")
    assert report.sources[1].unchanged == 2
    assert _stored(config) == before


def test_one_source_that_raises_anything_fails_alone(
    world: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The wall behind the readers: whatever escapes one source (here a RecursionError
    standing for a parser bug no bound foresaw) fails that source in one line; the sources
    before and after it are stored."""
    real = ingest_module.read_source

    def read(options: SourceOptions, base_dir: str | Path = ".", **fetching: Any) -> SourceResult:
        if options.name == "deep":
            raise RecursionError("maximum recursion depth exceeded")
        return real(options, base_dir, **fetching)

    monkeypatch.setattr(ingest_module, "read_source", read)
    config = load_config(
        _config(
            world,
            ("atom", "examples/feeds/lab-and-wire.atom.xml"),
            ("deep", "examples"),
            ("rss", "examples/feeds/continental-desk.rss.xml"),
        )
    )
    report = _ingest(config)
    assert [s.name for s in report.failed] == ["deep"]
    assert report.failed[0].reason == (
        f"{world / 'examples'}: nested too deep to read (RecursionError)"
    )
    assert len(_stored(config)) == 5


def test_ingest_command_exit_status_and_counts(world: Path) -> None:
    runner = CliRunner()
    good = _config(world, ("examples", "examples"))
    result = runner.invoke(main, ["--config", str(good), "ingest"])
    assert result.exit_code == 0, result.output
    assert "examples: 14 read, 14 new, 0 updated, 0 unchanged" in result.stdout
    result = runner.invoke(main, ["--config", str(good), "ingest"])
    assert "14 unchanged" in result.stdout

    bad = _config(world, ("examples", "examples"), ("moved", "moved.xml"))
    result = runner.invoke(main, ["--config", str(bad), "ingest"])
    assert result.exit_code == 1
    assert "moved: failed:" in result.stdout
    assert "Traceback" not in result.output

    typo = world / "typo.yaml"
    typo.write_text("data_dir: data\nsourcez: []\n")
    result = runner.invoke(main, ["--config", str(typo), "ingest"])
    assert result.exit_code == 2
    assert "unknown key 'sourcez'" in result.stderr


def test_articles_command_lists_stored_articles(world: Path) -> None:
    runner = CliRunner()
    config = _config(world, ("examples", "examples"))
    runner.invoke(main, ["--config", str(config), "ingest"])
    result = runner.invoke(main, ["--config", str(config), "articles", "--since", "2026-11-24"])
    assert result.exit_code == 0
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 5 and all(line.startswith("2026-11-24") for line in lines)
    result = runner.invoke(main, ["--config", str(config), "articles", "--json"])
    data = json.loads(result.stdout)
    assert len(data) == 14 and {"id", "title", "sections", "published"} <= set(data[0])
    result = runner.invoke(main, ["--config", str(config), "articles", "--since", "24/11/2026"])
    assert result.exit_code == 2


def test_read_json_parses_without_storing(world: Path) -> None:
    result = CliRunner().invoke(main, ["read", str(world / "examples"), "--json"])
    assert result.exit_code == 0, result.output
    articles = json.loads(result.stdout)
    assert len(articles) == 14
    assert all(a["published"].startswith("2026-11-2") for a in articles)
    assert not (world / "data").exists()
    result = CliRunner().invoke(main, ["read", str(world / "nowhere.txt")])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and "no such file" in result.stderr


def test_output_piped_into_a_reader_that_leaves_early_is_not_an_error(tmp_path: Path) -> None:
    """`digest read ... | head -1`: the pipe closes early; digest exits 0, silently."""
    import subprocess
    import sys

    long_title = "A headline long enough to fill the pipe quickly " * 4
    many = [
        {"title": f"{long_title}{n}", "body": f"Paragraph {n} of a long day. " * 10}
        for n in range(1000)
    ]
    source = tmp_path / "many.json"
    source.write_text(json.dumps(many), encoding="utf-8")
    command = [sys.executable, "-c", "from digest.cli import main; main()", "read"]
    # A line of ~200 bytes per article, 1,000 of them: more than a pipe holds (64 KiB), so
    # digest is still writing when the pipe closes.
    with subprocess.Popen(
        [*command, str(source)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.read(100)
        proc.stdout.close()
        stderr = proc.stderr.read().decode()
        status = proc.wait(timeout=60)
    assert status == 0, stderr
    assert "Traceback" not in stderr and "Broken pipe" not in stderr


def test_the_run_summary_counts_undated_articles_as_ingest_does(tmp_path: Path) -> None:
    from datetime import date

    from digest.pipeline.daily import RunReport

    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "datiert.md").write_text(
        "---\ntitle: Stadtrat beschließt neuen Haushalt\ndate: 2026-11-24\n---\n\n"
        "Der Stadtrat hat am Dienstag den Haushalt für das kommende Jahr beschlossen.\n",
        encoding="utf-8",
    )
    (folder / "ohne-datum.md").write_text(
        "---\ntitle: Feira do livro abre no sábado\n---\n\n"
        "A feira do livro da cidade abre as portas no sábado com duzentos expositores.\n",
        encoding="utf-8",
    )
    config = Config(
        sources=(SourceOptions(name="notes", location=str(folder), kind="folder"),),
        data_dir=str(tmp_path / "data"),
    )
    report = _ingest(config)
    assert (report.new, report.undated) == (2, 1)

    def summary(undated: int, ingested: bool = True) -> str:
        return RunReport(
            day=date(2026, 11, 24), edition_id="2026-11-24", stories=2, recipients=1, sent=1,
            already_sent=0, deferred=0, failed=0, suppressed=0, ambiguous_resent=0,
            elapsed=0.1, new_articles=report.new, undated_articles=undated, ingested=ingested,
        ).summary()  # fmt: skip

    assert summary(report.undated).startswith(
        "edition 2026-11-24: 2 new articles, 1 undated (dated when first seen), 2 stories,"
    )
    assert "undated" not in summary(0)
    # A re-run of a built edition read nothing: it says nothing of what it did not read.
    assert "undated" not in summary(3, ingested=False)
