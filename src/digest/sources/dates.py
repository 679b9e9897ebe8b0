"""Dates as feeds and files write them: ISO 8601, RFC 822, written dates, bare days, and
the same in other languages (``Seg, 24 Set 2018 10:00:00 -0300``, ``3. Dezember 2018``)
through dateparser.

Nothing here raises on a bad date. A publication time is believed only between
``EARLIEST_YEAR`` and a day from now (``FUTURE_SLACK``); anything else (year 0000, 9999 at
-12:00, which overflows once taken to UTC, a date in 2090) is "no date", with a logged note,
so that an article never sorts first for ever or falls out of every window.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

__all__ = [
    "DAY_ONLY",
    "EARLIEST_YEAR",
    "FUTURE_SLACK",
    "MONTH",
    "date_in",
    "is_bare_date",
    "parse_datetime",
    "plausible",
    "zoneless_time",
]

log = logging.getLogger(__name__)

# The span a publication time must fall in to be believed.
EARLIEST_YEAR = 1990
FUTURE_SLACK = timedelta(days=1)
# A date string longer than this is not one (dateparser's time grows with its input).
_MAX_DATE_CHARS = 200

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
    # Chinese and Japanese: 2025年5月9日
    re.compile(r"(?P<year>\d{4})\s*年\s*(?P<month>\d{1,2})\s*月\s*(?P<day>\d{1,2})\s*日"),
)


def date_in(label: str) -> date | None:
    """The calendar date a label names (``May 9, 2025``, ``9 May 2025``, ``2025-05-09``,
    ``2025年5月9日``)."""
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


def parse_datetime(value: Any, *, languages: Sequence[str] = ()) -> datetime | None:
    """A timezone-aware datetime from ISO 8601, RFC 822, a date, or a written date in any
    language dateparser knows (``languages``, e.g. ``("pt",)``, are tried first); None
    when there is none or it is not plausible (``plausible``). Never raises.

    Values without a zone are taken as UTC. A bare date names a day, not an instant: it is
    taken as noon UTC (``DAY_ONLY``), which falls on that same day in every zone from
    UTC-12 to UTC+11, where midnight UTC would be the day before anywhere west of UTC,
    and a 1-day edition window there would miss the article.
    """
    if value is None or value == "":
        return None
    try:
        if isinstance(value, datetime):
            moment: datetime | None = value
        elif isinstance(value, date):
            moment = datetime.combine(value, DAY_ONLY)
        else:
            text = str(value).strip()[:_MAX_DATE_CHARS]
            moment = _parse_text_datetime(text) or _parse_localised(text, languages)
    except (ValueError, OverflowError, TypeError) as exc:
        log.info("no date: %.60r cannot be read (%s)", value, exc)
        return None
    if moment is None:
        return None
    moment = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return plausible(moment, value)


def plausible(moment: datetime, raw: Any = None) -> datetime | None:
    """``moment`` when it lies between ``EARLIEST_YEAR`` and ``FUTURE_SLACK`` from now, else
    None with a logged note (also when taking it to UTC overflows, as 9999-12-31 at -12:00
    does)."""
    try:
        utc = moment.astimezone(UTC) if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    except (OverflowError, ValueError):
        log.info("no date: %.60r is out of range", raw if raw is not None else moment)
        return None
    if utc.year < EARLIEST_YEAR or utc > datetime.now(UTC) + FUTURE_SLACK:
        log.info(
            "no date: %.60r is outside %d..tomorrow",
            raw if raw is not None else moment,
            EARLIEST_YEAR,
        )
        return None
    return moment


_DATEPARSER_SETTINGS = {
    # Absolute dates only: "today" or "3 days ago" in a feed field is no publication time.
    "PARSERS": ["custom-formats", "absolute-time"],
    "REQUIRE_PARTS": ["day", "month", "year"],
    "RETURN_AS_TIMEZONE_AWARE": True,
    "TIMEZONE": "UTC",
}
_FOUR_DIGIT_YEAR = re.compile(r"\b\d{4}\b")
_HAS_TIME = re.compile(r"\d{1,2}[:h.]\d{2}")


def zoneless_time(value: Any) -> datetime | None:
    """The naive time ``value`` names when it is a time of day without a zone
    (``2026-11-24 08:30:00``, ``Tue, 24 Nov 2026 08:30:00``, RFC 2822's ``-0000``), for
    the caller to place in the zone the source is in; None for anything else (a zone
    given, a bare date, no date)."""
    if not isinstance(value, str) or not _HAS_TIME.search(value):
        return None
    text = value.strip()[:_MAX_DATE_CHARS]
    try:
        moment = _parse_text_datetime(text)
    except (ValueError, OverflowError, TypeError):
        return None
    if moment is None or moment.tzinfo is not None or is_bare_date(text):
        return None
    return moment


def _parse_localised(text: str, languages: Sequence[str]) -> datetime | None:
    """A written date in another language (dateparser), or None."""
    if not re.search(r"\d", text):
        return None
    # dateparser loads its language data on first use (about 1.5 s): only for dates the
    # standard formats did not read.
    import dateparser

    wanted = [code.split("-")[0] for code in languages if code] or None
    try:
        found = dateparser.parse(text, languages=wanted, settings=_DATEPARSER_SETTINGS)
        if found is None and wanted:
            found = dateparser.parse(text, settings=_DATEPARSER_SETTINGS)
    except (ValueError, OverflowError, TypeError, KeyError, AttributeError) as exc:
        log.info("no date: %.60r cannot be read (%s)", text, exc)
        return None
    if not isinstance(found, datetime):
        return None
    if not _HAS_TIME.search(text) and (found.hour, found.minute, found.second) == (0, 0, 0):
        return datetime.combine(found.date(), DAY_ONLY, tzinfo=found.tzinfo)
    return found


def _parse_text_datetime(text: str) -> datetime | None:
    iso = text.replace("Z", "+00:00") if text.endswith("Z") else text
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        pass
    else:
        return datetime.combine(moment.date(), DAY_ONLY) if is_bare_date(text) else moment
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        pass
    else:
        # email.utils reads a year "0000" as 2000 (two-digit years); a written year wins.
        written = _FOUR_DIGIT_YEAR.search(text)
        return None if written and int(written[0]) != moment.year else moment
    day = date_in(text)
    return datetime.combine(day, DAY_ONLY) if day is not None else None
