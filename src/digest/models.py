"""The plain values passed between stages.

Every stage takes these and returns these; none of them knows about the CLI, the store
or another stage's internals. All are frozen: a stage that wants a changed value makes a
new one with ``dataclasses.replace``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal, assert_never

__all__ = [
    "AlsoReported",
    "Article",
    "DeliveryState",
    "DeskAction",
    "DeskActionKind",
    "DeskEntry",
    "Edition",
    "EditionSection",
    "Event",
    "Frequency",
    "Headline",
    "KeyPoint",
    "LeadImage",
    "LeftOut",
    "LeftOutKind",
    "LeftOutReason",
    "OutgoingMessage",
    "RelatedItem",
    "RelatedLink",
    "RenderedEdition",
    "Section",
    "Story",
    "Subscriber",
    "SubscriberState",
    "Summary",
    "count_words",
]


# --- words ------------------------------------------------------------------------------

# Scripts written without spaces between words count by letters, as word-equivalents: a
# Chinese word is about 1.5 characters (Japanese kana and kanji alike); a Thai, Lao, Khmer
# or Myanmar word about 4 spacing letters (vowel and tone marks do not count).
CJK_CHARS_PER_WORD = 1.5
SEA_LETTERS_PER_WORD = 4.0
_CJK = (
    "\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f"
    "\U00020000-\U0003134f"
)
_SEA = "\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff"
_UNSPACED = re.compile(f"[{_CJK}{_SEA}]")
_CJK_CHAR = re.compile(f"[{_CJK}]")
# Spacing letters only: Thai and Lao consonants and the vowels written beside them,
# Myanmar consonants and independent vowels, Khmer consonants and independent vowels.
_SEA_LETTER = re.compile(
    "[\u0e01-\u0e30\u0e32\u0e33\u0e40-\u0e46\u0e81-\u0eb0\u0eb2\u0eb3\u0ebd-\u0ec6"
    "\u1000-\u102a\u1780-\u17b3]"
)


def count_words(text: str) -> int:
    """Words in ``text``, any script: runs between spaces, and for scripts written without
    spaces (CJK, Thai, Lao, Khmer, Myanmar) their letters as word-equivalents.

    The one measure of length: ``Article.word_count``, the sentence splitter, summaries'
    budgets and ``digest read`` all count with it. Text without such letters counts
    exactly as ``len(text.split())``.
    """
    if _UNSPACED.search(text) is None:
        return len(text.split())
    cjk = len(_CJK_CHAR.findall(text))
    sea = len(_SEA_LETTER.findall(text))
    rest = _UNSPACED.sub(" ", text).split()
    spaced = sum(1 for token in rest if any(ch.isalnum() for ch in token))
    return spaced + round(cjk / CJK_CHARS_PER_WORD + sea / SEA_LETTERS_PER_WORD)


# --- articles -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Section:
    """A run of paragraphs under one heading; the lede is a section with no heading."""

    heading: str | None
    paragraphs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Event:
    """A dated line of a timeline (``May 9, 2025: ...``).

    ``label`` is the date as written (``May 12, 2025 onward``, ``Upcoming``); ``when`` is
    the calendar date when the label names one.
    """

    label: str
    when: date | None
    text: str


@dataclass(frozen=True, slots=True)
class RelatedLink:
    """A story the article itself points at (a ``Related:`` line or a related link)."""

    title: str
    url: str | None = None


@dataclass(frozen=True, slots=True)
class LeadImage:
    """An article's lead picture, as its source names it (media:content, enclosure, og:image).

    ``url`` is absolute; width and height are pixels where the source says them. Whether and
    how it is shown (https only, never wider than the column) is the newsletter's decision.
    """

    url: str
    width: int | None = None
    height: int | None = None
    alt: str = ""
    # Our own copy at twice the size, for high-density screens (digest.publish.pictures).
    url_2x: str | None = None


@dataclass(frozen=True, slots=True)
class Article:
    """One cleaned article, whatever it came from."""

    id: str
    source: str
    title: str
    content_hash: str
    url: str | None = None
    canonical_url: str | None = None
    dek: str | None = None
    category: str | None = None
    author: str | None = None
    published: datetime | None = None
    language: str | None = None
    sections: tuple[Section, ...] = ()
    events: tuple[Event, ...] = ()
    related: tuple[RelatedLink, ...] = ()
    # The configured source it was ingested from (``sources[].name``), whose weight
    # applies; ``source`` is the outlet the article names, which may differ.
    origin: str | None = None
    # The lead picture the source names, if any (readers fill it; the newsletter may show it).
    image: LeadImage | None = None

    @property
    def link(self) -> str | None:
        """The link to show readers: the canonical URL (no tracking parameters) if any."""
        return self.canonical_url or self.url

    @property
    def paragraphs(self) -> tuple[str, ...]:
        return tuple(p for s in self.sections for p in s.paragraphs)

    @property
    def text(self) -> str:
        """The body as plain text, paragraphs separated by blank lines."""
        return "\n\n".join(self.paragraphs)

    @property
    def word_count(self) -> int:
        return sum(count_words(p) for p in self.paragraphs) + sum(
            count_words(e.text) for e in self.events
        )


# --- summaries ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeyPoint:
    """One point of a summary and the indices of the source sentences it comes from.

    Indices refer to ``digest.text.sentences.article_sentences(article)``.
    """

    text: str
    sources: tuple[int, ...]
    # An editor's rewrite (``digest edition edit-point``): who wrote it and the point it
    # replaced. Such a point has no source sentences: it never passes as extracted.
    edited_by: str | None = None
    original: str | None = None


@dataclass(frozen=True, slots=True)
class Summary:
    key_points: tuple[KeyPoint, ...]
    conclusion: KeyPoint | None
    method: str
    model: str
    prompt_version: str = ""
    # Generated points dropped by the support check, and why a fallback happened.
    dropped_points: int = 0
    fallback_reason: str | None = None
    # Each dropped point with why ("not in the article: 90: <the point>"), for the editor.
    dropped_why: tuple[str, ...] = ()
    # Why the summary is thinner than asked (fewer points, no conclusion), in a few words:
    # "teaser only: the source gave 38 words".
    note: str | None = None
    # When the source gave no whole sentence (a feed's description cut at a length): its
    # opening as the source wrote it, ending "…", shown as a teaser and never as a point.
    teaser: str | None = None


# --- the edition ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AlsoReported:
    """Another outlet's article about the same event."""

    source: str
    title: str
    url: str | None
    article_id: str


