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
- Evidence that a report is about a message we sent (``digest.pipeline.bounces`` acts
  only on that): the signed tokens and the ``Message-ID`` found in the *returned
  original* (``message/rfc822`` or ``text/rfc822-headers`` parts: our
  ``List-Unsubscribe`` and footer links carry tokens), and for a mail to the unsubscribe
  address whether the receiving relay's ``Authentication-Results`` says DKIM, SPF or
  DMARC passed for the ``From`` address's domain: only the topmost header(s) carrying the
  configured authserv-id (RFC 8601) are read, and without one nothing is.
- Every message is read under the bounds of ``MailLimits``: ``digest.inbound.shape``
  checks its size and structure line by line first; a message past a bound, or one the
  email package fails on, raises ``UnreadableMail``.
"""

from __future__ import annotations

import codecs
import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import Message
from email.parser import BytesParser, HeaderParser
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from typing import Literal

from digest.config import MailLimits
from digest.inbound.shape import UnreadableMail, check_shape

__all__ = [
    "Failure",
    "MailReport",
    "UnreadableMail",
    "authserv_id_of",
    "bounce_kind",
    "read_report",
]

log = logging.getLogger(__name__)

# The start of a message that flufl.bounce's detectors get: they scan every line with
# a dozen patterns (half a second a megabyte); a bounce says what failed at its top.
MAX_DETECTOR_BYTES = 256_000
MAX_SCAN_CHARS = 200_000  # text of a returned original (or a request) searched for tokens
MAX_ORIGINAL_IDS = 10  # Message-IDs of returned originals kept from one report
ReportKind = Literal["bounce", "delayed", "complaint", "unsubscribe", "other"]
BounceKind = Literal["hard", "soft"]
_SOFT_PERMANENT = ("5.2.2", "5.3.4")
_STATUS = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})")
# What follows "unsubscribe-" in the mailto subject (the unsubscribe token).
_UNSUBSCRIBE_TOKEN = re.compile(r"unsubscribe-([A-Za-z0-9._~-]{3,200})")
# A token in our links: /u/<token> (unsubscribe) and /p/<token> (preferences).
_LINK_TOKEN = re.compile(r"/[up]/([0-9]{1,18}\.[A-Za-z0-9_-]{24})(?![A-Za-z0-9_-])")
_MESSAGE_ID = re.compile(r"<[^<>\s]{1,250}>")
_AUTH_PASS = re.compile(r"\b(?:dkim|spf|dmarc)\s*=\s*pass\b([^;]*)", re.IGNORECASE)
_AUTH_DOMAIN = re.compile(
    r"\b(?:header\.d|header\.i|header\.from|smtp\.mailfrom)\s*=\s*\"?([^\s;\"]+)",
    re.IGNORECASE,
)
_COMMENT = re.compile(r"\([^()]*\)")
_RETURNED = ("message/rfc822", "text/rfc822-headers")
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
    tokens it carries (the mailto subject and body, the returned original's headers and
    text); ``original_ids``: the ``Message-ID`` of the returned original;
    ``authenticated``: an unsubscribe request whose ``From`` domain the relay authenticated.
    """

    kind: ReportKind
    recipients: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()
    failures: tuple[Failure, ...] = ()
    tokens: tuple[str, ...] = ()
    date: datetime | None = None
    automatic: bool = False  # Auto-Submitted other than "no" (RFC 3834)
    feedback_type: str = ""
    original_ids: tuple[str, ...] = ()
    authenticated: bool = False


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
    # Bounded: ``check_shape`` let through only messages of at most ``MailLimits.parts``
    # parts nested at most ``MailLimits.depth`` deep.
    yield from message.walk()


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


def _from_flufl(data: bytes) -> tuple[Failure, ...]:
    """The failures flufl.bounce finds in the first ``MAX_DETECTOR_BYTES`` of ``data`` (a
    prefix of a message within the bounds parses like the message, cut short)."""
    # Deferred: flufl.bounce imports its 17 detectors; only `digest bounces` needs them.
    from flufl.bounce import all_failures

    message = BytesParser(policy=policy.compat32).parsebytes(data[:MAX_DETECTOR_BYTES])
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
        found.extend(m.group(1) for m in _LINK_TOKEN.finditer(text))
    return tuple(dict.fromkeys(found))


def _text_of(message: Message, limit: int = MAX_SCAN_CHARS) -> str:
    """The text parts of ``message`` (decoded), at most ``limit`` characters."""
    pieces: list[str] = []
    size = 0
    for part in _parts(message):
        if part.get_content_maintype() != "text" or part.get_content_type() in _RETURNED:
            continue
        raw = part.get_payload(decode=True)
        if not isinstance(raw, bytes):
            continue
        text = _decoded(raw[: limit - size], part.get_content_charset())
        pieces.append(text)
        size += len(text)
        if size >= limit:
            break
    return "\n".join(pieces)[:limit]


def _decoded(raw: bytes, charset: str | None) -> str:
    """``raw`` in its declared charset, or UTF-8 when that is missing or unknown."""
    try:
        codec = codecs.lookup(charset or "utf-8").name
    except LookupError:
        codec = "utf-8"
    return raw.decode(codec, "replace")


def _returned_originals(message: Message) -> list[Message]:
    """The returned original messages (or their headers) a report encloses."""
    found: list[Message] = []
    for part in _parts(message):
        if part.get_content_type() in _RETURNED and part is not message:
            found.append(_headers_of(part))
    return found


