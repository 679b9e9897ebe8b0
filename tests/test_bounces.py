"""Bounces, complaints and mailto unsubscribes: DSNs and ARF reports built per the RFCs,
a real Maildir, and a real Postfix on 127.0.0.1 that bounces unknown local users."""

from __future__ import annotations

import mailbox
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage, Message
from email.mime.base import MIMEBase
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from digest import serialize
from digest.cli import main
from digest.config import BounceOptions, Config, DeliveryOptions, NewsletterOptions, load_config
from digest.inbound.bounces import bounce_kind, read_report
from digest.inbound.mailbox import MaildirSource
from digest.models import Edition
from digest.pipeline.bounces import BounceReport, process_bounces
from digest.pipeline.daily import send_rendered
from digest.publish.render import render_edition
from digest.signed import make_token, read_verp, verify_verp, verp_address
from digest.store import Database, open_database
from digest.store.bounces import BounceStore, decayed
from digest.store.ledger import DeliveryLedger
from digest.store.subscribers import SubscriberStore

from .dovecot_instance import PASSWORD as IMAP_PASSWORD
from .dovecot_instance import USER as IMAP_USER
from .dovecot_instance import dovecot_instance, hand_to_nobody
from .postfix_instance import DOMAIN, postfix_instance

ROOT = Path(__file__).resolve().parent.parent
KEY = b"bounce-test-secret-0123456789"
BOUNCES = "bounces@example.org"
UNSUBSCRIBE = "unsubscribe@example.org"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def make_config(tmp_path: Path, **bounces: object) -> Config:
    return replace(
        Config(),
        base_dir=str(tmp_path),
        newsletter=replace(
            NewsletterOptions(), bounce_address=BOUNCES, unsubscribe_mailto=UNSUBSCRIBE
        ),
        delivery=replace(DeliveryOptions(), bounces=replace(BounceOptions(), **bounces)),
    )


def dsn(
    recipient: str,
    status: str,
    *,
    to: str,
    action: str = "failed",
    when: datetime = NOW,
    extra: str = "",
    returned: str = "",
) -> bytes:
    """An RFC 3464 report as a relay sends it: text, delivery-status, returned headers
    (``returned``: more header lines of the returned original, e.g. its Message-ID)."""
    report = MIMEMultipart("report", report_type="delivery-status")
    report["From"] = "Mail Delivery Subsystem <MAILER-DAEMON@mx.example.net>"
    report["To"] = to
    report["Subject"] = "Delivery Status Notification (Failure)"
    report["Date"] = format_datetime(when)
    report["Auto-Submitted"] = "auto-replied"
    report.attach(MIMEText(f"Your message to {recipient} could not be delivered.{extra}\n"))
    per_message, per_recipient = Message(), Message()
    per_message["Reporting-MTA"] = "dns; mx.example.net"
    per_recipient["Final-Recipient"] = f"rfc822; {recipient}"
    per_recipient["Action"] = action
    per_recipient["Status"] = status
    per_recipient["Diagnostic-Code"] = f"smtp; {status[0]}50 {status} mailbox says no"
    status_part = MIMEBase("message", "delivery-status")
    status_part.set_payload([per_message, per_recipient])
    report.attach(status_part)
    headers = MIMEText(
        f"From: digest@example.org\nTo: {recipient}\nSubject: The Daily Digest\n{returned}"
    )
    headers.set_type("text/rfc822-headers")
    report.attach(headers)
    return ("Return-Path: <>\n" + report.as_string()).encode()


def arf(
    original_to: str, *, mail_from: str, list_unsubscribe: str = "", message_id: str = ""
) -> bytes:
    """An RFC 5965 abuse report: human part, machine part, the returned message."""
    report = MIMEMultipart("report", report_type="feedback-report")
    report["From"] = "Feedback Loop <fbl@mailbox.example.net>"
    report["To"] = "fbl-reports@example.org"
    report["Subject"] = "Abuse report"
    report["Date"] = format_datetime(NOW)
    report.attach(MIMEText("This is an email abuse report for an email message received.\n"))
    feedback = EmailMessage()
    feedback["Feedback-Type"] = "abuse"
    feedback["User-Agent"] = "ExampleFBL/1.0"
    feedback["Version"] = "1"
    feedback["Original-Mail-From"] = f"<{mail_from}>"
    feedback["Original-Rcpt-To"] = f"<{original_to}>"
    feedback["Arrival-Date"] = format_datetime(NOW)
    part = MIMEBase("message", "feedback-report")
    part.set_payload(feedback.as_string())
    report.attach(part)
    original = EmailMessage()
    original["Return-Path"] = f"<{mail_from}>"
    original["From"] = "The Daily Digest <digest@example.org>"
    original["To"] = original_to
    original["Subject"] = "The Daily Digest · 1 Dec"
    if list_unsubscribe:
        original["List-Unsubscribe"] = list_unsubscribe
    if message_id:
        original["Message-ID"] = message_id
    original.set_content("the newsletter\n")
    report.attach(MIMEMessage(original))
    return report.as_bytes()


