"""Hostile mail in the bounce mailbox: every message is read under bounds, a message past
one is moved to ``digest-unreadable``, and the next good message is still handled. Each
case runs through the real ``digest bounces`` command against a Maildir."""

from __future__ import annotations

import logging
import mailbox
from dataclasses import replace
from email.parser import BytesParser
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from digest.cli import main
from digest.config import Config, MailLimits, load_config
from digest.inbound import bounces as inbound_bounces
from digest.inbound.bounces import UnreadableMail, read_report
from digest.inbound.mailbox import UNREADABLE_FOLDER
from digest.inbound.shape import check_shape, comment_depth
from digest.pipeline import daily
from digest.signed import make_token
from digest.store import open_database
from digest.store.subscribers import SubscriberStore

from .mail_samples import (
    huge,
    long_header,
    malformed_headers,
    many_parts,
    nested_comments,
    nested_digests,
    nested_messages,
    nested_multiparts,
    not_utf8,
)
from .test_bounces import BOUNCES, KEY, UNSUBSCRIBE, dsn, make_config, make_maildir, verp

# --- running `digest bounces` ----------------------------------------------------------------


def setup(tmp_path: Path, **limits: object) -> tuple[Path, Config]:
    path = tmp_path / "config.yaml"
    bounces: dict[str, object] = {"maildir": str(tmp_path / "Maildir")}
    if limits:
        bounces["limits"] = limits
    path.write_text(
        yaml.safe_dump(
            {
                "data_dir": "data",
                "newsletter": {"bounce_address": BOUNCES, "unsubscribe_mailto": UNSUBSCRIBE},
                "delivery": {"bounces": bounces},
            }
        ),
        encoding="utf-8",
    )
    config = load_config(path)
    with open_database(config.store_path) as db:
        store = SubscriberStore(db)
        for email in ("ann@example.com", "bo@example.com", "cy@example.com"):
            store.upsert(email)
    return path, config


def good_bounce(config: Config) -> bytes:
    """A hard bounce for ann, by her VERP address: the message after the hostile one."""
    with open_database(config.store_path) as db:
        return dsn("ann@example.com", "5.1.1", to=verp(SubscriberStore(db), "ann@example.com"))


def token(config: Config, email: str) -> str:
    with open_database(config.store_path) as db:
        found = SubscriberStore(db).by_email(email)
    assert found is not None
    return make_token(KEY, found.id, found.email)


def digest_bounces(config_path: Path) -> Result:
    runner = CliRunner(env={"DIGEST_SECRET": KEY.decode()})
    return runner.invoke(main, ["--config", str(config_path), "bounces"])


def states(config: Config) -> dict[str, str]:
    with open_database(config.store_path) as db:
        return {s.email: s.state for s in SubscriberStore(db).all()}


def folder(maildir: Path, name: str) -> int:
    box = mailbox.Maildir(str(maildir), create=False)
    return len(box.get_folder(name)) if name in box.list_folders() else 0


UNREADABLE = {
    "500 nested comments in a header": nested_comments,
    "1,000 nested message/rfc822 parts": nested_messages,
    "1,000 nested multiparts": nested_multiparts,
    "100,000 parts in 3.8 MB": many_parts,
    "50 MB": huge,
    "a header field of 100 KB": long_header,
}


