"""SMTP test helpers: a self-signed certificate, sinks on 127.0.0.1, real RFC 5322 messages.

Imported by the delivery tests (``from tests.smtp_sink import ...``); the fixtures are
re-exported by those test modules.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from digest.models import OutgoingMessage, Subscriber
from tools.smtp_sink import SinkRules, SmtpSink

FROM = "digest@example.org"


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context


def make_tls_files(folder: Path) -> TlsFiles:
    """A self-signed certificate for 127.0.0.1 and localhost."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "digest test sink")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "sink.crt", folder / "sink.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return TlsFiles(cert_path, key_path)


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    """A plain SMTP sink on 127.0.0.1 that keeps what it receives; ``sink.rules`` to misbehave."""
    with SmtpSink(rules=SinkRules()) as server:
        yield server


def build_message(subscriber: Subscriber, edition_id: str = "2026-11-24") -> OutgoingMessage:
    """A real multipart/alternative message with a stable Message-ID per (edition, subscriber)."""
    message_id = f"<{edition_id}.{subscriber.id}@digest.test>"
    msg = EmailMessage()
    msg["From"] = f"The Daily Digest <{FROM}>"
    msg["To"] = subscriber.email
    msg["Subject"] = f"The Daily Digest, {edition_id}"
    msg["Date"] = format_datetime(dt.datetime(2026, 11, 24, 6, 0, tzinfo=dt.UTC))
    msg["Message-ID"] = message_id
    msg.set_content(f"Hello {subscriber.name or 'reader'}.\n")
    msg.add_alternative(f"<p>Hello {subscriber.name or 'reader'}.</p>", subtype="html")
    return OutgoingMessage(
        message_id=message_id,
        mail_from=FROM,
        rcpt_to=subscriber.email,
        data=msg.as_bytes(policy=SMTP_POLICY),
        edition_id=edition_id,
        subscriber_id=subscriber.id,
    )
