"""One subscriber's message: headers, RFC 8058, Message-ID, MIME structure, DKIM."""

from __future__ import annotations

import base64
import dataclasses
import email
import email.policy
import re
import subprocess
import time
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path

import dkim
import pytest

from digest.config import DkimOptions, NewsletterOptions
from digest.errors import ConfigError, DeliveryError
from digest.models import RenderedEdition, Subscriber
from digest.publish.messages import MessageFactory, archive_url, preferences_url
from digest.publish.render import personalize, render_edition
from digest.signed import make_preferences_token, verify_token
from tests.newsletter_sample import sample_edition

SECRET = b"a test secret of thirty-two bytes"
OPTIONS = NewsletterOptions(base_url="https://news.example.org", reply_to="desk@example.org")
ANA = Subscriber(id=7, email="ana@example.com", name="Ana Lima")


@pytest.fixture(scope="module")
def rendered() -> RenderedEdition:
    return render_edition(sample_edition(), OPTIONS)


@pytest.fixture
def factory(rendered: RenderedEdition) -> MessageFactory:
    return MessageFactory(rendered, OPTIONS, SECRET)


def parse(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_headers(factory: MessageFactory, rendered: RenderedEdition) -> None:
    out = factory(ANA)
    msg = parse(out.data)
    assert msg["From"] == "The Daily Digest <digest@example.org>"
    assert msg["To"] == "Ana Lima <ana@example.com>"
    assert msg["Reply-To"] == "desk@example.org"
    assert msg["Subject"] == rendered.subject
    assert msg["MIME-Version"] == "1.0"
    assert msg["List-Id"] == "The Daily Digest <daily.digest.example.org>"
    assert msg["Message-ID"] == out.message_id
    assert abs(parsedate_to_datetime(msg["Date"]).timestamp() - time.time()) < 300
    assert (out.mail_from, out.rcpt_to) == ("digest@example.org", "ana@example.com")
    assert (out.edition_id, out.subscriber_id) == (rendered.edition_id, 7)
    for name in ("From", "To", "Subject", "Date", "Message-ID", "List-Unsubscribe"):
        assert len(msg.get_all(name) or []) == 1, name


def test_rfc_8058_one_click_pair(factory: MessageFactory) -> None:
    msg = parse(factory(ANA).data)
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    links = re.findall(r"<([^>]+)>", str(msg["List-Unsubscribe"]))
    assert len(links) == 2
    https, mailto = links
    token = https.removeprefix("https://news.example.org/u/")
    assert https.startswith("https://news.example.org/u/") and "/" not in token
    assert verify_token(SECRET, token, ANA.email)
    assert not verify_token(SECRET, token, "someone.else@example.com")
    assert mailto == f"mailto:unsubscribe@example.org?subject=unsubscribe-{token}"
    # The same link is the footer's unsubscribe link, in both parts.
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert f'href="{https}"' in html and https in text


def test_message_id_is_stable_per_edition_and_subscriber(rendered: RenderedEdition) -> None:
    first = MessageFactory(rendered, OPTIONS, SECRET)(ANA)
    again = MessageFactory(rendered, OPTIONS, SECRET)(ANA)
    assert first.message_id == again.message_id
    assert re.fullmatch(r"<[0-9a-f]{32}@example\.org>", first.message_id)
    other_reader = MessageFactory(rendered, OPTIONS, SECRET)(dataclasses.replace(ANA, id=8))
    other_edition = MessageFactory(
        dataclasses.replace(rendered, edition_id="2026-11-25"), OPTIONS, SECRET
    )(ANA)
    other_secret = MessageFactory(rendered, OPTIONS, SECRET + b"!")(ANA)
    ids = {first.message_id, other_reader.message_id, other_edition.message_id}
    assert len(ids | {other_secret.message_id}) == 4


def test_multipart_alternative_text_first_html_last(
    factory: MessageFactory, rendered: RenderedEdition
) -> None:
    msg = parse(factory(ANA).data)
    assert msg.get_content_type() == "multipart/alternative"
    parts = list(msg.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in parts)
    assert all(p["Content-Transfer-Encoding"] == "quoted-printable" for p in parts)
    # Decoded, the parts are exactly what personalize() gives for this subscriber.
    filled = personalize(
        rendered,
        name=ANA.name,
        unsubscribe_url=re.findall(r"<(https[^>]+)>", str(msg["List-Unsubscribe"]))[0],
        browser_url=archive_url(OPTIONS, rendered.edition_id),
        preferences_url=preferences_url(OPTIONS, make_preferences_token(SECRET, ANA.id, ANA.email)),
    )
    assert parts[0].get_content().replace("\r\n", "\n") == filled.text
    assert parts[1].get_content().replace("\r\n", "\n") == filled.html.replace("\r\n", "\n")
    assert msg.defects == [] and all(p.defects == [] for p in parts)


def test_wire_format_crlf_and_line_lengths(factory: MessageFactory) -> None:
    data = factory(dataclasses.replace(ANA, name="Zoë Łukasiewicz-Ångström " * 3)).data
    assert data.isascii()
    assert b"\n" not in data.replace(b"\r\n", b"") and b"\r" not in data.replace(b"\r\n", b"")
    head, _, body = data.partition(b"\r\n\r\n")
    assert all(len(line) <= 998 for line in head.split(b"\r\n"))
    assert all(len(line) <= 76 for line in body.split(b"\r\n"))


def test_non_ascii_names_and_subjects_are_encoded(rendered: RenderedEdition) -> None:
    options = dataclasses.replace(OPTIONS, from_name="Le Résumé", title="Le Résumé du jour")
    subject = "Genève : les négociations reprennent — et 6 autres"
    factory = MessageFactory(dataclasses.replace(rendered, subject=subject), options, SECRET)
    out = factory(Subscriber(3, "zoe@example.com", "Zoë Ångström"))
    raw_head = out.data.partition(b"\r\n\r\n")[0].decode("ascii")
    assert "=?utf-8?" in raw_head
    msg = parse(out.data)
    assert msg["Subject"] == subject
    assert msg["To"].addresses[0].display_name == "Zoë Ångström"
    assert msg["From"].addresses[0].display_name == "Le Résumé"
    assert msg["List-Id"] == "Le Résumé du jour <daily.digest.example.org>"
    assert "Good morning, Zoë Ångström." in msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "subscriber",
    [
        Subscriber(1, "ana@example.com\r\nBcc: victim@example.com", "Ana"),
        Subscriber(2, "ana@example.com\n", "Ana"),
        Subscriber(3, "ana@example.com", "Ana\r\nBcc: victim@example.com"),
        Subscriber(4, "ana@example.com", "Ana\rX"),
    ],
)
def test_line_breaks_in_header_values_are_refused(
    factory: MessageFactory, subscriber: Subscriber
) -> None:
    with pytest.raises(DeliveryError, match="line break"):
        factory(subscriber)


