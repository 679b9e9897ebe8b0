"""The editor's desk in the store: the actions taken on each day's edition (who, when,
what), in order, and the approval of a day's rendered edition (a hash of what it renders
to, so that a change after approval needs approval again)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import cast

from digest.models import DeskAction, DeskActionKind
from digest.store import sql
from digest.store.db import Database

__all__ = ["Approval", "DeskStore"]


@dataclass(frozen=True, slots=True)
class Approval:
    day: date
    edition_id: str
    edition_hash: str
    editor: str
    at: datetime


class DeskStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, day: date, action: DeskAction) -> DeskAction:
        """Append ``action`` to the day's list; the stored copy (with its id) back."""
        with self.db.transaction():
            cursor = self.db.execute(
                sql.INSERT_DESK_ACTION,
                {
                    "day": day.isoformat(),
                    "kind": action.kind,
                    "article_id": action.article_id,
                    "other_id": action.other_id,
                    "position": action.position,
                    "text": action.text,
                    "editor": action.editor,
                    "created_at": action.at.astimezone(UTC).isoformat(),
                },
            )
        return DeskAction(
            kind=action.kind,
            editor=action.editor,
            at=action.at,
            article_id=action.article_id,
            other_id=action.other_id,
            position=action.position,
            text=action.text,
            id=int(cursor.lastrowid or 0),
        )

    def actions(self, day: date) -> list[DeskAction]:
        """The day's actions, oldest first (the order they are replayed in)."""
        return [
            DeskAction(
                kind=cast(DeskActionKind, r["kind"]),
                editor=r["editor"],
                at=datetime.fromisoformat(r["created_at"]),
                article_id=r["article_id"],
                other_id=r["other_id"],
                position=None if r["position"] is None else int(r["position"]),
                text=r["text"],
                id=int(r["id"]),
            )
            for r in self.db.query(sql.DESK_ACTIONS_OF_DAY, {"day": day.isoformat()})
        ]

    def approve(
        self, day: date, edition_id: str, edition_hash: str, editor: str, at: datetime
    ) -> Approval:
        """Record the approval of the day's edition as it renders now (replacing any)."""
        with self.db.transaction():
            self.db.execute(sql.DELETE_APPROVAL, {"day": day.isoformat()})
            self.db.execute(
                sql.INSERT_APPROVAL,
                {
                    "day": day.isoformat(),
                    "edition_id": edition_id,
                    "edition_hash": edition_hash,
                    "editor": editor,
                    "approved_at": at.astimezone(UTC).isoformat(),
                },
            )
        return Approval(day, edition_id, edition_hash, editor, at)

    def approval(self, day: date) -> Approval | None:
        row = self.db.execute(sql.APPROVAL_OF_DAY, {"day": day.isoformat()}).fetchone()
        if row is None:
            return None
        return Approval(
            day=date.fromisoformat(row["day"]),
            edition_id=row["edition_id"],
            edition_hash=row["edition_hash"],
            editor=row["editor"],
            at=datetime.fromisoformat(row["approved_at"]),
        )
