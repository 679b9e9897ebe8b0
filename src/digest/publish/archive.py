"""The archive: a static site of past editions, the target of "view in browser".

``write_archive`` renders each edition exactly as the mail (one premailer run per edition),
with the per-subscriber slots filled for no one in particular, into ``<edition id>.html``;
an index listing them newest first, ``ARCHIVE_PAGE_SIZE`` a page (``index.html``, then
``page-2.html``, ...); and ``feed.xml``, an Atom feed (RFC 4287) of the newest
``FEED_ENTRIES`` editions. ``digest serve`` serves the folder under ``/archive/`` (see
``archive_file``), with the story pictures that ``digest.publish.pictures`` copied into its
``pictures/`` folder, which is where ``digest.publish.messages.archive_url`` points.

The writer is handed everything: the editions (the weekly recaps among them), its
``PageSettings`` and the folder; which stored editions the archive shows is
``digest.pipeline.archive``'s to say (``digest run`` calls its ``update_archive`` after
each send).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from lxml import etree

from digest.config import NewsletterOptions
from digest.edition.weekly import weekly_id
from digest.errors import RenderError
from digest.models import Edition
from digest.publish.messages import archive_url
from digest.publish.public import PageSettings, public_html
from digest.publish.render import (
    Renderer,
    join_titles,
    preheader_for,
    subject_for,
)

__all__ = [
    "ARCHIVE_PAGE_SIZE",
    "FEED_ENTRIES",
    "ArchiveWritten",
    "archive_file",
    "atom_feed",
    "index_page_name",
    "page_name",
    "write_archive",
]

ARCHIVE_PAGE_SIZE = 30  # editions per index page
FEED_ENTRIES = 50  # the newest editions in feed.xml
ATOM = "http://www.w3.org/2005/Atom"

_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
# What the server may answer from the folder: pages, the index pages and the feed.
_SERVABLE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,120}\.(?:html|xml)")
# ... and the story pictures copied when each edition was built (digest.publish.pictures).
_PICTURE = re.compile(r"pictures/[0-9a-f]{24}-[0-9]{3,4}\.jpg")


def page_name(edition_id: str) -> str:
    """The file name of an edition's page; ``RenderError`` for an id unfit for a path."""
    if not _SAFE_ID.fullmatch(edition_id) or ".." in edition_id:
        raise RenderError(f"edition id {edition_id!r} cannot name an archive page")
    return f"{edition_id}.html"


def index_page_name(number: int) -> str:
    """The file of index page ``number`` (1: ``index.html``)."""
    return "index.html" if number == 1 else f"page-{number}.html"


def archive_file(folder: Path, name: str) -> Path | None:
    """The file the server answers for ``/archive/<name>`` (``""``: the index), or None when
    the name is not one the archive writes or the file does not exist (a 404, never an
    error: the folder may not exist yet)."""
    name = name or "index.html"
    if not (_SERVABLE.fullmatch(name) or _PICTURE.fullmatch(name)) or ".." in name:
        return None
    path = folder / name
    return path if path.is_file() else None


@dataclass(frozen=True, slots=True)
class _Entry:
    edition: Edition
    page: str
    subject: str
    summary: str
    weekly: bool = False  # a weekly recap, marked as one in the index


@dataclass(frozen=True, slots=True)
class ArchiveWritten:
    folder: Path
    index: Path
    pages: tuple[Path, ...]  # the editions' pages written this time
    feed: Path | None = None
    index_pages: tuple[Path, ...] = ()


def write_archive(
    settings: PageSettings,
    editions: Sequence[Edition],
    folder: Path,
    *,
    only: set[str] | None = None,
    per_page: int = ARCHIVE_PAGE_SIZE,
) -> ArchiveWritten:
    """Write the editions' pages, the index pages and the feed into ``folder``.

    ``only``: render only these editions' pages (and any page missing from the folder);
    the others are kept as written before. The index and the feed always list every
    edition given.
    """
    if per_page < 1:
        raise RenderError(f"archive pages need at least one edition each, not {per_page}")
    renderer = settings.renderer()
    entries: list[_Entry] = []
    pages: list[Path] = []
    options = settings.newsletter
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for edition in sorted(editions, key=lambda e: e.date, reverse=True):
            name = page_name(edition.id)
            path = folder / name
            if only is None or edition.id in only or not path.is_file():
                rendered = renderer.render(edition)
                path.write_text(public_html(options, rendered), encoding="utf-8")
                pages.append(path)
            entries.append(
                _Entry(
                    edition,
                    name,
                    subject_for(edition, options),
                    preheader_for(edition, renderer.loc),
                    edition.id == weekly_id(edition.date),
                )
            )
        index_pages = _write_index_pages(options, renderer, folder, entries, per_page)
        feed = folder / "feed.xml"
        feed.write_bytes(
            atom_feed(settings, [e.edition for e in entries[:FEED_ENTRIES]], renderer=renderer)
        )
    except OSError as exc:
        raise RenderError(f"cannot write the archive to {folder}: {exc.strerror}") from exc
    return ArchiveWritten(folder, index_pages[0], tuple(pages), feed, tuple(index_pages))


