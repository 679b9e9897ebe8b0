"""``digest edition drop|pin|move|swap|promote|edit-point|headline|note``: one editor's
action on the day's draft, checked against the edition, recorded in the store (who, when)
and applied to the saved edition at once. A rebuild replays every recorded action
(``digest.pipeline.desk.with_desk_actions``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from digest.config import Config
from digest.edition.actions import editor_name, replay, resolve_action
from digest.errors import EditionError
from digest.models import DeskAction, DeskEntry, Edition
from digest.pipeline.build import build_edition, store_summarizer, with_own_pictures
from digest.pipeline.desk import story_promoter
from digest.pipeline.options import open_store
from digest.store import EditionStore
from digest.store.desk import DeskStore
from digest.store.ledger import DeliveryLedger

__all__ = ["Acted", "act"]


@dataclass(frozen=True, slots=True)
class Acted:
    action: DeskAction  # as recorded: ids whole, text checked, the store's id
    entry: DeskEntry  # the panel's line for it
    edition: Edition  # the saved edition after it


def act(config: Config, day: date, action: DeskAction, *, resend: bool = False) -> Acted:
    """Apply ``action`` to the edition of ``day`` (built first if there is none), record it
    and save the edition; ``EditionError`` (nothing recorded) when it does not apply, or
    when it promotes an article an earlier edition sent and ``resend`` is not given."""
    action = DeskAction(
        kind=action.kind,
        editor=editor_name(action.editor),
        at=action.at,
        article_id=action.article_id.strip(),
        other_id=action.other_id.strip(),
        position=action.position,
        text=action.text,
    )
    with open_store(config) as db:
        edition = build_edition(config, db, day)
        if out := DeliveryLedger(db).went_out(edition.id):
            raise EditionError(
                f"edition {edition.id} went out to {out} subscriber{'s' if out != 1 else ''}"
                " already: actions change a draft only"
            )
        resolved = resolve_action(edition, action, resend=resend)
        desk = DeskStore(db)
        pins = [a for a in desk.actions(day) if a.kind == "pin"]
        promote = None
        if resolved.kind == "promote":
            promote = story_promoter(config, db, store_summarizer(config, db))
        replayed = replay(edition, [resolved], promote, log=edition.desk, pins=pins)
        if replayed.skipped:
            raise EditionError(replayed.skipped[0].note.removeprefix("not applied: "))
        # A promoted story's picture is copied like the others (already copied: kept).
        saved = with_own_pictures(config, replayed.edition)
        with db.transaction():
            stored = desk.record(day, resolved)
            EditionStore(db).save(saved)
    return Acted(stored, saved.desk[-1], saved)
