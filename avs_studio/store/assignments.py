"""Assignments: which annotator a video is given to (at most one each), and how far each video's review is.

``Store.assignments`` is an ``Assignments`` over the store's transactions. Two leads assigning at once
never give one video to two people: the video is unique in the table, and a writer that loses the race
picks again (``assign_next``) or is refused with the name of who has it (``assign``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, Result, case, delete, func, select
from sqlalchemy.orm import Session

from avs_studio import names
from avs_studio.store.db import get
from avs_studio.store.errors import StoreError
from avs_studio.store.models import Annotation, Assignment, Video, utcnow
from avs_studio.store.rows import _aware
from avs_studio.store.session import Transactions

PROPOSED = "proposed"


def _rowcount(result: Result[Any]) -> int:
    """Rows a DELETE or UPDATE touched."""
    return (result.rowcount or 0) if isinstance(result, CursorResult) else 0


class AssignedElsewhere(StoreError):
    """Videos are assigned to other annotators; nothing was changed. ``taken``: video id -> annotator."""

    def __init__(self, message: str, taken: dict[int, str]):
        super().__init__(message)
        self.taken = taken


@dataclass(frozen=True)
class AssignmentRow:
    video_id: int
    annotator: str
    assigned_by: str | None
    assigned_at: datetime

    @classmethod
    def from_orm(cls, a: Assignment) -> AssignmentRow:
        return cls(a.video_id, a.annotator, a.assigned_by, _aware(a.assigned_at))


@dataclass(frozen=True)
class ReviewCounts:
    """Keyframes of a video with annotations: ``reviewed`` (none of them still proposed), ``pending``."""

    reviewed: int = 0
    pending: int = 0


class Assignments:
    def __init__(self, tx: Transactions, author: str, where: str):
        self._tx, self._author, self._where = tx, author, where

    def assign(self, annotator: str, video_ids: Sequence[int], *, replace: bool = False) -> list[int]:
        """Give these videos to ``annotator``; returns the ids that changed hands (already theirs: left).
        A video assigned to someone else raises AssignedElsewhere (nothing changed) unless ``replace``."""
        name = names.check_name(annotator, "annotator")
        ids = list(dict.fromkeys(int(v) for v in video_ids))

        def write(s: Session) -> list[int]:
            for vid in ids:
                get(s, Video, vid, "video", self._where)
            held = {a.video_id: a for a in s.scalars(select(Assignment).where(Assignment.video_id.in_(ids)))}
            taken = {v: a.annotator for v, a in held.items() if a.annotator != name}
            if taken and not replace:
                who = ", ".join(f"video {v} ({n})" for v, n in sorted(taken.items()))
                raise AssignedElsewhere(
                    f"already assigned to someone else: {who}; nothing was changed (reassign with --replace)",
                    taken,
                )
            changed = [v for v in ids if v not in held or v in taken]
            if taken:
                s.execute(delete(Assignment).where(Assignment.video_id.in_(list(taken))))
            self._add(s, name, changed)
            return changed

        return self._tx.retrying(write)

    def assign_next(self, annotator: str, count: int, split: str | None = None) -> list[int]:
        """Give the first ``count`` unassigned videos (id order; of ``split``) to ``annotator``."""
        name = names.check_name(annotator, "annotator")
        if count < 1:
            raise ValueError(f"count must be at least 1, not {count}")

        def write(s: Session) -> list[int]:
            q = select(Video.id).where(~Video.id.in_(select(Assignment.video_id))).order_by(Video.id)
            if split is not None:
                q = q.where(Video.split == split)
            chosen = list(s.scalars(q.limit(count)))
            self._add(s, name, chosen)
            return chosen

        return self._tx.retrying(write, attempts=10)

    def _add(self, s: Session, annotator: str, video_ids: list[int]) -> None:
        now = utcnow()
        s.add_all(
            Assignment(video_id=v, annotator=annotator, assigned_by=self._author, assigned_at=now)
            for v in video_ids
        )
        s.flush()

    def release(self, video_ids: Sequence[int] | None = None, annotator: str | None = None) -> int:
        """Unassign these videos (None: all), or only those of ``annotator``; returns how many."""
        q = delete(Assignment)
        if video_ids is not None:
            q = q.where(Assignment.video_id.in_([int(v) for v in video_ids]))
        if annotator is not None:
            q = q.where(Assignment.annotator == annotator)
        return self._tx.write(lambda s: _rowcount(s.execute(q)))

    def of_video(self, video_id: int) -> AssignmentRow | None:
        q = select(Assignment).where(Assignment.video_id == video_id)
        return self._tx.read(lambda s: next((AssignmentRow.from_orm(a) for a in s.scalars(q)), None))

    def rows(self, annotator: str | None = None) -> list[AssignmentRow]:
        """Every assignment (of ``annotator``), in video order."""
        q = select(Assignment).order_by(Assignment.video_id)
        if annotator is not None:
            q = q.where(Assignment.annotator == annotator)
        return self._tx.read(lambda s: [AssignmentRow.from_orm(a) for a in s.scalars(q)])

    def review_counts(self, video_ids: Sequence[int] | None = None) -> dict[int, ReviewCounts]:
        """Per video: keyframes whose annotations are all reviewed (accepted, rejected, edited) and
        keyframes with one still proposed; one aggregate query."""
        still = func.sum(case((Annotation.status == PROPOSED, 1), else_=0))
        per_frame = select(Annotation.video_id, Annotation.frame, still.label("proposed")).group_by(
            Annotation.video_id, Annotation.frame
        )
        if video_ids is not None:
            per_frame = per_frame.where(Annotation.video_id.in_([int(v) for v in video_ids]))
        sub = per_frame.subquery()
        q = select(
            sub.c.video_id,
            func.sum(case((sub.c.proposed == 0, 1), else_=0)),
            func.sum(case((sub.c.proposed > 0, 1), else_=0)),
        ).group_by(sub.c.video_id)
        return self._tx.read(
            lambda s: {int(v): ReviewCounts(int(r or 0), int(p or 0)) for v, r, p in s.execute(q)}
        )
