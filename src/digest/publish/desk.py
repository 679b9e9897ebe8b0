"""The served preview as the editor's desk: the actions of ``digest edition`` as buttons.

``add_desk_controls`` puts, into a copy of the preview page (never into mail), a small form
next to each story (drop, pin first, up, down, a new headline, a rewritten key point), a
promote button on each More news and left-out line, and an editor's note form. Every form
POSTs to ``/act`` of the preview server on 127.0.0.1 with the server's CSRF token;
``read_action_form`` checks what comes back before anything acts on it.
"""

from __future__ import annotations

import hmac
import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs

import lxml.html
from lxml.html import HtmlElement

from digest.edition.actions import sent_already
from digest.errors import RenderError
from digest.models import DeskActionKind, Edition

__all__ = [
    "ACTIONS",
    "MAX_FORM_BYTES",
    "ActionForm",
    "add_desk_controls",
    "read_action_form",
]

MAX_FORM_BYTES = 16_384  # a form with a rewritten key point is well under this
ACTIONS: frozenset[str] = frozenset(
    {"drop", "pin", "move", "swap", "promote", "edit-point", "headline", "note"}
)
_BUTTON = (
    "font: 12px/1.2 system-ui, sans-serif; padding: 3px 8px; margin: 0 4px 4px 0;"
    " border: 1px solid #8a6d00; border-radius: 3px; background: #fff8e1; color: #2b2b2b;"
    " cursor: pointer;"
)
_INPUT = "font: 12px system-ui, sans-serif; padding: 2px 4px; margin: 0 4px 4px 0;"


def _form(token: str, kind: str, label: str, fields: Mapping[str, object], extra: str = "") -> str:
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(str(v))}">'
        for k, v in {"csrf": token, "action": kind, **fields}.items()
    )
    ref = html.escape(str(fields.get("id", "")))
    return (
        f'<form method="post" action="/act" class="desk-form desk-{kind}" data-id="{ref}"'
        f' style="display: inline;">{hidden}{extra}'
        f'<button type="submit" style="{_BUTTON}">{html.escape(label)}</button></form>'
    )


def _story_toolbar(token: str, edition: Edition, index: int) -> str:
    story = edition.stories[index]
    ref = {"id": story.article_id}
    count = len(edition.stories)
    parts = [
        _form(token, "drop", "Drop", ref),
        _form(token, "pin", "Pin first", {**ref, "position": 1}),
    ]
    if index > 0:
        parts.append(_form(token, "move", "↑ Up", {**ref, "position": index}))
    if index + 1 < count:
        parts.append(_form(token, "move", "↓ Down", {**ref, "position": index + 2}))
    title = html.escape(story.title, quote=True)
    parts.append(
        _form(
            token,
            "headline",
            "Set headline",
            ref,
            f'<input name="text" value="{title}" size="28" style="{_INPUT}"'
            ' aria-label="New headline">',
        )
    )
    points = len(story.summary.key_points)
    if points:
        parts.append(
            _form(
                token,
                "edit-point",
                "Rewrite point",
                ref,
                f'<input name="position" type="number" min="1" max="{points}" value="1"'
                f' style="width: 3em; {_INPUT}" aria-label="Key point number">'
                f'<input name="text" size="28" style="{_INPUT}" aria-label="New key point">',
            )
        )
    return (
        f'<div class="desk-toolbar" data-id="{html.escape(story.article_id)}"'
        ' style="margin: 0 0 8px 0; padding: 6px; background: #fff8e1;'
        f' border: 1px dashed #e0b400;">{"".join(parts)}</div>'
    )


def _fragment(markup: str) -> HtmlElement:
    element: HtmlElement = lxml.html.fragment_fromstring(markup)
    return element


def add_desk_controls(page: str, edition: Edition, token: str) -> str:
    """``page`` (a preview with the editor's panel) with the desk's forms in it."""
    try:
        doc = lxml.html.document_fromstring(page)
    except (ValueError, lxml.etree.ParserError) as exc:
        raise RenderError(f"the preview does not parse: {exc}") from exc
    cells = [td for td in doc.iter("td") if "story" in (td.get("class") or "").split()]
    for index, cell in enumerate(cells[: len(edition.stories)]):
        cell.insert(0, _fragment(_story_toolbar(token, edition, index)))
    items = [li for li in doc.iter("li") if "more-item" in (li.get("class") or "").split()]
    for item, headline in zip(items, edition.more_news, strict=False):
        item.append(_fragment(_form(token, "promote", "Promote", {"id": headline.article_id})))
    left = doc.get_element_by_id("digest-left-out", None)
    if left is not None:
        entries = [li for li in left.iter("li") if li.getparent().getparent() is left]
        # The panel lists the stories a cap gave way for apart ("Caps relaxed"): they are
        # in the edition, with nothing to promote.
        still_out = [item for item in edition.left_out if item.kind != "cap_relaxed"]
        for entry, item in zip(entries, still_out, strict=False):
            if sent_already(edition, item.article_id) is not None:
                continue  # subscribers had it: only `promote --resend` on the CLI sends it again
            entry.append(_fragment(_form(token, "promote", "Promote", {"id": item.article_id})))
    panel = doc.get_element_by_id("digest-editor-panel", None)
    if panel is not None:
        note = html.escape(edition.note, quote=True)
        extra = (
            f'<input name="text" value="{note}" size="48" style="{_INPUT}"'
            ' aria-label="Editor\'s note">'
        )
        box = _fragment(
            f'<div id="digest-desk-note">{_form(token, "note", "Set note", {}, extra)}</div>'
        )
        panel.insert(1, box)
    out: str = lxml.html.tostring(doc, encoding="unicode", doctype="<!DOCTYPE html>")
    return out


@dataclass(frozen=True, slots=True)
class ActionForm:
    kind: DeskActionKind
    article_id: str = ""
    other_id: str = ""
    position: int | None = None
    text: str = ""


_NUMBER = re.compile(r"\d{1,4}")


def read_action_form(body: bytes, token: str) -> ActionForm:
    """The action a desk form posted; ``RenderError`` for a body that is too large, not
    urlencoded UTF-8, without the right CSRF token, or naming no known action."""
    if len(body) > MAX_FORM_BYTES:
        raise RenderError(f"the form is over {MAX_FORM_BYTES} bytes")
    try:
        fields = parse_qs(
            body.decode("utf-8"), strict_parsing=False, max_num_fields=20, errors="strict"
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise RenderError(f"the form does not parse: {exc}") from exc
    sent = fields.get("csrf", [""])[0]
    if not token or not hmac.compare_digest(sent.encode(), token.encode()):
        raise RenderError("the form's CSRF token is missing or wrong (reload the page)")
    kind = fields.get("action", [""])[0]
    if kind not in ACTIONS:
        raise RenderError(f"unknown action {kind[:40]!r}")
    raw = fields.get("position", [""])[0].strip()
    if raw and not _NUMBER.fullmatch(raw):
        raise RenderError(f"position {raw[:20]!r} is not a number")
    return ActionForm(
        kind=kind,  # type: ignore[arg-type]
        article_id=fields.get("id", [""])[0],
        other_id=fields.get("other", [""])[0],
        position=int(raw) if raw else None,
        text=fields.get("text", [""])[0],
    )