def plain_mail(
    sender: str,
    to: str,
    subject: str,
    *,
    auto: bool = False,
    auth: str = "",
    body: str = "please\n",
) -> bytes:
    message = EmailMessage()
    if auth:  # what the receiving relay prepends (RFC 8601)
        message["Authentication-Results"] = auth
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(NOW)
    if auto:
        message["Auto-Submitted"] = "auto-replied"
    message.set_content(body)
    return message.as_bytes()


def make_maildir(path: Path, messages: list[bytes]) -> Path:
    box = mailbox.Maildir(str(path), create=True)
    for data in messages:
        box.add(data)
    box.close()
    return path


def run(config: Config, db: Database, maildir: Path, now: datetime = NOW) -> BounceReport:
    return process_bounces(config, db, KEY, [MaildirSource(maildir, "digest-handled")], now=now)


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return open_database(tmp_path / "store.sqlite3")


def sent(db: Database, subscriber_id: int, message_id: str, edition: str = "2026-12-01") -> None:
    """The ledger's record that ``message_id`` went to this subscriber."""
    ledger = DeliveryLedger(db)
    ledger.enqueue(edition, [subscriber_id])
    assert ledger.claim(edition, subscriber_id, message_id)


def verp(store: SubscriberStore, email: str) -> str:
    found = store.by_email(email)
    assert found is not None
    return verp_address(KEY, BOUNCES, found.id, found.email)


# --- units -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        ("5.1.1", "hard"),
        ("5.1.10", "hard"),
        ("5.2.1", "hard"),
        ("5.2.2", "soft"),  # mailbox full
        ("5.7.1", "soft"),  # a policy refusal says nothing about the address
        ("4.2.2", "soft"),
        ("4.4.1", "soft"),
        ("2.0.0", "soft"),
        ("garbage", "soft"),
    ],
)
def test_bounce_kind_by_status(status: str, kind: str) -> None:
    assert bounce_kind(status) == kind


def test_verp_round_trip_and_forgery() -> None:
    address = verp_address(KEY, BOUNCES, 42, "Ann@Example.org")
    assert address.startswith("bounces+42-") and address.endswith("@example.org")
    claim = read_verp(address.upper().replace("@EXAMPLE.ORG", "@example.org"), BOUNCES)
    assert claim is not None and claim[0] == 42
    assert verify_verp(KEY, claim[1], 42, "ann@example.org")
    assert not verify_verp(KEY, claim[1], 43, "ann@example.org")
    assert not verify_verp(b"another key", claim[1], 42, "ann@example.org")
    assert read_verp("bounces+42-abc@elsewhere.org", BOUNCES) is None
    assert read_verp("someone@example.org", BOUNCES) is None


def test_decay_halves_per_half_life() -> None:
    assert decayed(4.0, NOW, NOW + timedelta(days=7), 7.0) == pytest.approx(2.0)
    assert decayed(4.0, None, NOW, 7.0) == 4.0


def test_read_report_kinds() -> None:
    assert read_report(dsn("a@x.org", "5.1.1", to="b@y.org"), UNSUBSCRIBE).kind == "bounce"
    delayed = read_report(dsn("a@x.org", "4.4.7", to="b@y.org", action="delayed"), UNSUBSCRIBE)
    assert delayed.kind == "delayed"
    assert read_report(arf("a@x.org", mail_from="b@y.org"), UNSUBSCRIBE).kind == "complaint"
    mailto = read_report(plain_mail("a@x.org", UNSUBSCRIBE, "unsubscribe-1.abc"), UNSUBSCRIBE)
    assert mailto.kind == "unsubscribe" and mailto.tokens == ("1.abc",)
    assert read_report(plain_mail("a@x.org", "me@y.org", "lunch?"), UNSUBSCRIBE).kind == "other"
    for hostile in (b"", b"\x00\xff" * 100, b"Content-Type: multipart/report\n\n--", b"x" * 20):
        assert read_report(hostile, UNSUBSCRIBE).kind == "other"


