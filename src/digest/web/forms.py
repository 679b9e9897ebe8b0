"""Reading a form's body under bounds: a size, a time, a number of fields.

A client trickling a byte at a time, or posting megabytes, holds a connection no longer
than ``MAX_FORM_SECONDS`` and costs no more than the bound it is read under.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import parse_qs

from starlette.requests import Request

__all__ = ["MAX_FORM_SECONDS", "form_fields", "read_body"]

log = logging.getLogger(__name__)

MAX_FORM_SECONDS = 10.0  # the most a form's body may take to arrive
MAX_FIELDS = 20


async def _body(request: Request, limit: int) -> bytes | None:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return body


async def read_body(request: Request, limit: int) -> bytes | None:
    """The request's body, or None when it is over ``limit`` bytes or takes longer than
    ``MAX_FORM_SECONDS`` to arrive."""
    try:
        return await asyncio.wait_for(_body(request, limit), MAX_FORM_SECONDS)
    except TimeoutError:
        log.info("a form body took longer than %g s to arrive: refused", MAX_FORM_SECONDS)
        return None


def parse_form(body: bytes, *, strict: bool = False) -> dict[str, str] | None:
    """The urlencoded UTF-8 form's fields (the first value of each), or None when it is not
    one (``strict``: not UTF-8 at all, rather than with replaced bytes)."""
    try:
        fields = parse_qs(
            body.decode("utf-8"),
            keep_blank_values=True,
            max_num_fields=MAX_FIELDS,
            errors="strict" if strict else "replace",
        )
    except (UnicodeDecodeError, ValueError):
        return None
    return {name: values[0] for name, values in fields.items()}


async def form_fields(request: Request, limit: int) -> dict[str, str] | None:
    """The urlencoded form's fields (first value of each), or None when the body is over
    ``limit`` bytes, takes longer than ``MAX_FORM_SECONDS`` to arrive, or is not a form."""
    body = await read_body(request, limit)
    return None if body is None else parse_form(body)
