"""Sign-up with double opt-in over real HTTP (uvicorn on 127.0.0.1, httpx), confirmation
mails at a real SMTP server (aiosmtpd): no enumeration, limits, hostile input."""

from __future__ import annotations

import email
import email.policy
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from digest.config import (
    Config,
    DeliveryOptions,
    NewsletterOptions,
    ServerOptions,
    SignupOptions,
    SmtpOptions,
)
from digest.pipeline.signup import SignupRefused, confirm_signup, request_signup
from digest.store import Database, open_database
from digest.store.consent import ConsentStore
from digest.store.subscribers import SubscriberStore
from digest.web.app import create_app
from digest.web.signup import RateLimit
from tests.app_server import serving as serve_app
from tools.smtp_sink import SmtpSink, free_port

KEY = b"signup-test-secret-0123456789"


@dataclass
class Site:
    client: httpx.Client
    db: Database
    sink: SmtpSink
    config: Config
    serial: int = 0

    def settle(self) -> None:
        """Wait until every confirmation mail asked for so far was handed to the sink:
        mails go out in order, one thread, so when a new address's mail arrives the
        earlier ones have (a wait for arrival, not an assertion on timing)."""
        self.serial += 1
        marker = f"settle{self.serial}@example.com"
        assert self.client.post("/subscribe", data={"email": marker}).status_code == 200
        deadline = time.monotonic() + 30
        while marker not in self.sink.by_recipient() and time.monotonic() < deadline:
            time.sleep(0.02)

    def mails_to(self, address: str) -> list[email.message.EmailMessage]:
        self.settle()
        return [
            email.message_from_bytes(m.data, policy=email.policy.default)  # type: ignore[misc]
            for m in self.sink.by_recipient().get(address.lower(), [])
        ]

    def link_in(self, message: email.message.EmailMessage) -> str:
        body = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        found = re.search(r"(https?://\S+/subscribe/confirm/\S+)", body)
        assert found, body
        return found.group(1).replace(self.config.newsletter.base_url, "")


def start(tmp_path: Path, sink: SmtpSink, **signup: object) -> Iterator[Site]:
    port = free_port()
    config = replace(
        Config(),
        base_dir=str(tmp_path),
        newsletter=replace(NewsletterOptions(), base_url=f"http://127.0.0.1:{port}", **{}),
        delivery=replace(
            DeliveryOptions(),
            transport="smtp",
            smtp=replace(SmtpOptions(), host="127.0.0.1", port=sink.port, timeout=10),
        ),
        server=replace(ServerOptions(), signup=replace(SignupOptions(), **signup)),
    )
    db = open_database(config.store_path)
    app = create_app(config, db=db, key=KEY)
    try:
        with serve_app(app, port=port, follow_redirects=False) as client:
            yield Site(client, db, sink, config)
    finally:
        db.close()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    with SmtpSink() as sink:
        yield from start(tmp_path, sink, per_ip_per_hour=100)


def test_sign_up_confirm_and_consent(site: Site) -> None:
    form = site.client.get("/subscribe")
    assert form.status_code == 200
    page = form.text
    assert '<html lang="en" dir="ltr">' in page
    assert '<label for="email">' in page and 'autocomplete="email"' in page
    assert "no open or click tracking" in page
    assert "<script" not in page

    answer = site.client.post(
        "/subscribe",
        data={"email": "Ana@Example.com", "topics": "climate, 宇宙", "source": "/subscribe"},
    )
    assert answer.status_code == 200 and "Check your inbox" in answer.text
    store = SubscriberStore(site.db)
    assert store.by_email("ana@example.com") is None  # nothing before the confirmation

    [mail] = site.mails_to("ana@example.com")
    assert "Confirm your subscription" in str(mail["Subject"])
    assert mail["Auto-Submitted"] == "auto-generated"
    link = site.link_in(mail)
    # A scanner opening the link changes nothing: the page only offers the button.
    shown = site.client.get(link)
    assert shown.status_code == 200 and '<form method="post">' in shown.text
    assert store.by_email("ana@example.com") is None

    done = site.client.post(link)
    assert done.status_code == 200 and "You are subscribed" in done.text
    ana = store.by_email("ana@example.com")
    assert ana is not None and ana.state == "active" and ana.topics == ("climate", "宇宙")
    consent = ConsentStore(site.db).get(ana.id)
    assert consent is not None
    assert (consent.method, consent.source, consent.topics) == (
        "double-opt-in",
        "/subscribe",
        ("climate", "宇宙"),
    )
    assert abs(consent.consented_at - datetime.now(UTC)) < timedelta(minutes=5)
    # The button pressed again: harmless.
    assert site.client.post(link).status_code == 200


