"""Subscribers: validate and normalise addresses, add/remove, CSV import and export.

An address is checked with ``email-validator`` (syntax only, no DNS: the job must work
offline) after a first pass that refuses control characters outright, so that nothing
like ``a@b.org\\r\\nBcc: ...`` can ever reach a header. Addresses are merged
case-insensitively (``Ann@Example.org`` is ``ann@example.org``).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import assert_never, get_args

from email_validator import EmailNotValidError, validate_email

from digest.errors import SubscriberError
from digest.models import Subscriber, SubscriberState
from digest.store.bounces import BounceStore
from digest.store.consent import Consent, ConsentStore, PendingSignup
from digest.store.subscribers import SubscriberStore, UpsertOutcome

__all__ = [
    "CSV_COLUMNS",
    "ImportReport",
    "InvalidValue",
    "add_subscriber",
    "clean_name",
    "clean_topics",
    "export_csv",
    "import_csv",
    "normalize_email",
    "remove_subscriber",
]

CSV_COLUMNS = ("email", "name", "topics", "state")
PENDING_DAYS = 30  # an imported address without a consent date waits this long
STATES: tuple[str, ...] = get_args(SubscriberState)
MAX_NAME = 200
MAX_TOPICS = 50
# The longest cell an import reads: the csv module's own field limit, kept as it is.
MAX_CSV_CELL = 131_072
# C0 and C1 controls, DEL, and the Unicode line and paragraph separators.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class InvalidValue(SubscriberError):
    """An address or topics that are not valid: the message names the value, ``reason``
    says what is wrong with it (what a sign-up form may show, without the value)."""

    def __init__(self, value: str, reason: str) -> None:
        super().__init__(f"{value}: {reason}" if value else reason)
        self.reason = reason


def normalize_email(raw: str) -> str:
    """The address in its normal form, or ``SubscriberError`` saying what is wrong."""
    if not isinstance(raw, str):
        raise InvalidValue("not an address", repr(raw))
    if _CONTROL.search(raw):
        raise InvalidValue(repr(raw), "control characters (CR, LF, ...) in an address")
    text = raw.strip()
    if not text:
        raise InvalidValue("", "an empty address")
    if len(text) > 254:
        raise InvalidValue(f"{text[:40]!r}...", "longer than 254 characters")
    try:
        checked = validate_email(text, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise InvalidValue(repr(text), str(exc)) from exc
    return str(checked.ascii_email or checked.normalized)


def clean_name(raw: str | None) -> str:
    if raw is None:
        return ""
    if _CONTROL.search(raw):
        raise SubscriberError(f"name {raw[:40]!r}: control characters (CR, LF, ...) in a name")
    name = " ".join(raw.split())
    if len(name) > MAX_NAME:
        raise SubscriberError(f"name {name[:40]!r}...: longer than {MAX_NAME} characters")
    return name


def clean_topics(raw: Iterable[str] | str | None) -> tuple[str, ...]:
    """Topics from a list or a ``;``/``,``-separated string, trimmed, without repeats."""
    if raw is None:
        return ()
    items = re.split(r"[;,]", raw) if isinstance(raw, str) else list(raw)
    topics: list[str] = []
    for item in items:
        if _CONTROL.search(item):
            raise InvalidValue(f"topic {item[:40]!r}", "control characters in a topic")
        topic = " ".join(item.split())
        if topic and topic not in topics:
            topics.append(topic)
    if len(topics) > MAX_TOPICS:
        raise InvalidValue("", f"more than {MAX_TOPICS} topics")
    return tuple(topics)


def _state(raw: str | None) -> SubscriberState | None:
    if raw is None or not raw.strip():
        return None
    value = raw.strip().lower()
    if value not in STATES:
        raise SubscriberError(f"state {raw!r} is not one of {', '.join(STATES)}")
    return value  # type: ignore[return-value]


def add_subscriber(
    store: SubscriberStore,
    email: str,
    *,
    name: str | None = None,
    topics: Iterable[str] | str | None = None,
) -> tuple[Subscriber, UpsertOutcome]:
    """Add an address (or re-activate and update the one it already is); returns the
    subscriber and ``added``/``updated``/``unchanged``."""
    return store.upsert(
        normalize_email(email),
        name=None if name is None else clean_name(name),
        topics=None if topics is None else clean_topics(topics),
        state="active",
        reactivate=True,
    )


def remove_subscriber(store: SubscriberStore, email: str, *, forget: bool = False) -> Subscriber:
    """Unsubscribe an address (kept, so that an import cannot bring it back); with
    ``forget``, delete it with its delivery history, its consent record, its bounce score
    and events, and a pending sign-up of the address."""
    address = normalize_email(email)
    subscriber = store.by_email(address)
    consents = ConsentStore(store.db)
    if forget:
        with store.db.transaction():
            pending = consents.pending(address) is not None
            consents.drop_pending(address)
            if subscriber is not None:
                consents.forget(subscriber.id)
                BounceStore(store.db).forget(subscriber.id)
                store.delete(subscriber.id)
        if subscriber is None and pending:
            return Subscriber(0, address, state="unsubscribed")
    if subscriber is None:
        raise SubscriberError(f"{email}: no such subscriber")
    if not forget:
        store.set_state(subscriber.id, "unsubscribed")
    return subscriber


@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)  # "line N: what is wrong"
    # With a consent_date column: rows with a date (consent recorded), rows without one
    # (kept as pending sign-ups: not subscribed until they confirm).
    confirmed: int = 0
    pending: int = 0

    def count(self, outcome: UpsertOutcome) -> None:
        """Count one imported row by what became of its address."""
        match outcome:
            case "added":
                self.added += 1
            case "updated":
                self.updated += 1
            case "unchanged":
                self.unchanged += 1
            case _:
                assert_never(outcome)

    def summary(self) -> str:
        text = (
            f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged,"
            f" {len(self.errors)} rejected"
        )
        if self.confirmed or self.pending:
            text += (
                f"; {self.confirmed} with a consent date, {self.pending} pending"
                " (no consent date: not subscribed until they confirm)"
            )
        return text


def import_csv(
    store: SubscriberStore, path: str | Path, *, pending_days: int = PENDING_DAYS
) -> ImportReport:
    """Import ``email,name,topics,state`` rows (a header line is required; only ``email``
    is mandatory; an empty cell keeps what is stored). A bad row is reported with its line
    number and skipped; the rest go in. A row never re-activates an address that
    unsubscribed or was suppressed.

    With a ``consent_date`` column (``YYYY-MM-DD``, or a date and time), a row with a
    date is imported with a consent record (method ``import``, the file's name); a new
    address without one is kept as a pending sign-up (for ``pending_days``), not as a
    subscriber, and counted as pending."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise SubscriberError(f"{file}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SubscriberError(f"{file}: cannot read as UTF-8 text ({exc})") from exc
    reader = csv.DictReader(io.StringIO(text, newline=""))
    columns = [c.strip().lower() for c in (reader.fieldnames or [])]
    if "email" not in columns:
        raise SubscriberError(f"{file}: the first line must name the columns, with 'email'")
    reader.fieldnames = columns
    report = ImportReport()
    with_consent = "consent_date" in columns
    consents = ConsentStore(store.db)
    rows = iter(reader)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            break
        except csv.Error as exc:
            # A cell past the csv module's field limit (MAX_CSV_CELL), and the like: that
            # row is refused, and the reader goes on at the next line.
            report.errors.append(f"line {reader.line_num + 1}: {_csv_problem(exc)}; row skipped")
            continue
        line = reader.line_num
        try:
            email = normalize_email(_uncell(row.get("email")) or "")
            extra = row.get(None)
            if extra:
                raise SubscriberError(f"{len(extra)} more fields than columns")
            # An empty cell leaves the field as stored: a merge never wipes data.
            name = _uncell(row.get("name")) or None
            topics = _uncell(row.get("topics")) or None
            chosen = None if topics is None else clean_topics(topics)
            consented = _consent_date(row.get("consent_date")) if with_consent else None
            if with_consent and consented is None and store.by_email(email) is None:
                # No consent on record: a pending sign-up, not a subscriber.
                _keep_pending(consents, email, chosen or (), file.name, pending_days)
                report.pending += 1
                continue
            subscriber, outcome = store.upsert(
                email,
                name=None if name is None else clean_name(name),
                topics=chosen,
                state=_state(row.get("state")),
            )
            if consented is not None:
                consents.put(
                    Consent(subscriber.id, consented, "import", file.name, subscriber.topics)
                )
                report.confirmed += 1
        except SubscriberError as exc:
            report.errors.append(f"line {line}: {exc}")
            continue
        report.count(outcome)
    return report


def _consent_date(raw: str | None) -> datetime | None:
    """A consent_date cell: an ISO date or date and time (UTC when no zone), or empty."""
    value = (raw or "").strip()
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise SubscriberError(f"consent_date {value[:40]!r} is not a date (YYYY-MM-DD)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment > datetime.now(UTC) + timedelta(days=1):
        raise SubscriberError(f"consent_date {value!r} is in the future")
    return moment


def _keep_pending(
    consents: ConsentStore, email: str, topics: tuple[str, ...], source: str, days: int
) -> None:
    now = datetime.now(UTC)
    consents.put_pending(
        PendingSignup(
            email=email,
            topics=topics,
            source=source,
            requested_at=now,
            expires_at=now + timedelta(days=days),
            mails=0,
            window_start=now,
        )
    )


def _csv_problem(exc: csv.Error) -> str:
    text = str(exc)
    if "field larger than field limit" in text:
        return f"a cell longer than {MAX_CSV_CELL:,} characters"
    return f"not valid CSV ({text})"


def export_csv(store: SubscriberStore, path: str | Path | None = None) -> str:
    """Every subscriber as CSV (``email,name,topics,state``; topics joined by ``;``);
    written to ``path`` when given, and returned."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for s in store.all():
        writer.writerow([_cell(s.email), _cell(s.name), _cell(";".join(s.topics)), s.state])
    text = buffer.getvalue()
    if path is not None:
        try:
            Path(path).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise SubscriberError(f"{path}: cannot write ({exc.strerror})") from exc
    return text


def _cell(value: str) -> str:
    """Guard against formula injection when the file is opened in a spreadsheet."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def _uncell(value: str | None) -> str | None:
    if value is not None and value[:1] == "'" and value[1:2] in ("=", "+", "-", "@"):
        return value[1:]
    return value
