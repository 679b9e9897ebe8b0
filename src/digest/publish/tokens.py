"""Unsubscribe tokens: ``<subscriber id>.<HMAC-SHA256 of id, version and address>``, URL-safe.

The HMAC key is a secret from the environment (``server.secret_env``). A token names one
subscriber and is bound to their address and to the *version* of their subscription
(``subscribers.token_version``, raised each time an address becomes active again), so it
cannot be forged or moved to another address, and the links in mail sent before someone
unsubscribed and signed up again no longer work. Version 0 signs as tokens did before
versions existed, so links already in inboxes keep working.

``read_token`` is strict: the id is 1 to ``MAX_ID_DIGITS`` ASCII digits and the MAC
exactly ``MAC_CHARS`` URL-safe base64 characters; anything else is not a token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from digest.config import Config, secret
from digest.errors import ConfigError

__all__ = ["MAX_ID_DIGITS", "make_token", "read_token", "secret_key", "verify_token"]

MAX_ID_DIGITS = 18  # below 2**63: any id the store can hold
MAC_BYTES = 18
MAC_CHARS = 24  # 18 bytes in base64, no padding
_TOKEN = re.compile(rf"([0-9]{{1,{MAX_ID_DIGITS}}})\.([A-Za-z0-9_-]{{{MAC_CHARS}}})", re.ASCII)


def _mac(secret: bytes, subscriber_id: int, email: str, version: int) -> str:
    signed = (
        f"{subscriber_id}:{email.lower()}"
        if version == 0
        else (f"{subscriber_id}:v{version}:{email.lower()}")
    )
    digest = hmac.new(secret, f"unsubscribe:{signed}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:MAC_BYTES]).decode("ascii")


def make_token(secret: bytes, subscriber_id: int, email: str, version: int = 0) -> str:
    return f"{subscriber_id}.{_mac(secret, subscriber_id, email, version)}"


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


def secret_key(config: Config) -> bytes:
    """The HMAC key of unsubscribe tokens, from ``$<server.secret_env>``."""
    value = secret(config.server.secret_env)
    if value is None:
        raise ConfigError(
            f"${config.server.secret_env} is not set: it holds the secret that signs"
            " unsubscribe links (export a long random value, the same for `digest run`"
            " and `digest serve`)"
        )
    return value.encode("utf-8")
