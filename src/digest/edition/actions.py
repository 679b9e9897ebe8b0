"""The editor's actions on a draft edition, applied as pure functions of the edition.

Each ``DeskAction`` (drop, pin, move, swap, promote, edit-point, headline, note, unrelate:
a related item removed from a story) turns an
``Edition`` into another (``apply_action``); ``replay`` applies a day's actions in order to
the edition as built, so that a rebuild keeps them, and reports those whose story is gone.

Positions count the edition's stories in newsletter order, from 1. A story stays with its
section and sections follow the order of their first story, so a story moved to 1 leads
the newsletter and its section with it; a story moved below another section's stories
ends its own section. Pinned stories are put back at their place after every other action.
An edited key point keeps the original beside it, names its editor and has no source
sentences: it never passes as extracted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from digest.edition.related import without_repeats
from digest.errors import EditionError
from digest.models import (
    DeskAction,
    DeskEntry,
    Edition,
    EditionSection,
    KeyPoint,
    LeftOut,
    Story,
)

__all__ = [
    "MAX_EDITOR_CHARS",
    "MAX_HEADLINE_CHARS",
    "MAX_NOTE_CHARS",
    "MAX_POINT_CHARS",
    "MIN_ID_PREFIX",
    "Promote",
    "Replayed",
    "apply_action",
    "describe",
    "desk_text",
    "editor_name",
    "find_story",
    "replay",
    "resolve_action",
    "sent_already",
]

MAX_EDITOR_CHARS = 80
MAX_HEADLINE_CHARS = 200
MAX_POINT_CHARS = 600
MAX_NOTE_CHARS = 1000
MIN_ID_PREFIX = 6  # the shortest article id prefix the commands accept
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# How ``LeftOutReason.text`` begins for ``already_sent`` (editions saved before kinds).
ALREADY_SENT_PREFIX = "already sent in edition "

# Makes a story of a More news or left-out article (summarised), for ``promote``.
Promote = Callable[[str], Story]


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


# --- finding what an action names ----------------------------------------------------------


def _match(ref: str, ids: Iterable[str], what: str) -> str:
    """The one id of ``ids`` that is ``ref`` or starts with it; ``what`` names one of them."""
    ids = list(dict.fromkeys(ids))
    if ref in ids:
        return ref
    found = [i for i in ids if len(ref) >= MIN_ID_PREFIX and i.startswith(ref)]
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        raise EditionError(f"{ref!r} names {len(found)} of them ({what}); give more of the id")
    short = f" (give at least {MIN_ID_PREFIX} characters)" if len(ref) < MIN_ID_PREFIX else ""
    raise EditionError(f"no {what} with id {ref!r} in this edition{short}")


def find_story(edition: Edition, ref: str) -> Story:
    """The story whose article id is ``ref`` or starts with it (``EditionError`` if none)."""
    article_id = _match(ref, (s.article_id for s in edition.stories), "story")
    return next(s for s in edition.stories if s.article_id == article_id)


def _promotable(edition: Edition) -> list[str]:
    return [h.article_id for h in edition.more_news] + [x.article_id for x in edition.left_out]


def sent_already(edition: Edition, article_id: str) -> LeftOut | None:
    """The left-out line of ``article_id`` when an earlier edition sent that article (its
    reason ``already sent in edition …``; by the line's text in editions saved before
    reasons had kinds), else None."""
    for item in edition.left_out:
        if item.article_id == article_id and (
            item.kind == "already_sent"
            or (item.kind is None and item.reason.startswith(ALREADY_SENT_PREFIX))
        ):
            return item
    return None


def resolve_action(edition: Edition, action: DeskAction, *, resend: bool = False) -> DeskAction:
    """``action`` with its ids made whole (a prefix given on the command line) and its
    text checked; ``EditionError`` (one line) for an id or text that does not fit, and for
    a promote of an article an earlier edition sent, unless ``resend``: subscribers
    would get it a second time."""
    match action.kind:
        case "note":
            return replace(action, text=desk_text(action.text, "note", MAX_NOTE_CHARS))
        case "promote":
            if action.article_id in {s.article_id for s in edition.stories}:
                raise EditionError(f"{action.article_id!r} is a story already")
            article_id = _match(
                action.article_id, _promotable(edition), "More news or left-out article"
            )
            sent = sent_already(edition, article_id)
            if sent is not None and not resend:
                raise EditionError(
                    f"“{sent.title}” was {sent.reason}: promoting it sends it again to"
                    " subscribers who had it (`digest edition promote --resend` to do it anyway)"
                )
            return replace(action, article_id=article_id)
        case _:
            story = find_story(edition, action.article_id)
            resolved = replace(action, article_id=story.article_id)
            if action.kind == "swap":
                resolved = replace(
                    resolved, other_id=find_story(edition, action.other_id).article_id
                )
            elif action.kind == "headline":
                resolved = replace(
                    resolved, text=desk_text(action.text, "headline", MAX_HEADLINE_CHARS)
                )
            elif action.kind == "unrelate":
                resolved = replace(resolved, other_id=_related_ref(story, action.other_id))
            elif action.kind == "edit-point":
                resolved = replace(
                    resolved, text=desk_text(action.text, "key point", MAX_POINT_CHARS)
                )
            return resolved


def _related_ref(story: Story, ref: str) -> str:
    """The related item of ``story`` that ``ref`` names: an article id (or a prefix of
    one), else a title as shown; as its article id, or its title for a bare one."""
    ids = [i.article_id for i in story.related if i.article_id]
    if any(i.startswith(ref) for i in ids) and ref:
        return _match(ref, ids, "related item")
    for item in story.related:
        if item.title == ref:
            return item.article_id or item.title
    shown = "; ".join(f"{i.article_id or '-'} {i.title}" for i in story.related) or "none"
    raise EditionError(f"{ref!r} is no related item of “{story.title}” (its items: {shown})")


def _unrelated(story: Story, ref: str) -> Story:
    kept = tuple(i for i in story.related if ref not in (i.article_id, i.title))
    if len(kept) == len(story.related):
        raise EditionError(f"“{story.title}” has no related item {ref!r} any more")
    return replace(story, related=kept)


# --- applying ------------------------------------------------------------------------------


def _regroup(stories: Sequence[Story]) -> tuple[EditionSection, ...]:
    sections: dict[str, list[Story]] = {}
    for story in stories:
        sections.setdefault(story.section, []).append(story)
    return tuple(EditionSection(name, tuple(group)) for name, group in sections.items())


def _with_stories(edition: Edition, stories: Sequence[Story]) -> Edition:
    return replace(edition, sections=_regroup(stories))


def _position(value: int | None, count: int, what: str) -> int:
    if value is None or not 1 <= value <= count:
        raise EditionError(f"{what} {value} is out of range (1 to {count})")
    return value


def _moved(edition: Edition, article_id: str, position: int | None) -> Edition:
    stories = list(edition.stories)
    place = _position(position, len(stories), "position")
    story = next(s for s in stories if s.article_id == article_id)
    stories.remove(story)
    stories.insert(place - 1, story)
    return _with_stories(edition, stories)


def _edited(story: Story, number: int | None, text: str, editor: str) -> Story:
    points = list(story.summary.key_points)
    index = _position(number, len(points), "key point") - 1
    old = points[index]
    points[index] = KeyPoint(
        text=text, sources=(), edited_by=editor, original=old.original or old.text
    )
    return replace(story, summary=replace(story.summary, key_points=tuple(points)))


def apply_action(edition: Edition, action: DeskAction, promote: Promote | None = None) -> Edition:
    """The edition after ``action`` (ids whole, as ``resolve_action`` makes them);
    ``EditionError`` when it does not apply (its story is gone, a position out of range)."""
    stories = list(edition.stories)
    match action.kind:
        case "note":
            return replace(edition, note=action.text)
        case "promote":
            if action.article_id not in _promotable(edition):
                raise EditionError(f"{action.article_id} is not in More news or left out")
            if promote is None:
                raise EditionError("promote needs the summariser, which is not at hand here")
            story = promote(action.article_id)
            return replace(
                _with_stories(edition, [*stories, story]),
                more_news=tuple(h for h in edition.more_news if h.article_id != story.article_id),
                left_out=tuple(x for x in edition.left_out if x.article_id != story.article_id),
            )
    story = find_story(edition, action.article_id)
    match action.kind:
        case "drop":
            gone = LeftOut(story.article_id, story.title, f"dropped by {action.editor}")
            # A cross-reference to the dropped story goes with it.
            return without_repeats(
                replace(
                    _with_stories(edition, [s for s in stories if s is not story]),
                    left_out=(gone, *edition.left_out),
                )
            )
        case "unrelate":
            unrelated = _unrelated(story, action.other_id)
            return _with_stories(edition, [unrelated if s is story else s for s in stories])
        case "pin" | "move":
            return _moved(edition, story.article_id, action.position)
        case "swap":
            other = find_story(edition, action.other_id)
            i, j = stories.index(story), stories.index(other)
            stories[i], stories[j] = other, story
            return _with_stories(edition, stories)
        case "edit-point":
            edited = _edited(story, action.position, action.text, action.editor)
            return _with_stories(edition, [edited if s is story else s for s in stories])
        case "headline":
            retitled = replace(story, title=action.text)
            return _with_stories(edition, [retitled if s is story else s for s in stories])
    raise EditionError(f"unknown action {action.kind!r}")  # pragma: no cover


def _keep_pins(edition: Edition, pins: Sequence[DeskAction]) -> Edition:
    """Each pinned story (still in the edition) back at its place, the latest pin last."""
    for pin in pins:
        count = len(edition.stories)
        if count and any(s.article_id == pin.article_id for s in edition.stories):
            edition = _moved(edition, pin.article_id, min(pin.position or 1, count))
    return edition


def describe(action: DeskAction, titles: dict[str, str]) -> str:
    """The panel's line for ``action``: what was done to which story."""
    title = titles.get(action.article_id, action.article_id)
    match action.kind:
        case "drop":
            return f"dropped “{title}”"
        case "pin":
            return f"pinned “{title}” at {action.position}"
        case "move":
            return f"moved “{title}” to {action.position}"
        case "swap":
            return f"swapped “{title}” and “{titles.get(action.other_id, action.other_id)}”"
        case "promote":
            return f"promoted “{title}” to a story"
        case "edit-point":
            return f"edited key point {action.position} of “{title}”: “{action.text}”"
        case "headline":
            return f"headline of “{title}” → “{action.text}”"
        case "note":
            return f"editor's note: “{action.text}”"
        case "unrelate":
            item = titles.get(action.other_id, action.other_id)
            return f"removed related item “{item}” from “{title}”"
    return action.kind  # pragma: no cover


