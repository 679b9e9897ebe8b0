"""The one error tree of digest.

Every failure a user can see is a ``DigestError``; errors of the libraries below us
(sqlite3, smtplib, transformers, feedparser, ...) are translated at the boundary with
``raise XError("what and where") from exc``.

    DigestError
    ├── ConfigError        config.yaml missing, unreadable, unknown key, wrong type
    ├── SourceError        a feed, page or file could not be read or parsed
    ├── StoreError         the SQLite store could not be opened, migrated or written
    ├── ModelError         a model folder is missing or a model failed to load or run
    ├── SummaryError       an article could not be summarised
    ├── EditionError       no edition could be built (no articles, bad date)
    ├── RenderError        a template is missing or failed, or the HTML breaks a limit
    ├── DeliveryError      a message could not be built or sent
    │   ├── TransientDeliveryError   worth retrying (4xx, dropped connection, timeout)
    │   ├── PermanentDeliveryError   not worth retrying (5xx)
    │   ├── MessageRefused           the relay refused the message itself; the run stopped
    │   ├── RelayRefusesEveryone     the circuit breaker: the relay refuses most addresses
    │   └── ErrorBudgetExceeded      too many failures in a row; the run stopped
    ├── SubscriberError    an address is invalid or unknown
    └── LockError          another run holds the job's lock
"""

from __future__ import annotations

from typing import Literal

__all__ = [
    "ConfigError",
    "DeliveryError",
    "DigestError",
    "EditionError",
    "ErrorBudgetExceeded",
    "LockError",
    "MessageRefused",
    "ModelError",
    "PermanentDeliveryError",
    "RelayRefusesEveryone",
    "RenderError",
    "SourceError",
    "StoreError",
    "SubscriberError",
    "SummaryError",
    "TransientDeliveryError",
]


class DigestError(Exception):
    """Base class of every error digest reports to its user."""


class ConfigError(DigestError):
    """The configuration is missing, unreadable or invalid."""


class SourceError(DigestError):
    """A source (feed, page, file, folder) could not be read or parsed.

    ``location`` is the path or URL the error is about (a reader given no name says
    "page" or "input"), and the message starts with it; ``reader`` is what failed on it
    ("feed", "page", "http", "json", "file", "folder"; None when not known). Code that adds
    a location decides from ``location``, never from the message's text.
    """

    def __init__(
        self, detail: str, *, location: str | None = None, reader: str | None = None
    ) -> None:
        super().__init__(detail if location is None else f"{location}: {detail}")
        self.detail = detail
        self.location = location
        self.reader = reader


class StoreError(DigestError):
    """The store could not be opened, migrated, read or written."""


class ModelError(DigestError):
    """A model could not be found, loaded or run."""


class SummaryError(DigestError):
    """An article could not be summarised."""


class EditionError(DigestError):
    """An edition could not be built."""


class RenderError(DigestError):
    """A newsletter could not be rendered."""


class DeliveryError(DigestError):
    """A message could not be built or delivered."""


class TransientDeliveryError(DeliveryError):
    """A delivery failure worth retrying later (4xx reply, dropped connection, timeout).

    ``code`` is the SMTP reply code when there was one; ``after_data`` is true when the
    failure came after the message was handed over, so the server may have accepted it.
    """

    def __init__(self, message: str, *, code: int | None = None, after_data: bool = False):
        super().__init__(message)
        self.code = code
        self.after_data = after_data


class PermanentDeliveryError(DeliveryError):
    """A delivery failure not worth retrying (5xx reply).

    ``scope`` says what the refusal is about (``digest.deliver.replies``): ``recipient``
    (the address: counts towards its suppression), ``message`` (the message or sender,
    the same for everyone: the send stops) or ``other`` (the relay, routing, protocol).
    ``recipient`` is ``scope == "recipient"``.
    """

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        recipient: bool = True,
        scope: Literal["recipient", "message", "other"] | None = None,
    ):
        super().__init__(message)
        self.code = code
        self.scope = scope or ("recipient" if recipient else "other")
        self.recipient = self.scope == "recipient"


class MessageRefused(DeliveryError):
    """The relay refused the message itself (content, policy, size, sender): the send
    stopped, no subscriber was blamed, the ledger keeps the rest for a run after the fix."""


class RelayRefusesEveryone(DeliveryError):
    """The relay refused so many addresses as bad mailboxes (``5.1.x``) that the relay, not
    the list, is at fault (the circuit breaker): the send stopped and no refusal of this run
    counted towards any subscriber's suppression."""


class ErrorBudgetExceeded(DeliveryError):
    """Too many consecutive delivery failures: the run stopped, the ledger is kept."""


class SubscriberError(DigestError):
    """A subscriber address is invalid or unknown."""


class LockError(DigestError):
    """Another run of the same job holds the lock."""