# --- the mailbox, end to end with built reports ------------------------------------------------


def test_hard_bounce_by_verp_suppresses_and_a_rerun_changes_nothing(
    tmp_path: Path, db: Database
) -> None:
    config = make_config(tmp_path)
    store = SubscriberStore(db)
    for email in ("ann@example.com", "bo@example.com", "cy@example.com"):
        store.upsert(email)
    # The DSN names a forwarded address: the VERP address says whose it is.
    box = make_maildir(
        tmp_path / "Maildir",
        [
            dsn("ann.old@forward.example", "5.1.1", to=verp(store, "ann@example.com")),
            plain_mail("friend@example.net", "digest@example.org", "Thanks for the news!"),
        ],
    )
    report = run(config, db, box)
    assert (report.read, report.handled, report.left, report.hard) == (2, 1, 1, 1)
    assert report.suppressed == ["ann@example.com"]
    states = {s.email: s.state for s in store.all()}
    assert states == {
        "ann@example.com": "suppressed",
        "bo@example.com": "active",
        "cy@example.com": "active",
    }
    # The handled one moved aside; the letter stays for a person.
    assert len(list((box / "new").iterdir())) + len(list((box / "cur").iterdir())) == 1
    assert len(mailbox.Maildir(str(box)).get_folder("digest-handled")) == 1
    again = run(config, db, box)
    assert (again.read, again.handled, again.left, again.suppressed) == (1, 0, 1, [])
    assert BounceStore(db).events(store.by_email("ann@example.com").id) == [  # type: ignore[union-attr]
        ("hard", "5.1.1")
    ]


def test_a_message_handled_but_not_moved_is_counted_once(tmp_path: Path, db: Database) -> None:
    # Copy the same DSN back in (a failed move, or a second delivery): counted once.
    config = make_config(tmp_path, hard_limit=2)
    store = SubscriberStore(db)
    store.upsert("ann@example.com")
    data = dsn("ann@example.com", "5.1.1", to=verp(store, "ann@example.com"))
    box = make_maildir(tmp_path / "Maildir", [data])
    assert run(config, db, box).hard == 1
    make_maildir(box, [data])
    report = run(config, db, box)
    assert (report.hard, report.already) == (0, 1)
    assert BounceStore(db).score(1).hard == 1
    assert store.by_email("ann@example.com").state == "active"  # type: ignore[union-attr]


def test_soft_bounces_score_once_a_day_decay_and_then_suppress(
    tmp_path: Path, db: Database
) -> None:
    config = make_config(tmp_path, soft_threshold=3.0, soft_half_life_days=7.0)
    store = SubscriberStore(db)
    store.upsert("dee@example.com")
    store.upsert("eve@example.com")
    dee, eve = verp(store, "dee@example.com"), verp(store, "eve@example.com")
    day = [NOW + timedelta(days=d) for d in range(4)]
    messages = [
        dsn("dee@example.com", "4.2.2", to=dee, when=day[0]),
        dsn("dee@example.com", "4.2.2", to=dee, when=day[0] + timedelta(hours=3)),  # same day
        dsn("dee@example.com", "5.7.1", to=dee, when=day[1]),  # policy: soft
        # eve bounces as often but a month apart: the score decays below the threshold.
        dsn("eve@example.com", "4.2.2", to=eve, when=day[0] - timedelta(days=60)),
        dsn("eve@example.com", "4.2.2", to=eve, when=day[0] - timedelta(days=30)),
        dsn("eve@example.com", "4.2.2", to=eve, when=day[0]),
    ]
    report = run(config, db, make_maildir(tmp_path / "m1", messages), now=day[1])
    assert report.soft == 6 and report.suppressed == []
    assert BounceStore(db).score(1).score == pytest.approx(1 * 0.5 ** (1 / 7) + 1)
    assert BounceStore(db).score(2).score < 2.0
    report = run(
        config,
        db,
        make_maildir(tmp_path / "m2", [dsn("dee@example.com", "4.2.2", to=dee, when=day[2])]),
        now=day[3],
    )
    assert report.suppressed == []  # 2.73: three days of bounces, decayed a little
    late = dsn("dee@example.com", "4.2.2", to=dee, when=day[3])
    report = run(config, db, make_maildir(tmp_path / "m3", [late]), now=day[3])
    assert report.suppressed == ["dee@example.com"]
    assert store.by_email("eve@example.com").state == "active"  # type: ignore[union-attr]


