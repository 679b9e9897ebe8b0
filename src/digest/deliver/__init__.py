"""Delivery: transports (SMTP, outbox folder), and sending an edition through the ledger.

``transports`` knows how to hand one ``OutgoingMessage`` to a server or a folder, and
makes the configured one (``transport_factory``, from the delivery options);
``sender`` sends an edition to its subscribers with parallel connections, a rate limit,
retries, suppression and an error budget, recording every step in the ledger
(``digest.store.ledger``).
"""

from digest.deliver.sender import DeliveryReport, RateLimiter, backoff_delay, deliver_edition
from digest.deliver.transports import (
    OutboxTransport,
    SendReply,
    SmtpTransport,
    Transport,
    check_smtp_options,
    eml_name,
    transport_factory,
)

__all__ = [
    "DeliveryReport",
    "OutboxTransport",
    "RateLimiter",
    "SendReply",
    "SmtpTransport",
    "Transport",
    "backoff_delay",
    "check_smtp_options",
    "deliver_edition",
    "eml_name",
    "transport_factory",
]
