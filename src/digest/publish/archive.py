"""The archive: a static site of past editions, the target of "view in browser".

``write_archive`` renders each edition exactly as the mail (one premailer run per edition),
with the per-subscriber slots filled for no one in particular, into ``<edition id>.html``,
and an ``index.html`` listing them newest first. ``digest serve`` serves the folder under
``/archive/``, which is where ``digest.publish.messages.archive_url`` points.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from digest.config import Config
from digest.errors import RenderError
from digest.models import Edition
from digest.publish.preview import public_html
from digest.publish.render import Renderer
from digest.store import EditionStore, open_store

__all__ = [
    "ArchiveWritten",
    "archive_folder",
    "archive_stored",
    "page_name",
    "stored_editions",
    "write_archive",
]

_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def archive_folder(config: Config) -> Path:
    """Where ``digest archive`` writes by default and ``digest serve`` reads."""
    return config.data_path / "archive"


def page_name(edition_id: str) -> str:
    """The file name of an edition's page; ``RenderError`` for an id unfit for a path."""
    if not _SAFE_ID.fullmatch(edition_id) or ".." in edition_id:
        raise RenderError(f"edition id {edition_id!r} cannot name an archive page")
    return f"{edition_id}.html"


@dataclass(frozen=True, slots=True)
class _Entry:
    edition: Edition
    page: str
    subject: str


@dataclass(frozen=True, slots=True)
class ArchiveWritten:
    folder: Path
    index: Path
    pages: tuple[Path, ...]


def write_archive(
    config: Config, editions: Sequence[Edition], out: Path | None = None
) -> ArchiveWritten:
    """Write ``index.html`` and one page per edition into ``out`` (default: the archive
    folder of ``data_dir``)."""
    folder = out if out is not None else archive_folder(config)
    renderer = Renderer(config.newsletter, base_dir=config.base_dir, timezone=config.tz)
    entries: list[_Entry] = []
    pages: list[Path] = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for edition in sorted(editions, key=lambda e: e.date, reverse=True):
            rendered = renderer.render(edition)
            name = page_name(edition.id)
            path = folder / name
            path.write_text(public_html(config, rendered), encoding="utf-8")
            pages.append(path)
            entries.append(_Entry(edition, name, rendered.subject))
        index = folder / "index.html"
        template = renderer.env.get_template("archive_index.html.j2")
        index.write_text(template.render(nl=config.newsletter, entries=entries), encoding="utf-8")
    except OSError as exc:
        raise RenderError(f"cannot write the archive to {folder}: {exc.strerror}") from exc
    return ArchiveWritten(folder, index, tuple(pages))


def stored_editions(config: Config) -> list[Edition]:
    """Every edition saved in the store, newest first."""
    with open_store(config) as db:
        editions = EditionStore(db)
        found = [editions.for_day(day) for day in editions.days()]
    return [e for e in found if e is not None]


def archive_stored(config: Config, out: Path | None = None) -> ArchiveWritten:
    """``write_archive`` over every stored edition."""
    return write_archive(config, stored_editions(config), out)
