"""``digest sources``: each source's health, and OPML lists in and out.

- ``source_statuses``: every configured source with what the store remembers of its runs
  (``store.fetching``): last success, failures in a row, last error, last new item, items
  per day over the week, and an alarm when it fails for ``fetch.failing_runs`` runs or
  has been silent for ``fetch.silent_days``.
- ``import_opml``: the feeds of an OPML file added to the sources file (the first of
  ``sources_files``, beside config.yaml), whose comments are never touched.
- ``export_opml``: the configured feeds as OPML 2.0, for any feed reader.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from digest.config import Config
from digest.errors import ConfigError, SourceError
from digest.sources.opml import OpmlFeed, read_opml, write_opml
from digest.store import Database
from digest.store.fetching import FetchStore, SourceHealth

__all__ = [
    "ImportReport",
    "SourceAlarm",
    "SourceStatus",
    "export_opml",
    "health_alarms",
    "import_opml",
    "source_statuses",
]


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


@dataclass(frozen=True)
class SourceAlarm:
    """A source to look at: failing for ``runs`` runs, or silent for ``days`` days."""

    source: str
    runs: int = 0
    days: int = 0
    error: str | None = None

    @property
    def short(self) -> str:
        """ "wire (failing 3 runs)" or "blog (silent 4 days)", for the summary line."""
        if self.runs:
            return f"{self.source} (failing {_n(self.runs, 'run')})"
        return f"{self.source} (silent {_n(self.days, 'day')})"

    @property
    def line(self) -> str:
        if self.runs:
            runs = _n(self.runs, "run")
            return f"source {self.source}: failing for {runs} in a row ({self.error})"
        return f"source {self.source}: no new item for {_n(self.days, 'day')}"


@dataclass(frozen=True)
class SourceStatus:
    name: str
    location: str
    health: SourceHealth | None  # None: never run
    alarm: SourceAlarm | None

    def as_json(self) -> dict[str, Any]:
        h = self.health

        def when(value: datetime | None) -> str | None:
            return value.isoformat() if value is not None else None

        return {
            "name": self.name,
            "location": self.location,
            "last_run": when(h.last_run) if h else None,
            "last_success": when(h.last_success) if h else None,
            "consecutive_failures": h.consecutive_failures if h else 0,
            "last_error": h.last_error if h else None,
            "last_new_item": when(h.last_new_item) if h else None,
            "items_per_day": round(h.per_day, 2) if h else 0.0,
            "alarm": self.alarm.line if self.alarm else None,
        }


def health_alarms(
    config: Config, health: Sequence[SourceHealth], now: datetime
) -> tuple[SourceAlarm, ...]:
    """The configured sources failing for ``fetch.failing_runs`` runs in a row, or with
    no new item for ``fetch.silent_days`` days."""
    configured = {s.name for s in config.sources}
    silent = timedelta(days=config.fetch.silent_days)
    alarms: list[SourceAlarm] = []
    for h in health:
        if h.source not in configured:
            continue
        if h.consecutive_failures >= config.fetch.failing_runs:
            alarms.append(SourceAlarm(h.source, runs=h.consecutive_failures, error=h.last_error))
        elif h.last_new_item is not None and now - h.last_new_item >= silent:
            alarms.append(SourceAlarm(h.source, days=(now - h.last_new_item).days))
    return tuple(alarms)


def source_statuses(config: Config, db: Database, now: datetime) -> list[SourceStatus]:
    """Every configured source, in config order, with its health and alarm."""
    health = {h.source: h for h in FetchStore(db).health(now)}
    alarms = {a.source: a for a in health_alarms(config, list(health.values()), now)}
    return [
        SourceStatus(s.name, config.resolve(s.location), health.get(s.name), alarms.get(s.name))
        for s in config.sources
    ]


@dataclass(frozen=True)
class ImportReport:
    file: str  # the sources file written
    added: tuple[str, ...]  # names of the sources added
    known: int  # feeds already configured (by URL), left as they are


def _name(title: str, taken: set[str]) -> str:
    base = re.sub(r"\s+", " ", title).strip()[:80] or "feed"
    name, n = base, 2
    while name in taken:
        name, n = f"{base} ({n})", n + 1
    taken.add(name)
    return name


def import_opml(config: Config, opml: Path) -> ImportReport:
    """Add the feeds of ``opml`` that are not configured yet to the sources file."""
    if not config.sources_files:
        raise ConfigError("sources_files is empty: there is no file to import the feeds into")
    try:
        data = opml.read_bytes()
    except OSError as exc:
        raise SourceError(f"cannot read ({exc.strerror})", location=str(opml)) from exc
    feeds = read_opml(data, str(opml))
    target = Path(config.base_dir, config.sources_files[0])
    entries: list[Any] = []
    if target.is_file():
        doc = yaml.safe_load(target.read_text(encoding="utf-8")) or {}
        entries = list(doc.get("sources") or []) if isinstance(doc, dict) else []
    known = {s.location for s in config.sources}
    taken = {s.name for s in config.sources}
    added: list[str] = []
    for feed in feeds:
        if feed.url in known:
            continue
        known.add(feed.url)
        entry: dict[str, Any] = {"name": _name(feed.title, taken), "location": feed.url}
        if feed.category:
            entry["category"] = feed.category
        entries.append(entry)
        added.append(entry["name"])
    if added:
        text = yaml.safe_dump({"sources": entries}, allow_unicode=True, sort_keys=False)
        header = "# Sources added by `digest sources import` (config.yaml: sources_files).\n"
        target.write_text(header + text, encoding="utf-8")
    return ImportReport(str(target), tuple(added), len(feeds) - len(added))


def export_opml(config: Config) -> tuple[str, int]:
    """The configured feeds (http(s) sources) as OPML 2.0, and how many local sources
    were left out."""
    feeds = [
        OpmlFeed(s.location, s.name, s.category)
        for s in config.sources
        if s.location.startswith(("http://", "https://"))
    ]
    return write_opml(feeds, config.newsletter.title), len(config.sources) - len(feeds)