def test_the_soft_score_does_not_depend_on_the_order_mail_is_read(tmp_path: Path) -> None:
    """A Maildir lists its messages in no particular order: the same bounces read oldest
    first and newest first leave the same score (each halved from its own day)."""
    days = [NOW - timedelta(days=d) for d in (60, 30, 9, 0)]
    scores = []
    for name, order in (("oldest", days), ("newest", days[::-1])):
        db = open_database(tmp_path / f"{name}.sqlite3")
        subscriber, _ = SubscriberStore(db).upsert(f"{name}@example.com")
        store = BounceStore(db)
        for i, when in enumerate(order):
            store.record(subscriber.id, f"m{i}", "soft", "4.2.2", when, half_life_days=7.0)
        scores.append(store.score(subscriber.id))
    oldest, newest = scores
    expected = sum(0.5 ** ((NOW - d).days / 7.0) for d in days)
    assert oldest.score == pytest.approx(expected) and newest.score == pytest.approx(expected)
    assert oldest.last_at == newest.last_at == NOW and oldest.soft == newest.soft == 4
    assert expected < 2.0  # one fresh bounce and old ones long decayed: far from suppression


def test_without_verp_a_bounce_counts_only_with_our_message_id(
    tmp_path: Path, db: Database
) -> None:
    config = make_config(tmp_path)
    store = SubscriberStore(db)
    fay, _ = store.upsert("fay@example.com")
    gus, _ = store.upsert("gus@example.com")
    sent(db, fay.id, "<0f1e2d3c4b5a69788796a5b4c3d2e1f0@example.org>")
    sent(db, gus.id, "<99999999999999999999999999999999@example.org>")
    ours = "Message-ID: <0f1e2d3c4b5a69788796a5b4c3d2e1f0@example.org>\n"
    box = make_maildir(
        tmp_path / "Maildir",
        [
            # names fay but returns no Message-ID: anyone could have written it
            dsn("fay@example.com", "5.1.1", to="digest@example.org"),
            # gus's Message-ID but naming fay: not evidence about fay
            dsn(
                "fay@example.com",
                "5.1.1",
                to="digest@example.org",
                returned="Message-ID: <99999999999999999999999999999999@example.org>\n",
            ),
            dsn("stranger@example.com", "5.1.1", to="digest@example.org", returned=ours),
            # a forged VERP address: does not verify, and brings no evidence
            dsn("fay@example.com", "5.1.1", to="bounces+1-aaaaaaaaaaaaaaaa@example.org"),
            # the returned original is the message the ledger says went to fay
            dsn("Fay@Example.com", "5.1.1", to="digest@example.org", returned=ours),
        ],
    )
    report = run(config, db, box)
    assert report.suppressed == ["fay@example.com"]
    assert (report.handled, report.left) == (1, 4)
    assert store.get(gus.id).state == "active"  # type: ignore[union-attr]


