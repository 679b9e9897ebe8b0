"""`digest edition --json` gives the title subscribers see, in the newsletter's language;
the stored ``Edition.title`` is left as it was built (issue 10: an Urdu edition printed
"روزانہ خلاصہ: Friday 5 January 2018")."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from digest.cli import main
from digest.cli.edition import edition_json
from digest.config import NewsletterOptions, load_config
from digest.models import Edition
from digest.pipeline import open_store
from digest.store import EditionStore

DAY = date(2018, 1, 5)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("ur", "روزانہ خلاصہ: جمعہ، 5 جنوری، 2018"),
        ("ar", "روزانہ خلاصہ: الجمعة، 5 يناير 2018"),
        ("de", "روزانہ خلاصہ: Freitag, 5. Januar 2018"),
        ("zh", "روزانہ خلاصہ：2018年1月5日星期五"),
    ],
)
def test_the_json_title_follows_the_newsletter_language(language: str, expected: str) -> None:
    stored = "روزانہ خلاصہ: Friday 5 January 2018"
    edition = Edition(id=DAY.isoformat(), date=DAY, title=stored, sections=())
    options = NewsletterOptions(title="روزانہ خلاصہ", language=language)
    assert edition_json(edition, options)["title"] == expected
    assert edition_json(edition)["title"] == stored  # no options: the stored value
    assert edition.title == stored


URDU = [
    (
        "karachi",
        "کراچی میں پانی کی قلت پر احتجاج",
        "کراچی کے کئی علاقوں میں تین دن سے پانی نہیں آیا اور شہریوں نے سڑکوں پر احتجاج کیا۔"
        " واٹر بورڈ کے مطابق مرکزی پائپ لائن کی مرمت جمعرات تک مکمل ہو جائے گی۔"
        " شہریوں کا کہنا ہے کہ ٹینکر مافیا اس صورتحال سے فائدہ اٹھا رہا ہے۔",
    ),
    (
        "lahore",
        "لاہور میں دھند سے پروازیں متاثر",
        "لاہور میں گھنی دھند کے باعث صبح کی کئی پروازیں تاخیر کا شکار ہوئیں۔"
        " ہوائی اڈے کے حکام نے مسافروں کو روانگی سے پہلے معلومات لینے کا مشورہ دیا۔"
        " موٹر وے کے کئی حصے بھی ٹریفک کے لیے بند کر دیے گئے۔",
    ),
]


@pytest.mark.slow
def test_digest_edition_json_prints_the_localised_title(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    for name, title, body in URDU:
        (folder / f"{name}.md").write_text(
            f"---\ntitle: {title}\ndate: 2018-01-05T09:00:00Z\nlanguage: ur\n---\n{body}\n",
            encoding="utf-8",
        )
    config_file = tmp_path / "config.yaml"
    config_file.write_text(
        f"data_dir: {tmp_path / 'data'}\nsources:\n  - name: urdu\n    location: {folder}\n"
        "    kind: folder\n    outlet: بی بی سی اردو\n"
        "newsletter:\n  title: روزانہ خلاصہ\n  language: ur\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    ingested = runner.invoke(main, ["--config", str(config_file), "ingest"])
    assert ingested.exit_code == 0, ingested.output
    printed = runner.invoke(
        main, ["--config", str(config_file), "edition", "--date", DAY.isoformat(), "--json"]
    )
    assert printed.exit_code == 0, printed.output
    edition = json.loads(printed.stdout)
    assert edition["title"] == "روزانہ خلاصہ: جمعہ، 5 جنوری، 2018"
    assert {s["source"] for s in edition["stories"]} == {"بی بی سی اردو"}
    text = runner.invoke(main, ["--config", str(config_file), "edition", "--date", "2018-01-05"])
    assert text.stdout.splitlines()[0] == edition["title"]
    with open_store(load_config(config_file)) as db:
        saved = EditionStore(db).for_day(DAY)
    assert saved is not None and saved.title == "روزانہ خلاصہ: Friday 5 January 2018"
