"""How each story's block is presented: its language and direction, and its picture.

``clean_edition`` strips every invisible control from the edition's text once, before any
template sees it (``digest.publish.bidi``). ``story_look`` gives a story's ``lang`` (a
well-formed tag from its article, else none) and ``dir`` (the language's, else the
direction most of its letters are written in, else the newsletter's), and whether its
fields need ``dir="auto"`` because the language is unknown. ``shown_image`` decides
whether a story's lead picture is shown and at what size: only our own copy of it
(under ``own``: ``digest.publish.pictures``), https only, never wider than the column,
never a tracking pixel.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from digest.models import Edition, LeadImage, Story
from digest.publish.bidi import Direction, direction_of
from digest.publish.i18n import language_direction, language_script, story_language

__all__ = [
    "COLUMN_PX",
    "MAX_IMAGE_HEIGHT_PX",
    "MIN_IMAGE_PX",
    "PICTURES_FOLDER",
    "ShownImage",
    "StoryLook",
    "clean_edition",
    "look_of",
    "own_pictures_url",
    "shown_image",
    "story_look",
]

# The story column: the 600px card less 40px of padding on each side.
COLUMN_PX = 520
# A picture is never taller than this as shown (a portrait photo is shown narrower).
MAX_IMAGE_HEIGHT_PX = 420
# Smaller than this either way, it is an icon or a tracking pixel, not a lead picture.
MIN_IMAGE_PX = 80
MAX_IMAGE_URL_CHARS = 2048
MAX_ALT_CHARS = 200
PICTURES_FOLDER = "pictures"  # in the archive folder, served under /archive/pictures/
# Declared sizes past this are nonsense from a feed; treated as unknown.
MAX_DECLARED_PX = 20_000


def _clean_any(value: Any, clean: Callable[[str], str]) -> Any:
    """``value`` with ``clean`` applied to its strings; the same object where nothing
    changed (most editions have nothing to clean)."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, tuple):
        items = tuple(_clean_any(v, clean) for v in value)
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    if isinstance(value, Mapping):
        cleaned = {k: _clean_any(v, clean) for k, v in value.items()}
        return value if all(cleaned[k] is v for k, v in value.items()) else cleaned
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {}
        for f in dataclasses.fields(value):
            old = getattr(value, f.name)
            new = _clean_any(old, clean)
            if new is not old:
                changes[f.name] = new
        return dataclasses.replace(value, **changes) if changes else value
    return value


def clean_edition(edition: Edition, clean: Callable[[str], str]) -> Edition:
    """``edition`` with ``clean`` applied to every string in it (titles, outlet names,
    points, related titles, links: a link that needed cleaning fails ``safe_url`` later
    just the same, since spaces and controls are not what makes it unsafe)."""
    cleaned: Edition = _clean_any(edition, clean)
    return cleaned


# Scripts whose text the stylesheet sets apart (newsletter-scripts.css): no letter-spacing, no
# capitals, no synthetic italics for joined and ideographic scripts; Urdu in Nastaliq.
_SCRIPT_CLASSES = {
    "Arab": "script-arab",
    "Hans": "script-cjk",
    "Hant": "script-cjk",
    "Jpan": "script-cjk",
    "Kore": "script-cjk",
}


@dataclass(frozen=True, slots=True)
class StoryLook:
    """A block's ``lang`` (None: unknown, not set), ``dir``, CSS classes (its direction
    and script); ``auto``: its fields carry ``dir="auto"`` since its language is unknown."""

    lang: str | None
    dir: Direction
    auto: bool
    css: str


def look_of(language: str | None, sample: str, newsletter: Direction) -> StoryLook:
    """The look of a block in ``language`` (as its source gave it) whose text begins with
    ``sample``, in a newsletter written in ``newsletter``'s direction."""
    lang = story_language(language)
    known = language_direction(lang)
    auto = known is None
    direction = known or direction_of(sample) or newsletter
    classes = [f"dir-{direction}"]
    script = _SCRIPT_CLASSES.get(language_script(lang) or "")
    if script:
        classes.append(script)
    if lang is not None and lang.split("-")[0] == "ur":
        classes.append("script-nastaliq")
    return StoryLook(lang, direction, auto, " ".join(classes))


def story_look(story: Story, newsletter: Direction) -> StoryLook:
    sample = " ".join((story.title, *(p.text for p in story.summary.key_points[:2])))
    return look_of(story.language, sample, newsletter)


@dataclass(frozen=True, slots=True)
class ShownImage:
    url: str
    width: int
    height: int | None
    alt: str
    url_2x: str | None = None  # the srcset's 2x candidate


def _pixels(value: int | None) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_DECLARED_PX:
        return value
    return None


def own_pictures_url(base_url: str) -> str | None:
    """Where copied pictures are served (``<base_url>/archive/pictures/``), or None when
    ``base_url`` is not https: no subscriber could load them from a loopback address,
    and over http each open would tell the network who reads."""
    try:
        parts = urlsplit(base_url)
    except ValueError:
        return None
    if parts.scheme.lower() != "https" or not parts.hostname:
        return None
    return f"{base_url.rstrip('/')}/archive/{PICTURES_FOLDER}/"


def _own(url: str | None, own: str) -> str | None:
    if url is None or not url.startswith(own) or len(url) > MAX_IMAGE_URL_CHARS:
        return None
    return None if any(c in url for c in _UNSAFE_URL_CHARS) else url


_UNSAFE_URL_CHARS = " \"<>\\\n\r\t'`,"


def shown_image(image: LeadImage | None, title: str, own: str | None) -> ShownImage | None:
    """How ``image`` is shown in the HTML, or None when it is not: not our own copy (a
    URL under ``own``, the https folder ``digest serve`` answers; None: no picture at all,
    since a publisher's server would learn who reads and when), not https (http would
    warn in clients and leak the reader's address in clear), too long a link, or
    declared smaller than ``MIN_IMAGE_PX``. Width and height are set from the declared
    size, scaled to the column (and to ``MAX_IMAGE_HEIGHT_PX``); without a declared size
    the width is the column's and the height is left to the picture."""
    if image is None or own is None or not isinstance(image.url, str):
        return None
    url = _own(image.url.strip(), own)
    if url is None:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() != "https" or not parts.hostname:
        return None
    # No alt text from the source: alt="" (decorative). The headline is right below the
    # picture; repeating it as alt text showed it twice wherever images are blocked.
    alt = " ".join((image.alt or "").split())
    if len(alt) > MAX_ALT_CHARS:
        alt = alt[: MAX_ALT_CHARS - 1].rsplit(" ", 1)[0] + "…"
    width, height = _pixels(image.width), _pixels(image.height)
    if (width is not None and width < MIN_IMAGE_PX) or (
        height is not None and height < MIN_IMAGE_PX
    ):
        return None
    double = _own(image.url_2x, own)
    if width is None or height is None:
        return ShownImage(url, min(width or COLUMN_PX, COLUMN_PX), None, alt, double)
    shown = min(width, COLUMN_PX, width * MAX_IMAGE_HEIGHT_PX // height)
    return ShownImage(url, max(shown, 1), max(round(height * shown / width), 1), alt, double)
