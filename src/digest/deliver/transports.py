"""Transports: anything with ``send(message) -> SendReply``; SMTP and an outbox folder.

A transport knows nothing about editions or subscribers: it takes an ``OutgoingMessage``
(envelope and bytes) and returns the server's reply, or raises one of

- ``TransientDeliveryError``  worth retrying (4xx, dropped connection, timeout, refused);
  ``after_data`` says the failure came after the message was handed over, when the
  server may have accepted it;
- ``PermanentDeliveryError``  not worth retrying (5xx); ``scope`` says what the refusal
  is about, from its enhanced status code (``digest.deliver.replies``): the address
  (counts towards suppression), the message (stops the send) or something else;
- ``DeliveryError``           anything else that no retry will fix (bad TLS, login refused).

A transport is used by one thread at a time; parallel senders open one each.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import smtplib
import ssl
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from digest.config import DeliveryOptions, SmtpOptions, secret
from digest.deliver.replies import Stage, reply_scope
from digest.errors import (
    ConfigError,
    DeliveryError,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from digest.models import OutgoingMessage

__all__ = [
    "LOCAL_HOSTS",
    "OutboxTransport",
    "SendReply",
    "SmtpTransport",
    "Transport",
    "eml_name",
    "reply_error",
    "transport_factory",
]

log = logging.getLogger(__name__)

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
# A connection idle this long is checked with NOOP before it carries a message.
IDLE_CHECK_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class SendReply:
    code: int
    text: str


class Transport(Protocol):
    def send(
        self, message: OutgoingMessage, before_data: Callable[[], None] | None = None
    ) -> SendReply:
        """Deliver ``message``; call ``before_data`` right before its bytes go out.

        If ``before_data`` raises, the transaction is abandoned (nothing is sent) and the
        exception propagates.
        """

    def close(self) -> None: ...


def reply_error(
    code: int, text: str, where: str, *, stage: Stage | None = None, after_data: bool = False
) -> DeliveryError:
    """The error for an SMTP reply that is not a success: 4xx transient, 5xx permanent,
    its scope from the enhanced status code and the ``stage`` (None: not a transaction's
    reply, so never the recipient's or the message's fault)."""
    if code >= 500:
        scope = reply_scope(code, text, stage) if stage is not None else "other"
        return PermanentDeliveryError(f"{where}: {code} {text}", code=code, scope=scope)
    return TransientDeliveryError(f"{where}: {code} {text}", code=code, after_data=after_data)


def _text(raw: bytes | str) -> str:
    value = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    return " ".join(value.split())


# --- outbox -----------------------------------------------------------------------------

_UNSAFE = re.compile(r"[^A-Za-z0-9._@+=-]")


def eml_name(message_id: str) -> str:
    """A file name from a Message-ID: the same message always lands in the same file."""
    core = _UNSAFE.sub("_", message_id.strip().strip("<>"))[:200]
    return f"{core or 'message'}.eml"


class OutboxTransport:
    """Writes each message as ``<Message-ID>.eml`` in a folder, atomically (temp + rename).

    A resent message replaces its own file, so the folder holds one copy per message.
    """

    def __init__(self, folder: str | Path, *, fsync: bool = False) -> None:
        self.folder = Path(folder)
        self.fsync = fsync
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DeliveryError(f"outbox {self.folder}: cannot create ({exc.strerror})") from exc

    def send(
        self, message: OutgoingMessage, before_data: Callable[[], None] | None = None
    ) -> SendReply:
        target = self.folder / eml_name(message.message_id)
        if before_data is not None:
            before_data()
        try:
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".eml")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(message.data)
                    if self.fsync:
                        handle.flush()
                        os.fsync(handle.fileno())
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise DeliveryError(f"outbox {target}: cannot write ({exc.strerror})") from exc
        return SendReply(250, f"written to {target}")

    def close(self) -> None:
        pass


# --- SMTP -------------------------------------------------------------------------------


def tls_context(options: SmtpOptions) -> ssl.SSLContext:
    try:
        context = ssl.create_default_context(cafile=options.ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"delivery.smtp.ca_file: cannot load {options.ca_file} ({exc})") from exc
    if not options.verify_tls:
        log.warning("TLS certificate checks are off (delivery.smtp.verify_tls: false)")
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


_WARNED_CLEAR_AUTH: set[tuple[str, int, str]] = set()


def check_smtp_options(options: SmtpOptions) -> None:
    """Refuse settings that would send mail or a password in the clear to another host;
    warn (once per process) when ``allow_insecure`` lets a password go in the clear."""
    clear = options.security == "none" and options.host not in LOCAL_HOSTS
    if clear and not options.allow_insecure:
        raise ConfigError(
            f"delivery.smtp: plain SMTP to {options.host} would send mail unencrypted;"
            " use security: starttls or tls, or set allow_insecure: true"
        )
    key = (options.host, options.port, options.username or "")
    if clear and options.username and key not in _WARNED_CLEAR_AUTH:
        _WARNED_CLEAR_AUTH.add(key)
        log.warning(
            "delivery.smtp: allow_insecure sends the password of %r to %s:%d in the clear"
            " (AUTH PLAIN over an unencrypted connection): anyone on the path can read it;"
            " use security: starttls or tls",
            options.username,
            options.host,
            options.port,
        )


class SmtpTransport:
    """One SMTP connection, opened on first use, reused, reopened after a drop."""

    def __init__(self, options: SmtpOptions, *, password: str | None = None) -> None:
        check_smtp_options(options)
        self.options = options
        self.where = f"{options.host}:{options.port}"
        self._password = password
        if options.username and password is None:
            self._password = secret(options.password_env)
            if self._password is None:
                raise ConfigError(
                    f"delivery.smtp.username is set but ${options.password_env} is empty:"
                    " export the SMTP password in that variable"
                )
        self._context = tls_context(options) if options.security != "none" else None
        self._conn: smtplib.SMTP | None = None
        self._last_used = 0.0
        self.idle_check = IDLE_CHECK_SECONDS

    # connection ------------------------------------------------------------------------

    def _connect(self) -> smtplib.SMTP:
        o = self.options
        conn: smtplib.SMTP
        try:
            if o.security == "tls":
                conn = smtplib.SMTP_SSL(o.host, o.port, timeout=o.timeout, context=self._context)
            else:
                conn = smtplib.SMTP(o.host, o.port, timeout=o.timeout)
            try:
                conn.ehlo()
                if o.security == "starttls":
                    if not conn.has_extn("starttls"):
                        raise DeliveryError(f"SMTP {self.where} does not offer STARTTLS")
                    conn.starttls(context=self._context)
                    conn.ehlo()
                if o.username:
                    conn.login(o.username, self._password or "")
            except BaseException:
                conn.close()
                raise
        except smtplib.SMTPAuthenticationError as exc:
            if 400 <= exc.smtp_code < 500:
                raise reply_error(
                    exc.smtp_code, _text(exc.smtp_error), f"SMTP {self.where} AUTH"
                ) from exc
            raise DeliveryError(
                f"SMTP {self.where}: login as {o.username!r} refused"
                f" ({exc.smtp_code} {_text(exc.smtp_error)})"
            ) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise DeliveryError(f"SMTP {self.where}: {exc}") from exc
        except smtplib.SMTPResponseException as exc:
            raise reply_error(
                exc.smtp_code, _text(exc.smtp_error), f"SMTP {self.where} greeting"
            ) from exc
        except ssl.SSLError as exc:
            raise DeliveryError(f"SMTP {self.where}: TLS failed ({exc.reason or exc})") from exc
        except smtplib.SMTPServerDisconnected as exc:
            raise TransientDeliveryError(f"SMTP {self.where}: connection closed ({exc})") from exc
        except TimeoutError as exc:
            raise TransientDeliveryError(f"SMTP {self.where}: timed out connecting") from exc
        except OSError as exc:
            raise TransientDeliveryError(
                f"SMTP {self.where}: cannot connect ({exc.strerror or exc})"
            ) from exc
        log.debug("connected to %s (%s)", self.where, o.security)
        return conn

    def _connection(self) -> smtplib.SMTP:
        conn = self._conn
        if conn is not None and time.monotonic() - self._last_used >= self.idle_check:
            try:
                code, _ = conn.noop()
            except (smtplib.SMTPException, OSError):
                code = 0
            if code != 250:
                self._drop()
                conn = None
        if conn is None:
            conn = self._conn = self._connect()
        return conn

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.close()

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.quit()
        except (smtplib.SMTPException, OSError):
            conn.close()

    # sending ---------------------------------------------------------------------------

    def send(
        self, message: OutgoingMessage, before_data: Callable[[], None] | None = None
    ) -> SendReply:
        conn = self._connection()
        where = f"SMTP {self.where} <{message.rcpt_to}>"
        data_started = False
        try:
            code, text = _envelope(conn, "mail", "FROM", message.mail_from)
            if code != 250:
                self._reset(conn)
                raise reply_error(code, _text(text), f"{where} MAIL FROM", stage="mail")
            code, text = _envelope(conn, "rcpt", "TO", message.rcpt_to)
            if code not in (250, 251):
                self._reset(conn)
                raise reply_error(code, _text(text), f"{where} RCPT TO", stage="rcpt")
            if before_data is not None:
                try:
                    before_data()
                except BaseException:
                    self._reset(conn)  # no DATA: the connection stays usable
                    raise
            data_started = True
            code, text = _data(conn, message.data)
        except smtplib.SMTPDataError as exc:
            # The DATA command itself was refused: no byte of the message went out.
            self._reset(conn)
            raise reply_error(
                exc.smtp_code, _text(exc.smtp_error), f"{where} DATA", stage="data"
            ) from exc
        except smtplib.SMTPServerDisconnected as exc:
            self._drop()
            raise TransientDeliveryError(
                f"{where}: connection dropped ({exc})", after_data=data_started
            ) from exc
        except smtplib.SMTPResponseException as exc:
            self._drop()
            raise reply_error(
                exc.smtp_code, _text(exc.smtp_error), where, after_data=data_started
            ) from exc
        except TimeoutError as exc:
            self._drop()
            raise TransientDeliveryError(f"{where}: timed out", after_data=data_started) from exc
        except OSError as exc:
            self._drop()
            raise TransientDeliveryError(
                f"{where}: connection failed ({exc.strerror or exc})", after_data=data_started
            ) from exc
        self._last_used = time.monotonic()
        if code != 250:
            raise reply_error(code, _text(text), f"{where} end of DATA", stage="data")
        return SendReply(code, _text(text))

    def _reset(self, conn: smtplib.SMTP) -> None:
        """RSET after a refused transaction; a connection that cannot reset is dropped."""
        try:
            code, _ = conn.rset()
        except (smtplib.SMTPException, OSError):
            code = 0
        if code != 250:
            self._drop()
        else:
            self._last_used = time.monotonic()


def _envelope(conn: smtplib.SMTP, verb: str, label: str, address: str) -> tuple[int, bytes]:
    """MAIL FROM or RCPT TO. A plain ASCII address (what ``digest.subscribers`` stores) is
    sent as ``<address>`` directly: ``smtplib`` would parse it with ``email.utils`` first
    only to print the same thing. Anything else goes through ``smtplib``."""
    if address.isascii() and not any(c in address for c in ' <>\r\n\t"(),;:\\[]'):
        return conn.docmd(verb, f"{label}:<{address}>")
    return conn.mail(address) if verb == "mail" else conn.rcpt(address)


def _data(conn: smtplib.SMTP, data: bytes) -> tuple[int, bytes]:
    """SMTP DATA, as ``smtplib.SMTP.data`` does it for bytes, with the dot-stuffing (RFC
    5321 4.5.2: a line that starts with ``.`` gets another) done by ``bytes.replace``
    instead of a regular expression over the whole message: the same bytes on the wire
    (a ``.`` at the start, or after any LF, doubled), at a fraction of the CPU, which was
    a third of the client's time per message."""
    code, reply = conn.docmd("data")
    if code != 354:
        raise smtplib.SMTPDataError(code, reply)
    stuffed = data.replace(b"\n.", b"\n..")
    if stuffed.startswith(b"."):
        stuffed = b"." + stuffed
    conn.send(stuffed + (b".\r\n" if stuffed.endswith(b"\r\n") else b"\r\n.\r\n"))
    return conn.getreply()


# --- the configured one -------------------------------------------------------------------


def transport_factory(
    options: DeliveryOptions, outbox: Path, *, base_dir: str | Path = ".", dry_run: bool = False
) -> tuple[Callable[[], Transport], Path | None]:
    """A maker of the configured transport (one per connection), and ``outbox`` when the
    messages go there as .eml files (``delivery.transport: outbox``, or any dry run).

    ``base_dir`` is the folder a relative ``smtp.ca_file`` is read from. The SMTP settings
    are checked here, before any work: a bad one is a ``ConfigError`` now, not after the
    edition is built.
    """
    if dry_run or options.transport == "outbox":
        return (lambda: OutboxTransport(outbox)), outbox
    smtp = options.smtp
    if smtp.ca_file is not None:
        smtp = replace(smtp, ca_file=str(Path(base_dir, smtp.ca_file).expanduser()))
    SmtpTransport(smtp).close()  # validates security, host and password now
    return (lambda: SmtpTransport(smtp)), None
