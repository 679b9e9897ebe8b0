"""What an SMTP refusal is about, from its enhanced status code (RFC 3463) and the stage.

A reply's basic code says how long a failure lasts (4xx: try again, 5xx: do not); the
enhanced code in its text (``550 5.1.1 no such user``) says *what* failed. That decides
what digest does with it:

- ``recipient``  the address itself: ``X.1.x`` (bad mailbox, bad domain; not the sender
                 codes ``X.1.7``/``X.1.8``) and ``X.2.1`` (mailbox disabled). A permanent
                 one counts towards the address's suppression (``delivery.suppress_after``).
- ``message``    the message or the sender, the same for every recipient: ``X.6.x``
                 (content, media), ``X.7.x`` after DATA (policy, spam, DMARC), ``X.3.4``
                 and ``X.2.3`` (too big), ``X.1.7``/``X.1.8`` (bad sender), any refusal of
                 ``MAIL FROM``. A permanent one stops the send at once: every later message
                 would be refused too, and no subscriber is to blame. A re-run after the
                 fix sends what is left.
- ``other``      anything else (the relay, routing, the protocol): recorded as a failure
                 of this message, counted by the error budget, never towards suppression.

A reply with no enhanced code is judged by its basic code and stage (RFC 5321): at RCPT,
550/551/553 mean the mailbox (``recipient``); after DATA, 552 (size) and 554 (transaction
failed: the usual content refusal) mean the message; every other bare code is ``other``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["EnhancedStatus", "ReplyScope", "Stage", "enhanced_status", "reply_scope"]

ReplyScope = Literal["recipient", "message", "other"]
# Where in the SMTP transaction the reply came: MAIL FROM, RCPT TO, or DATA (the command or
# the end of the message).
Stage = Literal["mail", "rcpt", "data"]

# class.subject.detail, 1-3 digits each (RFC 3463 section 2), at the start of the text.
_ENHANCED = re.compile(r"\s*([245])\.(\d{1,3})\.(\d{1,3})(?!\S)")
_MESSAGE_CODES = {(3, 4), (2, 3)}  # message too big for the system / the mailbox
_SENDER_CODES = {(1, 7), (1, 8)}  # bad sender's mailbox / system address


@dataclass(frozen=True, slots=True)
class EnhancedStatus:
    klass: int
    subject: int
    detail: int

    def __str__(self) -> str:
        return f"{self.klass}.{self.subject}.{self.detail}"


def enhanced_status(code: int, text: str) -> EnhancedStatus | None:
    """The enhanced status code at the start of a reply's text, if it agrees with ``code``
    (a ``550 2.0.0`` is garbage, not a success)."""
    match = _ENHANCED.match(text)
    if match is None:
        return None
    status = EnhancedStatus(*(int(g) for g in match.groups()))
    return status if status.klass == code // 100 else None


def reply_scope(code: int, text: str, stage: Stage) -> ReplyScope:
    """What a 4xx/5xx reply at ``stage`` is about (see the module's docstring)."""
    if stage == "mail":
        return "message"
    status = enhanced_status(code, text)
    if status is not None:
        pair = (status.subject, status.detail)
        if pair in _SENDER_CODES or pair in _MESSAGE_CODES or status.subject == 6:
            return "message"
        if status.subject == 1 or pair == (2, 1):
            return "recipient"
        if status.subject == 7 and stage == "data":
            return "message"
        return "other"
    if stage == "rcpt" and code in (550, 551, 553):
        return "recipient"
    if stage == "data" and code in (552, 554):
        return "message"
    return "other"
