"""Fit an edition under the mail's HTML size limit by leaving things out, least loss first.

An edition whose HTML comes out over ``MAX_HTML_BYTES`` (Gmail clips longer messages) is
not refused: ``fit_edition`` tries smaller versions of it, in this order, each step only
as far as needed:

0. any field over ``FIELD_CHARS`` characters (no real headline, point or outlet name is
   that long: a hostile or broken feed) is cut, and links over ``URL_CHARS`` dropped;
1. More news headlines, from the last;
2. related stories, from the last story's;
3. the text of every story, cut field by field to ``TEXT_STEPS`` characters;
4. if no cut is enough, stories from the last, the others' text whole;
5. at last one story with its text cut short.

Each step keeps the largest version that fits (found with a few renders, not one per
item). What was left out is returned as short notes, for the run's output and the
editor's panel. Only when that last one does not fit either (templates that are too big
by themselves) is the edition refused (``RenderError``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TypeVar

from digest.errors import RenderError
from digest.models import AlsoReported, Edition, EditionSection, KeyPoint, Story

__all__ = ["FIELD_CHARS", "TEXT_STEPS", "URL_CHARS", "fit_edition"]

FIELD_CHARS = 2_000
URL_CHARS = 2_048
TEXT_STEPS = (1_000, 600, 400, 250, 160, 100)

T = TypeVar("T")


def _cut(text: str, chars: int) -> str:
    if len(text) <= chars:
        return text
    head = text[: chars - 1]
    space = head.rfind(" ")
    if space > chars // 2:
        head = head[:space]
    return head.rstrip(" ,;:·-–—") + "…"


class _Cutter:
    """Cuts every story field to ``chars`` and counts the fields it cut."""

    def __init__(self, chars: int) -> None:
        self.chars = chars
        self.cut = 0

    def text(self, value: str) -> str:
        if len(value) > self.chars:
            self.cut += 1
            return _cut(value, self.chars)
        return value

    def optional(self, value: str | None) -> str | None:
        return None if value is None else self.text(value)

    def url(self, value: str | None) -> str | None:
        if value is not None and len(value) > URL_CHARS:
            self.cut += 1
            return None
        return value

    def point(self, point: KeyPoint | None) -> KeyPoint | None:
        return None if point is None else dataclasses.replace(point, text=self.text(point.text))

    def story(self, story: Story) -> Story:
        summary = story.summary
        points = tuple(p for p in map(self.point, summary.key_points) if p is not None)
        return dataclasses.replace(
            story,
            title=self.text(story.title),
            dek=self.optional(story.dek),
            url=self.url(story.url),
            source=self.text(story.source),
            section=self.text(story.section),
            summary=dataclasses.replace(
                summary, key_points=points, conclusion=self.point(summary.conclusion)
            ),
            also_reported=tuple(
                AlsoReported(self.text(a.source), self.text(a.title), self.url(a.url), a.article_id)
                for a in story.also_reported
            ),
            related=tuple(
                dataclasses.replace(r, title=self.text(r.title), url=self.url(r.url))
                for r in story.related
            ),
        )

    def edition(self, edition: Edition) -> Edition:
        sections = tuple(
            EditionSection(self.text(s.name), tuple(map(self.story, s.stories)))
            for s in edition.sections
        )
        more = tuple(
            dataclasses.replace(
                h, title=self.text(h.title), source=self.text(h.source), url=self.url(h.url)
            )
            for h in edition.more_news
        )
        return dataclasses.replace(
            edition, title=self.text(edition.title), sections=sections, more_news=more
        )


def _cut_text(edition: Edition, chars: int) -> tuple[Edition, int]:
    cutter = _Cutter(chars)
    return cutter.edition(edition), cutter.cut


def _map_stories(edition: Edition, change: Callable[[int, Story], Story]) -> Edition:
    sections, n = [], 0
    for section in edition.sections:
        stories = []
        for story in section.stories:
            stories.append(change(n, story))
            n += 1
        sections.append(dataclasses.replace(section, stories=tuple(stories)))
    return dataclasses.replace(edition, sections=tuple(sections))


def _related_for_first(edition: Edition, keep: int) -> Edition:
    return _map_stories(edition, lambda i, s: s if i < keep else dataclasses.replace(s, related=()))


def _first_stories(edition: Edition, keep: int) -> Edition:
    sections, left = [], keep
    for section in edition.sections:
        stories = section.stories[: max(0, left)]
        left -= len(stories)
        if stories:
            sections.append(dataclasses.replace(section, stories=stories))
    return dataclasses.replace(edition, sections=tuple(sections))


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def fit_edition(
    edition: Edition, render: Callable[[Edition], T], size: Callable[[T], int], limit: int
) -> tuple[T, tuple[str, ...]]:
    """The largest rendering of ``edition`` whose ``size`` is under ``limit``, and notes of
    what was left out to get there (none when the whole edition fits)."""
    attempts: dict[int, tuple[Edition, T]] = {}

    def fits(candidate: Edition) -> bool:
        result = render(candidate)
        attempts[id(candidate)] = (candidate, result)
        return size(result) < limit

    def largest(count: int, make: Callable[[int], Edition]) -> tuple[int, Edition] | None:
        """The largest k < count whose ``make(k)`` fits, if ``make(0)`` fits at all."""
        lowest = make(0)
        if not fits(lowest):
            return None
        lo, hi, best = 0, count - 1, lowest  # make(lo) fits; make(count) does not
        while lo < hi:
            mid = (lo + hi + 1) // 2
            candidate = make(mid)
            if fits(candidate):
                lo, best = mid, candidate
            else:
                hi = mid - 1
        return lo, best

    notes: list[str] = []
    current = edition
    if fits(current):
        return attempts[id(current)][1], ()
    # 0. absurd fields
    capped, n = _cut_text(current, FIELD_CHARS)
    if n:
        notes.append(f"{_plural(n, 'field', 'fields')} over {FIELD_CHARS:,} characters cut")
        current = capped
        if fits(current):
            return attempts[id(current)][1], tuple(notes)
    # 1. More news, from the last
    total = len(current.more_news)
    if total:
        base = current
        found = largest(total, lambda k: dataclasses.replace(base, more_news=base.more_news[:k]))
        kept, current = found if found else (0, dataclasses.replace(base, more_news=()))
        notes.append(f"More news: {total - kept} of {total} headlines left out")
        if found:
            return attempts[id(current)][1], tuple(notes)
    # 2. related stories, from the last story's
    with_related = sum(1 for s in current.stories if s.related)
    if with_related:
        base = current
        stories = len(base.stories)
        found = largest(stories, lambda k: _related_for_first(base, k))
        kept, current = found if found else (0, _related_for_first(base, 0))
        dropped = sum(1 for s in base.stories[kept:] if s.related)
        notes.append(f"related stories left out of {_plural(dropped, 'story', 'stories')}")
        if found:
            return attempts[id(current)][1], tuple(notes)
    # 3. every story's text, shorter and shorter
    for chars in TEXT_STEPS:
        candidate, n = _cut_text(current, chars)
        if n and fits(candidate):
            cut = _plural(n, "field", "fields")
            notes.append(f"story text cut to {chars:,} characters a field ({cut})")
            return attempts[id(candidate)][1], tuple(notes)
    # 4. stories, from the last, each with its text whole: fewer stories that can be
    # read beat many cut to a line
    total = len(current.stories)
    if total > 1:
        base = current
        found = largest(total, lambda k: _first_stories(base, k + 1))
        if found is not None:
            kept, current = found
            notes.append(f"{total - kept - 1} of {total} stories left out")
            return attempts[id(current)][1], tuple(notes)
    # 5. one story, its text cut short
    current, _ = _cut_text(_first_stories(current, 1), TEXT_STEPS[-1])
    if fits(current):
        notes.append(f"{total - 1} of {total} stories left out")
        notes.append(f"story text cut to {TEXT_STEPS[-1]:,} characters a field")
        return attempts[id(current)][1], tuple(notes)
    raise RenderError(
        f"the newsletter's HTML stays over the {limit:,}-byte limit (Gmail clips longer"
        " messages) even with one story and its text cut short: lower edition.stories or"
        " check the templates"
    )
