"""Annotation writes and queries: one mask per (video, frame, object), each edit with its revision.

Functions take the open session of the Store's transaction; ``store.Store`` is the facade over them
(it translates database errors and picks the author).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Select, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from avs_studio.store import _rle, history
from avs_studio.store.errors import ConflictError, NotFoundError
from avs_studio.store.models import Annotation, Video, utcnow
from avs_studio.store.rows import AnnotationRow

STATUSES = ("proposed", "accepted", "rejected", "edited")  # edited = changed by a person, not accepted
SOURCES = ("proposal", "manual", "imported", "student", "propagation")
REVIEWED = ("accepted", "rejected")


def check(value: str, allowed: Sequence[str], what: str) -> None:
    if value not in allowed:
        raise ValueError(f"unknown annotation {what} {value!r}; use one of {', '.join(allowed)}")


def rle_of(a: Annotation) -> dict[str, Any]:
    return {"size": [a.height, a.width], "counts": a.counts}


def put(
    s: Session,
    video_id: int,
    frame: int,
    object_id: int | None,
    rle: dict[str, Any],
    area: int,
    attempted: dict[str, Any],
    *,
    expected_version: int | None,
    create_only: bool,
    group: Any,
) -> AnnotationRow:
    """Create or replace the mask of (video, frame, object); ``attempted`` holds the edit's fields."""
    key = (
        Annotation.video_id == video_id,
        Annotation.frame == frame,
        Annotation.object_id.is_(None) if object_id is None else Annotation.object_id == object_id,
    )
    a = s.scalars(select(Annotation).where(*key).with_for_update()).one_or_none()
    if expected_version is not None and (a is None or a.version != expected_version):
        raise ConflictError(a.id if a else None, expected_version, a.version if a else None, attempted)
    if create_only and a is not None and a.author != attempted["author"]:
        raise ConflictError(
            a.id, None, a.version, attempted, what="creation",
            detail=f"{a.author or 'Another author'} stored a mask for video {video_id}, frame {frame}, object "
            f"{object_id} first (annotation {a.id}, version {a.version}); yours was not written. Reload to see "
            f"it, then edit it (your mask is in ConflictError.attempted).",
        )  # fmt: skip
    now = utcnow()
    before = None if a is None else history.snapshot(a)
    if a is None:
        a = Annotation(video_id=video_id, frame=frame, object_id=object_id, version=1, created_at=now)
        s.add(a)
    else:
        a.version += 1
    a.counts, a.height, a.width, a.area = rle["counts"], rle["size"][0], rle["size"][1], area
    author, status = attempted["author"], attempted["status"]
    a.source, a.status, a.author, a.score, a.run_id, a.updated_at = (
        attempted["source"], status, author, attempted["score"], attempted["run_id"], now
    )  # fmt: skip
    a.reviewed_by, a.reviewed_at = (author, now) if status in REVIEWED else (None, None)
    s.flush()
    history.record(s, a, "create" if before is None else "update", before, author, group)
    return AnnotationRow.from_orm(a)


def refused(reason: str, attempted: dict[str, Any], expected_version: int | None) -> Exception:
    """The error for a put the database refused (a unique or foreign key); nothing was written."""
    a = attempted
    if "foreign key" in reason.lower():
        return NotFoundError(
            f"cannot store the mask: video {a['video_id']}, object {a['object_id']} or run {a['run_id']} "
            f"does not exist"
        )
    return ConflictError(
        None, expected_version, None, attempted,
        detail=f"Another writer created the annotation of video {a['video_id']}, frame {a['frame']}, object "
        f"{a['object_id']} at the same moment; nothing was written. Reload and re-apply "
        f"(the edit is in ConflictError.attempted).",
    )  # fmt: skip


def bulk_rows(
    items: Iterable[dict[str, Any]], *, source: str, status: str, author: str, run_id: int | None
) -> Iterable[dict[str, Any]]:
    """Column dicts for a bulk insert (no revisions): imports and proposals."""
    for item in items:
        rle, area = _rle.to_rle(item["rle"] if "rle" in item else item["mask"])
        now = utcnow()
        yield dict(
            video_id=item["video_id"], frame=int(item["frame"]), object_id=item.get("object_id"),
            counts=rle["counts"], height=rle["size"][0], width=rle["size"][1], area=area,
            source=source, status=status, author=author, score=item.get("score"),
            run_id=run_id, version=1, created_at=now, updated_at=now,
            reviewed_by=author if status in REVIEWED else None,
            reviewed_at=now if status in REVIEWED else None,
        )  # fmt: skip


