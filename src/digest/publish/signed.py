"""Signed values for the subscriber's side: VERP return paths, sign-up confirmations and
preferences links.

Each kind is an HMAC-SHA256 under the same secret as unsubscribe tokens
(``server.secret_env``), with its own purpose string mixed in, so that a token of one
kind is never accepted as another:

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

__all__ = [
    "ConfirmRequest",
    "make_confirm_token",
    "make_preferences_token",
    "read_confirm_token",
    "read_preferences_token",
    "read_verp",
    "verify_preferences_token",
    "verify_verp",
    "verp_address",
]

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
