"""The newsletter's language: fixed strings from message catalogs, dates from CLDR.

``newsletter.language`` names a locale as a BCP 47 tag (``en``, ``de``, ``pt-BR``,
``zh-Hant``, ``ur``). The newsletter's fixed strings ("More news", "Unsubscribe", the
greeting...) are gettext messages; their translations are the catalogs shipped in the
package, ``digest/locale/<language>/LC_MESSAGES/digest.po``, read and compiled in memory by
Babel the first time a language is used, so a wheel needs no build step and no ``.mo``
file. English is the source language (the messages themselves). A locale without a
catalog of its own uses its language's (``pt-BR`` uses ``pt``) unless that one is written
in another script (``zh-Hant`` does not take the Simplified ``zh``), else English. Dates
and numbers are formatted by Babel with the locale's own CLDR patterns whatever the
catalog, and the direction (``ltr``/``rtl``) is the locale's CLDR character order unless
``newsletter.direction`` says otherwise.

Story languages come from feeds and are only trusted as far as ``story_language``
accepts them: a well-formed tag, else unknown.
"""

from __future__ import annotations

import gettext
import io
import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.dates import format_date, format_skeleton, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

from digest.errors import RenderError
from digest.publish.bidi import Direction

__all__ = [
    "DOMAIN",
    "N_",
    "SOURCE_LANGUAGE",
    "Localizer",
    "catalog_languages",
    "language_direction",
    "language_script",
    "localizer",
    "parse_locale",
    "story_language",
]

log = logging.getLogger(__name__)

DOMAIN = "digest"
SOURCE_LANGUAGE = "en"
# A language tag as a feed may give it: a 2-3 letter language, then subtags (script,
# region, variant) of up to 8 letters or digits; at most 35 characters (RFC 5646's
# recommended buffer).
_TAG = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*")
MAX_TAG_CHARS = 35


def N_(message: str) -> str:
    """Marks ``message`` for the catalogs (tools/messages.py) without translating it:
    for strings translated later, by value."""
    return message


def _catalog_root() -> Traversable:
    return resources.files("digest") / "locale"


@cache
def catalog_languages() -> tuple[str, ...]:
    """The languages whose fixed strings the package translates, English (the source)
    first."""
    root = _catalog_root()
    found = sorted(
        entry.name
        for entry in root.iterdir()
        if entry.is_dir() and (entry / "LC_MESSAGES" / f"{DOMAIN}.po").is_file()
    )
    return (SOURCE_LANGUAGE, *found)


@cache
def parse_locale(tag: str) -> Locale:
    """The Babel locale of a BCP 47 tag (``pt-BR`` or ``pt_BR``); ``ValueError`` when CLDR
    knows no such locale."""
    if not _TAG.fullmatch(tag) or len(tag) > MAX_TAG_CHARS:
        raise ValueError(f"{tag!r} is not a language tag")
    try:
        return Locale.parse(tag.replace("-", "_"))
    except (UnknownLocaleError, ValueError) as exc:
        raise ValueError(f"{tag!r} is not a locale CLDR knows") from exc


def _bcp47(locale: Locale) -> str:
    return "-".join(p for p in (locale.language, locale.script, locale.territory) if p)


def story_language(tag: str | None) -> str | None:
    """A story's language tag as ``lang=`` may carry it (``pt-BR``), or None when the
    source gave none or something that is not a tag (``english``, markup)."""
    if not tag:
        return None
    tag = tag.strip()
    if len(tag) > MAX_TAG_CHARS or not _TAG.fullmatch(tag):
        return None
    language, *rest = tag.replace("_", "-").split("-")
    return "-".join((language.lower(), *rest))


@cache
def language_direction(tag: str | None) -> Direction | None:
    """``rtl`` or ``ltr`` for a language tag CLDR knows (``ur``, ``ar-EG``, ``fa``), None
    for an unknown one."""
    if not tag:
        return None
    try:
        locale = parse_locale(tag)
    except ValueError:
        return None
    return "rtl" if locale.character_order == "right-to-left" else "ltr"


@cache
def language_script(tag: str | None) -> str | None:
    """The ISO 15924 script a language tag is most likely written in (``ur``: ``Arab``,
    ``zh-TW``: ``Hant``), None for an unknown tag."""
    if not tag:
        return None
    try:
        return _likely_script(parse_locale(tag))
    except ValueError:
        return None