def insert_rows(s: Session, rows: Iterable[dict[str, Any]], chunk: int, skip_existing: bool = False) -> int:
    """Insert ``rows`` in batches of ``chunk``; ``skip_existing``: rows whose (video, frame, object)
    exists are left out (ON CONFLICT DO NOTHING); returns the count inserted."""
    stmt: Any = insert(Annotation)
    if skip_existing:
        dialect = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
        stmt = dialect(Annotation).on_conflict_do_nothing().returning(Annotation.id)
    n = 0
    batch: list[dict[str, Any]] = []
    for row in itertools.chain(rows, [None]):  # None: flush the last batch
        if row is not None:
            batch.append(row)
        if batch and (row is None or len(batch) >= chunk):
            result = s.execute(stmt, batch)
            n += len(result.all()) if skip_existing else len(batch)
            batch = []
    return n


def locked(
    s: Session, annotation_id: int, expected: int | None, attempted: dict[str, Any], what: str, where: str
) -> Annotation:
    """The annotation, locked for update; ConflictError if not at ``expected``, NotFoundError if gone."""
    a = s.scalars(select(Annotation).where(Annotation.id == annotation_id).with_for_update()).one_or_none()
    if expected is not None and (a is None or a.version != expected):
        attempted = {"annotation_id": annotation_id, **attempted}
        raise ConflictError(annotation_id, expected, a.version if a else None, attempted, what)
    if a is None:
        raise NotFoundError(f"annotation {annotation_id} does not exist in {where}")
    return a


def set_status(
    s: Session, annotation_id: int, status: str, author: str, expected: int | None, group: Any, where: str
) -> AnnotationRow:
    a = locked(s, annotation_id, expected, {"status": status, "author": author}, "status change", where)
    before = history.snapshot(a)
    now = utcnow()
    a.status, a.version, a.updated_at = status, a.version + 1, now
    a.reviewed_by, a.reviewed_at = (author, now) if status in REVIEWED else (None, None)
    s.flush()
    history.record(s, a, "status", before, author, group)
    return AnnotationRow.from_orm(a)


def delete(s: Session, annotation_id: int, author: str, expected: int | None, group: Any, where: str) -> None:
    a = locked(s, annotation_id, expected, {"delete": True, "author": author}, "delete", where)
    before = history.snapshot(a)
    s.delete(a)
    s.flush()
    history.record(s, None, "delete", before, author, group, annotation_id=annotation_id)


def filtered(
    video_id: int | None,
    frame: int | None,
    status: str | Sequence[str] | None,
    source: str | Sequence[str] | None,
    split: str | None,
) -> Select[Annotation]:
    q = select(Annotation)
    if video_id is not None:
        q = q.where(Annotation.video_id == video_id)
    if frame is not None:
        q = q.where(Annotation.frame == frame)
    for col, val in ((Annotation.status, status), (Annotation.source, source)):
        if isinstance(val, str):
            q = q.where(col == val)
        elif val is not None:
            q = q.where(col.in_(list(val)))
    if split is not None:
        q = q.join(Video, Video.id == Annotation.video_id).where(Video.split == split)
    return q


def rows(s: Session, q: Select[Annotation]) -> list[AnnotationRow]:
    return [AnnotationRow.from_orm(a) for a in s.scalars(q)]


def frame_statuses(s: Session, video_id: int) -> list[tuple[int, str]]:
    """The distinct (frame, status) pairs of a video's annotations (no mask is read)."""
    q = select(Annotation.frame, Annotation.status).where(Annotation.video_id == video_id)
    return [(int(f), str(st)) for f, st in s.execute(q.distinct().order_by(Annotation.frame))]


def counts(s: Session, video_id: int) -> dict[str, dict[str, int]]:
    """{"status": {status: n}, "source": {source: n}} for one video (every known key, zeros too)."""
    out: dict[str, dict[str, int]] = {
        "status": dict.fromkeys(STATUSES, 0),
        "source": dict.fromkeys(SOURCES, 0),
    }
    for name, col in (("status", Annotation.status), ("source", Annotation.source)):
        q = select(col, func.count()).where(Annotation.video_id == video_id).group_by(col)
        for value, n in s.execute(q):
            out[name][value] = n
    return out
