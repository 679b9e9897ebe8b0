"""Bytes to text: a BOM, the declared charset, UTF-8, else charset-normalizer's guess."""

from __future__ import annotations

import logging
import re

from charset_normalizer import from_bytes

from digest.errors import SourceError

__all__ = ["declared_charset", "decode_bytes"]

log = logging.getLogger(__name__)

_DECLARED = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*(?P<meta>[\w.:-]+)|<\?xml[^>]+encoding\s*=\s*["'](?P<xml>[\w.:-]+)""",
    re.IGNORECASE,
)


def declared_charset(data: bytes) -> str | None:
    """The charset a document declares in its first bytes (HTML ``<meta>``, XML declaration)."""
    match = _DECLARED.search(data[:4096])
    if match is None:
        return None
    return (match["meta"] or match["xml"]).decode("ascii", errors="replace")


def decode_bytes(data: bytes, declared: str | None = None, *, where: str = "") -> str:
    """Text from bytes: a BOM, else the declared charset (given, or in the document's
    ``<meta>`` or XML declaration), else UTF-8, else charset-normalizer's guess."""
    declared = declared or declared_charset(data)
    for bom, codec in (
        (b"\xef\xbb\xbf", "utf-8"),
        (b"\xff\xfe", "utf-16"),
        (b"\xfe\xff", "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(codec, errors="replace").lstrip("\ufeff")
    if declared:
        try:
            return data.decode(declared)
        except (LookupError, UnicodeDecodeError):
            log.info("%s: not valid %s; guessing the encoding", where or "input", declared)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    results = from_bytes(data)
    best = results.best()
    if best is None:
        raise SourceError("cannot tell the text encoding", location=where or "input")
    # Single-byte Latin code pages often tie; like browsers, prefer windows-1252 then.
    for match in results:
        if (match.chaos, match.coherence) == (
            best.chaos,
            best.coherence,
        ) and "cp1252" in match.could_be_from_charset:
            return data.decode("cp1252", errors="replace")
    return str(best)
