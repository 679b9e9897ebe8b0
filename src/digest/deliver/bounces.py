"""Read what comes back: bounces (RFC 3464 DSNs and older formats), complaints (RFC 5965
ARF reports) and mail to the unsubscribe address. Parsing only: whom a report names and
what it says; ``digest.pipeline.bounces`` decides what to do with it.

- A DSN's ``message/delivery-status`` blocks give each recipient's ``Action`` and
  ``Status``; other bounce formats (Exim, qmail, Exchange, ...) go to ``flufl.bounce``,
  Mailman's detector, which tells permanent from temporary failures.
- Hard or soft, by the status code (RFC 3463): ``5.x.x`` is hard, except a full mailbox
  (5.2.2), a message too big (5.3.4) and policy refusals (5.7.x: spam filters, blocks),
  which say nothing about the address and are soft like every ``4.x.x``. A delay notice
  (``Action: delayed``) is no bounce.
- The subscriber is named by the VERP address the report came back to (``Delivered-To``,
  ``X-Original-To``, ``To``; for a complaint also the report's ``Original-Mail-From`` and
  the returned message's ``Return-Path``), else by the addresses it names.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import Message
from email.parser import BytesParser, HeaderParser
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from typing import Literal

__all__ = [
    "MAX_MAIL_BYTES",
    "Failure",
    "MailReport",
    "bounce_kind",
    "read_report",
]

log = logging.getLogger(__name__)

MAX_MAIL_BYTES = 10_000_000  # a returned message larger than this is left for a person
MAX_PARTS = 200  # MIME parts looked at in one message
ReportKind = Literal["bounce", "delayed", "complaint", "unsubscribe", "other"]
BounceKind = Literal["hard", "soft"]
_SOFT_PERMANENT = ("5.2.2", "5.3.4")
_STATUS = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})")
# What follows "unsubscribe-" in the mailto subject (the unsubscribe token).
_UNSUBSCRIBE_TOKEN = re.compile(r"unsubscribe-([A-Za-z0-9._~-]{3,200})")
_RECIPIENT_HEADERS = ("delivered-to", "x-original-to", "to", "cc")


@dataclass(frozen=True)
class Failure:
    """One failed recipient of a bounce: the address it names and the status code."""

    address: str
    status: str
    kind: BounceKind


@dataclass(frozen=True)
class MailReport:
    """What one returned message is.

    ``recipients``: the addresses it was delivered to (one may be a VERP address);
    ``addresses``: the subscriber addresses it names (failed recipients, a complaint's
    original recipient, the sender of an unsubscribe request); ``tokens``: unsubscribe
    tokens it carries (the mailto subject, the returned message's ``List-Unsubscribe``).
    """

    kind: ReportKind
    recipients: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()
    failures: tuple[Failure, ...] = ()
    tokens: tuple[str, ...] = ()
    date: datetime | None = None
    automatic: bool = False  # Auto-Submitted other than "no" (RFC 3834)
    feedback_type: str = ""


def bounce_kind(status: str) -> BounceKind:
    """Hard or soft by an RFC 3463 status code (see the module's docstring)."""
    found = _STATUS.match(status.strip())
    if found is None or found.group(1) != "5":
        return "soft"
    code = ".".join(found.groups())
    if code in _SOFT_PERMANENT or found.group(2) == "7":
        return "soft"
    return "hard"


def _parts(message: Message) -> Iterator[Message]:
    for count, part in enumerate(message.walk()):
        if count >= MAX_PARTS:
            return
        yield part


def _addresses(values: list[str]) -> list[str]:
    return [a.strip().lower() for _, a in getaddresses(values) if "@" in a]


def _date(message: Message) -> datetime | None:
    try:
        value = message.get("date")
        moment = parsedate_to_datetime(str(value)) if value else None
    except (TypeError, ValueError, IndexError):
        return None
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _typed_address(value: object) -> str:
    """``rfc822; ann@example.org`` -> ``ann@example.org``."""
    text = str(value or "")
    _, _, address = text.partition(";") if ";" in text else ("", "", text)
    return parseaddr(address.strip())[1].strip().lower()


def _dsn_blocks(message: Message) -> Iterator[Message]:
    for part in _parts(message):
        if part.get_content_type() == "message/delivery-status":
            payload = part.get_payload()
            if isinstance(payload, list):
                yield from (p for p in payload[1:] if isinstance(p, Message))


def _from_dsn(message: Message) -> tuple[ReportKind, tuple[Failure, ...]] | None:
    failures: list[Failure] = []
    delayed = False
    seen = False
    for block in _dsn_blocks(message):
        seen = True
        action = str(block.get("action", "")).strip().lower()
        address = _typed_address(block.get("original-recipient")) or _typed_address(
            block.get("final-recipient")
        )
        status = str(block.get("status", "")).strip()[:20]
        if action.startswith(("failed", "error")):
            failures.append(Failure(address, status, bounce_kind(status) if status else "hard"))
        elif action.startswith("delayed"):
            delayed = True
    if failures:
        return "bounce", tuple(failures)
    if seen:
        return ("delayed" if delayed else "other"), ()
    return None


def _from_flufl(message: Message) -> tuple[Failure, ...]:
    # Deferred: flufl.bounce imports its 17 detectors; only `digest bounces` needs them.
    from flufl.bounce import all_failures

    try:
        temporary, permanent = all_failures(message)
    except Exception as exc:  # a heuristic detector choking on a strange message
        log.warning("flufl.bounce could not read a message: %s", exc)
        return ()

    def text(address: bytes | str) -> str:
        raw = address.decode("ascii", "replace") if isinstance(address, bytes) else address
        return raw.strip().lower()

    found = [Failure(text(a), "", "hard") for a in sorted(permanent)]
    found += [Failure(text(a), "", "soft") for a in sorted(temporary) if a not in permanent]
    return tuple(f for f in found if "@" in f.address)


def _feedback(message: Message) -> tuple[Message | None, Message | None]:
    """An ARF report's machine-readable part and the returned message (or its headers)."""
    report: Message | None = None
    original: Message | None = None
    for part in _parts(message):
        kind = part.get_content_type()
        if kind == "message/feedback-report":
            report = _headers_of(part)
        elif kind in ("message/rfc822", "text/rfc822-headers") and report is not None:
            original = _headers_of(part)
    return report, original


def _headers_of(part: Message) -> Message:
    """A ``message/*`` part's enclosed message, or a text part read as header lines."""
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        return payload[0]
    raw = part.get_payload(decode=True)
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(payload)
    return HeaderParser().parsestr(text)


def _tokens(*texts: str) -> tuple[str, ...]:
    found: list[str] = []
    for text in texts:
        found.extend(m.group(1) for m in _UNSUBSCRIBE_TOKEN.finditer(text))
    return tuple(dict.fromkeys(found))


def read_report(data: bytes, unsubscribe_address: str) -> MailReport:
    """What ``data`` (one message as received) is; ``other`` when it is none of the kinds
    digest handles (it is then left in the mailbox for a person)."""
    if len(data) > MAX_MAIL_BYTES:
        return MailReport("other")
    message = BytesParser(policy=policy.compat32).parsebytes(data)
    recipients = tuple(
        dict.fromkeys(
            _addresses([str(v) for h in _RECIPIENT_HEADERS for v in message.get_all(h, [])])
        )
    )
    date = _date(message)
    automatic = str(message.get("auto-submitted", "no")).strip().lower() not in ("", "no")
    content = message.get_content_type()
    report_type = str(message.get_param("report-type", "", header="content-type") or "").lower()
    if report_type == "feedback-report" or any(
        p.get_content_type() == "message/feedback-report" for p in _parts(message)
    ):
        report, original = _feedback(message)
        named: list[str] = []
        tokens: tuple[str, ...] = ()
        if report is not None:
            named += _addresses([str(report.get("original-rcpt-to", ""))])
            recipients += tuple(_addresses([str(report.get("original-mail-from", ""))]))
        if original is not None:
            recipients += tuple(_addresses([str(original.get("return-path", ""))]))
            named += _addresses([str(original.get("to", ""))])
            tokens = _tokens(str(original.get("list-unsubscribe", "")))
        kind = str(report.get("feedback-type", "abuse") if report is not None else "abuse")
        return MailReport(
            "complaint",
            recipients=recipients,
            addresses=tuple(dict.fromkeys(named)),
            tokens=tokens,
            date=date,
            automatic=True,
            feedback_type=kind.strip().lower()[:40],
        )
    if content == "multipart/report" or any(
        p.get_content_type() == "message/delivery-status" for p in _parts(message)
    ):
        dsn = _from_dsn(message)
        if dsn is not None:
            kind, failures = dsn
            return MailReport(
                kind,
                recipients=recipients,
                addresses=tuple(f.address for f in failures),
                failures=failures,
                date=date,
                automatic=True,
            )
    to_unsubscribe = unsubscribe_address.lower() in recipients
    tokens = _tokens(str(message.get("subject", "")))
    if to_unsubscribe or (tokens and not _looks_like_bounce(message)):
        sender = _addresses([str(message.get("from", ""))])
        return MailReport(
            "unsubscribe",
            recipients=recipients,
            addresses=tuple(sender[:1]),
            tokens=tokens,
            date=date,
            automatic=automatic,
        )
    failures = _from_flufl(message) if _looks_like_bounce(message) else ()
    if failures:
        return MailReport(
            "bounce",
            recipients=recipients,
            addresses=tuple(f.address for f in failures),
            failures=failures,
            date=date,
            automatic=True,
        )
    return MailReport("other", recipients=recipients, date=date, automatic=automatic)


def _looks_like_bounce(message: Message) -> bool:
    """A null sender or a mailer daemon: only then are the heuristic detectors asked."""
    return_path = str(message.get("return-path", "")).strip()
    sender = str(message.get("from", "")).lower()
    return return_path in ("<>", "") or "mailer-daemon" in sender or "postmaster" in sender
