"""Hostile mail for the bounce mailbox, in several languages: nesting that exhausts the
email package's recursion, too many parts, too many bytes, broken and non-UTF-8 headers.
Used by ``test_bounces_bounds.py`` and the hostile corpus (``hostile/corpus.py``)."""

from __future__ import annotations

UNSUBSCRIBE = "unsubscribe@example.org"


def nested_comments(depth: int = 500) -> bytes:
    """A From header of ``depth`` nested comments: about 1 KB for 500."""
    name = "(" * depth + "Anna Müller" + ")" * depth
    return (
        f"From: {name} <anna@example.net>\nTo: {UNSUBSCRIBE}\n"
        "Subject: =?utf-8?q?Bitte_abmelden?=\n\nBitte abmelden, danke.\n"
    ).encode()


def nested_messages(depth: int = 1000) -> bytes:
    """``depth`` message/rfc822 parts, each enclosing the next."""
    head = (
        "From: MAILER-DAEMON@mx.example.net\nTo: bounces@example.org\n"
        "Subject: Non remis / 配信不能\nReturn-Path: <>\n"
    )
    return (
        head
        + "Content-Type: message/rfc822\n\n" * depth
        + "Subject: Der Brief\n\nNicht zustellbar.\n"
    ).encode()


def nested_multiparts(depth: int = 1000) -> bytes:
    """``depth`` multiparts, each the first part of the one around it."""
    lines = ["From: MAILER-DAEMON@mx.example.net", "To: bounces@example.org", "Subject: Échec"]
    for level in range(depth):
        lines += [f'Content-Type: multipart/mixed; boundary="b{level}"', "", f"--b{level}"]
    lines += ["Content-Type: text/plain; charset=utf-8", "", "Zustellung fehlgeschlagen."]
    return "\n".join(lines).encode() + b"\n"


def many_parts(count: int = 100_000) -> bytes:
    """``count`` small text parts: about 3.8 MB for 100,000."""
    part = b"--x\nContent-Type: text/plain\n\nTeil ok\n"
    head = b"From: a@example.net\nTo: bounces@example.org\n"
    head += b'Content-Type: multipart/mixed; boundary="x"\n\n'
    return head + part * count + b"--x--\n"


def huge(size: int = 50_000_000) -> bytes:
    line = b"A" * 75 + b"\n"
    head = b"From: a@example.net\nTo: bounces@example.org\nSubject: big\n\n"
    return head + line * (size // len(line))


def long_header(size: int = 100_000) -> bytes:
    folded = "\n ".join(["Empfänger" * 8] * (size // 80))
    return f"From: a@example.net\nTo: {UNSUBSCRIBE}\nX-Long: {folded}\n\nhi\n".encode()


def malformed_headers(token: str) -> bytes:
    """An unsubscribe request (the token in its subject) with broken headers around it: a
    broken encoded word, an impossible date, a charset nobody knows, a NUL in a name."""
    return (
        b"From: =?utf-8?b?!!!kaputt?= <bo@example.com>\n"
        b"To: " + UNSUBSCRIBE.encode() + b"\n"
        b"Subject: unsubscribe-" + token.encode() + b"\n"
        b"Date: Montag, 31. Februar 99999 25:61:61 +9999\n"
        b'Content-Type: text/plain; charset="x-no-such-charset"; format=\n'
        b"Content-Transfer-Encoding: quoted-printable\n"
        b"X-Bad\x00Name: value\n"
        b"no colon on this line\n"
        b"\n" + "Bitte abmelden. Désinscription. 退会します。=ZZ=\n".encode()
    )


def not_utf8(token: str) -> bytes:
    """An unsubscribe request in Shift_JIS and Latin-1, one header raw 8-bit, undeclared."""
    body = f"配信を停止してください。\nunsubscribe-{token}\n".encode("shift_jis")
    return (
        b"From: cy@example.com\nTo: " + UNSUBSCRIBE.encode() + b"\n"
        b"Subject: D\xe9sinscription, s'il vous pla\xeet\n"
        b"Content-Type: text/plain; charset=shift_jis\n\n" + body
    )


def delay_notice() -> bytes:
    """An RFC 3464 delay notice (``Action: delayed``): handled without a subscriber."""
    return (
        "Return-Path: <>\nFrom: Mail Delivery System <MAILER-DAEMON@mx.example.net>\n"
        "To: bounces@example.org\nSubject: Delayed Mail (still being retried)\n"
        "Auto-Submitted: auto-replied\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="r"\n\n'
        "--r\nContent-Type: text/plain; charset=utf-8\n\n"
        "Zustellung verzögert; wird erneut versucht.\n"
        "--r\nContent-Type: message/delivery-status\n\n"
        "Reporting-MTA: dns; mx.example.net\n\n"
        "Final-Recipient: rfc822; ann@example.com\nAction: delayed\nStatus: 4.4.7\n"
        "--r--\n"
    ).encode()


def nested_digests(depth: int, comments: int = 2) -> bytes:
    """``depth`` multipart/digest parts, each holding one part with no Content-Type (so a
    message, RFC 2046 5.1.5), which is the next digest: twice ``depth`` nested. The
    innermost message's From has ``comments`` nested comments."""
    lines = ["From: digest@example.net", "To: bounces@example.org", "Subject: Sammelmail"]
    for level in range(depth):
        lines += [f'Content-Type: multipart/digest; boundary="d{level}"', "", f"--d{level}", ""]
    name = "(" * comments + "Åsa" + ")" * comments
    lines += [f"From: {name} <asa@example.org>", "", "Hej."]
    return "\n".join(lines).encode() + b"\n"
