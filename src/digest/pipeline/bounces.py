"""``digest bounces``: act on bounces, complaints and mailto unsubscribes in a mailbox.

For each message of the Maildir (``delivery.bounces.maildir``) or IMAP folder
(``delivery.bounces.imap``):

1. read it (``digest.inbound.bounces.read_report``) under the bounds of
   ``delivery.bounces.limits``: a bounce, a delay notice, a complaint, an unsubscribe
   request, or something else. A message past a bound (size, nesting, parts, header
   length, time) or that cannot be parsed is moved to ``digest-unreadable``, counted, and
   named in one warning line; the run goes on with the next;
2. find its subscriber, only on evidence that it is about a message we really sent
   them (the addresses a report names are unsigned: anyone can mail the mailbox a fake
   complaint or DSN naming a subscriber): the VERP return path it came back to
   (verified), else a signed token it carries (the mailto subject, or the returned
   original's ``List-Unsubscribe`` and footer links; verified), else an address it names
   whose subscriber the ledger records the returned original's ``Message-ID`` for. A
   mail to the unsubscribe address without a token counts for its ``From`` address only
   when the receiving relay's ``Authentication-Results`` (the topmost carrying
   ``delivery.bounces.authserv_id``; without that setting, never) says that address's
   domain passed DKIM, SPF or DMARC. A report without evidence is logged and left in the
   mailbox;
3. act: a hard bounce counts towards ``hard_limit`` and a soft one adds to a decaying
   score (``soft_threshold``, ``soft_half_life_days``); either limit reached suppresses an
   active address. A complaint suppresses (no more mail, and an import cannot bring it
   back); an unsubscribe request unsubscribes. A request by address alone (no token) is
   ignored when it is an automatic reply (RFC 3834 ``Auto-Submitted``);
4. record the message as handled (by the SHA-256 of its bytes) in the same transaction
   and move it into the handled folder. A message that names no subscriber, or that is
   none of these kinds, stays where it is for a person.

A re-run changes nothing: a message handled before is only moved aside again (had the
move failed), and each (subscriber, message) event counts once. A mailbox that cannot be
opened or read, or a store that fails, stops the handling of that mailbox with one
warning line (``process_bounces``; the daily job then sends as usual), or, when asked
to be strict (``digest bounces``), with its error.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from digest.config import Config, secret
from digest.errors import ConfigError, DeliveryError, DigestError
from digest.inbound.bounces import MailReport, UnreadableMail, read_report
from digest.inbound.mailbox import (
    UNREADABLE_FOLDER,
    ImapSource,
    InboundMail,
    MaildirSource,
    MailSource,
)
from digest.models import Subscriber
from digest.progress import Progress
from digest.signed import read_token, read_verp, verify_token, verify_verp
from digest.store import Database
from digest.store.bounces import BounceStore
from digest.store.subscribers import SubscriberStore

__all__ = ["BounceReport", "handle_message", "mail_sources", "process_bounces"]

log = logging.getLogger(__name__)


@dataclass
class BounceReport:
    read: int = 0
    handled: int = 0
    already: int = 0  # handled by an earlier run (moved aside again)
    left: int = 0  # not ours to act on: left in the mailbox
    hard: int = 0
    soft: int = 0
    delayed: int = 0
    complaints: int = 0
    unsubscribed: int = 0
    suppressed: list[str] = field(default_factory=list)
    unreadable: int = 0  # past a bound or not parseable: moved to digest-unreadable
    failures: list[str] = field(default_factory=list)  # mailboxes whose handling stopped

    def summary(self) -> str:
        text = (
            f"{self.read} read, {self.handled} handled, {self.left} left:"
            f" {self.hard} hard and {self.soft} soft bounces, {self.complaints}"
            f" complaint{'s' if self.complaints != 1 else ''}, {self.unsubscribed}"
            f" unsubscribed, {len(self.suppressed)} suppressed"
        )
        if self.already:
            text += f", {self.already} handled before"
        if self.unreadable:
            text += f", {self.unreadable} unreadable (moved to {UNREADABLE_FOLDER})"
        if self.failures:
            text += f"; {len(self.failures)} mailbox{'es' if len(self.failures) > 1 else ''}"
            text += " not read to the end"
        return text


def _subscribers_of(
    report: MailReport, store: SubscriberStore, key: bytes, bounce_address: str | None
) -> tuple[list[Subscriber], bool]:
    """Who the report is about, and whether a signed value (VERP, token) said so."""
    if bounce_address:
        for recipient in report.recipients:
            claim = read_verp(recipient, bounce_address)
            if claim is None:
                continue
            found = store.get(claim[0])
            if found is not None and verify_verp(key, claim[1], found.id, found.email):
                return [found], True
            log.warning("a VERP address that does not verify: %s", recipient)
    for token in report.tokens:
        subscriber_id = read_token(token)
        found = store.get(subscriber_id) if subscriber_id is not None else None
        if found is not None and verify_token(key, token, found.email, found.token_version):
            return [found], True
    named = [store.by_email(a) for a in dict.fromkeys(report.addresses) if a]
    found_named = [s for s in named if s is not None]
    if report.kind == "unsubscribe":
        # By the From address alone: only when the relay authenticated its domain.
        return (found_named if report.authenticated else []), False
    if not report.original_ids:
        return [], False
    bounces = BounceStore(store.db)
    return [s for s in found_named if bounces.sent_to(s.id, report.original_ids)], False


def _when(report: MailReport, now: datetime) -> datetime:
    if report.date is None or report.date > now:
        return now
    return report.date


def handle_message(
    config: Config,
    db: Database,
    key: bytes,
    data: bytes,
    report_to: BounceReport,
    *,
    now: datetime | None = None,
) -> bool:
    """Act on one message; whether it was handled (then it is to be moved aside).
    ``UnreadableMail`` when it passes a bound of ``delivery.bounces.limits`` or cannot be
    read (then it is to be moved to ``digest-unreadable``)."""
    now = now or datetime.now(UTC)
    message_key = hashlib.sha256(data).hexdigest()
    bounces = BounceStore(db)
    if bounces.handled(message_key) is not None:
        report_to.already += 1
        return True
    options = config.delivery.bounces
    try:
        report = read_report(
            data,
            config.newsletter.unsubscribe_mailto,
            limits=options.limits,
            authserv_id=options.authserv_id,
        )
    except UnreadableMail:
        raise
    except Exception as exc:
        # A library's fault on one strange message (flufl.bounce's detectors, the email
        # package) must not hold up the mailbox: that message is set aside, with the cause.
        raise UnreadableMail(f"{type(exc).__name__}: {exc}"[:300]) from exc
    if report.kind == "other":
        return False
    store = SubscriberStore(db)
    if report.kind == "delayed":
        with db.transaction():
            bounces.mark_handled(message_key, "delayed")
        report_to.delayed += 1
        return True
    subscribers, signed = _subscribers_of(report, store, key, config.newsletter.bounce_address)
    if not subscribers:
        log.info(
            "a %s without evidence that it is about a message sent to a subscriber (no"
            " verified VERP address or token, no Message-ID of ours): left in the mailbox",
            report.kind,
        )
        return False
    if report.kind == "unsubscribe" and report.automatic and not signed:
        log.info("an automatic reply to the unsubscribe address: left in the mailbox")
        return False
    when = _when(report, now)
    with db.transaction():
        for subscriber in subscribers:
            _act(config, db, report, subscriber, signed, message_key, when, report_to)
        bounces.mark_handled(message_key, report.kind)
    return True


def _act(
    config: Config,
    db: Database,
    report: MailReport,
    subscriber: Subscriber,
    signed: bool,
    message_key: str,
    when: datetime,
    counts: BounceReport,
) -> None:
    options = config.delivery.bounces
    store, bounces = SubscriberStore(db), BounceStore(db)
    if report.kind == "complaint":
        if bounces.record(
            subscriber.id, message_key, "complaint", report.feedback_type, when,
            half_life_days=options.soft_half_life_days,
        ) is not None:  # fmt: skip
            counts.complaints += 1
            if store.set_state(subscriber.id, "suppressed"):
                counts.suppressed.append(subscriber.email)
        return
    if report.kind == "unsubscribe":
        if bounces.record(
            subscriber.id, message_key, "unsubscribe", "mailto", when,
            half_life_days=options.soft_half_life_days,
        ) is not None and store.unsubscribe(subscriber.id):  # fmt: skip
            counts.unsubscribed += 1
        return
    # A bounce: with a VERP address every failure is this subscriber's (a forwarder may
    # name another address); otherwise only the failures naming their address.
    failures = [f for f in report.failures if signed or f.address == subscriber.email.lower()]
    if not failures:
        return
    hard = [f for f in failures if f.kind == "hard"]
    worst = hard[0] if hard else failures[0]
    score = bounces.record(
        subscriber.id,
        message_key,
        worst.kind,
        worst.status,
        when,
        half_life_days=options.soft_half_life_days,
    )
    if score is None:
        return
    if worst.kind == "hard":
        counts.hard += 1
    else:
        counts.soft += 1
    over = score.hard >= options.hard_limit or score.score >= options.soft_threshold
    if over and subscriber.state == "active" and store.set_state(subscriber.id, "suppressed"):
        log.info("suppressed %s after %s bounce %s", subscriber.email, worst.kind, worst.status)
        counts.suppressed.append(subscriber.email)


class _OpenedOnRead:
    """A mailbox opened when it is first read: failing to open it (no Maildir there, a
    refused login) is then a failure of ``process_bounces``, which the daily job survives,
    rather than an error before it."""

    def __init__(self, name: str, opener: Callable[[], MailSource]) -> None:
        self.name = name
        self._opener = opener
        self._source: MailSource | None = None

    def messages(self) -> Iterator[InboundMail]:
        self._source = self._opener()
        self.name = self._source.name
        yield from self._source.messages()

    def move_aside(self, key: str, folder: str | None = None) -> None:
        if self._source is None:
            raise DeliveryError(f"{self.name}: not open")
        self._source.move_aside(key, folder)

    def close(self) -> None:
        if self._source is not None:
            self._source.close()


def mail_sources(
    config: Config, *, maildir: str | None = None, imap: bool | None = None
) -> list[MailSource]:
    """The configured mailboxes (or the Maildir given), each opened when first read."""
    options = config.delivery.bounces
    limit = options.limits.message_bytes
    sources: list[MailSource] = []
    folder = maildir or options.maildir
    if folder:
        path = config.resolve(folder)

        def open_maildir() -> MailSource:
            return MaildirSource(path, options.handled_folder, max_bytes=limit)

        sources.append(_OpenedOnRead(str(path), open_maildir))
    use_imap = bool(options.imap.host) if imap is None else imap
    if use_imap:

        def open_imap() -> MailSource:
            password = secret(options.imap.password_env)
            if password is None:
                raise ConfigError(
                    f"${options.imap.password_env} is not set: it holds the IMAP password of"
                    " delivery.bounces.imap"
                )
            ca = config.resolve(options.imap.ca_file) if options.imap.ca_file else None
            return ImapSource(
                options.imap, password, options.handled_folder, ca_file=ca, max_bytes=limit
            )

        name = f"imaps://{options.imap.host}:{options.imap.port}/{options.imap.folder}"
        sources.append(_OpenedOnRead(name, open_imap))
    if not sources:
        raise ConfigError(
            "no mailbox to read: set delivery.bounces.maildir or delivery.bounces.imap.host"
            " (or give --maildir)"
        )
    return sources


def _set_aside(source: MailSource, mail: InboundMail, reason: str, report: BounceReport) -> None:
    """Move a message that cannot be read to ``digest-unreadable``: one warning line."""
    report.unreadable += 1
    try:
        source.move_aside(mail.key, UNREADABLE_FOLDER)
    except DeliveryError as exc:
        log.warning("%s: unreadable message %s stays (%s): %s", source.name, mail.key, reason, exc)
        return
    log.warning("%s: message %s moved to %s: %s", source.name, mail.key, UNREADABLE_FOLDER, reason)


def _read_source(
    config: Config,
    db: Database,
    key: bytes,
    source: MailSource,
    report: BounceReport,
    progress: Progress | None,
    now: datetime | None,
) -> None:
    limits = config.delivery.bounces.limits
    for mail in source.messages():
        report.read += 1
        if mail.data is None:
            _set_aside(source, mail, f"larger than {limits.message_bytes:,} bytes", report)
            continue
        before = report.already
        try:
            handled = handle_message(config, db, key, mail.data, report, now=now)
        except UnreadableMail as exc:
            _set_aside(source, mail, str(exc), report)
            continue
        if not handled:
            report.left += 1
            continue
        if report.already == before:
            report.handled += 1
        try:
            source.move_aside(mail.key)
        except DeliveryError as exc:
            # Recorded as handled: the next run moves it and changes nothing.
            log.warning("%s", exc)
        if progress:
            progress("bounces", report.read, 0, source.name)


def process_bounces(
    config: Config,
    db: Database,
    key: bytes,
    sources: Iterable[MailSource],
    *,
    progress: Progress | None = None,
    now: datetime | None = None,
    strict: bool = False,
) -> BounceReport:
    """Read every message of ``sources``, act on those that are ours, move them aside.

    Never raises for a mailbox that fails (cannot be opened or read, a store error on the
    way): that mailbox's handling stops with one warning line and ``failures`` names it,
    so that the daily job goes on to send. ``strict``: raise it instead, as a
    ``DigestError`` (``digest bounces``)."""
    report = BounceReport()
    for source in sources:
        try:
            _read_source(config, db, key, source, report, progress, now)
        except Exception as exc:
            # The daily job must send whatever befell the mailbox: a mailbox that cannot be
            # read is a warning with its cause, here and in `failures`, not a stop.
            known = isinstance(exc, DigestError)
            cause = str(exc) if known else f"{type(exc).__name__}: {exc}"
            if strict and known:
                raise
            if strict:
                raise DeliveryError(f"{source.name}: {cause}") from exc
            report.failures.append(cause)
            log.warning("bounce handling stopped for %s: %s", source.name, cause)
        finally:
            try:
                source.close()
            except DigestError as exc:
                log.warning("%s", exc)
    return report
