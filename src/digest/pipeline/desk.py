"""The editor's desk over the store: actions on the draft, and the approval gate.

``act`` records one action (``digest edition drop|pin|move|...``) and saves the edition
with every action of the day replayed on the edition as built (``digest.edition.actions``);
``build_edition(..., rebuild=True)`` replays them on the new build. ``approve`` records a
hash of what the edition renders to; ``hold_reason`` says why the daily job must not send
yet: no approval (``delivery.require_approval``), an approval of another rendering (the
edition changed since), or a send time (``delivery.send_at``) not reached.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from digest.config import Config, send_time
from digest.edition.actions import Promote, editor_name, replay
from digest.edition.select import single_story
from digest.errors import EditionError
from digest.models import Article, Edition, RenderedEdition, Story, Summary
from digest.pipeline.options import edition_settings, open_store
from digest.publish.render import render_edition
from digest.store import ArticleStore, Database, EditionStore
from digest.store.desk import Approval, DeskStore

__all__ = [
    "Approved",
    "approve",
    "hold_reason",
    "rendered_hash",
    "send_moment",
    "story_promoter",
    "with_desk_actions",
]

log = logging.getLogger(__name__)


def rendered_hash(rendered: RenderedEdition) -> str:
    """SHA-256 of what subscribers get (subject, HTML and text, slots unfilled).

    The slot markers' nonce is random per render, so it is taken out: two renders of the
    same edition hash the same.
    """
    digest = hashlib.sha256()
    for part in (rendered.edition_id, rendered.subject, rendered.html, rendered.text):
        digest.update(part.replace(rendered.slot_nonce, "").encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()


def send_moment(config: Config, day: date) -> datetime | None:
    """When the edition of ``day`` may be sent (``delivery.send_at`` on that day, in
    ``timezone``), or None when there is no send time."""
    if config.delivery.send_at is None:
        return None
    return datetime.combine(day, send_time(config.delivery.send_at), config.tz)


def hold_reason(
    config: Config,
    db: Database,
    day: date,
    rendered: RenderedEdition,
    *,
    now: datetime | None = None,
    schedule: bool = True,
) -> str | None:
    """Why the edition of ``day`` must not be sent now, or None when it may be.

    ``schedule=False`` (``digest send``) ignores ``delivery.send_at``: an explicit send.
    """
    if config.delivery.require_approval:
        approval = DeskStore(db).approval(day)
        again = f"(digest approve --date {day})"
        if approval is None:
            return f"waiting for approval {again}"
        if approval.edition_hash != rendered_hash(rendered):
            when = approval.at.astimezone(config.tz).strftime("%Y-%m-%d %H:%M")
            return (
                f"waiting for approval: the edition changed after {approval.editor}"
                f" approved it at {when} {again}"
            )
    moment = send_moment(config, day) if schedule else None
    if moment is not None and (now or datetime.now(UTC)) < moment:
        return (
            f"waiting for the send time, {config.delivery.send_at} {config.timezone}"
            " (a run from then on sends)"
        )
    return None


@dataclass(frozen=True, slots=True)
class Approved:
    approval: Approval
    subject: str
    replaced: Approval | None  # the approval this one replaces, if any


def approve(config: Config, day: date, editor: str, *, now: datetime | None = None) -> Approved:
    """Approve the saved edition of ``day`` as it renders now."""
    editor = editor_name(editor)
    with open_store(config) as db:
        edition = EditionStore(db).for_day(day)
        if edition is None:
            raise EditionError(
                f"no edition of {day} to approve: `digest run` or `digest preview` builds it"
            )
        rendered = render_edition(
            edition, config.newsletter, base_dir=config.base_dir, timezone=config.tz
        )
        desk = DeskStore(db)
        before = desk.approval(day)
        approval = desk.approve(
            day, edition.id, rendered_hash(rendered), editor, now or datetime.now(UTC)
        )
    return Approved(approval, rendered.subject, before)


# --- actions: promoting a story, and replaying the day's actions on a build ------------------

SummarizeMany = Callable[[Sequence[Article]], Mapping[str, Summary]]


def story_promoter(config: Config, db: Database, summarize: SummarizeMany) -> Promote:
    """Makes a story of a stored article for ``promote``: summarised now (the store's
    cache answers when it was summarised before), in its section, no related items."""

    def promote(article_id: str) -> Story:
        article = ArticleStore(db).get(article_id)
        if article is None:
            raise EditionError(f"article {article_id} is no longer in the store")
        summary = summarize([article]).get(article.id)
        if summary is None:
            raise EditionError(f"“{article.title}” could not be summarised (see the log)")
        return single_story(article, summary, edition_settings(config))

    return promote


def with_desk_actions(
    config: Config, db: Database, edition: Edition, summarize: SummarizeMany
) -> Edition:
    """``edition`` (just built) with the day's recorded actions replayed; each one whose
    story is gone is logged, and listed in the editor's panel as not applied."""
    actions = DeskStore(db).actions(edition.date)
    if not actions:
        return edition
    replayed = replay(edition, actions, story_promoter(config, db, summarize))
    for entry in replayed.skipped:
        log.warning("edition %s: %s (%s) %s", edition.id, entry.line, entry.editor, entry.note)
    return replayed.edition
