"""`digest store migrate --to postgresql://...`: a SQLite store copied whole, checked by counts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from digest.cli import main
from digest.models import Article, KeyPoint, Section, Summary
from digest.store import ArticleStore, EditionStore, open_database
from digest.store.embeddings import EmbeddingStore
from digest.store.ledger import DeliveryLedger
from digest.store.subscribers import SubscriberStore
from digest.store.summaries import SummaryCache
from tests.conftest import PostgresForTests
from tests.newsletter_sample import sample_edition

TEXTS = {
    "zh": "上海港周五恢复全部集装箱作业，港务局称台风造成的损失比预期轻。",
    "ar": "أعلنت وزارة الصحة عن افتتاح ثلاثة مستشفيات جديدة في المناطق الريفية هذا الشهر.",
    "ur": "لاہور میں شدید بارش کے بعد شہر کی کئی سڑکیں پانی میں ڈوب گئیں۔",
    "de": "Der Stadtrat beschließt 50% mehr Geld für Radwege – und O'Brien stimmt dagegen.",
}


def articles() -> list[Article]:
    return [
        Article(
            id=f"{lang}-1",
            source=f"feed-{lang}",
            title=text[:20],
            content_hash=f"hash-{lang}",
            canonical_url=f"https://example.org/{lang}",
            published=datetime(2026, 11, 24, 6, tzinfo=UTC),
            sections=(Section(None, (text,)),),
            language=lang,
        )
        for lang, text in TEXTS.items()
    ]


def fill(path: Path) -> None:
    with open_database(path) as db:
        ArticleStore(db).add_many(articles())
        EmbeddingStore(db).put_vectors(
            "m@float32/256", {"t1": np.linspace(-1, 1, 384, dtype=np.float32)}
        )
        summary = Summary((KeyPoint("点一。", (0,)),), None, "extractive", "m", "v1", 0, None)
        SummaryCache(db).put("hash-zh", "extractive", "m", "v1", summary)
        EditionStore(db).save(sample_edition())
        people = SubscriberStore(db)
        ids = [people.upsert(f"leser{i}@beispiel.de", name=f"Lëser {i}")[0].id for i in range(5)]
        people.delete(ids[1])  # a gap in the ids: they must survive as they are
        ledger = DeliveryLedger(db)
        ledger.enqueue("2026-11-24", [ids[0], ids[2]])
        assert ledger.claim("2026-11-24", ids[0], "<m0@x>")
        ledger.finish("2026-11-24", ids[0], "sent", 250, "OK queued")


def test_migrate_copies_everything_and_checks_counts(
    tmp_path: Path, postgres: PostgresForTests
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("data_dir: data\n")
    fill(tmp_path / "data" / "digest.sqlite3")
    url = postgres.empty_url()
    result = CliRunner().invoke(main, ["--config", str(config), "store", "migrate", "--to", url])
    assert result.exit_code == 0, result.output
    assert "counts match in every table" in result.output
    assert "deliveries         2" in result.output and "subscribers        4" in result.output

    with open_database(tmp_path / "data" / "digest.sqlite3") as old, open_database(url) as new:
        assert new.dialect == "postgresql"
        assert ArticleStore(new).all() == ArticleStore(old).all()
        assert EditionStore(new).days() == EditionStore(old).days()
        assert SubscriberStore(new).all() == SubscriberStore(old).all()
        assert DeliveryLedger(new).rows("2026-11-24") == DeliveryLedger(old).rows("2026-11-24")
        got = EmbeddingStore(new).get_vectors("m@float32/256", ["t1"])["t1"]
        assert np.array_equal(got, np.linspace(-1, 1, 384, dtype=np.float32))
        assert SummaryCache(new).get("hash-zh", "extractive", "m", "v1") is not None
        # New subscribers get ids after the copied ones.
        added, _ = SubscriberStore(new).upsert("neu@beispiel.de")
        assert added.id == max(s.id for s in SubscriberStore(old).all()) + 1

    # A second copy into the now full database is refused, and changes nothing.
    again = CliRunner().invoke(main, ["--config", str(config), "store", "migrate", "--to", url])
    assert again.exit_code != 0 and "must be empty" in again.output
    with open_database(url) as new:
        assert len(ArticleStore(new).all()) == len(TEXTS)


def test_migrate_refuses_a_target_that_is_not_postgresql(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("data_dir: data\n")
    result = CliRunner().invoke(
        main, ["--config", str(config), "store", "migrate", "--to", str(tmp_path / "x.db")]
    )
    assert result.exit_code != 0 and "expected a postgresql:// URL" in result.output


def test_a_password_in_the_store_url_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("store: postgresql://digest:hunter2@db.example.org/digest\n")
    result = CliRunner().invoke(main, ["--config", str(config), "articles"])
    assert result.exit_code != 0
    assert "DIGEST_STORE_PASSWORD" in result.output and "hunter2" not in result.output