def _titles(edition: Edition) -> dict[str, str]:
    titles = {i.article_id: i.title for s in edition.stories for i in s.related if i.article_id}
    titles |= {x.article_id: x.title for x in edition.left_out}
    titles |= {h.article_id: h.title for h in edition.more_news}
    titles |= {s.article_id: s.title for s in edition.stories}
    return titles


def _entry(action: DeskAction, titles: dict[str, str], note: str = "") -> DeskEntry:
    return DeskEntry(
        editor=action.editor,
        at=action.at,
        line=describe(action, titles),
        applied=not note,
        note=note,
    )


@dataclass(frozen=True, slots=True)
class Replayed:
    edition: Edition
    skipped: tuple[DeskEntry, ...]  # the actions that no longer apply, and why


def replay(
    edition: Edition,
    actions: Sequence[DeskAction],
    promote: Promote | None = None,
    *,
    log: Sequence[DeskEntry] = (),
    pins: Sequence[DeskAction] = (),
) -> Replayed:
    """Apply ``actions`` in order; one that no longer applies is skipped and reported.

    The result's ``desk`` lists every action (``log`` first: the entries kept from an
    earlier replay); ``pins``: the pins of that earlier replay, kept in place as well.
    """
    entries = list(log)
    skipped: list[DeskEntry] = []
    pins = list(pins)
    for action in actions:
        titles = _titles(edition)
        try:
            edition = apply_action(edition, action, promote)
        except EditionError as exc:
            entry = _entry(action, titles, f"not applied: {exc}")
            skipped.append(entry)
            entries.append(entry)
            continue
        if action.kind == "pin":
            pins = [p for p in pins if p.article_id != action.article_id] + [action]
        elif action.kind in ("drop",):
            pins = [p for p in pins if p.article_id != action.article_id]
        edition = _keep_pins(edition, pins)
        entries.append(_entry(action, {**_titles(edition), **titles}))
    return Replayed(replace(edition, desk=tuple(entries)), tuple(skipped))
