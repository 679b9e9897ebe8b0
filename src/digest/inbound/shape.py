"""The shape of one message, checked line by line before the email package parses it.

The email package parses nested MIME entities and nested header comments by recursion:
a message of 1,000 nested ``message/rfc822`` parts, or a header of 500 nested
parentheses (about 1 KB), raises ``RecursionError``; 100,000 parts take half a minute. So
``check_shape`` walks the raw lines once, without recursion, the way the email package's
``feedparser`` splits them (header lines, multipart boundaries, enclosed messages,
delivery-status blocks), and stops at the first bound of ``MailLimits`` a message passes:
nesting depth, parts, the length of one header field, the nesting of comments in a
header, time. Only a message within every bound is handed to the parser.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser

from digest.config import MailLimits
from digest.errors import DeliveryError

__all__ = ["MailShape", "UnreadableMail", "check_shape", "comment_depth"]

# A header line as the email package's feedparser tells it from the body (its headerRE):
# a field name and a colon, a continuation, or a Unix "From " line.
_HEADER_LINE = re.compile(rb"(?:From |[\041-\071\073-\176]*:|[\t ])")
_LINE = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
_DEADLINE_EVERY = 512  # lines between two looks at the clock


class UnreadableMail(DeliveryError):
    """A message that passes a bound of ``MailLimits`` or that cannot be parsed.

    ``reason`` says which bound or what failed; ``line`` is the line (1-based) at which
    reading stopped (0 when it was not read line by line)."""

    def __init__(self, reason: str, *, line: int = 0) -> None:
        super().__init__(reason if not line else f"{reason} (at line {line})")
        self.reason = reason
        self.line = line


@dataclass(frozen=True)
class MailShape:
    """What ``check_shape`` counted: MIME parts (with delivery-status blocks), the deepest
    nesting, and the lines it read."""

    parts: int
    depth: int
    lines: int


@dataclass
class _Frame:
    """An open multipart: its delimiter line's prefix, the depth of the multipart, and
    whether it is a multipart/digest (whose parts are messages unless they say else)."""

    delimiter: bytes
    depth: int
    digest: bool


class _Comments:
    """How deep the comments of one header field nest (RFC 5322 section 3.2.2), fed line
    by line: ``(a (b))`` is 2; parentheses in a quoted string or after a backslash do not
    count."""

    def __init__(self) -> None:
        self.deepest = self.depth = 0
        self.quoted = self.escaped = False

    def feed(self, value: bytes) -> int:
        for byte in value:
            if self.escaped:
                self.escaped = False
            elif byte == 0x5C:  # backslash: a quoted-pair
                self.escaped = True
            elif byte == 0x22 and self.depth == 0:  # a double quote outside any comment
                self.quoted = not self.quoted
            elif self.quoted:
                continue
            elif byte == 0x28:
                self.depth += 1
                self.deepest = max(self.deepest, self.depth)
            elif byte == 0x29 and self.depth:
                self.depth -= 1
        return self.deepest


def comment_depth(value: bytes) -> int:
    """How deep the comments of a header value nest: ``(a (b))`` is 2."""
    return _Comments().feed(value)


def _lines(data: bytes) -> Iterator[bytes]:
    for found in _LINE.finditer(data):
        if found.group():
            yield found.group()


def _stripped(line: bytes) -> bytes:
    return line.rstrip(b"\r\n")


class _Walk:
    """The state of one ``check_shape``: counts, the open multiparts, the current mode."""

    def __init__(self, limits: MailLimits, deadline: float) -> None:
        self.limits = limits
        self.deadline = deadline
        self.line = 0
        self.parts = 0
        self.deepest = 0
        self.depth = 0  # of the entity being read
        self.frames: list[_Frame] = []
        # "headers": an entity's header lines; "body": lines that are only searched for
        # delimiters; "header-text": a text/rfc822-headers body (header lines, not parsed
        # as an entity); "blocks": the header blocks of message/delivery-status.
        self.mode = "headers"
        self.header: list[bytes] = []  # the current entity's header lines
        self.digest_part = False  # the current entity is a part of a multipart/digest
        self.field = 0  # length of the header field being read
        self.comments = _Comments()  # and the nesting of its comments

    def fail(self, reason: str) -> UnreadableMail:
        return UnreadableMail(reason, line=self.line)

    def tick(self) -> None:
        self.line += 1
        if self.line % _DEADLINE_EVERY == 0 and time.monotonic() > self.deadline:
            raise self.fail(f"not read within {self.limits.seconds:g} s")

    def field_line(self, line: bytes) -> None:
        """Bound the length of the header field ``line`` starts or continues."""
        if line[:1] in (b" ", b"\t"):
            self.field += len(line)
        else:
            self.field = len(line)
            self.comments = _Comments()
        if self.field > self.limits.header_bytes:
            raise self.fail(f"a header field longer than {self.limits.header_bytes:,} bytes")
        if self.comments.feed(line) > self.limits.depth:
            raise self.fail(f"header comments nested more than {self.limits.depth} deep")

    def count_part(self) -> None:
        self.parts += 1
        if self.parts > self.limits.parts:
            raise self.fail(f"more than {self.limits.parts:,} MIME parts")

    def enter(self, depth: int, *, digest_part: bool = False) -> None:
        """Start the headers of an entity ``depth`` deep."""
        if depth > self.limits.depth:
            raise self.fail(f"MIME parts nested more than {self.limits.depth} deep")
        self.depth = depth
        self.deepest = max(self.deepest, depth)
        self.mode = "headers"
        self.header = []
        self.field = 0
        self.digest_part = digest_part

    def delimiter(self, line: bytes) -> bool:
        """Whether ``line`` is a delimiter of an open multipart (the innermost first, as
        the feedparser's stack of end-of-part matchers); if so, act on it."""
        if not line.startswith(b"--") or not self.frames:
            return False
        text = _stripped(line).rstrip(b" \t")
        for index in range(len(self.frames) - 1, -1, -1):
            frame = self.frames[index]
            if not text.startswith(frame.delimiter):
                continue
            rest = text[len(frame.delimiter) :]
            if rest not in (b"", b"--"):
                continue
            del self.frames[index + 1 :]  # the parts nested in this one end here
            if rest == b"--":  # the close delimiter: the epilogue follows
                self.frames.pop()
                self.depth = frame.depth
                self.mode = "body"
            else:
                self.enter(frame.depth + 1, digest_part=frame.digest)
            return True
        return False

    def end_headers(self) -> None:
        """The current entity's headers are read: count it and decide how its body reads."""
        self.count_part()
        entity: Message = HeaderParser().parsestr(
            b"".join(self.header).decode("ascii", "surrogateescape")
        )
        kind = entity.get_content_type()
        if self.digest_part and entity.get("content-type") is None:
            kind = "message/rfc822"  # the default in a multipart/digest (RFC 2046 5.1.5)
        self.header = []
        self.field = 0
        if kind == "message/delivery-status":
            self.mode = "blocks"
        elif kind.startswith("message/"):
            self.enter(self.depth + 1)  # an enclosed message: its headers follow at once
        elif entity.get_content_maintype() == "multipart" and entity.get_boundary():
            boundary = str(entity.get_boundary())
            delimiter = b"--" + boundary.encode("ascii", "surrogateescape").rstrip(b" \t")
            self.frames.append(_Frame(delimiter, self.depth, kind == "multipart/digest"))
            self.mode = "body"  # the preamble, until the first delimiter
        elif kind == "text/rfc822-headers":
            self.mode = "header-text"
        else:
            self.mode = "body"

    def read(self, line: bytes) -> None:
        self.tick()
        if self.delimiter(line):
            return
        blank = not _stripped(line)
        if self.mode == "headers":
            if not blank and _HEADER_LINE.match(line):
                self.field_line(line)
                self.header.append(line)
                return
            self.end_headers()
            if blank:
                return
            # A line that is no header ends the headers and is the body's first line.
            self.read_body(line)
            return
        self.read_body(line)

    def read_body(self, line: bytes) -> None:
        if self.mode in ("header-text", "blocks"):
            if not _stripped(line):
                self.field = 0
                return
            if self.mode == "blocks" and self.field == 0 and line[:1] not in (b" ", b"\t"):
                self.count_part()  # the first field of a block: a block
            self.field_line(line)


def check_shape(data: bytes, limits: MailLimits, *, deadline: float | None = None) -> MailShape:
    """Walk ``data`` line by line and raise ``UnreadableMail`` at the first bound of
    ``limits`` it passes (``deadline``: a ``time.monotonic()`` value, by default
    ``limits.seconds`` from now); the shape it counted otherwise."""
    if len(data) > limits.message_bytes:
        raise UnreadableMail(f"larger than {limits.message_bytes:,} bytes")
    walk = _Walk(limits, deadline if deadline is not None else time.monotonic() + limits.seconds)
    for line in _lines(data):
        walk.read(line)
    if walk.mode == "headers" and walk.header:
        walk.end_headers()
    return MailShape(parts=walk.parts, depth=walk.deepest, lines=walk.line)
