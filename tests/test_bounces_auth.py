"""An unsubscribe mail by its From address alone counts only on the receiving relay's own
``Authentication-Results`` (RFC 8601), named by ``delivery.bounces.authserv_id``: headers
a sender forges, above, below or instead of the relay's, count for nothing."""

from __future__ import annotations

import mailbox
import smtplib
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from digest.cli import main
from digest.config import load_config
from digest.inbound.bounces import authserv_id_of, read_report
from digest.store import Database, open_database
from digest.store.subscribers import SubscriberStore

from .postfix_instance import DOMAIN, POSTFIX, postfix_instance
from .test_bounces import KEY, UNSUBSCRIBE, make_config, make_maildir, run

RELAY = "mx.digest.test"
RECEIVED = (
    "Received: from mail.example.com (mail.example.com [192.0.2.25])\n"
    f"\tby {RELAY} (Postfix) with ESMTPS id 4Zq1x2\n"
    f"\tfor <{UNSUBSCRIBE}>; Tue, 1 Dec 2026 08:59:58 +0000 (UTC)\n"
)


def request(sender: str, headers: str, *, delivered: bool = True) -> bytes:
    """A person's unsubscribe mail, as delivered (what the local delivery adds on top) or
    as sent: ``headers`` (trace lines, top first) above the sender's own header lines."""
    top = f"Return-Path: <{sender}>\nDelivered-To: {UNSUBSCRIBE}\n" if delivered else ""
    return (
        f"{top}{headers}"
        f"From: {sender}\nTo: {UNSUBSCRIBE}\nSubject: Bitte abmelden\n"
        "Date: Tue, 1 Dec 2026 08:59:50 +0000\nContent-Type: text/plain; charset=utf-8\n\n"
        "Merci de me désabonner. 配信停止をお願いします。\n"
    ).encode()


def passed(authserv_id: str = RELAY, domain: str = "example.com") -> str:
    return f"Authentication-Results: {authserv_id};\n\tdkim=pass header.d={domain} header.s=s1\n"


def failed(authserv_id: str = RELAY, domain: str = "example.com") -> str:
    return f"Authentication-Results: {authserv_id}; dkim=fail header.d={domain}\n"


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return open_database(tmp_path / "store.sqlite3")


def test_the_authserv_id_of_a_header() -> None:
    assert authserv_id_of("mx.digest.test; dkim=pass header.d=example.com") == RELAY
    assert authserv_id_of(" (the relay) MX.Digest.Test 1 ; spf=pass") == RELAY
    assert authserv_id_of('"mx.digest.test"; none') == RELAY
    assert authserv_id_of("; dkim=pass") == ""


CASES = {
    # the relay's header on top, with the one a later hop wrote above it (LMTP)
    "the relay's own": (
        "Received: from mx.digest.test by imap.digest.test with LMTP; Tue, 1 Dec 2026\n"
        + failed("imap.digest.test")
        + passed()
        + RECEIVED,
        "unsubscribed",
    ),
    # the relay wrote two (one per milter): the pass is in the second
    "the relay's second": (
        f"Authentication-Results: {RELAY}; dmarc=none header.from=example.com\n"
        + passed()
        + RECEIVED,
        "unsubscribed",
    ),
    # a header of another id above the relay's, claiming what the relay did not find
    "forged above": (passed("mx.later.test") + failed() + RECEIVED, "active"),
    # below the relay's Received line, the relay's id: it came with the message
    "forged below": (failed() + RECEIVED + passed(), "active"),
    # the relay wrote none; the sender's own, with another id
    "forged without the real one": (RECEIVED + passed("mx.example.com"), "active"),
    # the relay's header is about another domain
    "another domain": (passed(domain="mallory.example") + RECEIVED, "active"),
}


@pytest.mark.parametrize(("headers", "state"), CASES.values(), ids=CASES.keys())
def test_only_the_relays_headers_count(
    tmp_path: Path, db: Database, headers: str, state: str
) -> None:
    store = SubscriberStore(db)
    store.upsert("ann@example.com")
    box = make_maildir(tmp_path / "Maildir", [request("Ann <ann@example.com>", headers)])
    report = run(make_config(tmp_path, authserv_id=RELAY), db, box)
    assert store.by_email("ann@example.com").state == state  # type: ignore[union-attr]
    assert (report.handled, report.left) == ((1, 0) if state == "unsubscribed" else (0, 1))


def test_without_an_authserv_id_no_header_counts(tmp_path: Path, db: Database) -> None:
    store = SubscriberStore(db)
    store.upsert("ann@example.com")
    box = make_maildir(tmp_path / "Maildir", [request("ann@example.com", passed() + RECEIVED)])
    report = run(make_config(tmp_path), db, box)
    assert (report.handled, report.left) == (0, 1)
    assert store.by_email("ann@example.com").state == "active"  # type: ignore[union-attr]
    # The same mail read with the relay named is authenticated.
    data = request("ann@example.com", passed() + RECEIVED)
    assert read_report(data, UNSUBSCRIBE, authserv_id=RELAY).authenticated
    assert not read_report(data, UNSUBSCRIBE).authenticated