def _write_index_pages(
    options: NewsletterOptions,
    renderer: Renderer,
    folder: Path,
    entries: list[_Entry],
    per_page: int,
) -> list[Path]:
    template = renderer.env.get_template("archive_index.html.j2")
    count = max(1, -(-len(entries) // per_page))
    written: list[Path] = []
    for number in range(1, count + 1):
        chunk = entries[(number - 1) * per_page : number * per_page]
        path = folder / index_page_name(number)
        path.write_text(
            template.render(
                nl=options,
                entries=chunk,
                page=number,
                pages=count,
                newer=index_page_name(number - 1) if number > 1 else None,
                older=index_page_name(number + 1) if number < count else None,
            ),
            encoding="utf-8",
        )
        written.append(path)
    # Index pages of an archive that had more editions before (none is ever deleted from
    # the store, but a store may be replaced) would link on to stale pages: remove them.
    for stale in folder.glob("page-*.html"):
        if stale not in written:
            stale.unlink()
    return written


def _moment(edition: Edition, zone: ZoneInfo) -> datetime:
    """When the edition was made (its ``created``), else noon of its day in ``zone``."""
    if edition.created is not None:
        return edition.created.astimezone(UTC)
    return datetime.combine(edition.date, time(12), zone).astimezone(UTC)


def atom_feed(
    settings: PageSettings, editions: Sequence[Edition], *, renderer: Renderer | None = None
) -> bytes:
    """An Atom 1.0 document (RFC 4287) of ``editions``, newest first: one entry per edition
    with its subject, page link and the stories' headlines as the summary, in the
    newsletter's language (``xml:lang``, the tagline, the subjects' dates)."""
    options = settings.newsletter
    zone = settings.tz
    renderer = renderer or settings.renderer()
    base = f"{options.base_url.rstrip('/')}/archive/"
    ordered = sorted(editions, key=lambda e: e.date, reverse=True)
    feed = etree.Element(f"{{{ATOM}}}feed", nsmap={None: ATOM})
    feed.set("{http://www.w3.org/XML/1998/namespace}lang", renderer.loc.tag)

    def sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> None:
        element = etree.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        if text is not None:
            element.text = _xml_text(text)

    sub(feed, "id", base)
    sub(feed, "title", options.title)
    sub(feed, "subtitle", renderer.tagline())
    newest = max((_moment(e, zone) for e in ordered), default=datetime(2000, 1, 1, tzinfo=UTC))
    sub(feed, "updated", _rfc3339(newest))
    sub(feed, "link", rel="self", href=f"{base}feed.xml", type="application/atom+xml")
    sub(feed, "link", rel="alternate", href=base, type="text/html")
    author = etree.SubElement(feed, f"{{{ATOM}}}author")
    sub(author, "name", options.sender_name)
    for edition in ordered:
        entry = etree.SubElement(feed, f"{{{ATOM}}}entry")
        page = archive_url(options, edition.id)
        sub(entry, "id", page)
        sub(entry, "title", subject_for(edition, options))
        sub(entry, "updated", _rfc3339(_moment(edition, zone)))
        if edition.id == weekly_id(edition.date):
            sub(entry, "category", term="weekly", label=renderer.loc.gettext("Weekly recap"))
        sub(entry, "link", rel="alternate", href=page, type="text/html")
        headlines = join_titles((s.title for s in edition.stories), renderer.loc)
        headlines = headlines or preheader_for(edition, renderer.loc)
        sub(entry, "summary", headlines)
    data: bytes = etree.tostring(feed, xml_declaration=True, encoding="utf-8", pretty_print=True)
    return data


_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: str) -> str:
    """Text XML 1.0 can carry: its forbidden control characters removed."""
    return _XML_INVALID.sub("", text)


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
