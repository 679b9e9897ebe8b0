"""Adverts and sponsored items, in the words publishers mark them with.

A feed item is an advert when its title opens with a marker ("Anzeige:", "heise-Angebot:",
"[Sponsored]", "Publicidade |", "广告：", "إعلان:"), or when its category is one
("Sponsored", "Anzeige", "Partner content", "推广"). A marker must stand apart: a title that
merely contains the word ("Sponsored by the state, the plan ...", "广告法修订") is news, and
so is a category that names advertising as a beat ("Advertising", "Marketing").
"""

from __future__ import annotations

import re

__all__ = ["SPONSORED_MARKERS", "is_sponsored"]

# Written as publishers print them; compared without case.
SPONSORED_MARKERS: tuple[str, ...] = (
    # English
    "sponsored",
    "sponsored content",
    "sponsored post",
    "sponsored story",
    "advertisement",
    "advertorial",
    "ad",
    "paid post",
    "paid content",
    "paid partnership",
    "partner content",
    "promoted",
    "brand studio",
    # German
    "anzeige",
    "werbung",
    "heise-angebot",
    "gesponsert",
    "verlagsangebot",
    # Portuguese, Spanish
    "publicidade",
    "conteúdo patrocinado",
    "patrocinado",
    "publieditorial",
    "publicidad",
    "contenido patrocinado",
    "patrocinada",
    # French, Italian, Dutch
    "publicité",
    "contenu sponsorisé",
    "sponsorisé",
    "publi-rédactionnel",
    "publiredazionale",
    "contenuto sponsorizzato",
    "advertentie",
    "gesponsord",
    # Russian, Turkish
    "реклама",
    "на правах рекламы",
    "reklam",
    "sponsorlu içerik",
    # Chinese, Japanese
    "广告",
    "廣告",
    "推广",
    "推廣",
    "赞助内容",
    "广告推广",
    "広告",
    "スポンサー",
    # Arabic, Urdu
    "إعلان",
    "محتوى ممول",
    "محتوى برعاية",
    "اشتہار",
    "سپانسرڈ",
)
_MARKERS = "|".join(re.escape(m) for m in sorted(set(SPONSORED_MARKERS), key=len, reverse=True))
# A marker opening a title, set off by a colon, a dash, a bar or a bracket: "Anzeige: ...",
# "[Sponsored] ...", "Publicidade | ...", "广告：...", "(Werbung) ...".
_TITLE_MARKER = re.compile(
    rf"^\s*(?:[\[(【「]\s*(?:{_MARKERS})\s*[\])】」]|(?:{_MARKERS})\s*(?:[:：|｜]|\s[-–—]\s))",
    re.IGNORECASE,
)
_CATEGORY_MARKER = re.compile(rf"^\s*[\[(]?\s*(?:{_MARKERS})\s*[\])]?\s*$", re.IGNORECASE)


def is_sponsored(title: str, category: str | None = None) -> bool:
    """Whether an item is an advert: a marker opens its title or is its category."""
    if _TITLE_MARKER.match(title):
        return True
    return bool(category and _CATEGORY_MARKER.match(category))
