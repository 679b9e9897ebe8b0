"""Telling a teaser from an article, and a wall (consent, paywall, login, bot check) from a
page.

``is_teaser`` decides, for ``fetch_full_text: auto``, whether a feed entry's page is worth
fetching: an entry with few words, one that ends in a "Continue reading", "Read more",
"[…]" or "…" tail (in several languages), or one with no text at all. ``wall_reason``
recognises a page that is not the article but a consent wall, a paywall notice, a login
form or a bot check ("I'm not a robot"): such a page never replaces the teaser, and is
never summarised as the article.
"""

from __future__ import annotations

import re

from digest.models import Article
from digest.text.rules import SENTENCE_END

__all__ = ["TEASER_WORDS", "is_teaser", "wall_reason"]

# A feed entry shorter than this is a teaser: its page is read.
TEASER_WORDS = 150
# A page whose text is longer than this is an article even if it mentions a subscription.
_WALL_MAX_WORDS = 400

_TAIL = re.compile(
    r"(?:\[\s*(?:…|\.\.\.)\s*\]|…|\.\.\.|"
    r"continue reading|read more|read the full (?:story|article)|full story|"
    r"weiterlesen|mehr lesen|lesen sie (?:mehr|weiter)|"
    r"leia mais|continue lendo|continuar a ler|saiba mais|"
    r"leer más|seguir leyendo|lire la suite|"
    r"阅读全文|閱讀全文|继续阅读|繼續閱讀|"
    r"مزید پڑھیں|اقرأ المزيد|اقرأ أيضا)"
    r"[\s\W]*$",
    re.IGNORECASE,
)


_WALLS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "a consent wall",
        re.compile(
            r"we (?:value|care about) your privacy|accept (?:all )?cookies|cookie consent|"
            r"manage (?:your )?(?:cookie|privacy) (?:settings|preferences)|"
            r"alle cookies akzeptieren|zustimmung zu cookies|datenschutzeinstellungen|"
            r"aceitar (?:todos os )?cookies|aceitar e fechar|"
            r"接受所有\s*cookie|同意并继续|"
            r"قبول (?:جميع )?ملفات تعريف الارتباط|کوکیز قبول کریں",
            re.IGNORECASE,
        ),
    ),
    (
        "a paywall",
        re.compile(
            r"subscribe (?:now )?to (?:continue|read)|this (?:article|content) is for subscribers|"
            r"already a subscriber|subscribers only|"
            r"jetzt abonnieren|nur für abonnenten|weiterlesen mit|"
            r"exclusivo para assinantes|assine para (?:continuar|ler)|"
            r"订阅后(?:阅读|继续)|仅限订阅用户|"
            r"اشترك (?:الآن )?لمتابعة القراءة|للمشتركين فقط|مکمل خبر پڑھنے کے لیے سبسکرائب",
            re.IGNORECASE,
        ),
    ),
    (
        # A rate limit's "prove you are human" page, served in place of any article of
        # the site (one such page stood for seven articles of pairs_dev.jsonl).
        "a bot check",
        re.compile(
            r"(?:i'?m|i am) not a robot|are you a robot|verify (?:that )?you are (?:a )?human|"
            r"unusual traffic from your (?:computer|network|ip)|"
            r"ich bin kein roboter|não sou um robô|no soy un robot|je ne suis pas un robot|"
            r"nie jestem robotem|я не робот|robot değilim|"
            r"我不是机器人|人机验证|"
            r"أنا لست روبوت|لست روبوتا|میں روبوٹ نہیں ہوں",
            re.IGNORECASE,
        ),
    ),
    (
        "a login page",
        re.compile(
            r"(?:sign|log) in to (?:continue|read)|please (?:sign|log) in|"
            r"bitte melden sie sich an|faça login para|请登录|登录后(?:阅读|查看)|"
            r"يرجى تسجيل الدخول|براہ کرم لاگ ان کریں",
            re.IGNORECASE,
        ),
    ),
)


def is_teaser(article: Article) -> bool:
    """Whether a feed entry carries only a teaser of its article: few words, a "read more"
    tail, nothing, or text cut off before its sentence ends (the article's opening)."""
    if article.word_count < TEASER_WORDS:
        return True
    text = article.text.rstrip()
    return bool(_TAIL.search(text[-200:])) or SENTENCE_END.search(text) is None


def wall_reason(text: str, word_count: int) -> str | None:
    """What wall a page is ("a paywall", ...), or None when it reads as an article: a
    short page whose text asks for consent, a subscription, a login or proof that the
    reader is human."""
    if word_count > _WALL_MAX_WORDS:
        return None
    for reason, pattern in _WALLS:
        if pattern.search(text):
            return reason
    return None