@dataclass(frozen=True, slots=True)
class RelatedItem:
    """A related story: resolved to a stored article when one matches, else a bare title."""

    title: str
    url: str | None = None
    published: datetime | None = None
    article_id: str | None = None
    reason: Literal["cited", "similar"] = "cited"
    # Where it comes from (``digest.edition.related``): ``link`` (the article's own related
    # links), ``earlier`` (a past edition carried it: ``edition_id``, ``edition_day``),
    # ``window`` (another stored article), ``in_edition`` (another story of this edition:
    # ``article_id`` is that story's, shown as an anchor to it).
    kind: Literal["link", "earlier", "window", "in_edition"] = "link"
    source: str | None = None  # the outlet
    edition_id: str | None = None
    edition_day: date | None = None
    # Why it was chosen: its relevance score's terms by name, rounded (the editor's panel).
    terms: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Story:
    """One story of an edition: the leading article of a same-event cluster."""

    article_id: str
    title: str
    url: str | None
    source: str
    section: str
    summary: Summary
    score: float
    published: datetime | None = None
    dek: str | None = None
    also_reported: tuple[AlsoReported, ...] = ()
    related: tuple[RelatedItem, ...] = ()
    # The score's terms by name, rounded (``digest.edition.rank.ScoreTerms.rounded``).
    terms: Mapping[str, float] = field(default_factory=dict)
    # The lead article's language (a BCP 47 tag as its source gave it) and lead picture:
    # the newsletter sets the story's lang/dir from the one and may show the other.
    language: str | None = None
    image: LeadImage | None = None
    # An update of an event an earlier edition sent: that edition's id (its date), and the
    # sentences of this article that carry what is new (facts the sent articles lacked).
    update_of: str | None = None
    whats_new: tuple[str, ...] = ()
    # An advert or sponsored item kept with a label (edition.sponsored: label).
    sponsored: bool = False


@dataclass(frozen=True, slots=True)
class EditionSection:
    name: str
    stories: tuple[Story, ...]


@dataclass(frozen=True, slots=True)
class Headline:
    """A "More news" line: title, source and link, no summary."""

    article_id: str
    title: str
    source: str
    url: str | None
    section: str = ""
    language: str | None = None


LeftOutKind = Literal[
    "headline_only",  # no text to summarise
    "cap_section",  # its section already has edition.per_category stories
    "cap_source",  # its outlet already has edition.per_source stories
    "already_sent",  # one of the last rank.novelty_editions editions sent it
    "below_cut",  # stories and headlines were full
    "same_event",  # another outlet's article about the same event leads its cluster
    "unsummarised",  # chosen, but the summariser gave nothing
    "cap_relaxed",  # IN the edition: a cap gave way because too few other stories were left
    "sponsored",  # an advert or sponsored item, and edition.sponsored is "omit"
]