def test_the_answer_is_the_same_whatever_the_state(site: Site) -> None:
    store = SubscriberStore(site.db)
    store.upsert("active@example.com")
    store.upsert("gone@example.com", state="unsubscribed")

    def answer(address: str) -> str:
        response = site.client.post("/subscribe", data={"email": address})
        assert response.status_code == 200
        return response.text.replace(address, "ADDRESS")

    pages = {a: answer(a) for a in ("new@example.com", "active@example.com", "gone@example.com")}
    assert len(set(pages.values())) == 1
    # Only the active one gets no mail; the one who left may come back by confirming.
    assert site.mails_to("active@example.com") == []
    assert len(site.mails_to("new@example.com")) == 1
    [mail] = site.mails_to("gone@example.com")
    site.client.post(site.link_in(mail))
    assert store.by_email("gone@example.com").state == "active"  # type: ignore[union-attr]


def test_suppressed_addresses_get_no_confirmation_mail(site: Site) -> None:
    # Suppressed after hard bounces or a complaint: never mailed again, not even to confirm.
    store = SubscriberStore(site.db)
    store.upsert("bounced@example.com", state="suppressed")
    store.upsert("complained@example.com", state="suppressed")

    def answer(address: str) -> str:
        response = site.client.post("/subscribe", data={"email": address, "topics": "Fußball"})
        assert response.status_code == 200
        return response.text.replace(address, "ADDRESS")

    pages = {a: answer(a) for a in ("neu@example.com", "bounced@example.com",
                                     "complained@example.com")}  # fmt: skip
    assert len(set(pages.values())) == 1  # no enumeration
    assert len(site.mails_to("neu@example.com")) == 1
    assert site.mails_to("bounced@example.com") == []
    assert site.mails_to("complained@example.com") == []
    assert store.by_email("bounced@example.com").state == "suppressed"  # type: ignore[union-attr]


def test_each_link_confirms_what_its_own_request_asked(site: Site) -> None:
    """One pending record per request: a third party who posts the owner's address first
    fixes neither the topics nor the page the owner later confirms, and each confirmation
    page shows what its link would confirm."""
    other = site.client.post(
        "/subscribe",
        data={"email": "RUI@example.com", "topics": "apostas", "source": "/elsewhere"},
    )
    owner = site.client.post(
        "/subscribe",
        data={"email": "rui@example.com", "topics": "clima, futebol", "source": "/pt"},
    )
    assert owner.status_code == other.status_code == 200
    assert owner.text.replace("rui@", "X@") == other.text.replace("RUI@", "X@").replace(
        "rui@", "X@"
    )
    others_mail, owners_mail = site.mails_to("rui@example.com")
    others_link, owners_link = site.link_in(others_mail), site.link_in(owners_mail)
    assert others_link != owners_link
    others_page = site.client.get(others_link).text
    assert "apostas" in others_page and "/elsewhere" in others_page
    assert "futebol" not in others_page
    owners_page = site.client.get(owners_link).text
    assert "clima, futebol" in owners_page and "/pt" in owners_page
    assert "apostas" not in owners_page

    assert site.client.post(owners_link).status_code == 200
    rui = SubscriberStore(site.db).by_email("rui@example.com")
    assert rui is not None and rui.state == "active" and rui.topics == ("clima", "futebol")
    consent = ConsentStore(site.db).get(rui.id)
    assert consent is not None and (consent.source, consent.topics) == (
        "/pt",
        ("clima", "futebol"),
    )
    # The other request went with the confirmation: its link changes nothing now.
    site.client.post(others_link)
    again = SubscriberStore(site.db).by_email("rui@example.com")
    assert again is not None and again.topics == ("clima", "futebol")
    assert ConsentStore(site.db).get(rui.id) == consent