@pytest.mark.parametrize("make", UNREADABLE.values(), ids=UNREADABLE.keys())
def test_a_message_past_a_bound_is_set_aside_and_the_next_one_handled(
    tmp_path: Path, make: object, caplog: pytest.LogCaptureFixture
) -> None:
    config_path, config = setup(tmp_path)
    assert callable(make)
    hostile = make()
    maildir = make_maildir(tmp_path / "Maildir", [hostile, good_bounce(config)])
    result = digest_bounces(config_path)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert "2 read, 1 handled, 0 left" in result.stdout, result.output
    assert f"1 unreadable (moved to {UNREADABLE_FOLDER})" in result.stdout
    # One warning line (the log goes to pytest's handler here, not to the runner's stderr).
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and f"moved to {UNREADABLE_FOLDER}: " in warnings[0], warnings
    assert states(config)["ann@example.com"] == "suppressed"
    # Set aside unchanged (renamed, never rewritten); the mailbox is empty for the next run.
    box = mailbox.Maildir(str(maildir), create=False)
    aside = box.get_folder(UNREADABLE_FOLDER)
    assert [aside.get_bytes(k) for k in aside.iterkeys()] == [hostile]
    assert folder(maildir, "digest-handled") == 1 and len(box) == 0
    caplog.clear()
    again = digest_bounces(config_path)
    assert "0 read, 0 handled, 0 left" in again.stdout and not caplog.records, again.output


def test_broken_and_foreign_text_is_still_read(tmp_path: Path) -> None:
    config_path, config = setup(tmp_path)
    messages = [
        malformed_headers(token(config, "bo@example.com")),
        not_utf8(token(config, "cy@example.com")),
        b"\xff\xfe\x00\x01" * 500,  # no message at all: left for a person
        good_bounce(config),
    ]
    make_maildir(tmp_path / "Maildir", messages)
    result = digest_bounces(config_path)
    assert result.exit_code == 0, result.output
    assert "4 read, 3 handled, 1 left" in result.stdout and "unreadable" not in result.output
    assert "2 unsubscribed, 1 suppressed" in result.stdout
    assert states(config) == {
        "ann@example.com": "suppressed",
        "bo@example.com": "unsubscribed",
        "cy@example.com": "unsubscribed",
    }