@dataclass(frozen=True, slots=True)
class LeftOutReason:
    """Why an article is not in the edition: the ``kind``, and the values its line names.

    Only the fields of the kind are set: ``cap`` with ``section`` or ``source`` for a cap
    (and for cap_relaxed, which names the story that went past it: it is in the edition),
    ``edition_id`` for already_sent, ``position`` of ``clusters`` and ``score`` for
    below_cut, ``story`` (the title of the event's lead) and ``in_more_news`` (whether
    that lead is a headline) for same_event.
    """

    kind: LeftOutKind
    cap: int = 0
    section: str = ""
    source: str = ""
    edition_id: str = ""
    position: int = 0
    clusters: int = 0
    score: float = 0.0
    story: str = ""
    in_more_news: bool = False

    def text(self) -> str:
        """The line the editor's panel and ``digest edition --json`` show."""
        match self.kind:
            case "headline_only":
                return "headline only: no text to summarise"
            case "cap_section":
                return f"cap: {self.cap} stories of section {self.section!r} already"
            case "cap_source":
                return f"cap: {self.cap} stories from {self.source!r} already"
            case "already_sent":
                return f"already sent in edition {self.edition_id}"
            case "below_cut":
                return (
                    f"below the cut (cluster {self.position} of {self.clusters},"
                    f" score {self.score:.2f})"
                )
            case "same_event":
                where = "a More news headline" if self.in_more_news else "left out"
                return f"same event as {self.story!r} ({where})"
            case "unsummarised":
                return "could not be summarised (see the log)"
            case "sponsored":
                return "advert or sponsored item (edition.sponsored: omit)"
            case "cap_relaxed":
                what = f"section {self.section!r}" if self.section else f"{self.source!r}"
                return (
                    f"in the edition, cap relaxed: more than {self.cap} stories of {what},"
                    " too few other stories to fill the edition"
                )
            case _:
                assert_never(self.kind)


@dataclass(frozen=True, slots=True)
class LeftOut:
    """An article not in the edition and why (for the editor's panel).

    ``reason`` is the line shown; ``kind`` is None in editions saved before kinds were.
    """

    article_id: str
    title: str
    reason: str
    kind: LeftOutKind | None = None

    @classmethod
    def because(cls, article: Article, reason: LeftOutReason) -> LeftOut:
        return cls(article.id, article.title, reason.text(), reason.kind)


@dataclass(frozen=True, slots=True)
class Edition:
    id: str
    date: date
    title: str
    sections: tuple[EditionSection, ...]
    more_news: tuple[Headline, ...] = ()
    left_out: tuple[LeftOut, ...] = ()
    created: datetime | None = None
    # The editor's note at the top of the newsletter (``digest edition note``), if any.
    note: str = ""
    # The editor's actions on this edition, for the editor's panel (never in the mail).
    desk: tuple[DeskEntry, ...] = ()

    @property
    def stories(self) -> tuple[Story, ...]:
        return tuple(s for sec in self.sections for s in sec.stories)


# --- the editor's desk ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeskEntry:
    """One line of the editor's panel: an action, who took it and when, and whether it
    applies to the edition as it is (``note`` says why not: its story is gone)."""

    editor: str
    at: datetime
    line: str
    applied: bool = True
    note: str = ""


DeskActionKind = Literal[
    "drop", "pin", "move", "swap", "promote", "edit-point", "headline", "note", "unrelate"
]


@dataclass(frozen=True, slots=True)
class DeskAction:
    """One editor's action on a day's edition, as recorded (who, when) and replayed on
    every rebuild (``digest.edition.actions``).

    ``article_id`` names the story (empty for a note), ``other_id`` the second story of a
    swap or the related item an unrelate removes (its article id, else its title),
    ``position`` the 1-based place of a pin or move or the point of an edit-point,
    ``text`` the new headline, point or note.
    """

    kind: DeskActionKind
    editor: str
    at: datetime
    article_id: str = ""
    other_id: str = ""
    position: int | None = None
    text: str = ""
    id: int = 0  # the store's row id, 0 before it is stored


# --- rendering and sending --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RenderedEdition:
    """The edition rendered once: HTML (CSS inlined) and text with per-subscriber slots.

    The slots are filled per subscriber by ``digest.publish.render.personalize``; nothing else
    differs between subscribers. ``slot_nonce`` is the random part of this render's slot
    markers (``digest.publish.render.SlotMarkers``): never stored, never shown.
    """

    edition_id: str
    subject: str
    preheader: str
    html: str
    text: str
    slot_nonce: str
    # What was left out to fit the HTML size limit (``digest.publish.trim``); () if nothing.
    trimmed: tuple[str, ...] = ()


SubscriberState = Literal["active", "unsubscribed", "suppressed"]
Frequency = Literal["daily", "weekly"]


@dataclass(frozen=True, slots=True)
class Subscriber:
    id: int
    email: str
    name: str = ""
    topics: tuple[str, ...] = ()
    state: SubscriberState = "active"
    # The subscription's version, signed into unsubscribe tokens (``digest.signed``).
    token_version: int = 0
    # daily: every edition; weekly: the weekly recap only (preferences page).
    frequency: Frequency = "daily"


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A message ready for a transport: envelope and the exact bytes to send.

    A transport knows nothing about editions, templates or subscribers beyond this.
    """

    message_id: str
    mail_from: str
    rcpt_to: str
    data: bytes
    edition_id: str = ""
    subscriber_id: int = 0


DeliveryState = Literal["queued", "sending", "sent", "deferred", "failed"]
