"""Signed links: every token digest puts in a link or an address, and the secret behind them.

Each kind is an HMAC-SHA256 under one secret from the environment (``server.secret_env``),
with its own purpose string mixed in, so that a token of one kind is never accepted as
another. Publishing puts them into messages, the web pages and inbound mail read them back.

- unsubscribe: ``<subscriber id>.<mac>``, URL-safe, bound to the subscriber's address and to
  the *version* of their subscription (``subscribers.token_version``, raised each time an
  address becomes active again), so it cannot be forged or moved to another address, and
  links in mail sent before someone unsubscribed and signed up again no longer work.
  Version 0 signs as tokens did before versions existed, so links already in inboxes keep
  working. ``read_token`` is strict: the id is 1 to ``MAX_ID_DIGITS`` ASCII digits and the
  MAC exactly ``MAC_CHARS`` URL-safe base64 characters; anything else is not a token.
- VERP: ``bounces+<id>-<mac>@domain``. The local part is lower-case base32 (relays may
  change the case of a local part), bound to the subscriber's id and address.
- confirmation: ``<address, base64url>.<expiry, unix seconds>.<mac>``: the address is
  not yet a subscriber, so the token carries it; it stops working at the expiry.
- preferences: ``<id>.<mac>``, bound to the id, the address and the subscription's
  version (as unsubscribe tokens are).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import time
from dataclasses import dataclass

from digest.config import secret
from digest.errors import ConfigError

__all__ = [
    "MAX_ID_DIGITS",
    "ConfirmRequest",
    "make_confirm_token",
    "make_preferences_token",
    "make_token",
    "read_confirm_token",
    "read_preferences_token",
    "read_token",
    "read_verp",
    "secret_key",
    "verify_preferences_token",
    "verify_token",
    "verify_verp",
    "verp_address",
]

MAX_ID_DIGITS = 18  # below 2**63: any id the store can hold
MAC_BYTES = 18
MAC_CHARS = 24  # 18 bytes in base64, no padding
_TOKEN = re.compile(rf"([0-9]{{1,{MAX_ID_DIGITS}}})\.([A-Za-z0-9_-]{{{MAC_CHARS}}})", re.ASCII)


def _unsubscribe_mac(secret: bytes, subscriber_id: int, email: str, version: int) -> str:
    signed = (
        f"{subscriber_id}:{email.lower()}"
        if version == 0
        else (f"{subscriber_id}:v{version}:{email.lower()}")
    )
    digest = hmac.new(secret, f"unsubscribe:{signed}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:MAC_BYTES]).decode("ascii")


def make_token(secret: bytes, subscriber_id: int, email: str, version: int = 0) -> str:
    return f"{subscriber_id}.{_unsubscribe_mac(secret, subscriber_id, email, version)}"


def read_token(token: str) -> int | None:
    """The subscriber id a token claims (not yet verified), or None if it is malformed."""
    match = _TOKEN.fullmatch(token)
    return None if match is None else int(match.group(1))


def verify_token(secret: bytes, token: str, email: str, version: int = 0) -> bool:
    """Whether ``token`` was made with ``secret`` for this subscriber, address and version."""
    subscriber_id = read_token(token)
    if subscriber_id is None:
        return False
    expected = make_token(secret, subscriber_id, email, version)
    return hmac.compare_digest(token.encode("ascii"), expected.encode("ascii"))


def secret_key(secret_env: str) -> bytes:
    """The HMAC key of every signed link, from the variable named by ``server.secret_env``."""
    value = secret(secret_env)
    if value is None:
        raise ConfigError(
            f"${secret_env} is not set: it holds the secret that signs"
            " unsubscribe links (export a long random value, the same for `digest run`"
            " and `digest serve`)"
        )
    return value.encode("utf-8")


VERP_MAC_BYTES = 10  # 16 base32 characters: 80 bits
MAX_TOKEN_CHARS = 600  # a confirmation token for a 254-character address is under 400


def _mac(secret: bytes, purpose: str, *parts: object) -> bytes:
    message = ":".join([purpose, *(str(p) for p in parts)]).encode("utf-8")
    return hmac.new(secret, message, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None


# --- VERP -------------------------------------------------------------------------------------


def _verp_mac(secret: bytes, subscriber_id: int, email: str) -> str:
    mac = _mac(secret, "verp", subscriber_id, email.lower())[:VERP_MAC_BYTES]
    return base64.b32encode(mac).decode("ascii").lower().rstrip("=")


def verp_address(secret: bytes, bounce_address: str, subscriber_id: int, email: str) -> str:
    """``local+<id>-<mac>@domain`` for the configured ``local@domain``."""
    local, _, domain = bounce_address.rpartition("@")
    return f"{local}+{subscriber_id}-{_verp_mac(secret, subscriber_id, email)}@{domain}"


def read_verp(address: str, bounce_address: str) -> tuple[int, str] | None:
    """The (subscriber id, mac) a VERP address claims, not yet verified; None when
    ``address`` is not one of ``bounce_address``'s."""
    local, _, domain = bounce_address.rpartition("@")
    found = re.fullmatch(
        rf"{re.escape(local)}\+(\d{{1,18}})-([a-z2-7]{{1,64}})@{re.escape(domain)}",
        address.strip().strip("<>").lower(),
    )
    if found is None:
        return None
    return int(found.group(1)), found.group(2)


