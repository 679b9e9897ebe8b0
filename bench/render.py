"""Rendering and message assembly: time to render an edition, and messages per second.

1. Render: the sample edition (``tests/data/edition.json``: 7 stories in 3 sections, more
   news) rendered with the bundled templates, premailer included; its share of the time is
   measured by running premailer alone (``inline_css``) on the document and stylesheet the
   renderer hands it, caught by wrapping the public ``inline_css`` during one render.
2. Messages: 10,000 subscribers, each message built up to the exact bytes handed to a
   transport (both MIME parts, every header) by ``MessageFactory`` (parts encoded once
   per edition, slots filled per subscriber), against a baseline in the same run that
   builds each message from scratch with the standard ``email`` package (personalised
   HTML and text, ``EmailMessage``, ``add_alternative``, ``as_bytes``). The baseline runs
   on a sample and is reported as a rate.
3. DKIM: ``MessageFactory`` signing with fresh keys (``openssl``): RSA-2048, Ed25519, and
   both at once, against dkimpy's own ``sign()`` per message (the old way: key parsed and
   RSA computed in pure Python each time) in the same run. dkimpy's verifier checks
   ``--verify`` messages of each run, spread evenly from the first to the last (0: every
   one); a message with a signature missing or failing makes the run exit 1.

Exit status 1 also when a goal is missed (>= 5,000 msgs/s; >= 1,000 signed msgs/s);
``--smoke`` runs tiny sizes in a few seconds, verifies every signed message and reports
the goals without judging them (a few hundred messages on a shared machine say nothing
about throughput).

    .venv/bin/python bench/render.py [--subscribers 10000] [--baseline 500] [--dkim 2000]
    .venv/bin/python bench/render.py --smoke
"""

from __future__ import annotations

import argparse
import base64
import email.policy
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path

import dkim

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from digest import serialize  # noqa: E402
from digest.config import DkimOptions, NewsletterOptions  # noqa: E402
from digest.models import Edition, RenderedEdition, Subscriber  # noqa: E402
from digest.publish import render as render_module  # noqa: E402
from digest.publish.messages import MessageFactory, archive_url, unsubscribe_url  # noqa: E402
from digest.publish.render import Renderer, inline_css, personalize  # noqa: E402
from digest.signed import make_token  # noqa: E402

SECRET = b"benchmark secret, thirty-two b.."
OPTIONS = NewsletterOptions(base_url="https://news.example.org")


def load_edition() -> Edition:
    return serialize.loads(Edition, (ROOT / "tests/data/edition.json").read_text("utf-8"))


def premailer_input(renderer: Renderer, edition: Edition) -> tuple[str, str]:
    """The document and stylesheet ``renderer`` hands premailer for ``edition``: the last
    call of ``inline_css`` during one render, caught by wrapping it."""
    calls: list[tuple[str, str]] = []
    real = render_module.inline_css

    def catch(document: str, css: str) -> str:
        calls.append((document, css))
        return real(document, css)

    render_module.inline_css = catch
    try:
        renderer.render(edition)
    finally:
        render_module.inline_css = real
    if not calls:
        raise SystemExit("error: Renderer.render no longer calls inline_css; fix this benchmark")
    return calls[-1]


def time_render(edition: Edition, runs: int) -> tuple[float, float, RenderedEdition]:
    renderer = Renderer(OPTIONS)
    rendered = renderer.render(edition)  # warm-up: templates compiled, cssutils imported
    totals, premailer = [], []
    raw, css = premailer_input(renderer, edition)
    for _ in range(runs):
        start = time.perf_counter()
        rendered = renderer.render(edition)
        totals.append(time.perf_counter() - start)
        start = time.perf_counter()
        inline_css(raw, css)
        premailer.append(time.perf_counter() - start)
    return statistics.median(totals), statistics.median(premailer), rendered


def subscribers(n: int) -> list[Subscriber]:
    names = ["Ana Lima", "Zoë Ångström", "", "Bob O'Neil", "Łukasz Nowak"]
    return [Subscriber(i, f"reader{i}@example.com", names[i % len(names)]) for i in range(1, n + 1)]


