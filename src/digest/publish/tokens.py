"""Unsubscribe tokens: ``<subscriber id>.<HMAC-SHA256 of id and address>``, URL-safe.

The HMAC key is a secret from the environment (``server.secret_env``). A token names one
subscriber and is bound to their address, so it cannot be forged or moved to another one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from digest.config import Config, secret
from digest.errors import ConfigError

__all__ = ["make_token", "read_token", "secret_key", "verify_token"]


def _mac(secret: bytes, subscriber_id: int, email: str) -> str:
    digest = hmac.new(
        secret, f"unsubscribe:{subscriber_id}:{email.lower()}".encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode("ascii")


def make_token(secret: bytes, subscriber_id: int, email: str) -> str:
    return f"{subscriber_id}.{_mac(secret, subscriber_id, email)}"


def read_token(token: str) -> int | None:
    """The subscriber id a token claims (not yet verified), or None if it is malformed."""
    head, _, mac = token.partition(".")
    if not head.isdigit() or not mac:
        return None
    return int(head)


def verify_token(secret: bytes, token: str, email: str) -> bool:
    """Whether ``token`` was made with ``secret`` for this subscriber and address."""
    subscriber_id = read_token(token)
    if subscriber_id is None:
        return False
    return hmac.compare_digest(token, make_token(secret, subscriber_id, email))


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