def test_the_bounds_are_configured(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # A tighter bound sets aside what the default lets through, named in its warning.
    config_path, config = setup(tmp_path, depth=3, message_bytes=5_000, parts=6)
    messages = [nested_messages(4), many_parts(6), huge(6_000), good_bounce(config)]
    make_maildir(tmp_path / "Maildir", messages)
    result = digest_bounces(config_path)
    assert "4 read, 1 handled, 0 left" in result.stdout, result.output
    assert "3 unreadable" in result.stdout
    warnings = "\n".join(r.getMessage() for r in caplog.records)
    assert "MIME parts nested more than 3 deep" in warnings
    assert "more than 6 MIME parts" in warnings
    assert "larger than 5,000 bytes" in warnings


# --- the bounds themselves ---------------------------------------------------------------------


def test_a_hundred_thousand_parts_are_never_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Counting work, not time: the shape check stops at the part past the bound, a few
    hundred lines into a message of 400,000, and the email package never sees it."""
    parsed: list[int] = []
    real = BytesParser.parsebytes

    def counting(self: BytesParser, data: bytes, headersonly: bool = False) -> object:
        parsed.append(len(data))
        return real(self, data, headersonly)

    monkeypatch.setattr(inbound_bounces.BytesParser, "parsebytes", counting)
    data = many_parts()
    assert 3_700_000 < len(data) < 3_900_000
    with pytest.raises(UnreadableMail, match="more than 500 MIME parts") as raised:
        read_report(data, UNSUBSCRIBE)
    assert parsed == []
    assert 0 < raised.value.line <= 4 * 501 + 5 < data.count(b"\n") // 100
    # The largest message within the bounds is parsed: whole, then its first 256 KB (all
    # of its 19 KB) for the bounce detectors, as it has no Return-Path.
    within = many_parts(499)
    read_report(within, UNSUBSCRIBE)
    assert parsed == [len(within), len(within)]


def test_the_shape_of_a_real_report_is_within_the_bounds() -> None:
    shape = check_shape(dsn("ann@example.com", "5.1.1", to=BOUNCES), MailLimits())
    # multipart/report, its text, the delivery-status part with two blocks, the headers
    assert (shape.parts, shape.depth) == (6, 1)


@pytest.mark.parametrize(
    ("make", "bound"),
    [
        (nested_messages, "MIME parts nested"),
        (nested_multiparts, "MIME parts nested"),
        (nested_comments, "header comments nested"),
    ],
)
def test_nesting_at_the_bound_passes_and_one_more_does_not(make: object, bound: str) -> None:
    assert callable(make)
    limits = MailLimits(depth=16)
    check_shape(make(16), limits)
    with pytest.raises(UnreadableMail, match=bound):
        check_shape(make(17), limits)


def test_nested_comments_where_the_email_package_reads_headers_too() -> None:
    """Header lines in a returned original (text/rfc822-headers), a delivery-status block
    and a folded field are checked like the message's own headers."""
    deep = "(" * 40 + "x" + ")" * 40
    returned = dsn("ann@example.com", "5.1.1", to=BOUNCES, returned=f"Cc: {deep} <a@b.org>\n")
    folded = f"From: a@example.net\nTo: {'(' * 10}\n {'(' * 10}x{')' * 20} b@c.org\n\nhi\n"
    status = dsn("ann@example.com", "5.1.1", to=BOUNCES).replace(
        b"Action: failed", f"Action: failed {deep}".encode()
    )
    for data in (returned, folded.encode(), status):
        with pytest.raises(UnreadableMail, match="header comments nested more than 16"):
            read_report(data, UNSUBSCRIBE)
    assert comment_depth(b'"((((" (a (b) \\( c)') == 2


def test_a_library_failing_on_one_message_sets_it_aside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from digest.pipeline import bounces as pipeline_bounces

    from .test_bounces import run

    def broken(*args: object, **kwargs: object) -> object:
        raise ZeroDivisionError("a detector's bug")

    config = make_config(tmp_path)
    with open_database(tmp_path / "store.sqlite3") as db:
        SubscriberStore(db).upsert("ann@example.com")
        box = make_maildir(tmp_path / "Maildir", [b"From: a@b.org\n\nhi\n"])
        monkeypatch.setattr(pipeline_bounces, "read_report", broken)
        report = run(config, db, box)
    assert (report.read, report.unreadable, report.left) == (1, 1, 0)
    assert folder(box, UNREADABLE_FOLDER) == 1


# --- bounce handling as a whole ----------------------------------------------------------------


def test_a_mailbox_that_fails_is_one_warning_and_the_daily_job_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = make_config(tmp_path, maildir=str(tmp_path / "no-such-Maildir"))
    lines: list[str] = []
    with open_database(tmp_path / "store.sqlite3") as db, caplog.at_level(logging.WARNING):
        daily._bounces_first(config, db, KEY, lambda s, d, t, detail: lines.append(detail))
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "not a Maildir" in warnings[0].getMessage()
    assert len(lines) == 1 and lines[0].startswith("0 read, 0 handled, 0 left")
    assert lines[0].endswith("; 1 mailbox not read to the end")
    # An IMAP mailbox without its password: the same, not a configuration error.
    imap = replace(
        config,
        delivery=replace(
            config.delivery,
            bounces=replace(
                config.delivery.bounces,
                maildir=None,
                imap=replace(
                    config.delivery.bounces.imap,
                    host="127.0.0.1",
                    port=9,
                    password_env="DIGEST_TEST_NO_SUCH_PASSWORD",
                ),
            ),
        ),
    )
    caplog.clear()
    with open_database(tmp_path / "store.sqlite3") as db, caplog.at_level(logging.WARNING):
        daily._bounces_first(imap, db, KEY, None)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == [
        "bounce handling stopped for imaps://127.0.0.1:9/INBOX: $DIGEST_TEST_NO_SUCH_PASSWORD"
        " is not set: it holds the IMAP password of delivery.bounces.imap"
    ]


@pytest.mark.slow
def test_an_imap_mailbox_sets_aside_too_and_never_fetches_a_message_too_large(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import imaplib

    from .dovecot_instance import PASSWORD, USER, dovecot_instance, hand_to_nobody

    commands: list[tuple[str, ...]] = []
    real_uid = imaplib.IMAP4.uid

    def recording(self: imaplib.IMAP4, command: str, *args: str) -> object:
        commands.append((command, *args))
        return real_uid(self, command, *args)

    monkeypatch.setattr(imaplib.IMAP4, "uid", recording)
    with dovecot_instance() as imap:
        config_path = tmp_path / "config.yaml"
        options = {"host": "127.0.0.1", "port": imap.port, "username": USER,
                   "ca_file": str(imap.ca_file), "timeout": 20}  # fmt: skip
        config_path.write_text(
            yaml.safe_dump(
                {
                    "data_dir": "data",
                    "newsletter": {"bounce_address": BOUNCES, "unsubscribe_mailto": UNSUBSCRIBE},
                    "delivery": {"bounces": {"imap": options, "limits": {"message_bytes": 50_000}}},
                }
            ),
            encoding="utf-8",
        )
        config = load_config(config_path)
        with open_database(config.store_path) as db:
            SubscriberStore(db).upsert("ann@example.com")
        make_maildir(imap.maildir, [nested_messages(), huge(60_000), good_bounce(config)])
        hand_to_nobody(imap.maildir)
        runner = CliRunner(env={"DIGEST_SECRET": KEY.decode(), "DIGEST_IMAP_PASSWORD": PASSWORD})
        result = runner.invoke(main, ["--config", str(config_path), "bounces"])
        assert result.exit_code == 0, result.output
        assert "3 read, 1 handled, 0 left" in result.stdout, result.output
        assert "2 unreadable (moved to digest-unreadable)" in result.stdout
        assert states(config)["ann@example.com"] == "suppressed"
        assert folder(imap.maildir, UNREADABLE_FOLDER) == 2
        assert folder(imap.maildir, "digest-handled") == 1
        # Sizes asked for all three; the bodies of the two within the bound only.
        fetched = [c for c in commands if c[0] == "FETCH"]
        assert sum("(RFC822.SIZE)" in c for c in fetched) == 3
        assert sum("(BODY.PEEK[])" in c for c in fetched) == 2


def test_the_bounce_detectors_get_the_start_of_a_large_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """flufl.bounce scans every line (half a second a megabyte): a bounce of 9 MB costs
    it the first 256 KB, counted in what it is handed, not timed."""
    from email.message import Message

    import flufl.bounce

    handed: list[int] = []
    real = flufl.bounce.all_failures

    def counting(message: Message) -> object:
        handed.append(len(message.as_bytes()))
        return real(message)

    monkeypatch.setattr(flufl.bounce, "all_failures", counting)
    text = "Mail delivery failed: returning message to sender. Zustellung gescheitert.\n"
    data = huge(9_000_000).replace(b"From: a@example.net", b"From: MAILER-DAEMON@mx.example")
    data = data.replace(b"Subject: big\n\n", b"Subject: big\n\n" + text.encode())
    assert read_report(data, UNSUBSCRIBE).kind == "other"
    assert len(handed) == 1 and handed[0] <= inbound_bounces.MAX_DETECTOR_BYTES + 100


def test_the_time_bound_is_checked_as_the_lines_are_read() -> None:
    import time

    data = many_parts(300)  # within every other bound: 1,200 lines
    assert check_shape(data, MailLimits()).parts == 301
    with pytest.raises(UnreadableMail, match="not read within 1 s") as raised:
        check_shape(data, MailLimits(), deadline=time.monotonic() - 1)
    assert raised.value.line == 512  # the first look at the clock


def _depth_and_parts(data: bytes) -> tuple[int, int]:
    """The nesting and the parts of what the email package makes of ``data`` (walked
    without recursion; a delivery-status part's blocks count as parts)."""
    from email import policy
    from email.message import Message

    message = BytesParser(policy=policy.compat32).parsebytes(data)
    deepest, parts = 0, 0
    stack: list[tuple[Message, int]] = [(message, 0)]
    while stack:
        part, depth = stack.pop()
        deepest, parts = max(deepest, depth), parts + 1
        payload = part.get_payload()
        if isinstance(payload, list):
            status = part.get_content_type() == "message/delivery-status"
            stack += [(p, depth if status else depth + 1) for p in payload]
    return deepest, parts


@pytest.mark.parametrize(
    "data",
    [
        dsn("ann@example.com", "5.1.1", to=BOUNCES),
        nested_messages(7),
        nested_multiparts(7),
        nested_digests(4),
        many_parts(30),
        malformed_headers("1.AAAAAAAAAAAAAAAAAAAAAAAA"),
    ],
    ids=["dsn", "messages", "multiparts", "digests", "parts", "malformed"],
)
def test_the_shape_check_sees_the_structure_the_email_package_builds(data: bytes) -> None:
    shape = check_shape(data, MailLimits())
    assert (shape.depth, shape.parts) == _depth_and_parts(data)


def test_parts_of_a_digest_are_messages() -> None:
    assert check_shape(nested_digests(8), MailLimits()).depth == 16
    with pytest.raises(UnreadableMail, match="MIME parts nested more than 16 deep"):
        check_shape(nested_digests(9), MailLimits())
    # The header of the innermost message is checked as a header.
    with pytest.raises(UnreadableMail, match="header comments nested more than 16 deep"):
        check_shape(nested_digests(2, comments=17), MailLimits())


def test_the_maildir_moves_files_as_they_are(tmp_path: Path) -> None:
    """A message read before (in cur/, flagged seen) keeps its file name and flags when
    moved aside, and one over the byte bound is handed out without its bytes."""
    from digest.inbound.mailbox import MaildirSource

    box = mailbox.Maildir(str(tmp_path / "Maildir"), create=True)
    seen = mailbox.MaildirMessage(b"From: a@example.net\n\nGelesen.\n")
    seen.set_subdir("cur")
    seen.set_flags("S")
    seen_key = box.add(seen)
    big_key = box.add(b"From: a@example.net\n\n" + b"x" * 5_000)
    source = MaildirSource(tmp_path / "Maildir", "digest-handled", max_bytes=1_000)
    mails = {m.key: m for m in source.messages()}
    assert mails[big_key].data is None and mails[big_key].size == 5_021
    assert mails[seen_key].data == b"From: a@example.net\n\nGelesen.\n"
    source.move_aside(seen_key)
    source.move_aside(big_key, UNREADABLE_FOLDER)
    source.close()
    handled = tmp_path / "Maildir" / ".digest-handled" / "cur"
    assert [p.name for p in handled.iterdir()] == [f"{seen_key}:2,S"]
    assert [p.name for p in (tmp_path / "Maildir" / f".{UNREADABLE_FOLDER}" / "new").iterdir()] == [
        big_key
    ]
    assert len(mailbox.Maildir(str(tmp_path / "Maildir"), create=False)) == 0


def test_a_store_that_fails_is_one_warning_unless_strict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import sqlite3

    from digest.errors import DeliveryError
    from digest.inbound.mailbox import MaildirSource
    from digest.pipeline.bounces import process_bounces
    from digest.store.bounces import BounceStore

    def locked(*args: object) -> None:
        raise sqlite3.OperationalError("database is locked")

    config = make_config(tmp_path)
    box = make_maildir(tmp_path / "Maildir", [dsn("ann@example.com", "5.1.1", to=BOUNCES)])
    monkeypatch.setattr(BounceStore, "handled", locked)
    with open_database(tmp_path / "store.sqlite3") as db, caplog.at_level(logging.WARNING):
        report = process_bounces(config, db, KEY, [MaildirSource(box, "digest-handled")])
        assert report.failures == ["OperationalError: database is locked"]
        assert [r.getMessage() for r in caplog.records] == [
            f"bounce handling stopped for {box}: OperationalError: database is locked"
        ]
        with pytest.raises(DeliveryError, match=f"^{box}: OperationalError: database is locked"):
            process_bounces(config, db, KEY, [MaildirSource(box, "digest-handled")], strict=True)
    assert len(mailbox.Maildir(str(box), create=False)) == 1  # nothing moved, nothing lost