def test_line_breaks_in_edition_or_config_headers_are_refused(rendered: RenderedEdition) -> None:
    with pytest.raises(DeliveryError, match="line break"):
        MessageFactory(dataclasses.replace(rendered, subject="Hi\r\nBcc: x@y.z"), OPTIONS, SECRET)
    with pytest.raises(DeliveryError, match="line break"):
        MessageFactory(rendered, dataclasses.replace(OPTIONS, from_name="A\nB"), SECRET)
    with pytest.raises(ConfigError, match=r"newsletter\.unsubscribe_mailto"):
        MessageFactory(
            rendered, dataclasses.replace(OPTIONS, unsubscribe_mailto="u@x.org\r\nX: y"), SECRET
        )
    with pytest.raises(ConfigError, match=r"newsletter\.base_url"):
        MessageFactory(rendered, dataclasses.replace(OPTIONS, base_url="ftp://x.org"), SECRET)


def test_test_message_is_marked_and_one_off(factory: MessageFactory) -> None:
    a = factory.test_message("editor@example.com", "Ed")
    b = factory.test_message("editor@example.com", "Ed")
    msg = parse(a.data)
    assert msg["Subject"].startswith("[TEST] The Daily Digest")
    assert msg["To"] == "Ed <editor@example.com>"
    assert a.message_id != b.message_id and a.subscriber_id == 0


