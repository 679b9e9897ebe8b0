"""The daily job with hostile sources among good ones: the edition of the examples is
still built and sent (to a real aiosmtpd sink), each hostile source fails alone in one
line or gives warnings for what it skipped, and nothing prints a traceback."""

from __future__ import annotations

import email
import email.policy
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from digest.config import load_config
from digest.store import ArticleStore, open_database
from digest.store.subscribers import SubscriberStore
from tests.hostile.corpus import _cut
from tools.smtp_sink import SmtpSink

CASES = Path(__file__).resolve().parent / "cases"
ROOT = Path(__file__).resolve().parents[2]
DIGEST = Path(sys.executable).parent / "digest"
DAY = "2026-11-24"

# Files of the corpus that a folder source reads among its good files.
HOSTILE_FILES = (
    "atom-year-9999-minus-12.atom",
    "rss-year-9999-minus-1200.rss",
    "atom-year-0000.atom",
    "json-date-9999-minus-12.json",
    "md-yaml-date-0000.md",
    "md-yaml-alias-bomb.md",
    "rss-title-60000.rss",
    "json-lone-surrogate.json",
    "rss-script-in-description.rss",
    "html-jsonld-broken.html",
    "txt-nul-bytes.txt",
    "rss-bidi-override-title.rss",
)


def _text(message: email.message.EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


@pytest.mark.slow
def test_daily_run_sends_the_good_edition_despite_hostile_sources(tmp_path: Path) -> None:
    hostile = tmp_path / "hostile"
    hostile.mkdir()
    for name in HOSTILE_FILES:
        shutil.copyfile(CASES / name, hostile / name)
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    with SmtpSink() as sink:
        config_path = tmp_path / "config.yaml"
        config_path.write_text(
            yaml.safe_dump(
                {
                    "data_dir": "data",
                    "sources": [
                        {"name": "hostile", "location": str(hostile), "kind": "folder"},
                        {"name": "examples", "location": str(ROOT / "examples")},
                        {"name": "deep", "location": str(deep)},
                        {"name": "internal", "location": f"http://127.0.0.1:{sink.port}/"},
                    ],
                    "delivery": {
                        "transport": "smtp",
                        "smtp": {"host": "127.0.0.1", "port": sink.port, "timeout": 10},
                    },
                }
            ),
            encoding="utf-8",
        )
        with open_database(load_config(config_path).store_path) as db:
            for who in ("ann@example.com", "bo@example.com"):
                SubscriberStore(db).upsert(who)
        env = {**os.environ, "DIGEST_CONFIG": str(config_path), "DIGEST_SECRET": "s3cret"}
        job = subprocess.run(
            [str(DIGEST), "run", "--date", DAY], env=env, capture_output=True, timeout=600
        )
    out, err = job.stdout.decode(), job.stderr.decode()
    assert "Traceback" not in out + err
    assert job.returncode == 1, out + err  # two sources failed: the run says so
    assert f"error: source deep: {deep}: JSON nested more than 100 deep" in err
    assert "error: source internal: http://127.0.0.1:" in err
    assert "is a loopback address" in err
    assert "aliases (*name) are not allowed" in err  # the alias bomb: one file's warning
    assert "2 recipients, 2 sent, 0 deferred, 0 failed, 2 sources failed" in out

    assert sorted(m.rcpt_tos[0] for m in sink.messages) == ["ann@example.com", "bo@example.com"]
    message = email.message_from_bytes(sink.messages[0].data, policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    text = _text(message)
    # The examples' stories are in it (the edition of make demo leads with the glaciers).
    assert "Alpine Glaciers Lost a Record Share of Their Ice in 2026" in text
    assert "Forty-Two Nations Sign Geneva Accord on Shared Rivers" in text
    # The 60,000-character headline was read and stored cut at the title limit (whether
    # the story made the edition is the ranking's business); if it ran, it ran cut.
    with open_database(load_config(config_path).store_path) as db:
        storms = [a for a in ArticleStore(db).all() if a.title.startswith("Storm Storm")]
    assert [a.title for a in storms] == [_cut(" ".join(["Storm"] * 10000), "Storm")]
    flowed = " ".join(text.split())  # the text part wraps long lines
    assert "Storm Storm Storm" not in flowed or storms[0].title in flowed
    assert "alert(" not in text
