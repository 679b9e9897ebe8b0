"""One subscriber's message, assembled from parts prepared once per edition.

Building a MIME message from scratch with the ``email`` package costs milliseconds; a list
of 100,000 would spend minutes on it. ``MessageFactory`` does the expensive work once per
edition: it checks and folds the shared headers, and quoted-printable encodes the HTML and
text *around* their per-subscriber slots (``digest.publish.render``), each piece ending on a line
break. Per subscriber it only encodes the few slot values (name, unsubscribe link,
view-in-browser link), computes the ``Message-ID`` and the unsubscribe token (two HMACs)
and joins byte strings. Quoted-printable is a line format, so pieces that each end on a
(soft) line break concatenate into a valid body.

The message: ``multipart/alternative`` with the text first and the HTML last, CRLF line
endings, no line over 76 characters in the bodies, headers encoded per RFC 2047 where
they are not ASCII, ``List-Unsubscribe`` (https and mailto) with
``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (RFC 8058), and optionally a DKIM
signature (``digest.publish.signing``: dkimpy's canonicalisation, OpenSSL's RSA or
Ed25519) that covers both. A header value with CR or LF is refused
(``DeliveryError``): such a message is never built, so it is never sent.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.header import Header
from email.utils import format_datetime, formataddr
from pathlib import Path

from digest.config import DkimOptions, NewsletterOptions
from digest.errors import ConfigError, DeliveryError, RenderError
from digest.models import OutgoingMessage, RenderedEdition, Subscriber
from digest.publish.i18n import localizer
from digest.publish.render import SlotValue, archive_url, slot_values, split_slots
from digest.publish.signing import DkimSigner
from digest.signed import make_preferences_token, make_token, verp_address

__all__ = ["DKIM_HEADERS", "MessageFactory", "archive_url", "preferences_url", "unsubscribe_url"]

CRLF = b"\r\n"
SOFT_BREAK = b"=\r\n"
# The headers a DKIM signature covers; RFC 8058 requires the List-Unsubscribe pair.
DKIM_HEADERS = (
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"mime-version",
    b"content-type",
    b"list-id",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
    b"reply-to",
)
MAX_LINE = 998  # RFC 5322: no line longer than this, CRLF excluded


def unsubscribe_url(options: NewsletterOptions, token: str) -> str:
    """The one-click unsubscribe link that ``digest serve`` answers (``/u/<token>``)."""
    return f"{options.base_url.rstrip('/')}/u/{token}"


def preferences_url(options: NewsletterOptions, token: str) -> str:
    """The subscriber's preferences page that ``digest serve`` answers (``/p/<token>``)."""
    return f"{options.base_url.rstrip('/')}/p/{token}"


def _no_line_breaks(name: str, value: str) -> str:
    if "\r" in value or "\n" in value:
        raise DeliveryError(f"the {name} header value contains a line break: {value[:60]!r}")
    return value


def _header_text(name: str, value: str) -> str:
    """An unstructured header's value: ASCII folded at spaces, else RFC 2047 words."""
    _no_line_breaks(name, value)
    charset = "us-ascii" if value.isascii() else "utf-8"
    return Header(value, charset, header_name=name).encode(linesep="\r\n")


def _address(name: str, email: str, what: str) -> str:
    _no_line_breaks(what, name)
    _no_line_breaks(what, email)
    if not email.isascii():
        local, _, domain = email.rpartition("@")
        if not local.isascii():
            raise DeliveryError(f"{email!r}: a non-ASCII mailbox name needs SMTPUTF8")
        try:
            email = f"{local}@{domain.encode('idna').decode('ascii')}"
        except UnicodeError as exc:
            raise DeliveryError(f"{email!r}: the domain is not a valid IDN") from exc
    if email.count("@") != 1 or any(c in email for c in ' <>,;"\t'):
        raise DeliveryError(f"{email!r} is not a deliverable address")
    return formataddr((" ".join(name.split()), email), charset="utf-8")