def _evidence(message: Message) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Tokens and Message-IDs of the originals ``message`` returns: proof that it is
    about a message we sent (a sender of a forged report knows neither)."""
    tokens: list[str] = []
    ids: list[str] = []
    for original in _returned_originals(message):
        headers = " ".join(str(v) for k, v in original.items() if k.lower() != "received")
        tokens += _tokens(headers[:MAX_SCAN_CHARS], _text_of(original))
        for value in original.get_all("message-id", []):
            ids += [m.group(0) for m in _MESSAGE_ID.finditer(str(value))]
    return tuple(dict.fromkeys(tokens)), tuple(dict.fromkeys(ids))[:MAX_ORIGINAL_IDS]


def authserv_id_of(value: str) -> str:
    """The authserv-id an ``Authentication-Results`` value starts with (RFC 8601 section
    2.2: before the first ``;``, comments and the version aside), lower-case."""
    head = value.partition(";")[0]
    for _ in range(3):  # comments nested up to three deep (the shape check bounds them)
        head = _COMMENT.sub(" ", head)
    words = head.split()
    return words[0].strip('"').rstrip(".").lower() if words else ""


def _relay_results(message: Message, authserv_id: str) -> list[str]:
    """The ``Authentication-Results`` the receiving relay wrote: the topmost header
    carrying ``authserv_id`` and those right below it, up to a header with another id or
    the next ``Received`` line (what lies below came with the message; RFC 8601 section
    5). Headers above with other ids (a later hop's) are passed over."""
    wanted = authserv_id.strip().rstrip(".").lower()
    found: list[str] = []
    for name, value in message.items():
        field = name.strip().lower()
        if field == "authentication-results":
            if authserv_id_of(str(value)) == wanted:
                found.append(str(value))
            elif found:
                break
        elif field == "received" and found:
            break
    return found


def _authenticated(message: Message, sender: str, authserv_id: str | None) -> bool:
    """Whether the receiving relay (``authserv_id``) says DKIM, SPF or DMARC passed for
    ``sender``'s domain; never without an ``authserv_id``."""
    domain = sender.rpartition("@")[2].lower()
    if not domain or not authserv_id:
        return False
    for results in _relay_results(message, authserv_id):
        for passed in _AUTH_PASS.finditer(results):
            for value in _AUTH_DOMAIN.finditer(passed.group(1)):
                if value.group(1).rpartition("@")[2].lower().rstrip(".") == domain:
                    return True
    return False


def read_report(
    data: bytes,
    unsubscribe_address: str,
    *,
    limits: MailLimits | None = None,
    authserv_id: str | None = None,
) -> MailReport:
    """What ``data`` (one message as received) is; ``other`` when it is none of the kinds
    digest handles (it is then left in the mailbox for a person). ``UnreadableMail`` when
    it passes a bound of ``limits`` or cannot be parsed. ``authserv_id``: the receiving
    relay's, whose ``Authentication-Results`` alone count (None: none do)."""
    limits = limits or MailLimits()
    deadline = time.monotonic() + limits.seconds
    check_shape(data, limits, deadline=deadline)
    try:
        message = BytesParser(policy=policy.compat32).parsebytes(data)
        report = _read(message, data, unsubscribe_address, authserv_id)
    except RecursionError as exc:  # a structure the shape check did not foresee
        raise UnreadableMail("nested too deep for the email package") from exc
    except (LookupError, ValueError, TypeError, IndexError) as exc:
        raise UnreadableMail(f"the email package cannot read it ({exc!r:.200})") from exc
    if time.monotonic() > deadline:
        raise UnreadableMail(f"not read within {limits.seconds:g} s")
    return report


def _read(
    message: Message, data: bytes, unsubscribe_address: str, authserv_id: str | None
) -> MailReport:
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
        tokens, ids = _evidence(message)
        kind = str(report.get("feedback-type", "abuse") if report is not None else "abuse")
        return MailReport(
            "complaint",
            recipients=recipients,
            addresses=tuple(dict.fromkeys(named)),
            tokens=tokens,
            date=date,
            automatic=True,
            feedback_type=kind.strip().lower()[:40],
            original_ids=ids,
        )
    if content == "multipart/report" or any(
        p.get_content_type() == "message/delivery-status" for p in _parts(message)
    ):
        dsn = _from_dsn(message)
        if dsn is not None:
            kind, failures = dsn
            tokens, ids = _evidence(message)
            return MailReport(
                kind,
                recipients=recipients,
                addresses=tuple(f.address for f in failures),
                failures=failures,
                tokens=tokens,
                date=date,
                automatic=True,
                original_ids=ids,
            )
    to_unsubscribe = unsubscribe_address.lower() in recipients
    tokens = _tokens(str(message.get("subject", "")))
    if to_unsubscribe or (tokens and not _looks_like_bounce(message)):
        sender = _addresses([str(message.get("from", ""))])[:1]
        if to_unsubscribe:
            tokens = tuple(dict.fromkeys(tokens + _tokens(_text_of(message))))
        return MailReport(
            "unsubscribe",
            recipients=recipients,
            addresses=tuple(sender),
            tokens=tokens,
            date=date,
            automatic=automatic,
            authenticated=bool(sender) and _authenticated(message, sender[0], authserv_id),
        )
    failures = _from_flufl(data) if _looks_like_bounce(message) else ()
    if failures:
        tokens, ids = _evidence(message)
        return MailReport(
            "bounce",
            recipients=recipients,
            addresses=tuple(f.address for f in failures),
            failures=failures,
            tokens=tokens,
            date=date,
            automatic=True,
            original_ids=ids,
        )
    return MailReport("other", recipients=recipients, date=date, automatic=automatic)


def _looks_like_bounce(message: Message) -> bool:
    """A null sender or a mailer daemon: only then are the heuristic detectors asked."""
    return_path = str(message.get("return-path", "")).strip()
    sender = str(message.get("from", "")).lower()
    return return_path in ("<>", "") or "mailer-daemon" in sender or "postmaster" in sender
