"""Double opt-in: a sign-up request, its confirmation mail, and the confirmation.

``request_signup`` records the address as pending (what it asked for, until
``server.signup.confirm_hours`` from now) and says whether to mail it a confirmation
link; it never says what state the address was in, so that the form's answer is the same
for everyone. No mail goes to an address that is already active or suppressed (after hard
bounces or a complaint), and at most ``mails_per_address_per_day`` go to any one address.
Each request that is mailed a link is kept on its own (``SignupRequestRecord``, named by
its link's expiry): anyone can post an address, so no request decides what another's link
confirms, and ``signup_to_confirm`` tells the confirmation page what its link asked for.
``confirm_signup`` checks the signed, expiring token, makes the address an active
subscriber (an unsubscribed one too: they asked again and confirmed) with what that link's
request asked, records the consent (time, method, the form's page and the topics chosen)
and forgets the address's other requests.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, formataddr, make_msgid
from pathlib import Path

from digest.config import Config
from digest.deliver import SendReply, Transport, transport_factory
from digest.errors import DeliveryError, SubscriberError
from digest.models import OutgoingMessage, Subscriber
from digest.publish.i18n import localizer
from digest.publish.strings import text
from digest.signed import make_confirm_token, read_confirm_token
from digest.store import Database
from digest.store.consent import Consent, ConsentStore, PendingSignup, SignupRequestRecord
from digest.store.subscribers import SubscriberStore
from digest.subscribers import InvalidValue, clean_topics, normalize_email

__all__ = [
    "MAX_SOURCE_CHARS",
    "ConfirmPendingReport",
    "SignupRefused",
    "SignupRequest",
    "check_signup",
    "confirm_pending",
    "confirm_signup",
    "confirmation_mail",
    "confirmation_texts",
    "confirmation_url",
    "request_signup",
    "send_confirmation",
    "signup_to_confirm",
]

log = logging.getLogger(__name__)

MAX_SOURCE_CHARS = 200
# States that get no confirmation mail: already subscribed, or not to be mailed at all
# (suppressed after hard bounces or a complaint).
_NO_CONFIRMATION = ("active", "suppressed")


@dataclass(frozen=True)
class SignupRequest:
    """A recorded request: the normalised address and, when one is to be sent, the token
    of the confirmation mail (None: no mail, whatever the reason)."""

    email: str
    token: str | None


class SignupRefused(SubscriberError):
    """A sign-up with an address or topics that are not valid; ``reason`` says what is
    wrong, in words the form may show (the value itself left out)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"sign-up refused: {reason}")
        self.reason = reason


def _source(raw: str) -> str:
    text = " ".join(raw.split())
    return "".join(c for c in text if c.isprintable())[:MAX_SOURCE_CHARS]


def check_signup(email: str, topics: str = "") -> tuple[str, tuple[str, ...]]:
    """The normalised address and topics of a request; ``SignupRefused`` for values that
    are not valid. It reads nothing stored: the form may answer from it alone."""
    try:
        return normalize_email(email), clean_topics(topics)
    except InvalidValue as exc:
        raise SignupRefused(exc.reason) from exc


def request_signup(
    config: Config,
    db: Database,
    key: bytes,
    email: str,
    *,
    topics: str = "",
    source: str = "",
    now: datetime | None = None,
) -> SignupRequest:
    """Record a sign-up request; ``SignupRefused`` for an address or topics that are not
    valid (its ``reason`` is the only thing the form may say about it)."""
    now = now or datetime.now(UTC)
    address, chosen = check_signup(email, topics)
    consents, subscribers = ConsentStore(db), SubscriberStore(db)
    with db.transaction():
        consents.expire(now)
        existing = subscribers.by_email(address)
        if existing is not None and existing.state in _NO_CONFIRMATION:
            return SignupRequest(address, None)
        pending = consents.pending(address)  # live: expired ones were purged above
        window, mails, send = _allowance(config, pending, now)
        if not send:
            if pending is not None:
                consents.put_pending(replace(pending, mails=mails, window_start=window))
            log.info("sign-up: no confirmation mail (the address's daily limit is reached)")
            return SignupRequest(address, None)
        expires = _keep_request(config, consents, address, chosen, _source(source), now)
        expires_at = datetime.fromtimestamp(expires, UTC)
        # The address's row counts its mails (the daily limit) and lives as long as its
        # latest link; an imported row keeps what the file gave.
        base = pending or PendingSignup(address, chosen, _source(source), now, now, 0, window)
        consents.put_pending(
            replace(
                base,
                expires_at=max(base.expires_at, expires_at),
                mails=mails + 1,
                window_start=window,
            )
        )
    return SignupRequest(address, make_confirm_token(key, address, expires))


