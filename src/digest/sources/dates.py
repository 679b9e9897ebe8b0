"""Dates as feeds and files write them: ISO 8601, RFC 822, written dates, bare days."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from email.utils import parsedate_to_datetime
from typing import Any

__all__ = ["DAY_ONLY", "MONTH", "date_in", "is_bare_date", "parse_datetime"]

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
MONTH = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DATE_PATTERNS = (
    re.compile(rf"\b{MONTH}\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<year>\d{{4}})\b", re.I),
    re.compile(rf"\b(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s+{MONTH}\s+(?P<year>\d{{4}})\b", re.I),
    re.compile(r"\b(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})\b"),
)


def date_in(label: str) -> date | None:
    """The calendar date a label names (``May 9, 2025``, ``9 May 2025``, ``2025-05-09``)."""
    for pattern in _DATE_PATTERNS:
        match = pattern.search(label)
        if match is None:
            continue
        month = match["month"]
        number = int(month) if month.isdigit() else _MONTHS[month.lower()]
        try:
            return date(int(match["year"]), number, int(match["day"]))
        except ValueError:
            continue
    return None


# The time a date without one is taken at (UTC); see ``parse_datetime``.
DAY_ONLY = time(12)
_ISO_DAY = re.compile(r"^\d{4}-?\d{2}-?\d{2}$")


def is_bare_date(text: str) -> bool:
    """Whether ``text`` is an ISO date with no time (``2026-11-24``)."""
    return _ISO_DAY.match(text.strip()) is not None


def parse_datetime(value: Any) -> datetime | None:
    """A timezone-aware datetime from ISO 8601, RFC 822, a date, or a written date.

    Values without a zone are taken as UTC. A bare date names a day, not an instant: it is
    taken as noon UTC (``DAY_ONLY``), which falls on that same day in every zone from
    UTC-12 to UTC+11, where midnight UTC would be the day before anywhere west of UTC,
    and a 1-day edition window there would miss the article.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, DAY_ONLY)
    else:
        text = str(value).strip()
        moment_or_none = _parse_text_datetime(text)
        if moment_or_none is None:
            return None
        moment = moment_or_none
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _parse_text_datetime(text: str) -> datetime | None:
    iso = text.replace("Z", "+00:00") if text.endswith("Z") else text
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        pass
    else:
        return datetime.combine(moment.date(), DAY_ONLY) if is_bare_date(text) else moment
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        pass
    day = date_in(text)
    return datetime.combine(day, DAY_ONLY) if day is not None else None