def _likely_script(locale: Locale) -> str | None:
    if locale.script:
        return locale.script
    likely = get_global("likely_subtags")
    for key in (f"{locale.language}_{locale.territory}", locale.language):
        parts = str(likely.get(key, "")).split("_")
        if len(parts) >= 2 and len(parts[1]) == 4:
            return parts[1]
    return None


def _catalog_for(locale: Locale) -> str | None:
    """The shipped catalog that fits ``locale`` best, or None (English, the source)."""
    names = set(catalog_languages())
    candidates = [str(locale)]
    if locale.script:
        candidates.append(f"{locale.language}_{locale.script}")
    candidates.append(locale.language)
    for name in candidates:
        if name not in names:
            continue
        # The bare language's catalog only if it is written in the same script.
        if (
            name == locale.language
            and name != str(locale)
            and _likely_script(Locale.parse(name)) != _likely_script(locale)
        ):
            continue
        return name
    return None


@cache
def _translations(name: str) -> gettext.NullTranslations:
    """The catalog ``name`` compiled in memory (Babel reads the .po, writes the .mo)."""
    if name == SOURCE_LANGUAGE:
        return gettext.NullTranslations()
    po = _catalog_root() / name / "LC_MESSAGES" / f"{DOMAIN}.po"
    try:
        with po.open("rb") as file:
            catalog = read_po(file, locale=name, domain=DOMAIN)
    except (OSError, ValueError) as exc:
        raise RenderError(f"message catalog {name!r} cannot be read: {exc}") from exc
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


@dataclass(frozen=True)
class Localizer:
    """One newsletter language: its tag, direction, translations and formats."""

    tag: str  # BCP 47, what lang= carries
    locale: Locale
    direction: Direction
    catalog: str | None  # the shipped catalog in use; None: the English source strings
    translations: gettext.NullTranslations

    def gettext(self, message: str, **values: object) -> str:
        text = self.translations.gettext(message)
        return text % values if values else text

    def ngettext(self, singular: str, plural: str, n: int, **values: object) -> str:
        text = self.translations.ngettext(singular, plural, n)
        return text % {"num": self.number(n), **values}

    def number(self, n: int) -> str:
        return format_decimal(n, locale=self.locale)

    def long_date(self, day: date) -> str:
        """``Tuesday, November 24, 2026``; ``Dienstag, 24. November 2026``."""
        return format_date(day, "full", locale=self.locale)

    def day_month(self, day: date) -> str:
        """``Nov 24``; ``24. Nov.``; ``11月24日``."""
        return format_skeleton("MMMd", day, locale=self.locale)

    def day_month_year(self, day: date) -> str:
        """``Nov 24, 2026``; ``24 nov. 2026``."""
        return format_skeleton("yMMMd", day, locale=self.locale)

    def moment(self, moment: datetime, zone: tzinfo | None = None) -> str:
        """Day, month and time in ``zone`` with its abbreviation: ``Nov 24, 6:30 AM UTC``,
        ``24. Nov., 07:30 CET`` (the zone database's abbreviation, the same in every
        language)."""
        if zone is not None and moment.tzinfo is not None:
            moment = moment.astimezone(zone)
        glue = str(self.locale.datetime_formats.get("medium", "{1} {0}"))
        time = format_time(moment, "short", locale=self.locale)
        text = glue.replace("{1}", self.day_month(moment.date())).replace("{0}", time)
        return f"{text} {moment.tzname()}" if moment.tzinfo is not None else text


@cache
def localizer(language: str, direction: str = "auto") -> Localizer:
    """The ``Localizer`` of ``newsletter.language``/``direction`` (``auto``: the
    locale's). ``RenderError`` for a tag CLDR does not know (the config refuses it first)."""
    try:
        locale = parse_locale(language)
    except ValueError as exc:
        raise RenderError(f"newsletter.language: {exc}") from exc
    catalog = _catalog_for(locale)
    if catalog is None and locale.language != SOURCE_LANGUAGE:
        log.warning(
            "no message catalog for %r: the newsletter's fixed strings stay in English"
            " (dates follow the locale); shipped: %s",
            language,
            ", ".join(catalog_languages()),
        )
    if direction in ("ltr", "rtl"):
        chosen: Direction = "rtl" if direction == "rtl" else "ltr"
    else:
        chosen = "rtl" if locale.character_order == "right-to-left" else "ltr"
    return Localizer(
        tag=_bcp47(locale),
        locale=locale,
        direction=chosen,
        catalog=catalog,
        translations=_translations(catalog or SOURCE_LANGUAGE),
    )
