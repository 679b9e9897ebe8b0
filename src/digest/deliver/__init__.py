"""Delivery: outgoing mail only, and sending an edition through the ledger.

    transports.py  anything with ``send(message)``: SMTP, and an outbox folder of ``.eml``
                   files; knows nothing of editions or templates; ``transport_factory``
                   makes the configured one from the delivery options
    sender.py      an edition to its subscribers with parallel connections, a rate limit,
                   retries, suppression and an error budget, recording every step in the
                   ledger (``digest.store.ledger``)
    replies.py     what an SMTP refusal is about, from its enhanced status code (RFC 3463):
                   the address, the message itself, or the relay

Nothing here renders (``digest.publish``) or reads the mail that comes back
(``digest.inbound``).
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