def _rsa_key(folder: Path) -> tuple[Path, bytes]:
    """A fresh 2048-bit key (PEM file) and its public key (DER, for the DNS record)."""
    key = folder / "dkim.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    der = subprocess.run(
        ["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"],
        check=True,
        capture_output=True,
    ).stdout
    return key, der


def test_dkim_signature_verifies_and_covers_list_unsubscribe(
    rendered: RenderedEdition, tmp_path: Path
) -> None:
    key, public = _rsa_key(tmp_path)
    options = DkimOptions(domain="example.org", selector="news", key_path=str(key))
    factory = MessageFactory(rendered, OPTIONS, SECRET, dkim=options)
    data = factory(ANA).data
    assert data.startswith(b"DKIM-Signature:")
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)

    def dns(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"news._domainkey.example.org."
        return record

    assert dkim.verify(data, dnsfunc=dns)
    signature = parse(data)["DKIM-Signature"].replace("\r\n", "").replace(" ", "")
    signed = re.search(r"h=([^;]+)", signature)
    assert signed is not None
    headers = signed.group(1).lower().split(":")
    for name in (
        "from",
        "to",
        "subject",
        "message-id",
        "list-unsubscribe",
        "list-unsubscribe-post",
    ):
        assert name in headers
    # Changing the unsubscribe link breaks the signature.
    tampered = data.replace(b"https://news.example.org/u/", b"https://evil.example.net/u/")
    assert tampered != data and not dkim.verify(tampered, dnsfunc=dns)


def _ed25519_key(folder: Path) -> tuple[Path, bytes]:
    """A fresh Ed25519 key (PKCS#8 PEM) and its raw 32-byte public key (RFC 8463's p=)."""
    key = folder / "dkim-ed25519.pem"
    subprocess.run(
        ["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(key)],
        check=True,
        capture_output=True,
    )
    der = subprocess.run(
        ["openssl", "pkey", "-in", str(key), "-pubout", "-outform", "DER"],
        check=True,
        capture_output=True,
    ).stdout
    return key, der[-32:]  # the SubjectPublicKeyInfo ends with the raw key


def test_ed25519_signature_beside_rsa_both_verify(
    rendered: RenderedEdition, tmp_path: Path
) -> None:
    rsa_key, rsa_public = _rsa_key(tmp_path)
    ed_key, ed_public = _ed25519_key(tmp_path)
    options = DkimOptions(
        domain="example.org",
        selector="news",
        key_path=str(rsa_key),
        ed25519_selector="news-ed",
        ed25519_key_path=str(ed_key),
    )
    subscriber = Subscriber(7, "wang.fang@example.cn", "王芳 (Wáng Fāng)")
    data = MessageFactory(rendered, OPTIONS, SECRET, dkim=options)(subscriber).data
    records = {
        b"news._domainkey.example.org.": b"v=DKIM1; k=rsa; p=" + base64.b64encode(rsa_public),
        b"news-ed._domainkey.example.org.": b"v=DKIM1; k=ed25519; p=" + base64.b64encode(ed_public),
    }

    def dns(name: bytes, timeout: int = 5) -> bytes:
        return records[name]

    signer = dkim.DKIM(data)
    assert signer.verify(idx=0, dnsfunc=dns) and signer.verify(idx=1, dnsfunc=dns)
    algorithms = re.findall(rb"a=([a-z0-9-]+);", data.split(b"\r\n\r\n", 1)[0])
    assert sorted(algorithms) == [b"ed25519-sha256", b"rsa-sha256"]
    tampered = data.replace(b"\r\nSubject: ", b"\r\nSubject: Re: ", 1)
    assert tampered != data
    assert not dkim.DKIM(tampered).verify(idx=0, dnsfunc=dns)
    assert not dkim.DKIM(tampered).verify(idx=1, dnsfunc=dns)


def test_an_ed25519_key_alone_signs_ed25519(rendered: RenderedEdition, tmp_path: Path) -> None:
    ed_key, ed_public = _ed25519_key(tmp_path)
    options = DkimOptions(domain="example.org", selector="ed", key_path=str(ed_key))
    data = MessageFactory(rendered, OPTIONS, SECRET, dkim=options)(ANA).data
    record = b"v=DKIM1; k=ed25519; p=" + base64.b64encode(ed_public)
    assert b"a=ed25519-sha256;" in data.split(b"\r\n\r\n", 1)[0]
    assert dkim.verify(data, dnsfunc=lambda name, timeout=5: record)


def test_dkim_bad_keys_are_config_errors(rendered: RenderedEdition, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.pem"
    garbage.write_bytes(b"-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    options = DkimOptions(domain="example.org", selector="s", key_path=str(garbage))
    with pytest.raises(ConfigError, match="not an unencrypted PEM private key"):
        MessageFactory(rendered, OPTIONS, SECRET, dkim=options)
    rsa_key, _ = _rsa_key(tmp_path)
    half = DkimOptions(
        domain="example.org", selector="s", key_path=str(rsa_key), ed25519_selector="e"
    )
    with pytest.raises(ConfigError, match="together"):
        MessageFactory(rendered, OPTIONS, SECRET, dkim=half)
    not_ed = DkimOptions(
        domain="example.org",
        selector="s",
        key_path=str(rsa_key),
        ed25519_selector="e",
        ed25519_key_path=str(rsa_key),
    )
    with pytest.raises(ConfigError, match="not an Ed25519 key"):
        MessageFactory(rendered, OPTIONS, SECRET, dkim=not_ed)


def test_dkim_options_must_be_complete(rendered: RenderedEdition, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="together"):
        MessageFactory(rendered, OPTIONS, SECRET, dkim=DkimOptions(domain="example.org"))
    missing = DkimOptions(domain="example.org", selector="s", key_path=str(tmp_path / "no.pem"))
    with pytest.raises(ConfigError, match="cannot read"):
        MessageFactory(rendered, OPTIONS, SECRET, dkim=missing)


def test_from_name_unset_follows_the_title(tmp_path: Path, rendered: RenderedEdition) -> None:
    """Renaming the newsletter renames its sender too, in the edition and in the sign-up
    confirmation, unless from_name is set on its own (issue 23, item 6)."""
    from digest.config import load_config
    from digest.pipeline.signup import confirmation_mail

    path = tmp_path / "config.yaml"
    path.write_text("newsletter:\n  title: Holdout Briefing\n", "utf-8")
    config = load_config(path)
    assert config.newsletter.from_name is None
    mail = MessageFactory(rendered, config.newsletter, SECRET)(Subscriber(1, "a@example.com"))
    assert parse(mail.data)["From"].addresses[0].display_name == "Holdout Briefing"
    confirm = confirmation_mail(config, "a@example.com", "tok", "Confirm", "Body")
    assert parse(confirm.data)["From"].addresses[0].display_name == "Holdout Briefing"

    path.write_text(
        "newsletter:\n  title: Tägliche Übersicht\n  from_name: Redaktion Köln\n", "utf-8"
    )
    named = load_config(path).newsletter
    mail = MessageFactory(rendered, named, SECRET)(Subscriber(1, "a@example.com"))
    assert parse(mail.data)["From"].addresses[0].display_name == "Redaktion Köln"
    assert NewsletterOptions(title="每日简报").sender_name == "每日简报"


@pytest.mark.parametrize(
    ("language", "tag"), [("en", "en"), ("de", "de"), ("pt_BR", "pt-BR"), ("ur", "ur")]
)
def test_content_language_is_the_newsletter_s(
    tmp_path: Path, language: str, tag: str, rendered: RenderedEdition
) -> None:
    """Every mail carries Content-Language, the same tag the HTML's lang= names, in the
    edition and in the sign-up confirmation (issue 23, item 7)."""
    from digest.config import load_config
    from digest.pipeline.signup import confirmation_mail

    path = tmp_path / "config.yaml"
    path.write_text(f"newsletter:\n  language: {language}\n", "utf-8")
    config = load_config(path)
    localized = render_edition(sample_edition(), config.newsletter)
    mail = parse(
        MessageFactory(localized, config.newsletter, SECRET)(Subscriber(1, "a@b.org")).data
    )
    assert mail["Content-Language"] == tag
    html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert re.search(rf'<html[^>]*\blang="{re.escape(tag)}"', html)
    confirm = confirmation_mail(config, "a@b.org", "tok", "Bestätigen", "Hallo")
    assert parse(confirm.data)["Content-Language"] == tag