def verify_verp(secret: bytes, mac: str, subscriber_id: int, email: str) -> bool:
    return hmac.compare_digest(mac.lower(), _verp_mac(secret, subscriber_id, email))


# --- confirmation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ConfirmRequest:
    email: str
    expires: int  # unix seconds


def make_confirm_token(secret: bytes, email: str, expires: int) -> str:
    address = _b64(email.encode("utf-8"))
    return f"{address}.{expires}.{_b64(_mac(secret, 'confirm', email.lower(), expires)[:18])}"


def read_confirm_token(
    secret: bytes, token: str, now: float | None = None
) -> ConfirmRequest | None:
    """The address a confirmation token was made for, or None when it is malformed,
    forged, altered or expired."""
    if len(token) > MAX_TOKEN_CHARS or not token.isascii() or token.count(".") != 2:
        return None  # non-ASCII: "²" passes str.isdigit, and compare_digest refuses it
    address, expires_text, mac = token.split(".")
    raw = _unb64(address)
    if raw is None or not expires_text.isdigit() or len(expires_text) > 12:
        return None
    try:
        email = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    expires = int(expires_text)
    expected = _b64(_mac(secret, "confirm", email.lower(), expires)[:18])
    if not hmac.compare_digest(mac, expected):
        return None
    if (time.time() if now is None else now) > expires:
        return None
    return ConfirmRequest(email, expires)


# --- preferences ------------------------------------------------------------------------------


def make_preferences_token(secret: bytes, subscriber_id: int, email: str, version: int = 0) -> str:
    """Bound to the id, the address and the subscription's version (``token_version``):
    an address that left and came back has new links, the old ones stop working."""
    mac = _mac(secret, "preferences", subscriber_id, email.lower(), version)[:18]
    return f"{subscriber_id}.{_b64(mac)}"


def read_preferences_token(token: str) -> int | None:
    """The subscriber id a preferences token claims (not yet verified)."""
    if not token.isascii():
        return None  # "²" and "١" pass str.isdigit; compare_digest refuses non-ASCII
    head, _, mac = token.partition(".")
    if not head.isdigit() or len(head) > 18 or not mac or len(token) > MAX_TOKEN_CHARS:
        return None
    return int(head)


def verify_preferences_token(secret: bytes, token: str, email: str, version: int = 0) -> bool:
    subscriber_id = read_preferences_token(token)
    if subscriber_id is None:
        return False
    expected = make_preferences_token(secret, subscriber_id, email, version)
    return hmac.compare_digest(token, expected)
