"""The undo log: every annotation edit writes a revision (before/after snapshots) in its transaction;
undo and redo replay those revisions, one author's steps at a time.

Functions take the open session of the Store's transaction; ``store.Store`` is the facade over them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from avs_studio.store.errors import ConflictError
from avs_studio.store.models import Annotation, Revision, utcnow
from avs_studio.store.rows import RevisionRow

# annotation fields kept in revision snapshots and restored by undo/redo
SNAPSHOT_FIELDS = (
    "video_id", "frame", "object_id", "counts", "height", "width", "area", "source", "status", "author",
    "score", "run_id", "reviewed_by", "reviewed_at",
)  # fmt: skip


def snapshot(a: Annotation) -> dict[str, Any]:
    snap = {k: getattr(a, k) for k in SNAPSHOT_FIELDS}
    snap["reviewed_at"] = a.reviewed_at.isoformat() if a.reviewed_at else None
    snap["id"] = a.id
    snap["version"] = a.version
    return snap


def _restore(a: Annotation, snap: dict[str, Any]) -> None:
    for k in SNAPSHOT_FIELDS:
        setattr(a, k, snap[k])
    a.reviewed_at = datetime.fromisoformat(snap["reviewed_at"]) if snap["reviewed_at"] else None
    a.updated_at = utcnow()


def record(
    s: Session,
    a: Annotation | None,
    action: str,
    before: dict[str, Any] | None,
    author: str,
    group: Any = None,
    annotation_id: int | None = None,
) -> Revision:
    """Write the revision of one edit (``a`` None = the row was deleted); ``group``: an open Store.group
    (its ``id`` is set from its first revision)."""
    # a new edit makes this author's undone steps unreachable (standard undo stack)
    s.execute(
        update(Revision)
        .where(Revision.state == "undone", Revision.author == author)
        .values(state="discarded")
    )
    rev = Revision(
        annotation_id=a.id if a is not None else annotation_id,
        action=action,
        before=before,
        after=None if a is None else snapshot(a),
        author=author,
        state="done",
        row_version=None if a is None else a.version,
        created_at=utcnow(),
        group_id=None if group is None else group.id,
    )
    s.add(rev)
    s.flush()
    if group is not None and group.id is None:  # the group's first revision names it
        group.id = rev.group_id = rev.seq
        s.flush()
    return rev


def discard(s: Session, annotation_ids: list[int]) -> None:
    """Drop every undo/redo step of these annotations (merge, delete object: not undoable)."""
    for i in range(0, len(annotation_ids), 500):
        s.execute(
            update(Revision)
            .where(Revision.annotation_id.in_(annotation_ids[i : i + 500]), Revision.state != "discarded")
            .values(state="discarded")
        )


def _apply(s: Session, rev: Revision, target: dict[str, Any] | None, what: str) -> None:
    """Bring the annotation of ``rev`` to ``target`` (None = absent) if it is still as ``rev`` left it."""
    a = s.scalars(
        select(Annotation).where(Annotation.id == rev.annotation_id).with_for_update()
    ).one_or_none()
    current = None if a is None else a.version
    if current != rev.row_version:
        raise ConflictError(
            rev.annotation_id, rev.row_version, current, target,
            what=f"{what} of revision {rev.seq}",
            detail=f"Cannot {what} revision {rev.seq} ({rev.action} of annotation {rev.annotation_id}): the "
            f"annotation changed since (expected version {rev.row_version}, found {current}). Nothing was "
            f"changed; edit the annotation directly instead.",
        )  # fmt: skip
    if target is None:
        s.delete(a)
        rev.row_version = None
    else:
        versions = [v["version"] for v in (rev.before, rev.after) if v]
        if a is None:  # restore a deleted row under its old id (never reused), with a version it never had
            a = Annotation(id=rev.annotation_id, version=max(versions) + 1, created_at=utcnow())
            _restore(a, target)
            s.add(a)
        else:
            a.version = a.version + 1
            _restore(a, target)
        s.flush()
        rev.row_version = a.version
    s.flush()


def _chain(s: Session, rev: Revision, undo: bool) -> None:
    """Hand the row's new version to the neighbouring step of the same annotation.

    After undoing ``rev`` the row is as the previous 'done' revision left it; after redoing it, as
    the next 'undone' revision's revert left it. Their ``row_version`` must follow, or the next
    undo/redo of that annotation would see a false conflict.
    """
    q = select(Revision).where(Revision.annotation_id == rev.annotation_id)
    if undo:
        q = q.where(Revision.state == "done", Revision.seq < rev.seq).order_by(Revision.seq.desc())
    else:
        q = q.where(Revision.state == "undone", Revision.seq > rev.seq).order_by(Revision.seq.asc())
    neighbour = s.scalars(q.limit(1)).first()
    if neighbour is not None:
        neighbour.row_version = rev.row_version


def step(s: Session, what: str, author: str) -> RevisionRow | None:
    """Undo (``what`` "undo": the newest 'done' step) or redo (the oldest 'undone' step) of ``author``.

    A grouped step brings its whole group (undo newest first, redo oldest first); a conflict on any
    row raises ConflictError and the caller's transaction writes nothing. Returns the last row handled.
    """
    undo = what == "undo"
    state, new_state = ("done", "undone") if undo else ("undone", "done")
    q = select(Revision).where(Revision.state == state, Revision.author == author)
    rev = s.scalars(q.order_by(Revision.seq.desc() if undo else Revision.seq.asc()).limit(1)).first()
    if rev is None:
        return None
    revs = [rev]
    if rev.group_id is not None:
        q = select(Revision).where(Revision.group_id == rev.group_id, Revision.state == state)
        revs = list(s.scalars(q.order_by(Revision.seq.desc() if undo else Revision.seq.asc())))
    for r in revs:
        _apply(s, r, r.before if undo else r.after, what)
        r.state = new_state
        _chain(s, r, undo)
        s.flush()
    return RevisionRow.from_orm(revs[-1])


def refused(what: str, reason: str) -> ConflictError:
    """The error for an undo/redo the database refused: its row's slot is taken, or its object is gone."""
    return ConflictError(
        None, None, None, what=what,
        detail=f"Cannot {what}: another annotation now occupies the same (video, frame, object) or its "
        f"object was deleted; nothing was changed. ({reason})",
    )  # fmt: skip


def has_step(s: Session, state: str, author: str) -> bool:
    q = select(Revision.seq).where(Revision.state == state, Revision.author == author)
    return s.scalar(q.limit(1)) is not None


def revisions(s: Session, annotation_id: int | None, limit: int) -> list[RevisionRow]:
    """Newest first; of one annotation if given."""
    q = select(Revision).order_by(Revision.seq.desc()).limit(limit)
    if annotation_id is not None:
        q = q.where(Revision.annotation_id == annotation_id)
    return [RevisionRow.from_orm(r) for r in s.scalars(q)]