def test_forged_complaints_and_bounces_suppress_nobody(tmp_path: Path, db: Database) -> None:
    # Anyone can mail the bounce mailbox: reports that merely name a subscriber are left.
    config = make_config(tmp_path)
    store = SubscriberStore(db)
    una, _ = store.upsert("una@example.com")
    forged = "<0123456789abcdef0123456789abcdef@example.org>"  # never in the ledger
    box = make_maildir(
        tmp_path / "Maildir",
        [
            arf("una@example.com", mail_from="digest@example.org"),
            arf("una@example.com", mail_from="digest@example.org", message_id=forged),
            arf(
                "una@example.com",
                mail_from="bounces+1-AAAAAAAAAAAAAAAAAAAAAA@example.org",
                list_unsubscribe=f"<https://news.example.org/u/{una.id}.{'A' * 24}>",
            ),
            *(
                dsn(
                    "una@example.com",
                    "5.1.1",
                    to=BOUNCES,
                    when=NOW - timedelta(days=d),
                    returned=f"Message-ID: {forged}\n",
                )
                for d in range(3)
            ),
            plain_mail("una@example.com", UNSUBSCRIBE, "unsubscribe"),
            # an Authentication-Results for another domain proves nothing about una's
            plain_mail(
                "una@example.com",
                UNSUBSCRIBE,
                "unsubscribe",
                auth="mx.example.org; dkim=pass header.d=mallory.example;"
                " spf=pass smtp.mailfrom=m@mallory.example",
            ),
        ],
    )
    report = run(config, db, box)
    assert (report.handled, report.left, report.complaints, report.hard) == (0, 8, 0, 0)
    assert store.get(una.id).state == "active"  # type: ignore[union-attr]
    assert BounceStore(db).events(una.id) == []


def test_evidence_in_the_returned_original_identifies_the_subscriber(
    tmp_path: Path, db: Database
) -> None:
    config = make_config(tmp_path)
    store = SubscriberStore(db)
    vic, _ = store.upsert("vic@example.com")
    wyn, _ = store.upsert("wyn@example.com")
    sent(db, wyn.id, "<a1b2c3d4e5f60718293a4b5c6d7e8f90@example.org>")
    footer = f"Einstellungen: https://news.example.org/p/{make_token(KEY, vic.id, vic.email)}"
    complaint = arf(
        "wyn@example.com",
        mail_from="digest@example.org",
        message_id="<a1b2c3d4e5f60718293a4b5c6d7e8f90@example.org>",
    )
    box = make_maildir(
        tmp_path / "Maildir",
        [
            # a bounce whose returned original carries vic's footer link (signed token)
            dsn(
                "vic.alt@example.net",
                "5.1.1",
                to="digest@example.org",
                returned=f"X-Footer: {footer}\n",
            ),
            complaint,
        ],
    )
    report = run(config, db, box)
    assert (report.handled, report.hard, report.complaints) == (2, 1, 1)
    assert sorted(report.suppressed) == ["vic@example.com", "wyn@example.com"]


def test_complaint_suppresses_and_mailto_unsubscribes(tmp_path: Path, db: Database) -> None:
    config = make_config(tmp_path, authserv_id="mx.example.org")
    store = SubscriberStore(db)
    for email in ("gil@example.com", "hal@example.com", "ida@example.com", "jo@example.com"):
        store.upsert(email)
    people = ("gil@example.com", "hal@example.com", "ida@example.com", "jo@example.com")
    gil, hal, ida, jo = (store.by_email(e) for e in people)
    assert gil and hal and ida and jo
    token = make_token(KEY, hal.id, hal.email)
    forged = f"{ida.id}.AAAAAAAAAAAAAAAAAAAAAAAA"
    box = make_maildir(
        tmp_path / "Maildir",
        [
            arf("gil@example.com", mail_from=verp(store, "gil@example.com")),
            # from another address, but carrying hal's token (the List-Unsubscribe mailto)
            plain_mail("hal.work@example.net", UNSUBSCRIBE, f"unsubscribe-{token}"),
            # a forged token from a stranger: left
            plain_mail("mallory@example.net", UNSUBSCRIBE, f"unsubscribe-{forged}"),
            # an out-of-office reply from ida's address, no token: left
            plain_mail("ida@example.com", UNSUBSCRIBE, "Out of office", auto=True),
            # jo writes from their own address, and the relay authenticated it
            plain_mail(
                "Jo <jo@example.com>",
                UNSUBSCRIBE,
                "bitte abmelden",
                auth="mx.example.org; dkim=pass header.d=example.com header.s=s1;"
                " spf=pass smtp.mailfrom=jo@example.com",
            ),
        ],
    )
    report = run(config, db, box)
    assert (report.complaints, report.unsubscribed, report.left) == (1, 2, 2)
    states = {s.email: s.state for s in store.all()}
    assert states == {
        "gil@example.com": "suppressed",
        "hal@example.com": "unsubscribed",
        "ida@example.com": "active",
        "jo@example.com": "unsubscribed",
    }
    assert run(config, db, box).handled == 0


