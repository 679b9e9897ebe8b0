"""Subscribers: validation, normalisation, merged duplicates, states, CSV in and out."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from digest.errors import SubscriberError
from digest.store import open_database
from digest.store.subscribers import SubscriberStore
from digest.subscribers import (
    add_subscriber,
    clean_name,
    export_csv,
    import_csv,
    normalize_email,
    remove_subscriber,
)


@pytest.fixture
def store(store_url: str) -> Iterator[SubscriberStore]:
    """Each test using it runs on SQLite and on PostgreSQL."""
    with open_database(store_url) as db:
        yield SubscriberStore(db)


def test_addresses_are_normalised() -> None:
    assert normalize_email("  Ann@Example.COM ") == "Ann@example.com"
    assert normalize_email("bob@bücher.example") == "bob@xn--bcher-kva.example"


@pytest.mark.parametrize(
    "hostile",
    [
        "ann@example.com\r\nBcc: all@example.com",
        "ann@example.com\nX: y",
        "ann@exam\x00ple.com",
        "ann@example.com\u2028",
        "not an address",
        "ann@",
        "@example.com",
        "ann@localhost",
        "",
        "a" * 250 + "@example.com",
    ],
)
def test_hostile_or_broken_addresses_are_refused(hostile: str) -> None:
    with pytest.raises(SubscriberError):
        normalize_email(hostile)


def test_names_with_line_breaks_are_refused() -> None:
    with pytest.raises(SubscriberError, match="control characters"):
        clean_name("Ann\r\nBcc: x@example.com")
    assert clean_name("  Ann   Lee ") == "Ann Lee"


def test_duplicates_merge_case_insensitively(store: SubscriberStore) -> None:
    first, what1 = add_subscriber(store, "Ann@Example.com", name="Ann")
    second, what2 = add_subscriber(store, "ann@example.COM", topics="space; climate, space")
    assert (what1, what2) == ("added", "updated")
    assert first.id == second.id and len(store.all()) == 1
    assert second.name == "Ann" and second.topics == ("space", "climate")


def test_remove_keeps_the_address_unless_forgotten(store: SubscriberStore) -> None:
    add_subscriber(store, "ann@example.com")
    add_subscriber(store, "bob@example.com")
    remove_subscriber(store, "ANN@example.com")
    remove_subscriber(store, "bob@example.com", forget=True)
    assert [(s.email, s.state) for s in store.all()] == [("ann@example.com", "unsubscribed")]
    with pytest.raises(SubscriberError, match="no such subscriber"):
        remove_subscriber(store, "carol@example.com")
    # An explicit add brings an address back; an import does not (below).
    subscriber, _ = add_subscriber(store, "ann@example.com")
    assert subscriber.state == "active"


def test_csv_import_reports_bad_rows_and_keeps_going(
    store: SubscriberStore, tmp_path: Path
) -> None:
    add_subscriber(store, "gone@example.com")
    remove_subscriber(store, "gone@example.com")
    csv_file = tmp_path / "list.csv"
    csv_file.write_text(
        "Email,Name,Topics,State\n"
        "ann@example.com,Ann,space;climate,active\n"
        '"evil@example.com\r\nBcc: x@example.com",Eve,,\n'
        "not-an-address,X,,\n"
        "ANN@example.com,Ann Lee,,\n"
        "gone@example.com,Gone,,active\n"
        "carol@example.com,Carol,,paused\n"
        "dan@example.com,,,suppressed\n",
        encoding="utf-8",
    )
    report = import_csv(store, csv_file)
    assert (report.added, report.updated, report.unchanged) == (2, 2, 0)
    assert [e.split(":")[0] for e in report.errors] == ["line 4", "line 5", "line 8"]
    states = {s.email: s.state for s in store.all()}
    assert states == {
        "gone@example.com": "unsubscribed",  # an import never re-subscribes
        "ann@example.com": "active",
        "dan@example.com": "suppressed",
    }
    ann = store.by_email("ann@example.com")
    assert ann is not None and ann.name == "Ann Lee" and ann.topics == ("space", "climate")
    # Once more: ann's two rows set her name in turn; gone and dan stay as they are.
    again = import_csv(store, csv_file)
    assert (again.added, again.updated, again.unchanged) == (0, 2, 2)


def test_csv_export_round_trips(store: SubscriberStore, tmp_path: Path) -> None:
    add_subscriber(store, "ann@example.com", name="=HYPERLINK(1)", topics=["space", "sea"])
    add_subscriber(store, "bob@example.com", name='Bob "B", Jr')
    add_subscriber(store, "=cmd|x@example.com")  # a valid address, and a formula
    add_subscriber(store, "-2+3@example.com")
    remove_subscriber(store, "bob@example.com")
    text = export_csv(store, tmp_path / "out.csv")
    assert text.splitlines()[0] == "email,name,topics,state"
    assert "'=HYPERLINK(1)" in text  # a spreadsheet would run a formula
    cells = [line.split(",")[0] for line in text.splitlines()[1:]]
    assert not [c for c in cells if c[:1] in "=+-@"]  # the address cell too
    other = SubscriberStore(open_database(tmp_path / "other.sqlite3"))
    report = import_csv(other, tmp_path / "out.csv")
    assert report.errors == [] and report.added == 4
    assert [(s.email, s.name, s.topics, s.state) for s in other.all()] == [
        (s.email, s.name, s.topics, s.state) for s in store.all()
    ]


def test_import_of_a_missing_or_headerless_file(store: SubscriberStore, tmp_path: Path) -> None:
    with pytest.raises(SubscriberError, match="no such file"):
        import_csv(store, tmp_path / "missing.csv")
    (tmp_path / "bare.csv").write_text("ann@example.com\n", encoding="utf-8")
    with pytest.raises(SubscriberError, match="'email'"):
        import_csv(store, tmp_path / "bare.csv")


def test_csv_cell_over_the_field_limit_refuses_its_row_only(
    store: SubscriberStore, tmp_path: Path
) -> None:
    csv_file = tmp_path / "list.csv"
    csv_file.write_text(
        "email,name\n"
        "ann@example.com,Ann\n"
        f'bob@example.com,"{"B" * 200_000}"\n'
        "carla@example.com,Carla\n",
        encoding="utf-8",
    )
    report = import_csv(store, csv_file)
    assert report.added == 2
    assert report.errors == ["line 3: a cell longer than 131,072 characters; row skipped"]
    assert sorted(s.email for s in store.all()) == ["ann@example.com", "carla@example.com"]