def _keep_request(
    config: Config,
    consents: ConsentStore,
    address: str,
    topics: tuple[str, ...],
    source: str,
    now: datetime,
) -> int:
    """Keep a request that is mailed a link; its link's expiry (seconds since the epoch),
    which names it: one second later than the address's latest, should two requests come
    in the same second."""
    expires = int((now + timedelta(hours=config.server.signup.confirm_hours)).timestamp())
    latest = consents.latest_request(address)
    if latest is not None and expires <= latest:
        expires = latest + 1
    expires_at = datetime.fromtimestamp(expires, UTC)
    consents.put_request(SignupRequestRecord(address, expires, topics, source, now, expires_at))
    return expires


def _allowance(
    config: Config, pending: PendingSignup | None, now: datetime
) -> tuple[datetime, int, bool]:
    """The per-address limit: the current window's start, the mails sent in it, and
    whether one more may go (``server.signup.mails_per_address_per_day``)."""
    window = pending.window_start if pending else now
    mails = pending.mails if pending else 0
    if now - window >= timedelta(days=1):
        window, mails = now, 0
    return window, mails, mails < config.server.signup.mails_per_address_per_day


def confirmation_texts(config: Config, email: str, link: str) -> tuple[str, str]:
    """The confirmation mail's subject and body in ``newsletter.language``."""
    nl = config.newsletter
    hours = f"{config.server.signup.confirm_hours:g}"
    values = {"title": nl.title, "hours": hours, "email": email, "link": link}
    return text(nl.language, "mail_subject", **values), text(nl.language, "mail_body", **values)


@dataclass
class ConfirmPendingReport:
    """``digest subscribers confirm-pending``: confirmation mails sent (or, on a dry run,
    to be sent), failed at the transport, and held back by the per-address limit."""

    sent: int = 0
    failed: int = 0
    limited: int = 0
    dry_run: bool = False

    def summary(self) -> str:
        verb = "would be sent" if self.dry_run else "sent"
        noun = "mail" if self.sent == 1 else "mails"
        text = f"{self.sent} confirmation {noun} {verb}"
        if self.failed:
            text += f", {self.failed} failed"
        if self.limited:
            text += f", {self.limited} held back by the per-address daily limit"
        return text


def confirm_pending(
    config: Config,
    db: Database,
    key: bytes,
    *,
    dry_run: bool = False,
    now: datetime | None = None,
) -> ConfirmPendingReport:
    """Send the double opt-in confirmation to every pending sign-up never mailed one (the
    rows ``subscribers import`` kept without a consent date): the same signed token,
    expiring ``server.signup.confirm_hours`` from now (the pending row with it),
    the same per-address limit, the same mail as the form's. An address that became
    active meanwhile is dropped from the pending list, not mailed. A dry run counts the
    mails and changes nothing. Confirming works as for the form (``confirm_signup``)."""
    now = now or datetime.now(UTC)
    report = ConfirmPendingReport(dry_run=dry_run)
    consents, subscribers = ConsentStore(db), SubscriberStore(db)
    if not dry_run:
        consents.expire(now)
    connect, _ = _transports(config)
    transport: Transport | None = None
    try:
        for pending in list(consents.unmailed()):
            if pending.expires_at < now:
                continue  # expired: purged by a real run
            existing = subscribers.by_email(pending.email)
            if existing is not None and existing.state in _NO_CONFIRMATION:
                if not dry_run:
                    consents.drop_pending(pending.email)
                continue
            window, mails, send = _allowance(config, pending, now)
            if not send:
                report.limited += 1
                continue
            if dry_run:
                report.sent += 1
                continue
            # As for the form: the request is kept on its own, named by its link (a form
            # request for the address later confirms only what it asked), the row lives
            # as long as the link, and the mail counts in the address's window.
            expires = _keep_request(
                config, consents, pending.email, pending.topics, pending.source, now
            )
            consents.put_pending(
                replace(
                    pending,
                    expires_at=datetime.fromtimestamp(expires, UTC),
                    mails=mails + 1,
                    window_start=window,
                )
            )
            token = make_confirm_token(key, pending.email, expires)
            subject, body = confirmation_texts(
                config, pending.email, confirmation_url(config, token)
            )
            message = confirmation_mail(config, pending.email, token, subject, body)
            try:
                transport = transport or connect()
                reply = transport.send(message)
            except DeliveryError as exc:
                log.warning("confirm-pending: %s: not sent: %s", pending.email, exc)
                report.failed += 1
                if transport is not None:
                    transport.close()
                transport = None
                continue
            if 200 <= reply.code < 300:
                report.sent += 1
            else:
                log.warning("confirm-pending: %s: %d %s", pending.email, reply.code, reply.text)
                report.failed += 1
    finally:
        if transport is not None:
            transport.close()
    return report