def test_a_complaint_identified_by_the_list_unsubscribe_token(tmp_path: Path, db: Database) -> None:
    # Some feedback loops redact the recipient; the returned headers still carry the token.
    config = make_config(tmp_path)
    store = SubscriberStore(db)
    kim, _ = store.upsert("kim@example.com")
    token = make_token(KEY, kim.id, kim.email)
    header = (
        f"<https://news.example.org/u/{token}>, <mailto:{UNSUBSCRIBE}?subject=unsubscribe-{token}>"
    )
    box = make_maildir(
        tmp_path / "Maildir",
        [
            arf(
                "redacted@mailbox.example.net",
                mail_from="digest@example.org",
                list_unsubscribe=header,
            )
        ],
    )
    assert run(config, db, box).complaints == 1
    assert store.get(kim.id).state == "suppressed"  # type: ignore[union-attr]


def test_a_maildir_that_is_not_one_is_a_clear_error(tmp_path: Path) -> None:
    config_path = tmp_path / "config.yaml"
    config_path.write_text("data_dir: data\n", encoding="utf-8")
    result = CliRunner(env={"DIGEST_SECRET": "x"}).invoke(
        main, ["--config", str(config_path), "bounces", "--maildir", str(tmp_path / "nope")]
    )
    assert result.exit_code != 0
    assert "not a Maildir" in result.output and "Traceback" not in result.output


# --- a real Postfix ------------------------------------------------------------------------------


@pytest.mark.slow
def test_postfix_dsns_suppress_exactly_the_unknown_addresses(tmp_path: Path) -> None:
    aliases = {"bounces": "bounces", "unsubscribe": "bounces", "kai": "kai", "lee": "lee",
               "mo": "mo"}  # fmt: skip
    with postfix_instance(aliases) as postfix:
        config_path = tmp_path / "config.yaml"
        config_path.write_text(
            yaml.safe_dump(
                {
                    "data_dir": "data",
                    "newsletter": {
                        "from_address": f"digest@{DOMAIN}",
                        "bounce_address": f"bounces@{DOMAIN}",
                        "unsubscribe_mailto": f"unsubscribe@{DOMAIN}",
                        "base_url": "https://news.example.org",
                    },
                    "delivery": {
                        "transport": "smtp",
                        "smtp": {"host": "127.0.0.1", "port": postfix.port, "timeout": 20},
                        "bounces": {"maildir": str(postfix.maildir("bounces"))},
                    },
                }
            ),
            encoding="utf-8",
        )
        config = load_config(config_path)
        known = [f"{n}@{DOMAIN}" for n in ("kai", "lee", "mo")]
        unknown = [f"{n}@{DOMAIN}" for n in ("nobody1", "nobody2", "nobody3")]
        with open_database(config.store_path) as db:
            store = SubscriberStore(db)
            for email in [*known, *unknown]:
                store.upsert(email)
            edition = serialize.loads(
                Edition, (ROOT / "tests/data/edition.json").read_text("utf-8")
            )
            rendered = render_edition(edition, config.newsletter)
            delivery, _ = send_rendered(config, db, rendered, KEY)
        assert delivery.sent == 6
        dsns = postfix.wait_for("bounces", 3)
        assert len(dsns) == 3, postfix.log.read_text()[-3000:]
        assert all(b"message/delivery-status" in p.read_bytes() for p in dsns)
        assert len(postfix.wait_for("kai", 1)) == 1

        # kai complains through a feedback loop; lee writes to the unsubscribe address.
        import smtplib

        kai_verp = verp_address(KEY, f"bounces@{DOMAIN}", 1, known[0])
        with smtplib.SMTP("127.0.0.1", postfix.port, timeout=20) as smtp:
            smtp.sendmail("", [kai_verp], arf(known[0], mail_from=kai_verp))
            # lee's mail client follows the List-Unsubscribe mailto: its subject
            lee_token = make_token(KEY, 2, known[1])
            smtp.sendmail(known[1], [f"unsubscribe@{DOMAIN}"],
                          plain_mail(known[1], f"unsubscribe@{DOMAIN}",
                                     f"unsubscribe-{lee_token}"))  # fmt: skip
        assert len(postfix.wait_for("bounces", 5)) == 5

        runner = CliRunner(env={"DIGEST_SECRET": KEY.decode(), "DIGEST_CONFIG": str(config_path)})
        result = runner.invoke(main, ["bounces"])
        assert result.exit_code == 0, result.output
        assert "5 read, 5 handled, 0 left" in result.output, result.output
        with open_database(config.store_path) as db:
            states = {s.email: s.state for s in SubscriberStore(db).all()}
        assert states == {
            known[0]: "suppressed",  # the complaint
            known[1]: "unsubscribed",  # the mailto
            known[2]: "active",
            **{u: "suppressed" for u in unknown},
        }
        again = runner.invoke(main, ["bounces"])
        assert "0 read, 0 handled, 0 left" in again.output, again.output
        with open_database(config.store_path) as db:
            assert {s.email: s.state for s in SubscriberStore(db).all()} == states
        handled = mailbox.Maildir(str(postfix.maildir("bounces"))).get_folder("digest-handled")
        assert len(handled) == 5