# --- through a real Postfix ------------------------------------------------------------------

# The relay's verdict, written the way a milter writes it: above Postfix's own Received
# line. The test's stand-in for a DKIM check: mail from the host that greets as
# mail.example.com passes, from other.example.com fails. Copies of the relay's header
# that arrive with a message are dropped (RFC 8601 section 5), as the docs tell.
VERDICT = f"PREPEND Authentication-Results: {RELAY}; dkim=%s header.d=example.com"
HEADER_CHECKS = f"""\
/^Authentication-Results:[[:space:]]*{RELAY.replace(".", "[.]")}([[:space:];]|$)/ IGNORE
/^Received: from mail[.]example[.]com / {VERDICT % "pass"}
/^Received: from other[.]example[.]com / {VERDICT % "fail"}
"""


@pytest.mark.slow
def test_forged_headers_through_postfix_unsubscribe_nobody(tmp_path: Path) -> None:
    with postfix_instance({"unsubscribe": "unsub"}) as postfix:
        conf = postfix.root / "conf"
        (conf / "header_checks").write_text(HEADER_CHECKS, encoding="utf-8")
        setting = f"header_checks = regexp:{conf / 'header_checks'}"
        subprocess.run(["postconf", "-c", str(conf), "-e", setting], check=True)
        subprocess.run([str(POSTFIX), "-c", str(conf), "reload"], check=True)
        time.sleep(1)  # the reload reaches the running smtpd
        address = f"unsubscribe@{DOMAIN}"
        mails = [
            # ann writes from her own host: the relay finds her signature
            ("mail.example.com", "ann@example.com", ""),
            # from another host, a sender forges the relay's header for bo: dropped
            ("mallory.example", "bo@example.com", passed()),
            # and one of another id for cy: kept by the relay, ignored by digest
            ("mallory.example", "cy@example.com", passed("mx.example.com")),
            # dee's host fails the check; the forged pass of both ids below it count not
            ("other.example.com", "dee@example.com", passed() + passed("mx.example.com")),
        ]
        for helo, sender, forged in mails:
            data = request(sender, forged, delivered=False).replace(
                UNSUBSCRIBE.encode(), address.encode()
            )
            with smtplib.SMTP("127.0.0.1", postfix.port, timeout=20, local_hostname=helo) as smtp:
                smtp.sendmail(sender, [address], data)
        delivered = postfix.wait_for("unsub", len(mails), timeout=60)
        assert len(delivered) == len(mails), postfix.log.read_text()[-3000:]

        config_path = tmp_path / "config.yaml"
        settings = {
            "data_dir": "data",
            "newsletter": {"unsubscribe_mailto": address},
            "delivery": {"bounces": {"maildir": str(postfix.maildir("unsub"))}},
        }
        config_path.write_text(yaml.safe_dump(settings), encoding="utf-8")
        config = load_config(config_path)
        with open_database(config.store_path) as db:
            for _, sender, _ in mails:
                SubscriberStore(db).upsert(sender)
        runner = CliRunner(env={"DIGEST_SECRET": KEY.decode(), "DIGEST_CONFIG": str(config_path)})
        # Without authserv_id, none of them counts, the real one included.
        unset = runner.invoke(main, ["bounces"])
        assert "4 read, 0 handled, 4 left" in unset.output, unset.output

        settings["delivery"]["bounces"]["authserv_id"] = RELAY  # type: ignore[index]
        config_path.write_text(yaml.safe_dump(settings), encoding="utf-8")
        result = runner.invoke(main, ["bounces"])
        assert result.exit_code == 0, result.output
        assert "4 read, 1 handled, 3 left" in result.output, result.output
        with open_database(config.store_path) as db:
            states = {s.email: s.state for s in SubscriberStore(db).all()}
        assert states == {
            "ann@example.com": "unsubscribed",
            "bo@example.com": "active",
            "cy@example.com": "active",
            "dee@example.com": "active",
        }
        # What digest read is what Postfix delivered: the relay's header over its Received.
        box = mailbox.Maildir(str(postfix.maildir("unsub")), create=False)
        kept = [box.get_bytes(k) for k in box.iterkeys()]
        assert all(m.count(f"Authentication-Results: {RELAY}".encode()) <= 1 for m in kept)
        dee = next(m for m in kept if b"From: dee@" in m)
        assert dee.index(b"dkim=fail") < dee.index(b"Received: from other.example.com")