def confirmation_url(config: Config, token: str) -> str:
    return f"{config.newsletter.base_url.rstrip('/')}/subscribe/confirm/{token}"


def confirmation_mail(
    config: Config, email: str, token: str, subject: str, body: str
) -> OutgoingMessage:
    """The confirmation mail: plain text, the link on a line of its own."""
    nl = config.newsletter
    message = EmailMessage(policy=SMTP_POLICY)
    message["From"] = formataddr((nl.sender_name, nl.from_address))
    message["To"] = email
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(UTC))
    domain = nl.from_address.rpartition("@")[2]
    message_id = make_msgid("confirm", domain=domain)
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
    message.set_content(body)
    # After set_content, which clears every Content-* header it finds.
    message["Content-Language"] = localizer(nl.language, nl.direction).tag
    return OutgoingMessage(
        message_id=message_id,
        mail_from=nl.from_address,
        rcpt_to=email,
        data=message.as_bytes(),
    )


def send_confirmation(config: Config, message: OutgoingMessage) -> SendReply | None:
    """Hand the mail to the configured transport; None (logged) when it failed, since the
    person at the form must not learn more than "check your inbox"."""
    try:
        connect, _ = _transports(config)
        transport = connect()
        try:
            return transport.send(message)
        finally:
            transport.close()
    except DeliveryError as exc:
        log.warning("sign-up: the confirmation mail was not sent: %s", exc)
        return None


def signup_to_confirm(
    db: Database, key: bytes, token: str, *, now: datetime | None = None
) -> PendingSignup | None:
    """What the link ``token`` would confirm (its address, topics and source), or None
    when the token is invalid or expired, or its request is gone."""
    now = now or datetime.now(UTC)
    request = read_confirm_token(key, token, now.timestamp())
    if request is None:
        return None
    return _request_of(ConsentStore(db), request.email, request.expires)


def _request_of(consents: ConsentStore, email: str, expires: int) -> PendingSignup | None:
    """The request a link names: a form request kept on its own, else the address's
    pending row when the link is the one ``confirm_pending`` mailed for it."""
    asked = consents.request(email, expires)
    pending = consents.pending(email)
    if asked is not None and pending is not None:
        return replace(pending, topics=asked.topics, source=asked.source)
    if asked is not None:
        return PendingSignup(
            asked.email, asked.topics, asked.source, asked.requested_at, asked.expires_at, 1,
            asked.requested_at,
        )  # fmt: skip
    if pending is not None and int(pending.expires_at.timestamp()) == expires:
        return pending
    return None


def confirm_signup(
    config: Config, db: Database, key: bytes, token: str, *, now: datetime | None = None
) -> Subscriber | None:
    """Confirm a sign-up with what the link's own request asked; the active subscriber,
    or None when the token is invalid or expired, or the request is gone (expired and
    purged, or a link of an earlier request). Confirming twice is harmless."""
    now = now or datetime.now(UTC)
    request = read_confirm_token(key, token, now.timestamp())
    if request is None:
        return None
    consents, subscribers = ConsentStore(db), SubscriberStore(db)
    with db.transaction():
        pending = _request_of(consents, request.email, request.expires)
        if pending is None:
            existing = subscribers.by_email(request.email)
            if existing is not None and existing.state == "active":
                return existing  # confirmed before (the button pressed twice)
            return None
        try:
            subscriber, _ = subscribers.upsert(
                pending.email,
                topics=pending.topics or None,
                state="active",
                reactivate=True,
            )
        except SubscriberError:  # pragma: no cover - the address was checked when stored
            return None
        consents.put(
            Consent(
                subscriber_id=subscriber.id,
                consented_at=now,
                method="double-opt-in",
                source=pending.source,
                topics=pending.topics,
            )
        )
        consents.drop_pending(pending.email)
    log.info("sign-up confirmed: subscriber %d", subscriber.id)
    return subscriber


def _transports(config: Config) -> tuple[Callable[[], Transport], Path | None]:
    """The configured transport; with the outbox one, the mails go to ``<outbox>/signup``."""
    outbox = config.data_path / config.delivery.outbox / "signup"
    return transport_factory(config.delivery, outbox, base_dir=config.base_dir)