def test_the_daily_job_reads_the_mailbox_first_when_one_is_set(
    tmp_path: Path, db: Database
) -> None:
    from digest.pipeline import daily

    store = SubscriberStore(db)
    store.upsert("ann@example.com")
    box = make_maildir(
        tmp_path / "Maildir", [dsn("ann@example.com", "5.1.1", to=verp(store, "ann@example.com"))]
    )
    lines: list[str] = []
    unset = make_config(tmp_path)
    daily._bounces_first(unset, db, KEY, lambda *a: lines.append(str(a)))
    assert lines == [] and store.by_email("ann@example.com").state == "active"  # type: ignore[union-attr]
    configured = make_config(tmp_path, maildir=str(box))
    daily._bounces_first(configured, db, KEY, lambda stage, d, t, detail: lines.append(detail))
    assert store.by_email("ann@example.com").state == "suppressed"  # type: ignore[union-attr]
    assert lines and lines[0].startswith("1 read, 1 handled, 0 left")


@pytest.mark.slow
def test_an_imap_mailbox_over_tls(tmp_path: Path) -> None:
    with dovecot_instance() as imap:
        config_path = tmp_path / "config.yaml"
        config_path.write_text(
            yaml.safe_dump(
                {
                    "data_dir": "data",
                    "newsletter": {"bounce_address": BOUNCES, "unsubscribe_mailto": UNSUBSCRIBE},
                    "delivery": {
                        "bounces": {
                            "imap": {
                                "host": "127.0.0.1",
                                "port": imap.port,
                                "username": IMAP_USER,
                                "ca_file": str(imap.ca_file),
                                "timeout": 20,
                            }
                        }
                    },
                }
            ),
            encoding="utf-8",
        )
        config = load_config(config_path)
        with open_database(config.store_path) as db:
            store = SubscriberStore(db)
            store.upsert("ann@example.com")
            bo, _ = store.upsert("bo@example.com")
            ann = verp(store, "ann@example.com")
            bo_token = make_token(KEY, bo.id, bo.email)
        make_maildir(
            imap.maildir,
            [
                dsn("ann@example.com", "5.1.1", to=ann),
                plain_mail("bo@example.com", UNSUBSCRIBE, f"unsubscribe-{bo_token}"),
                plain_mail("friend@example.net", "digest@example.org", "Thanks!"),
            ],
        )
        hand_to_nobody(imap.maildir)
        env = {"DIGEST_SECRET": KEY.decode(), "DIGEST_CONFIG": str(config_path)}
        runner = CliRunner(env={**env, "DIGEST_IMAP_PASSWORD": "wrong"})
        refused = runner.invoke(main, ["bounces"])
        assert refused.exit_code != 0 and "login or select failed" in refused.output
        runner = CliRunner(env={**env, "DIGEST_IMAP_PASSWORD": IMAP_PASSWORD})
        result = runner.invoke(main, ["bounces"])
        assert result.exit_code == 0, result.output
        assert "3 read, 2 handled, 1 left" in result.output, result.output
        with open_database(config.store_path) as db:
            states = {s.email: s.state for s in SubscriberStore(db).all()}
        assert states == {"ann@example.com": "suppressed", "bo@example.com": "unsubscribed"}
        again = runner.invoke(main, ["bounces"])
        assert "1 read, 0 handled, 1 left" in again.output, again.output
        handled = mailbox.Maildir(str(imap.maildir)).get_folder("digest-handled")
        assert len(handled) == 2
