"""The sign-up and preferences pages and the confirmation mail speak
``newsletter.language`` through the package's gettext catalogs, as the newsletter does:
every shipped language over real HTTP (uvicorn on 127.0.0.1, httpx), the mail at a real
SMTP server (aiosmtpd), ``dir="rtl"`` for Arabic and Urdu, and the same answer whatever
the address's state in every language."""

from __future__ import annotations

import email
import email.policy
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from digest.config import Config, DeliveryOptions, NewsletterOptions, SmtpOptions
from digest.publish.i18n import catalog_languages
from digest.publish.strings import MESSAGES, text
from digest.signed import make_preferences_token
from digest.store import open_database
from digest.store.subscribers import SubscriberStore
from digest.web.app import create_app
from tests.app_server import serving
from tools.smtp_sink import SmtpSink, free_port

KEY = b"web-language-test-secret-0123456"
LANGUAGES = [lang for lang in catalog_languages() if lang != "en"]
RTL = {"ar", "ur"}


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as running:
        yield running


def serve(tmp_path: Path, sink: SmtpSink, language: str) -> Iterator[tuple[httpx.Client, Config]]:
    port = free_port()
    config = replace(
        Config(),
        base_dir=str(tmp_path),
        newsletter=replace(
            NewsletterOptions(),
            base_url=f"http://127.0.0.1:{port}",
            language=language,
            title="Morgenpost",
        ),
        delivery=replace(
            DeliveryOptions(),
            transport="smtp",
            smtp=replace(SmtpOptions(), host="127.0.0.1", port=sink.port, timeout=10),
        ),
    )
    db = open_database(config.store_path)
    with serving(create_app(config, db=db, key=KEY), port=port) as client:
        yield client, config
    db.close()


def test_every_shipped_language_has_the_pages_words() -> None:
    """Each page string is translated in each catalog (not the English fallback), with
    its placeholders filled."""
    assert {"de", "fr", "es", "pt", "ar", "ur", "zh"} <= set(LANGUAGES)
    values = {"title": "T", "email": "e@x", "hours": "48", "link": "L", "reason": "R"}
    values |= {"topics": "X", "source": "S"}  # the confirmation page's
    for language in LANGUAGES:
        for key in MESSAGES:
            english = text("en", key, **values)
            translated = text(language, key, **values)
            assert "%(" not in translated, (language, key)
            assert translated != english, (language, key)
    # a regional variant takes its language's catalog; an unknown language English
    assert text("pt-BR", "save_button") == text("pt", "save_button")
    assert text("sw", "save_button") == "Save"


def wait_for_mail(sink: SmtpSink, address: str) -> email.message.EmailMessage:
    deadline = time.monotonic() + 30
    while address not in sink.by_recipient() and time.monotonic() < deadline:
        time.sleep(0.02)  # a wait for arrival, not an assertion on timing
    [kept] = sink.by_recipient()[address]
    parsed = email.message_from_bytes(kept.data, policy=email.policy.default)
    assert isinstance(parsed, email.message.EmailMessage)
    return parsed


@pytest.mark.parametrize("language", ["de", "fr", "es", "pt", "ar", "ur", "zh"])
def test_pages_and_mail_in_the_newsletter_language(
    tmp_path: Path, sink: SmtpSink, language: str
) -> None:
    english = ("Email address", "How often", "Every day", "Check your inbox", "Unsubscribe")
    direction = "rtl" if language in RTL else "ltr"
    for client, config in serve(tmp_path, sink, language):
        form = client.get("/subscribe")
        assert form.status_code == 200
        assert f'<html lang="{language}" dir="{direction}">' in form.text
        assert text(language, "email_label") in form.text
        assert not [w for w in english if w in form.text]

        # No enumeration, in every language: a new address and an active one get the
        # same page.
        store = SubscriberStore(open_database(config.store_path))
        active, _ = store.upsert("aktiv@example.org")
        new = client.post("/subscribe", data={"email": "neu@example.org"})
        known = client.post("/subscribe", data={"email": "aktiv@example.org"})
        assert new.status_code == known.status_code == 200
        assert new.text.replace("neu@", "X@") == known.text.replace("aktiv@", "X@")
        assert text(language, "check_title") in new.text and "Check your inbox" not in new.text

        mail = wait_for_mail(sink, "neu@example.org")
        assert str(mail["Subject"]) == text(language, "mail_subject", title="Morgenpost")
        body = mail.get_content()
        assert "/subscribe/confirm/" in body and "Someone, hopefully you" not in body

        # The preferences page behind the footer's signed link.
        token = make_preferences_token(KEY, active.id, active.email, active.token_version)
        prefs = client.get(f"/p/{token}")
        assert prefs.status_code == 200
        assert f'dir="{direction}"' in prefs.text
        for key in ("frequency_label", "daily", "weekly", "save_button", "unsubscribe_button"):
            assert text(language, key).replace("'", "&#x27;") in prefs.text, key
        assert not [w for w in english if w in prefs.text]
        saved = client.post(f"/p/{token}", data={"action": "save", "frequency": "weekly"})
        assert text(language, "saved") in saved.text
        bad = client.get("/p/forged")
        assert bad.status_code == 400 and text(language, "bad_link_title") in bad.text

        # The one-click unsubscribe and the archive's own answers speak it too.
        forged = client.get("/u/forged")
        assert forged.status_code == 400
        assert f'<html lang="{language}" dir="{direction}">' in forged.text
        assert text(language, "invalid_link_body") in forged.text
        empty = client.get("/archive/")
        assert text(language, "no_editions") in empty.text and "No editions" not in empty.text
        store.db.close()