def test_confirmation_mails_per_address_are_limited(site: Site) -> None:
    pages = {
        site.client.post("/subscribe", data={"email": "bob@example.com"}).text for _ in range(5)
    }
    assert len(pages) == 1
    assert len(site.mails_to("bob@example.com")) == 3  # mails_per_address_per_day


def test_bad_and_hostile_input(site: Site) -> None:
    for bad in (
        "not an address",
        "a@b",
        "x" * 300 + "@example.com",
        "ann@example.com\r\nBcc: x@y.z",
    ):
        response = site.client.post("/subscribe", data={"email": bad})
        assert response.status_code == 400, bad
        assert "does not look like an email address" in response.text
        assert "Bcc: x@y.z" not in response.text or "&" in response.text
    script = site.client.post("/subscribe", data={"email": '"<script>"@example.com<script>'})
    assert script.status_code == 400 and "<script>" not in script.text
    huge = site.client.post("/subscribe", data={"email": "a@example.com", "topics": "x" * 20_000})
    assert huge.status_code == 400
    trap = site.client.post("/subscribe", data={"email": "bot@example.com", "website": "spam"})
    assert trap.status_code == 200 and "Check your inbox" in trap.text
    assert site.mails_to("bot@example.com") == []
    for token in ("", "x", "a.b.c", "YUBleGFtcGxlLmNvbQ.9999999999.forged", "." * 5000):
        for method in ("GET", "POST"):
            response = site.client.request(method, f"/subscribe/confirm/{token}x")
            assert response.status_code in (400, 404, 414), (method, token)
    assert [s for s in SubscriberStore(site.db).all() if "settle" not in s.email] == []


def test_requests_per_client_address_are_limited(tmp_path: Path) -> None:
    with SmtpSink() as sink:
        for site in start(tmp_path, sink, per_ip_per_hour=2):
            codes = [
                site.client.post("/subscribe", data={"email": f"p{i}@example.com"}).status_code
                for i in range(3)
            ]
            assert codes == [200, 200, 429]


def test_a_refused_sign_up_says_why_without_the_value(tmp_path: Path) -> None:
    """The form shows ``SignupRefused.reason``: what is wrong, never the posted value (a
    header line smuggled into it included), and nothing is recorded."""
    config = replace(Config(), base_dir=str(tmp_path))
    db = open_database(config.store_path)
    cases = {
        "": "an empty address",
        "ann@example.com\r\nBcc: x@y.z": "control characters (CR, LF, ...) in an address",
        "x" * 300 + "@example.com": "longer than 254 characters",
    }
    for address, reason in cases.items():
        with pytest.raises(SignupRefused) as refused:
            request_signup(config, db, KEY, address)
        assert refused.value.reason == reason
    with pytest.raises(SignupRefused) as refused:
        request_signup(config, db, KEY, "ok@example.com", topics="a\nb")
    assert refused.value.reason == "control characters in a topic"
    assert ConsentStore(db).pending("ok@example.com") is None
    db.close()


def test_a_late_confirmation_is_refused_and_pending_addresses_expire(tmp_path: Path) -> None:
    config = replace(Config(), base_dir=str(tmp_path))
    db = open_database(config.store_path)
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    made = request_signup(config, db, KEY, "late@example.com", now=now)
    assert made.token is not None
    assert confirm_signup(config, db, KEY, made.token, now=now + timedelta(hours=49)) is None
    # Another request later purges the expired one (and starts afresh).
    request_signup(config, db, KEY, "other@example.com", now=now + timedelta(hours=49))
    assert ConsentStore(db).pending("late@example.com") is None
    assert confirm_signup(config, db, KEY, made.token, now=now + timedelta(hours=1)) is None
    assert SubscriberStore(db).all() == []


