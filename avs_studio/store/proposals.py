"""One clip's proposals written in one transaction: what a proposal engine (OpenAVS, a student) found.

Keyframes a person reviewed or edited (any annotation on them not "proposed") are left alone; the
other keyframes of the clip lose their old proposals and get the new ones: one annotation per object
label (objects created by label, reused case-insensitively), or one explicit empty annotation where
nothing visible sounds. The clip's provenance row is written in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from avs_studio import masks
from avs_studio.store.models import Annotation, ClipResult, Revision, SoundObject, utcnow

PROPOSED = "proposed"


@dataclass(frozen=True)
class FrameMasks:
    """A keyframe's proposal: (label, bool mask, score) per sounding object; [] = nothing sounds here.
    An int in place of the label names an existing object of the video by id; a mask may be an RLE."""

    frame: int
    objects: list[tuple[str | int, np.ndarray | dict[str, Any], float | None]] = field(default_factory=list)


@dataclass
class ProposalCounts:
    annotations: int = 0  # object masks written
    empty: int = 0  # explicit empty proposals written
    skipped: int = 0  # keyframes left alone: a person reviewed or edited them
    new_objects: int = 0
    written: list[int] = field(default_factory=list)  # keyframes written


def replace_proposals(
    s: Session,
    video_id: int,
    frames: Sequence[FrameMasks],
    shape: tuple[int, int],
    *,
    run_id: int | None,
    result: dict[str, Any] | None,
    author: str,
    source: str,
) -> ProposalCounts:
    indices = [f.frame for f in frames]
    h, w = shape
    counts = ProposalCounts()
    existing = s.scalars(
        select(Annotation).where(Annotation.video_id == video_id, Annotation.frame.in_(indices))
    ).all()
    reviewed = {a.frame for a in existing if a.status != PROPOSED}
    stale = [a.id for a in existing if a.frame not in reviewed]
    if stale:
        s.execute(update(Revision).where(Revision.annotation_id.in_(stale)).values(state="discarded"))
        s.execute(delete(Annotation).where(Annotation.id.in_(stale)))
    known = s.scalars(
        select(SoundObject).where(SoundObject.video_id == video_id).order_by(SoundObject.index)
    ).all()
    objects = {o.label.strip().lower(): o.id for o in known}
    own_ids = {o.id for o in known}
    next_index = s.scalar(select(func.max(SoundObject.index)).where(SoundObject.video_id == video_id))
    next_index = 0 if next_index is None else next_index + 1
    now = utcnow()
    rows: list[Annotation] = []
    for fm in frames:
        if fm.frame in reviewed:
            counts.skipped += 1
            continue
        items: list[tuple[int | None, np.ndarray | dict[str, Any], float | None]] = []
        for label, m, score in fm.objects:
            size = tuple(m["size"]) if isinstance(m, dict) else m.shape
            if size != (h, w):
                raise ValueError(f"a mask of shape {size} for a {w}x{h} frame")
            if isinstance(label, int | np.integer):
                if int(label) not in own_ids:
                    raise ValueError(f"object {label} is not an object of video {video_id}")
                items.append((int(label), m, score))
                counts.annotations += 1
                continue
            key = label.strip().lower()
            if key not in objects:
                obj = SoundObject(
                    video_id=video_id, label=key, colour=masks.colour_for_index(next_index), index=next_index
                )
                s.add(obj)
                s.flush()
                objects[key] = obj.id
                next_index += 1
                counts.new_objects += 1
            items.append((objects[key], m, score))
            counts.annotations += 1
        if not items:
            items = [(None, np.zeros((h, w), bool), None)]
            counts.empty += 1
        for object_id, m, score in items:
            rle = m if isinstance(m, dict) else masks.encode(m)
            area = masks.rle_area(rle) if isinstance(m, dict) else int(np.count_nonzero(m))
            rows.append(
                Annotation(
                    video_id=video_id, frame=fm.frame, object_id=object_id, counts=rle["counts"],
                    height=h, width=w, area=area, source=source, status=PROPOSED,
                    author=author, score=score, run_id=run_id, version=1, created_at=now, updated_at=now,
                )
            )  # fmt: skip
        counts.written.append(fm.frame)
    s.add_all(rows)
    if run_id is not None:
        s.add(
            ClipResult(
                run_id=run_id, video_id=video_id, frames=[int(i) for i in indices], result=result or {}
            )
        )
    s.flush()
    return counts


def delete_proposals(s: Session, video_id: int, frames: Sequence[int], source: str) -> int:
    """Delete the proposed annotations of ``source`` on these frames (their undo steps discarded)."""
    ids: list[int] = []
    for i in range(0, len(frames), 500):
        ids += s.scalars(
            select(Annotation.id).where(
                Annotation.video_id == video_id, Annotation.frame.in_([int(f) for f in frames[i : i + 500]]),
                Annotation.status == PROPOSED, Annotation.source == source,
            )
        ).all()  # fmt: skip
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        s.execute(update(Revision).where(Revision.annotation_id.in_(chunk)).values(state="discarded"))
        s.execute(delete(Annotation).where(Annotation.id.in_(chunk)))
    return len(ids)
