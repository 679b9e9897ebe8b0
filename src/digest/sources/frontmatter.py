"""YAML front matter of Markdown and text files, and the article fields it names.

Front matter is loaded with ``digest.config.load_yaml`` (no aliases, a nesting limit) and
must fit in ``MAX_FRONT_MATTER_CHARS``; only text and numbers count as field values (a list
or mapping where a title belongs is ignored, not printed as Python). ``image:`` is the lead
picture, a URL or a mapping of ``url``, ``width``, ``height`` and ``alt``, kept as the feed
readers keep theirs (``lead_image``: http(s) only, within ``MAX_URL_CHARS``, resolved
against the article's ``url`` when relative).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml

from digest.config import YamlRefused, load_yaml
from digest.errors import SourceError
from digest.models import LeadImage, RelatedLink
from digest.sources.article import Meta, lead_image
from digest.sources.bounds import MAX_FRONT_MATTER_CHARS
from digest.sources.dates import parse_datetime

__all__ = ["as_list", "meta_from_front_matter", "split_front_matter"]

_FRONT = re.compile(
    r"\A\ufeff?---[ \t]*\r?\n(?P<yaml>.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S
)


def split_front_matter(text: str, *, where: str = "") -> tuple[Mapping[str, Any], str]:
    """YAML front matter (``---`` ... ``---``) and the text after it."""
    match = _FRONT.match(text)
    if match is None:
        return {}, text
    if len(match["yaml"]) > MAX_FRONT_MATTER_CHARS:
        raise SourceError(
            f"front matter longer than {MAX_FRONT_MATTER_CHARS:,} characters",
            location=where or "input",
        )
    try:
        data = load_yaml(match["yaml"])
    except YamlRefused as exc:
        raise SourceError(f"front matter refused: {exc}", location=where or "input") from None
    except yaml.YAMLError as exc:
        raise SourceError("front matter is not valid YAML", location=where or "input") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SourceError("front matter must be a mapping of keys", location=where or "input")
    return data, text[match.end() :]


def as_list(value: Any) -> list[Any]:
    """A list field of front matter or JSON as a list: hand-written input gives one item
    bare (``related: Some title``), or a scalar where a list belongs."""
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _scalar_text(value: Any) -> str | None:
    """A text or number field as text; None for anything else (a list, a mapping, a bool)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    return str(value).strip() or None


def _front_image(value: Any, base: str | None) -> LeadImage | None:
    """The lead picture that ``image:`` names (a URL, or a mapping with ``url``), or None."""
    if base is not None and not base.lower().startswith(("http://", "https://")):
        base = None
    if isinstance(value, Mapping):
        return lead_image(
            _scalar_text(value.get("url") or value.get("src")),
            base=base,
            width=_scalar_text(value.get("width")),
            height=_scalar_text(value.get("height")),
            alt=_scalar_text(value.get("alt")) or "",
        )
    return lead_image(_scalar_text(value), base=base)


def meta_from_front_matter(
    data: Mapping[str, Any], *, source: str, category: str | None, language: str | None
) -> Meta:
    """``Meta`` from front matter keys (title, dek, date, source, url, category, author,
    image, ...)."""

    def text(*keys: str) -> str | None:
        for key in keys:
            value = _scalar_text(data.get(key))
            if value:
                return value
        return None

    related = tuple(
        RelatedLink(title=_scalar_text(r.get("title")) or "", url=_str_or_none(r.get("url")))
        if isinstance(r, dict)
        else RelatedLink(title=_scalar_text(r) or "")
        for r in as_list(data.get("related"))
    )
    return Meta(
        source=text("source", "publisher", "site") or source,
        title=text("title", "headline") or "",
        url=text("url", "link"),
        canonical_url=text("canonical_url", "canonical"),
        dek=text("dek", "subtitle", "description"),
        category=text("category", "section") or category,
        author=text("author", "byline"),
        published=parse_datetime(data.get("date") or data.get("published")),
        language=text("language", "lang") or language,
        related=tuple(r for r in related if r.title),
        image=_front_image(data.get("image"), text("url", "link")),
    )
