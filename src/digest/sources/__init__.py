"""Readers: feeds, pages, files and folders, each giving ``Article`` values.

``read_source`` reads one configured source; ``read_location`` reads a path or URL as
``digest read`` does. Both return a ``SourceResult`` (articles and one line per thing
skipped or repaired) and raise ``SourceError`` only when the source gave nothing usable.

    kind     what is read
    folder   every article file under a folder (dispatched by content and extension)
    file     one local file of any supported format
    feed     an RSS or Atom feed, from a file or a URL
    page     one HTML page, from a file or a URL
    text     one file in the plain-text layout
    auto     a folder, a file, or a URL, told apart by what it holds

No input value raises out of here: a reader's own refusal is a ``SourceError``, and any
other exception while reading one item (a feed entry, a JSON article, a file of a folder)
is that item's warning, and while reading the whole source that source's ``SourceError``
(``bounds.describe`` gives the line). Fetches are bounded and guarded (``http.py``).

    __init__.py     ``read_source``, ``read_location``: a source or location, dispatched
    article.py      blocks, the assembler, size limits and ``build_article``
    bounds.py       every bound on what a source controls, and the helpers that apply them
    dates.py        dates as feeds and files write them, in many languages
    decode.py       bytes to text: BOM, declared charset, UTF-8, else a guess
    feeds.py        RSS and Atom feeds, through feedparser
    files.py        local files and folders, dispatched by content and extension
    frontmatter.py  YAML front matter of Markdown and text files
    http.py         the bounded http(s) client: the address guard, the time and byte bounds
    polite.py       one run's polite client over http.py: robots.txt, per-host limits and
                    delay, User-Agent, conditional GET, Retry-After, failing hosts skipped
    markup.py       HTML fragments and Markdown to blocks
    opml.py         OPML subscription lists, read (listparser) and written (OPML 2.0)
    pages.py        HTML pages, through trafilatura
    plain.py        plain text without a layout (a pasted story, a JSONL line)
    teasers.py      a teaser told from an article; a consent wall, paywall or login page
    text.py         the plain-text article layout (DESIGN.md)
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

from digest.config import (
    FetchOptions,
    FullText,
    NewsletterOptions,
    SourceKind,
    SourceOptions,
    resolve_location,
)
from digest.errors import SourceError
from digest.models import Article
from digest.sources.article import Meta, SourceResult, build_article
from digest.sources.bounds import MAX_PAGE_FETCHES, describe
from digest.sources.decode import decode_bytes
from digest.sources.feeds import feed_outlet
from digest.sources.files import Kind, read_document, read_file, read_path
from digest.sources.http import FETCH_SECONDS, SOURCE_PRIVATE_HINT, Fetched
from digest.sources.pages import parse_page
from digest.sources.polite import Disallowed, PoliteClient
from digest.sources.teasers import TEASER_WORDS, is_teaser, wall_reason
from digest.text.clean import counting_repairs

__all__ = ["PoliteClient", "SourceResult", "read_location", "read_source"]

log = logging.getLogger(__name__)

# Pages of one source fetched at once (each host still gets ``fetch.per_host`` at most).
PAGE_THREADS = 8
# Parsing (feedparser, lxml, trafilatura) one document at a time: the threads of an ingest
# overlap their network waits, not their parsers, which do not promise thread safety.
_PARSING = threading.RLock()
# A stored article looked up by id (the store's, handed in by the pipeline).
Stored = Callable[[str], Article | None]

_KINDS: dict[SourceKind, Kind | None] = {
    "auto": None,
    "folder": None,
    "file": None,
    "feed": "feed",
    "page": "page",
    "text": "text",
}


def _is_url(location: str) -> bool:
    return location.startswith(("http://", "https://"))


def read_location(
    location: str,
    *,
    source: str | None = None,
    kind: SourceKind = "auto",
    category: str | None = None,
    language: str | None = None,
    fetch_full_text: FullText = "auto",
    allow_private: bool = False,
    fetch_timeout: float = FETCH_SECONDS,
    outlet: str | None = None,
    private_hint: str = SOURCE_PRIVATE_HINT,
    zone: tzinfo = UTC,
    client: PoliteClient | None = None,
    stored: Stored | None = None,
) -> SourceResult:
    """The articles at a path (file or folder) or an http(s) URL.

    A ``SourceError`` always names the location, whatever reader raised it; it is the only
    exception reading raises. ``allow_private`` and ``fetch_timeout`` apply to every fetch
    (the location's, and the pages of teasers with ``fetch_full_text``). ``outlet`` names
    the articles where an item names no outlet of its own (a feed's title does not count:
    ``sources.feeds``). ``private_hint`` ends a refusal of a private address: how the
    caller's user allows it (default: the source's ``allow_private`` key). A feed date
    written without a zone is taken in ``zone``. The result's ``repairs`` counts the text
    repairs its readers made (``digest.text.clean``).

    Every request goes through ``client`` (a run's ``PoliteClient``; without one, a client
    of this call with the default ``fetch`` options). ``stored`` looks up the stored
    article of a teaser: its page is then asked for conditionally, and a 304 keeps it."""
    if client is None:
        client = PoliteClient(FetchOptions(), contact=NewsletterOptions.base_url)
    fetching = _Fetching(allow_private, fetch_timeout, private_hint, client, stored)
    try:
        with counting_repairs() as tally:
            result = _read_location(
                location, source, kind, category, language, fetch_full_text, fetching, outlet, zone
            )
        return replace(result, repairs=dict(tally))
    except SourceError as exc:
        if exc.location == location:
            raise
        # Named elsewhere (a redirect, a normalised path) or not at all: name it here.
        raise SourceError(str(exc), location=location, reader=exc.reader) from exc
    except Exception as exc:
        # A reader failed on something no rule foresaw: one line, the trace for -vv.
        log.debug("%s: unexpected error while reading", location, exc_info=True)
        raise SourceError(f"could not be read: {describe(exc)}", location=location) from exc


@dataclass(frozen=True, slots=True)
class _Fetching:
    allow_private: bool
    timeout: float
    private_hint: str
    client: PoliteClient
    stored: Stored | None = None

    def __call__(self, url: str, *, conditional: bool = True) -> Fetched:
        return self.client.fetch(
            url,
            timeout=self.timeout,
            allow_private=self.allow_private,
            private_hint=self.private_hint,
            conditional=conditional,
        )


def _read_location(
    location: str,
    source: str | None,
    kind: SourceKind,
    category: str | None,
    language: str | None,
    fetch_full_text: FullText,
    fetcher: _Fetching,
    outlet: str | None = None,
    zone: tzinfo = UTC,
) -> SourceResult:
    name = source or _default_name(location)
    fetched_url: str | None = None
    if _is_url(location):
        fetched = fetcher(location)
        if fetched.status == 304:
            return SourceResult(not_modified=True)
        fetched_url = fetched.url
        with _PARSING:
            result = read_document(
                fetched.content,
                name=location,
                source=name,
                url=fetched.url,
                kind=_KINDS[kind],
                category=category,
                language=language,
                content_type=fetched.content_type,
                charset=fetched.charset,
                outlet=outlet,
                zone=zone,
            )
        if "html" in (fetched.content_type or "") or kind == "page":
            result = _without_walls(result, location)
    else:
        with _PARSING:
            path = Path(location).expanduser()
            if kind == "folder" and not path.is_dir():
                raise SourceError("not a folder", location=location, reader="folder")
            if path.is_dir() and kind not in ("auto", "folder"):
                raise SourceError(
                    f"a folder, but the source kind is {kind!r}", location=location, reader="folder"
                )
            if path.is_dir() or _KINDS[kind] is None:
                result = read_path(
                    path,
                    source=name,
                    category=category,
                    language=language,
                    outlet=outlet,
                    zone=zone,
                )
            else:
                data = read_file(path)
                result = read_document(
                    data,
                    name=location,
                    source=name,
                    kind=_KINDS[kind],
                    category=category,
                    language=language,
                    outlet=outlet,
                    zone=zone,
                )
    # auto: only the entries of a feed read over http(s); a local feed file (the examples)
    # never makes digest go online.
    if fetch_full_text is True or (fetch_full_text == "auto" and fetched_url is not None):
        result = _fill_teasers(result, fetcher, fetched_url, auto=fetch_full_text == "auto")
    return result


def _without_walls(result: SourceResult, location: str) -> SourceResult:
    """A page source's articles, less any that is a consent wall, paywall, login page or bot check
    (never stored, never summarised as the article), with a warning for each."""
    kept: list[Article] = []
    warnings = list(result.warnings)
    for article in result.articles:
        wall = wall_reason(article.text, article.word_count)
        if wall is None:
            kept.append(article)
        else:
            warnings.append(f"{location}: not stored, the page is {wall}")
    if len(kept) == len(result.articles):
        return result
    return replace(result, articles=tuple(kept), warnings=tuple(warnings))


def read_source(
    options: SourceOptions,
    base_dir: str | Path = ".",
    timezone: str = "UTC",
    *,
    client: PoliteClient | None = None,
    stored: Stored | None = None,
) -> SourceResult:
    """One configured source, its location resolved against ``base_dir`` (the config
    file's folder). Its feed dates written without a zone are taken in its own
    ``timezone``, else in ``timezone`` (the config's).

    Each article is tagged with the source's name (``Article.origin``), so that the
    source's configured weight applies whatever outlet the article names."""
    result = read_location(
        resolve_location(options.location, base_dir),
        source=options.name,
        kind=options.kind,
        category=options.category,
        language=options.language,
        fetch_full_text=options.fetch_full_text,
        allow_private=options.allow_private,
        fetch_timeout=options.fetch_timeout,
        outlet=" ".join(options.outlet.split()) if options.outlet else None,
        zone=ZoneInfo(options.timezone or timezone),
        client=client,
        stored=stored,
    )
    return replace(result, articles=tuple(replace(a, origin=options.name) for a in result.articles))


def _default_name(location: str) -> str:
    if _is_url(location):
        from urllib.parse import urlsplit

        return urlsplit(location).hostname or location
    return Path(location).stem or location


def _fill_teasers(
    result: SourceResult, fetcher: _Fetching, own_url: str | None, *, auto: bool
) -> SourceResult:
    """Feed entries that carry only a teaser, with the text of their page instead (the
    first ``MAX_PAGE_FETCHES`` of them; the others keep their teaser, with a warning), and
    the page's site name (og:site_name) where the entry's outlet was only the channel's
    title made a name.
    Pages are fetched at once, ``PAGE_THREADS`` at most, each host within its limits."""
    wanted: list[int] = []
    left_as_teasers = 0
    for i, article in enumerate(result.articles):
        if not article.url or not _is_url(article.url) or article.url == own_url:
            continue
        if not (is_teaser(article) if auto else article.word_count < TEASER_WORDS):
            continue
        if len(wanted) == MAX_PAGE_FETCHES:
            left_as_teasers += 1
            continue
        wanted.append(i)
    articles = list(result.articles)
    warnings = list(result.warnings)
    notes: dict[str, str | None] = {}
    if wanted:
        with ThreadPoolExecutor(min(PAGE_THREADS, len(wanted))) as pool:
            # Each page in a copy of this context: its repairs count in this source's tally.
            tasks = [
                pool.submit(
                    contextvars.copy_context().run,
                    _fill_one,
                    articles[i],
                    fetcher,
                    result.channel_outlet,
                )
                for i in wanted
            ]
            done = [task.result() for task in tasks]
        for i, (article, reason) in zip(wanted, done, strict=True):
            url = result.articles[i].url or ""
            articles[i] = article
            notes[url] = reason
            if reason:
                warnings.append(f"{url}: kept the teaser, {reason}")
    if left_as_teasers:
        warnings.append(
            f"kept {left_as_teasers} more teasers as they are: {MAX_PAGE_FETCHES} pages"
            " fetched already (the limit of one source)"
        )
    return replace(result, articles=tuple(articles), warnings=tuple(warnings), teaser_notes=notes)


def _fill_one(
    article: Article, fetcher: _Fetching, channel_outlet: str | None
) -> tuple[Article, str | None]:
    """The article with its page's text, or as it is with why it kept its teaser. Where the
    entry's outlet was only the channel's title made a name (``channel_outlet``), the
    page's own site name (og:site_name) replaces it."""
    assert article.url is not None
    known = fetcher.stored(article.id) if fetcher.stored is not None else None
    if known is not None and known.word_count <= article.word_count:
        known = None  # what is stored is no more than the teaser: ask for the whole page
    try:
        fetched = fetcher(article.url, conditional=known is not None)
        if fetched.status == 304 and known is not None:
            return known, None
        with _PARSING:
            text = decode_bytes(fetched.content, fetched.charset, where=fetched.url)
            page = parse_page(text, source=article.source, url=fetched.url)
    except Disallowed as exc:
        return article, exc.detail
    except Exception as exc:  # one page: the entry keeps its teaser, whatever went wrong
        return article, f"the page could not be read: {describe(exc)}"
    wall = wall_reason(page.text, page.word_count)
    if wall is not None:
        return article, f"the page is {wall}"
    if page.word_count <= article.word_count:
        return article, None
    full = _with_page_text(article, page)
    if channel_outlet is not None and channel_outlet == article.source:
        full = replace(full, source=feed_outlet(page.source, fallback=article.source))
    return full, None


def _with_page_text(article: Article, page: Article) -> Article:
    """The feed entry's own fields, with the page's text (and what the entry lacked)."""
    meta = Meta(
        source=article.source,
        title=article.title,
        url=article.url,
        canonical_url=article.canonical_url,
        dek=article.dek,
        category=article.category,
        author=article.author or page.author,
        published=article.published or page.published,
        language=article.language or page.language,
        related=(*article.related, *page.related),
        image=article.image or page.image,
    )
    return build_article(meta, page.sections, page.events)