def _qp(data: str) -> bytes:
    """Quoted-printable, CRLF line endings, ending on a line break (soft if need be)."""
    if not data:
        return b""
    raw = data.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")
    encoded = binascii.b2a_qp(raw, istext=True)
    # b2a_qp breaks soft lines with LF unless its input's first line break was CRLF.
    encoded = encoded.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return encoded if encoded.endswith(CRLF) else encoded + SOFT_BREAK


class _Body:
    """One body part, encoded once around its slots: bytes, and the slot names (str)."""

    def __init__(self, content_type: str, rendered: RenderedEdition, document: str) -> None:
        self.head = (
            f'Content-Type: {content_type}; charset="utf-8"\r\n'
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        ).encode("ascii")
        pieces = split_slots(rendered, document)
        self.pieces: list[bytes | str] = [
            piece if i % 2 else _qp(piece) for i, piece in enumerate(pieces)
        ]

    def fill(self, values: dict[str, bytes], out: list[bytes]) -> None:
        out.append(self.head)
        for piece in self.pieces:
            out.append(values[piece] if isinstance(piece, str) else piece)


class MessageFactory:
    """Builds each subscriber's ``OutgoingMessage`` for one rendered edition.

    Thread-safe: everything prepared in ``__init__`` is only read afterwards.
    ``factory(subscriber)`` is ``factory.message(subscriber)``.
    """

    def __init__(
        self,
        rendered: RenderedEdition,
        options: NewsletterOptions,
        secret: bytes,
        *,
        dkim: DkimOptions | None = None,
        base_dir: str | Path = ".",
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not secret:
            raise ConfigError("the unsubscribe secret is empty: set the server.secret_env variable")
        self.rendered = rendered
        self.options = options
        self._secret = secret
        self._clock = clock
        self._date_cache: tuple[int, bytes] = (-1, b"")
        self._date_lock = threading.Lock()
        self.domain = options.from_address.rpartition("@")[2]
        if not self.domain:
            raise ConfigError(f"newsletter.from_address: {options.from_address!r} has no domain")
        self.mail_from = options.from_address
        for key in ("base_url", "unsubscribe_mailto", "list_id", "from_address", "bounce_address"):
            value = getattr(options, key) or ""
            if not value.isascii() or any(c in value for c in "\r\n <>,"):
                raise ConfigError(f"newsletter.{key}: {value!r} cannot go into a mail header")
        self.browser_url = archive_url(options, rendered.edition_id)
        self._boundary = f"=_digest_{secrets.token_hex(12)}"
        self._subject = _header_text("Subject", rendered.subject)
        self._test_subject = _header_text("Subject", f"[TEST] {rendered.subject}")
        fixed = [
            f"From: {_address(options.sender_name, options.from_address, 'From')}",
            f"List-Id: {_header_text('List-Id', options.title)} <{options.list_id}>",
            "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
            "Precedence: bulk",
            "MIME-Version: 1.0",
            # The language the HTML's lang= names (RFC 3282), for readers and filters.
            f"Content-Language: {localizer(options.language, options.direction).tag}",
            f'Content-Type: multipart/alternative; boundary="{self._boundary}"',
        ]
        if options.reply_to:
            fixed.insert(1, f"Reply-To: {_address('', options.reply_to, 'Reply-To')}")
        for line in fixed:
            _no_line_breaks(line.partition(":")[0], line.replace("\r\n ", " "))
        self._fixed = ("\r\n".join(fixed) + "\r\n").encode("ascii")
        self._text = _Body("text/plain", rendered, rendered.text)
        self._html = _Body("text/html", rendered, rendered.html)
        self._delimiter = f"\r\n--{self._boundary}\r\n".encode("ascii")
        self._preamble = b"This is a multi-part message in MIME format.\r\n"
        self._close = f"\r\n--{self._boundary}--\r\n".encode("ascii")
        self._dkim = DkimSigner.from_options(dkim, DKIM_HEADERS, base_dir) if dkim else None
        # A misconfigured base URL or mailto fails here, once, not once per subscriber.
        self._slot_values("", "0.check")

    # --- per subscriber ---------------------------------------------------------------------

    def message_id(self, subscriber_id: int) -> str:
        """The ``Message-ID`` of this edition for this subscriber: stable, not guessable."""
        mac = hmac.new(
            self._secret,
            f"message-id:{self.rendered.edition_id}:{subscriber_id}".encode(),
            hashlib.sha256,
        ).hexdigest()[:32]
        return f"<{mac}@{self.domain}>"

    def message(self, subscriber: Subscriber) -> OutgoingMessage:
        """``subscriber``'s message; ``DeliveryError`` for an address or name with CR/LF."""
        token = make_token(self._secret, subscriber.id, subscriber.email, subscriber.token_version)
        message_id = self.message_id(subscriber.id)
        preferences = make_preferences_token(
            self._secret, subscriber.id, subscriber.email, subscriber.token_version
        )
        data = self._build(
            subscriber.name, subscriber.email, token, message_id, self._subject, preferences
        )
        return OutgoingMessage(
            message_id=message_id,
            mail_from=self.return_path(subscriber),
            rcpt_to=subscriber.email,
            data=data,
            edition_id=self.rendered.edition_id,
            subscriber_id=subscriber.id,
        )

    __call__ = message

    def return_path(self, subscriber: Subscriber) -> str:
        """The envelope sender: ``newsletter.bounce_address`` made VERP for this subscriber
        (``bounces+<id>-<mac>@domain``: a bounce names whom it is about), else From."""
        bounces = self.options.bounce_address
        if not bounces:
            return self.mail_from
        return verp_address(self._secret, bounces, subscriber.id, subscriber.email)

    def test_message(self, email: str, name: str = "") -> OutgoingMessage:
        """The draft for ``digest send-test``: ``[TEST]`` subject, a one-off Message-ID."""
        token = make_token(self._secret, 0, email)
        message_id = f"<test.{secrets.token_hex(16)}@{self.domain}>"
        data = self._build(name, email, token, message_id, self._test_subject)
        return OutgoingMessage(
            message_id=message_id,
            mail_from=self.mail_from,
            rcpt_to=email,
            data=data,
            edition_id=self.rendered.edition_id,
            subscriber_id=0,
        )

    def _slot_values(
        self, name: str, token: str, preferences: str = ""
    ) -> tuple[dict[str, bytes], dict[str, bytes]]:
        try:
            values = slot_values(
                name,
                unsubscribe_url(self.options, token),
                self.browser_url,
                preferences_url(self.options, preferences) if preferences else None,
                language=self.options.language,
                direction=self.options.direction,
            )
        except RenderError as exc:
            raise ConfigError(f"newsletter.base_url: {exc}") from exc
        return _encode(values, html=True), _encode(values, html=False)

    def _date(self) -> bytes:
        now = int(self._clock())
        with self._date_lock:
            if self._date_cache[0] != now:
                stamp = format_datetime(datetime.fromtimestamp(now, UTC))
                self._date_cache = (now, f"Date: {stamp}\r\n".encode("ascii"))
            return self._date_cache[1]

    def _build(
        self,
        name: str,
        email: str,
        token: str,
        message_id: str,
        subject: str,
        preferences: str = "",
    ) -> bytes:
        to = _address(name, email, "To")
        mailto = f"mailto:{self.options.unsubscribe_mailto}?subject=unsubscribe-{token}"
        headers = (
            f"To: {to}\r\n"
            f"Subject: {subject}\r\n"
            f"Message-ID: {message_id}\r\n"
            f"List-Unsubscribe: <{unsubscribe_url(self.options, token)}>,\r\n <{mailto}>\r\n"
        ).encode("ascii")
        if max(len(line) for line in headers.split(CRLF)) > MAX_LINE:
            raise DeliveryError(f"a header line for {email!r} is over {MAX_LINE} characters")
        html_values, text_values = self._slot_values(name, token, preferences)
        out: list[bytes] = [self._date(), self._fixed, headers, CRLF, self._preamble]
        out.append(self._delimiter[2:])
        self._text.fill(text_values, out)
        out.append(self._delimiter)
        self._html.fill(html_values, out)
        out.append(self._close)
        data = b"".join(out)
        if self._dkim is not None:
            data = self._dkim.sign(data)
        return data


def _encode(values: dict[str, SlotValue], *, html: bool) -> dict[str, bytes]:
    return {slot: _qp(value.html if html else value.text) for slot, value in values.items()}