def from_scratch(rendered: RenderedEdition, subscriber: Subscriber) -> bytes:
    """The baseline: one message built the plain way with the standard library."""
    token = make_token(SECRET, subscriber.id, subscriber.email)
    link = unsubscribe_url(OPTIONS, token)
    filled = personalize(
        rendered,
        name=subscriber.name,
        unsubscribe_url=link,
        browser_url=archive_url(OPTIONS, rendered.edition_id),
    )
    msg = EmailMessage()
    msg["From"] = formataddr((OPTIONS.from_name, OPTIONS.from_address))
    msg["To"] = formataddr((subscriber.name, subscriber.email))
    msg["Subject"] = rendered.subject
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = f"<{rendered.edition_id}.{subscriber.id}@example.org>"
    msg["List-Id"] = f"{OPTIONS.title} <{OPTIONS.list_id}>"
    msg["List-Unsubscribe"] = (
        f"<{link}>, <mailto:{OPTIONS.unsubscribe_mailto}?subject=unsubscribe-{token}>"
    )
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(filled.text, cte="quoted-printable")
    msg.add_alternative(filled.html, subtype="html", cte="quoted-printable")
    return msg.as_bytes(policy=email.policy.SMTP)


def openssl_key(folder: Path, kind: str) -> tuple[Path, bytes]:
    """A fresh key (``rsa`` 2048-bit or ``ed25519``) and its DNS record, from openssl."""
    key = folder / f"{kind}.pem"
    algorithm = ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]
    if kind == "ed25519":
        algorithm = ["-algorithm", "ed25519"]
    subprocess.run(
        ["openssl", "genpkey", *algorithm, "-out", str(key)], check=True, capture_output=True
    )
    der = subprocess.run(
        ["openssl", "pkey", "-in", str(key), "-pubout", "-outform", "DER"],
        check=True,
        capture_output=True,
    ).stdout
    public = der[-32:] if kind == "ed25519" else der
    return key, b"v=DKIM1; k=" + kind.encode() + b"; p=" + base64.b64encode(public)


def spread(count: int, sample: int) -> list[int]:
    """``sample`` indices of ``range(count)`` spread evenly, first and last included (all of
    them when ``sample`` is 0 or not smaller than ``count``)."""
    if sample <= 0 or sample >= count:
        return list(range(count))
    if sample == 1:
        return [count - 1]
    return sorted({round(i * (count - 1) / (sample - 1)) for i in range(sample)})


def dkim_failures(
    messages: dict[int, bytes], expected: int, records: dict[bytes, bytes]
) -> list[str]:
    """Why each of ``messages`` (index -> bytes) fails: not exactly ``expected``
    signatures, or one dkimpy does not verify against ``records``."""

    def dns(name: bytes, timeout: int = 5) -> bytes:
        return records.get(name.split(b"._domainkey")[0], b"")

    failures = []
    for index, data in messages.items():
        header, _, _ = data.partition(b"\r\n\r\n")
        found = header.count(b"\r\nDKIM-Signature:") + header.startswith(b"DKIM-Signature:")
        if found != expected:
            failures.append(f"message {index}: {found} DKIM signatures, expected {expected}")
            continue
        checked = dkim.DKIM(data)
        for i in range(found):
            if not checked.verify(idx=i, dnsfunc=dns):
                failures.append(f"message {index}: signature {i + 1} does not verify")
    return failures


