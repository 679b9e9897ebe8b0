from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from digest.errors import StoreError
from digest.models import Article, Headline, Section
from digest.store import ArticleStore, EditionStore, open_database, pg, sql
from tests.conftest import PostgresForTests
from tests.newsletter_sample import sample_edition


def article(n: int, body: str = "Body text.") -> Article:
    return Article(
        id=f"a{n}",
        source="test",
        title=f"Title {n}",
        content_hash=f"h{n}-{hash(body)}",
        canonical_url=f"https://example.org/{n}",
        published=datetime(2026, 11, 20 + n % 3, 8, tzinfo=UTC),
        sections=(Section(None, (body,)),),
    )


def test_schema_is_migrated_once_and_versioned(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    with open_database(path) as db:
        assert db.schema_version == len(sql.MIGRATIONS)
    with open_database(path) as db:  # reopening does not re-run migrations
        assert db.schema_version == len(sql.MIGRATIONS)
        assert db.scalar("PRAGMA journal_mode") == "wal"


def test_postgresql_schema_is_migrated_once_and_versioned(postgres: PostgresForTests) -> None:
    url = postgres.empty_url()
    with open_database(url) as db:
        assert db.dialect == "postgresql"
        assert db.schema_version == len(sql.MIGRATIONS) == len(pg.MIGRATIONS)
    with open_database(url) as db:
        assert db.schema_version == len(sql.MIGRATIONS)
        assert db.scalar("SELECT COUNT(*) FROM digest_schema") == 1


def test_newer_postgresql_schema_is_refused(postgres: PostgresForTests) -> None:
    url = postgres.fresh_url()
    with open_database(url) as db:
        db.execute("UPDATE digest_schema SET version = 999")
    with pytest.raises(StoreError, match="newer than this digest"):
        open_database(url)


def test_an_unreachable_postgresql_is_a_store_error(tmp_path: Path) -> None:
    pytest.importorskip("psycopg", reason="psycopg is not installed (the postgresql extra)")
    url = f"postgresql://nobody@/nothing?host={tmp_path}&port=1"
    with pytest.raises(StoreError, match="cannot connect to PostgreSQL"):
        open_database(url)


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    sqlite3.connect(path).execute("PRAGMA user_version = 999").connection.close()
    with pytest.raises(StoreError, match="newer than this digest"):
        open_database(path)


def test_reingest_is_idempotent_and_dedupes_by_url_and_hash(store_url: str) -> None:
    with open_database(store_url) as db:
        store = ArticleStore(db)
        assert store.add_many([article(1), article(2)]).new == 2
        again = store.add_many([article(1), article(2)])
        assert (again.new, again.unchanged) == (0, 2)
        # same canonical URL, new text: an update, not a second row
        changed = store.add_many([article(1, "Corrected body.")])
        assert (changed.new, changed.updated) == (0, 1)
        assert store.count() == 2
        assert store.get("a1") is not None
        assert store.get("a1").paragraphs == ("Corrected body.",)  # type: ignore[union-attr]


def test_a_failing_batch_leaves_earlier_data_untouched(store_url: str) -> None:
    with open_database(store_url) as db:
        store = ArticleStore(db)
        store.add_many([article(1)])

        def broken() -> object:
            yield article(2)
            raise ValueError("source broke halfway")

        with pytest.raises(ValueError):
            store.add_many(broken())  # type: ignore[arg-type]
        assert [a.id for a in store.all()] == ["a1"]


def test_articles_between_uses_published_time(store_url: str) -> None:
    with open_database(store_url) as db:
        store = ArticleStore(db)
        store.add_many([article(0), article(1), article(2)])
        got = store.between(datetime(2026, 11, 21, tzinfo=UTC), datetime(2026, 11, 23, tzinfo=UTC))
        assert [a.id for a in got] == ["a2", "a1"]


def test_an_update_keeps_the_stored_id_in_row_and_body(store_url: str) -> None:
    with open_database(store_url) as db:
        store = ArticleStore(db)
        store.add_many([article(1)])
        # Same canonical URL under another id (another reader's id), new text.
        counts = store.add_many([replace(article(1, "Corrected body."), id="other")])
        assert counts.updated == 1
        stored = store.get("a1")
        assert stored is not None and stored.id == "a1"
        assert stored.paragraphs == ("Corrected body.",)
        assert store.get("other") is None


def test_an_article_whose_new_text_another_row_holds_is_unchanged(store_url: str) -> None:
    with open_database(store_url) as db:
        store = ArticleStore(db)
        store.add_many([article(1), article(2)])
        second = store.get("a2")
        assert second is not None
        # a1's text now equals a2's: not an update that would give two rows one hash.
        twin = replace(article(1), content_hash=second.content_hash, canonical_url=None)
        counts = store.add_many([twin])
        assert (counts.new, counts.updated, counts.unchanged) == (0, 0, 1)
        assert store.count() == 2


def test_a_locked_store_is_a_store_error_not_a_sqlite_error(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    with open_database(path) as db:
        db.execute("PRAGMA busy_timeout = 0")  # fail at once instead of waiting 30 s
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        try:
            with pytest.raises(StoreError, match="locked"), db.transaction():
                pass
        finally:
            other.execute("ROLLBACK")
            other.close()
        with db.transaction():  # usable again once the lock is gone
            ArticleStore(db).add_many([article(1)])


def test_a_shorter_copy_from_another_source_does_not_replace_the_stored_text(
    store_url: str,
) -> None:
    full = replace(
        article(1, "The full story, with many more words than its teaser."), origin="pages"
    )
    teaser = replace(article(1, "Teaser."), origin="feed")
    with open_database(store_url) as db:
        store = ArticleStore(db)
        store.add_many([full])
        counts = store.add_many([teaser])  # the feed is read after the pages, every run
        assert (counts.updated, counts.unchanged) == (0, 1)
        assert store.get("a1") == full
        # Its own source may shorten it (a correction), but never to a bare headline.
        corrected = replace(article(1, "The corrected, shorter story."), origin="pages")
        assert store.add_many([corrected]).updated == 1
        bare = replace(corrected, sections=(), content_hash="bare")
        assert store.add_many([bare]).unchanged == 1
        assert store.get("a1") == corrected


def test_a_store_folder_that_cannot_be_made_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder should be")
    with pytest.raises(StoreError, match="cannot create the store's folder"):
        open_database(blocker / "digest.sqlite3")


def test_an_edition_records_each_article_once_in_its_first_role(store_url: str) -> None:
    edition = sample_edition()
    (geneva, sahel, *_) = edition.stories
    repeated = (
        Headline(sahel.also_reported[0].article_id, "Sahel aid again", "wire", None),
        Headline(geneva.article_id, "Geneva talks again", "wire", None),
    )
    edition = replace(edition, more_news=(*repeated, *edition.more_news[:1]))
    with open_database(store_url) as db:
        EditionStore(db).save(edition)
        sent = EditionStore(db).recent_articles(date(2026, 11, 25), 1)
    by_position = sorted(sent, key=lambda s: s.position)
    assert [(s.article_id, s.role) for s in by_position][:6] == [
        ("a-geneva-talks", "story"),
        ("b-geneva-wire", "also"),
        ("c-geneva-fr", "also"),
        ("d-sahel-aid", "story"),
        ("e-sahel-wire", "also"),
        ("f-glacier", "story"),
    ]
    assert [(s.article_id, s.role) for s in by_position][-1] == ("n1", "more")
    # 7 stories, 6 also-reported, 1 new headline: the two repeated headlines add nothing.
    assert len(sent) == len({s.article_id for s in sent}) == 7 + 6 + 1
