"""The sample edition of the newsletter tests: tests/data/edition.json, seven stories in
three sections with key points, conclusions, also-reported-by, related items, more news
and left-out reasons (invented news, realistic shapes)."""

from __future__ import annotations

from pathlib import Path

from digest import serialize
from digest.models import Edition

SAMPLE = Path(__file__).resolve().parent / "data" / "edition.json"


def sample_edition() -> Edition:
    return serialize.loads(Edition, SAMPLE.read_text(encoding="utf-8"))
