"""The editor's actions on a draft edition, applied as pure functions of the edition.

Each ``DeskAction`` (drop, pin, move, swap, promote, edit-point, headline, note) turns an
``Edition`` into another; ``replay`` applies a day's actions in order to the edition as
built, so that a rebuild keeps them, and reports the ones whose story is gone.
"""

from __future__ import annotations

import re

from digest.errors import EditionError

__all__ = [
    "MAX_EDITOR_CHARS",
    "desk_text",
    "editor_name",
]

MAX_EDITOR_CHARS = 80
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def desk_text(value: str, what: str, limit: int) -> str:
    """``value`` with its whitespace collapsed; ``EditionError`` when it is empty, longer
    than ``limit`` characters, or carries control characters."""
    if _CONTROLS.search(value.replace("\n", " ").replace("\t", " ")):
        raise EditionError(f"the {what} contains a control character")
    text = " ".join(value.split())
    if not text:
        raise EditionError(f"the {what} is empty")
    if len(text) > limit:
        raise EditionError(f"the {what} is {len(text)} characters long (at most {limit})")
    return text


def editor_name(value: str) -> str:
    """Who acts (``--editor``, else the login name): checked as any desk text."""
    return desk_text(value, "editor's name", MAX_EDITOR_CHARS)
