"""The subscriber a signed link names: the token read, its subscriber found, its MAC checked.

The unsubscribe page (``/u/<token>``) and the preferences page (``/p/<token>``) both answer
a link from a message. Each token kind (``digest.signed``) has its reader and verifier; the
lookup around them is the same, and so is its rule: a malformed token, one naming no
subscriber and a forged one are all ``None``, after the same HMAC work, so that neither the
answer nor its time tells which subscriber ids exist.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from digest.models import Subscriber
from digest.signed import read_preferences_token, read_token, verify_preferences_token, verify_token
from digest.store.subscribers import SubscriberStore

__all__ = ["PREFERENCES", "UNSUBSCRIBE", "LinkKind", "subscriber_of"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LinkKind:
    name: str  # for the log line
    read: Callable[[str], int | None]
    verify: Callable[[bytes, str, str, int], bool]


UNSUBSCRIBE = LinkKind("unsubscribe", read_token, verify_token)
PREFERENCES = LinkKind("preferences", read_preferences_token, verify_preferences_token)


def subscriber_of(
    kind: LinkKind, store: SubscriberStore, key: bytes, token: str
) -> Subscriber | None:
    """The subscriber ``token`` names when its MAC holds for their address and version."""
    subscriber_id = kind.read(token)
    if subscriber_id is None:
        return None
    found = store.get(subscriber_id)
    if found is None:
        kind.verify(key, token, "unknown@invalid", 0)  # the same HMAC work as a known id
        return None
    if not kind.verify(key, token, found.email, found.token_version):
        log.warning("%s: a forged, altered or revoked token for a subscriber", kind.name)
        return None
    return found