@pytest.mark.parametrize(
    ("language", "needle", "direction"),
    [
        ("de", "E-Mail-Adresse", "ltr"),
        ("zh", "电子邮件地址", "ltr"),
        ("es", "Correo electrónico", "ltr"),
        ("ar", "عنوان البريد الإلكتروني", "rtl"),
        ("pt-BR", "Endereço de e-mail", "ltr"),  # Portuguese's catalog
        ("ur", "ای میل پتا", "rtl"),
        ("sw", "Email address", "ltr"),  # no catalog: English
    ],
)
def test_the_form_speaks_the_newsletter_language(
    tmp_path: Path, language: str, needle: str, direction: str
) -> None:
    config = replace(
        Config(), base_dir=str(tmp_path), newsletter=replace(NewsletterOptions(), language=language)
    )
    from starlette.testclient import TestClient

    with TestClient(create_app(config, db=open_database(":memory:"), key=KEY)) as client:
        page = client.get("/subscribe").text
    assert needle in page and f'dir="{direction}"' in page and f'lang="{language}"' in page


def test_rate_limit_window_slides() -> None:
    clock = [0.0]
    limit = RateLimit(2, 60.0, clock=lambda: clock[0])
    assert [limit.allow("a"), limit.allow("a"), limit.allow("a"), limit.allow("b")] == [
        True,
        True,
        False,
        True,
    ]
    clock[0] = 61.0
    assert limit.allow("a")


def test_import_with_consent_dates_and_the_rest_pending(tmp_path: Path) -> None:
    from digest.subscribers import import_csv

    db = open_database(tmp_path / "store.sqlite3")
    store = SubscriberStore(db)
    store.upsert("old@example.com")  # already a subscriber: stays one
    csv = tmp_path / "list.csv"
    csv.write_text(
        "email,name,topics,consent_date\n"
        "ana@example.com,Ana,Klima,2025-03-14\n"
        "bo@example.com,Bo,,2025-06-01T08:30:00+02:00\n"
        "cy@example.com,Cy,,\n"
        "old@example.com,,,\n"
        "dee@example.com,,,14/03/2025\n"
        "eve@example.com,,,2999-01-01\n",
        encoding="utf-8",
    )
    report = import_csv(store, csv)
    assert (report.confirmed, report.pending, len(report.errors)) == (2, 1, 2)
    assert "2 with a consent date, 1 pending" in report.summary()
    assert report.errors[0].startswith("line 6: consent_date '14/03/2025'")
    assert {s.email for s in store.all()} == {
        "old@example.com",
        "ana@example.com",
        "bo@example.com",
    }
    consents = ConsentStore(db)
    ana = consents.get(store.by_email("ana@example.com").id)  # type: ignore[union-attr]
    assert ana is not None and (ana.method, ana.source, ana.topics) == (
        "import",
        "list.csv",
        ("Klima",),
    )
    assert ana.consented_at == datetime(2025, 3, 14, tzinfo=UTC)
    bo = consents.get(store.by_email("bo@example.com").id)  # type: ignore[union-attr]
    assert bo is not None and bo.consented_at == datetime(2025, 6, 1, 6, 30, tzinfo=UTC)
    assert consents.pending("cy@example.com") is not None