def dkim_figures(
    rendered: RenderedEdition, people: list[Subscriber], baseline: int, verify: int
) -> tuple[list[float], list[str]]:
    """Signed messages per second: dkimpy's own sign() (the old way) against ours. Returns
    the rate of each of our set-ups and why any checked message failed verification."""
    rates: list[float] = []
    failures: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        rsa_key, rsa_record = openssl_key(Path(tmp), "rsa")
        ed_key, ed_record = openssl_key(Path(tmp), "ed25519")
        records = {b"news": rsa_record, b"ed": ed_record}
        plain = MessageFactory(rendered, OPTIONS, SECRET)
        pem = rsa_key.read_bytes()
        sample = [plain(p).data for p in people[:baseline]]
        start = time.perf_counter()
        for data in sample:
            dkim.sign(
                data,
                b"news",
                b"example.org",
                pem,
                canonicalize=(b"relaxed", b"relaxed"),
                include_headers=[b"from", b"to", b"subject", b"list-unsubscribe"],
                linesep=b"\r\n",
            )
        old = rate(len(sample), time.perf_counter() - start)
        print(
            f"DKIM, dkimpy sign() per message (old way, {len(sample)} messages): {old:,.0f} msgs/s"
        )
        setups = {
            "rsa-sha256 2048-bit": (DkimOptions("example.org", "news", str(rsa_key)), 1),
            "ed25519-sha256": (DkimOptions("example.org", "ed", str(ed_key)), 1),
            "rsa-sha256 + ed25519-sha256": (
                DkimOptions("example.org", "news", str(rsa_key), "ed", str(ed_key)),
                2,
            ),
        }
        checked = set(spread(len(people), verify))
        for label, (options, expected) in setups.items():
            signed = MessageFactory(rendered, OPTIONS, SECRET, dkim=options)
            kept: dict[int, bytes] = {}
            start = time.perf_counter()
            for index, person in enumerate(people):
                data = signed(person).data
                if index in checked:
                    kept[index] = data
            ours = rate(len(people), time.perf_counter() - start)
            rates.append(ours)
            failed = dkim_failures(kept, expected, records)
            failures += [f"{label}, {why}" for why in failed]
            print(
                f"DKIM, {label} ({len(people)} messages, one process): {ours:,.0f} msgs/s"
                f" = {ours / old:.0f}x dkimpy sign(); dkimpy verified"
                f" {len(kept) - len(failed)} of {len(kept)} checked messages"
                f" ({expected} signature{'s' if expected > 1 else ''} each)"
            )
    return rates, failures


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--baseline", type=int, default=500, help="baseline sample size")
    parser.add_argument("--dkim", type=int, default=2000, help="DKIM sample size (0: skip)")
    parser.add_argument("--dkim-baseline", type=int, default=100, help="dkimpy sign() sample")
    parser.add_argument(
        "--verify", type=int, default=200, help="signed messages verified per set-up (0: all)"
    )
    parser.add_argument("--runs", type=int, default=7, help="renders to time")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, goals not judged")
    args = parser.parse_args()
    if args.smoke:
        args.subscribers, args.baseline, args.runs = 300, 20, 2
        args.dkim, args.dkim_baseline, args.verify = 40, 3, 0

    edition = load_edition()
    total, premailer, rendered = time_render(edition, args.runs)
    html_kb = len(rendered.html.encode()) / 1000
    print(
        f"edition: {len(edition.stories)} stories, {len(edition.more_news)} more news;"
        f" HTML {html_kb:.1f} kB, text {len(rendered.text.encode()) / 1000:.1f} kB"
    )
    print(
        f"render (median of {args.runs}): {total * 1000:.1f} ms,"
        f" premailer {premailer * 1000:.1f} ms ({premailer / total:.0%} of it)"
    )

    people = subscribers(args.subscribers)
    start = time.perf_counter()
    factory = MessageFactory(rendered, OPTIONS, SECRET)
    prepare = time.perf_counter() - start
    start = time.perf_counter()
    size = 0
    for person in people:
        size += len(factory(person).data)
    ours = time.perf_counter() - start
    our_rate = rate(len(people), ours + prepare)
    print(
        f"MessageFactory: prepared once in {prepare * 1000:.1f} ms; {len(people):,} messages"
        f" in {ours:.2f} s = {our_rate:,.0f} msgs/s (avg {size / len(people) / 1000:.1f} kB)"
    )

    sample = people[: args.baseline]
    start = time.perf_counter()
    for person in sample:
        from_scratch(rendered, person)
    base = time.perf_counter() - start
    base_rate = rate(len(sample), base)
    print(
        f"baseline (email.message from scratch, {len(sample)} messages): {base:.2f} s"
        f" = {base_rate:,.0f} msgs/s ({base / len(sample) * 1000:.2f} ms each)"
    )
    missed = []
    print(f"ratio: {our_rate / base_rate:.1f}x the baseline; {goal(our_rate, 5000, args.smoke)}")
    if our_rate < 5000:
        missed.append("messages")

    failures: list[str] = []
    if args.dkim and shutil.which("openssl"):
        rates, failures = dkim_figures(
            rendered, people[: args.dkim], args.dkim_baseline, args.verify
        )
        print(
            f"DKIM, slowest set-up: {min(rates):,.0f} msgs/s; {goal(min(rates), 1000, args.smoke)}"
        )
        if min(rates) < 1000:
            missed.append("DKIM")
    elif args.dkim:
        print("DKIM: skipped, no openssl on PATH to make the keys")
    for why in failures:
        print(f"error: DKIM, {why}")
    if failures:
        return 1
    if missed and not args.smoke:
        print(f"error: goal missed: {', '.join(missed)}")
        return 1
    return 0


def goal(value: float, floor: float, smoke: bool) -> str:
    verdict = "met" if value >= floor else "NOT met"
    return f"goal >= {floor:,.0f} msgs/s: {verdict}" + (
        " (not judged in smoke mode)" if smoke else ""
    )


if __name__ == "__main__":
    sys.exit(main())