def test_confirm_pending_mails_imported_rows_once_and_they_can_confirm(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`digest subscribers confirm-pending`: the rows an import kept without a consent date
    get the form's confirmation mail (at a real SMTP server), once; a dry run sends
    nothing; the link confirms over HTTP; the per-address limit holds."""
    from click.testing import CliRunner

    from digest.cli import main
    from digest.subscribers import import_csv

    monkeypatch.setenv("DIGEST_SECRET", KEY.decode())
    with SmtpSink() as sink:
        running = start(tmp_path, sink, per_ip_per_hour=100, mails_per_address_per_day=1)
        site = next(running)
        store = SubscriberStore(site.db)
        store.upsert("old@example.com")  # active already: never mailed
        csv = tmp_path / "list.csv"
        csv.write_text(
            "email,name,topics,consent_date\n"
            "ana@example.com,Ana,Klima,2025-03-14\n"
            "wang@example.cn,王芳,宇宙,\n"
            "layla@example.org,ليلى,,\n"
            "old@example.com,,,\n",
            encoding="utf-8",
        )
        assert import_csv(store, csv).pending == 2
        # someone asked through the form too: already mailed, not mailed again
        assert site.client.post("/subscribe", data={"email": "form@example.com"}).status_code
        config_file = tmp_path / "config.yaml"
        config_file.write_text(
            f"newsletter: {{base_url: '{site.config.newsletter.base_url}'}}\n"
            "delivery: {transport: smtp, smtp: {host: 127.0.0.1, port: %d}}\n"
            "server: {signup: {mails_per_address_per_day: 1}}\n" % sink.port,
            encoding="utf-8",
        )

        def cli(*args: str) -> str:
            result = CliRunner().invoke(
                main, ["--config", str(config_file), "subscribers", "confirm-pending", *args]
            )
            assert result.exit_code == 0, result.output
            return result.output

        assert "2 confirmation mails would be sent" in cli("--dry-run")
        site.settle()
        assert "wang@example.cn" not in sink.by_recipient()
        assert "2 confirmation mails sent" in cli()
        [wang] = site.mails_to("wang@example.cn")
        [layla] = site.mails_to("layla@example.org")
        assert len(site.mails_to("form@example.com")) == 1  # the form's only
        assert site.mails_to("old@example.com") == [] and site.mails_to("ana@example.com") == []
        assert "Confirm your subscription" in str(wang["Subject"])
        # a second run finds nobody left to mail
        assert "0 confirmation mails sent" in cli()
        assert len(site.mails_to("wang@example.cn")) == 1
        link = site.link_in(wang)
        assert site.client.post(link).status_code == 200
        confirmed = store.by_email("wang@example.cn")
        assert confirmed is not None and confirmed.state == "active"
        assert confirmed.topics == ("宇宙",)
        consent = ConsentStore(site.db).get(confirmed.id)
        assert consent is not None and consent.method == "double-opt-in"
        assert consent.source == "list.csv"
        assert store.by_email("layla@example.org") is None  # not until she confirms
        assert layla["To"] == "layla@example.org"
        running.close()


def test_a_form_request_after_confirm_pending_leaves_the_imported_link_as_it_was(
    site: Site,
) -> None:
    """The import's link confirms what the import said, even after someone posts the
    address on the form with other topics; the form's link confirms only the form's."""
    from digest.pipeline.signup import confirm_pending
    from digest.subscribers import import_csv

    csv = Path(site.config.base_dir) / "liste.csv"
    csv.write_text("email,name,topics,consent_date\nnadia@example.ma,نادية,مناخ,\n", "utf-8")
    assert import_csv(SubscriberStore(site.db), csv).pending == 1
    assert confirm_pending(site.config, site.db, KEY).sent == 1
    posted = {"email": "Nadia@example.ma", "topics": "Wetten", "source": "/anderswo"}
    assert site.client.post("/subscribe", data=posted).status_code == 200
    imported, form = site.mails_to("nadia@example.ma")
    imported_link, form_link = site.link_in(imported), site.link_in(form)
    assert "مناخ" in site.client.get(imported_link).text
    form_page = site.client.get(form_link).text
    assert "Wetten" in form_page and "/anderswo" in form_page and "مناخ" not in form_page

    assert site.client.post(imported_link).status_code == 200
    nadia = SubscriberStore(site.db).by_email("nadia@example.ma")
    assert nadia is not None and nadia.state == "active" and nadia.topics == ("مناخ",)
    consent = ConsentStore(site.db).get(nadia.id)
    assert consent is not None and (consent.source, consent.topics) == ("liste.csv", ("مناخ",))
