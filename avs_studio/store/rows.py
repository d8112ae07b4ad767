"""Plain frozen dataclasses returned by the Store (never ORM objects, so threads cannot share sessions)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, overload

import numpy as np

from avs_studio.store import _rle


@overload
def _aware(t: datetime) -> datetime: ...
@overload
def _aware(t: datetime | None) -> datetime | None: ...
def _aware(t: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; every time stored is UTC."""
    if t is not None and t.tzinfo is None:
        return t.replace(tzinfo=UTC)
    return t


@dataclass(frozen=True)
class AnnotationRow:
    id: int
    video_id: int
    frame: int
    object_id: int | None
    rle: dict[str, Any]
    height: int
    width: int
    area: int
    source: str
    status: str
    author: str | None
    score: float | None
    run_id: int | None
    version: int
    created_at: datetime
    updated_at: datetime
    reviewed_by: str | None
    reviewed_at: datetime | None

    def mask(self) -> np.ndarray:
        """The mask as a bool array (height, width)."""
        return _rle.to_mask(self.rle)

    @classmethod
    def from_orm(cls, a: Any) -> AnnotationRow:
        return cls(
            id=a.id,
            video_id=a.video_id,
            frame=a.frame,
            object_id=a.object_id,
            rle={"size": [a.height, a.width], "counts": a.counts},
            height=a.height,
            width=a.width,
            area=a.area,
            source=a.source,
            status=a.status,
            author=a.author,
            score=a.score,
            run_id=a.run_id,
            version=a.version,
            created_at=_aware(a.created_at),
            updated_at=_aware(a.updated_at),
            reviewed_by=a.reviewed_by,
            reviewed_at=_aware(a.reviewed_at),
        )


@dataclass(frozen=True)
class VideoRow:
    id: int
    path: str
    name: str
    fps: float
    frame_count: int
    width: int
    height: int
    duration: float
    has_audio: bool
    sha256: str | None
    split: str | None
    category: str | None
    keyframe_rate: float
    meta: dict[str, Any]
    created_at: datetime
    stored_path: str = ""  # as in the database: relative to the project folder when the media is inside it

    @classmethod
    def from_orm(cls, v: Any, base: str | None = None) -> VideoRow:
        """``base``: the project folder; ``path`` is then absolute wherever the project is opened from."""
        path = v.path if base is None or os.path.isabs(v.path) else os.path.join(base, v.path)
        return cls(
            id=v.id,
            path=path,
            name=v.name,
            fps=v.fps,
            frame_count=v.frame_count,
            width=v.width,
            height=v.height,
            duration=v.duration,
            has_audio=v.has_audio,
            sha256=v.sha256,
            split=v.split,
            category=v.category,
            keyframe_rate=v.keyframe_rate,
            meta=dict(v.meta or {}),
            created_at=_aware(v.created_at),
            stored_path=v.path,
        )


@dataclass(frozen=True)
class ObjectRow:
    id: int
    video_id: int
    label: str
    colour: str
    visible: bool
    locked: bool
    index: int
    version: int

    @classmethod
    def from_orm(cls, o: Any) -> ObjectRow:
        return cls(o.id, o.video_id, o.label, o.colour, o.visible, o.locked, o.index, o.version)


@dataclass(frozen=True)
class RevisionRow:
    seq: int
    annotation_id: int
    action: str  # create | update | status | delete
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    author: str | None
    created_at: datetime
    state: str  # done | undone | discarded
    group_id: int | None = None  # revisions of one grouped action share it (Store.group)

    @classmethod
    def from_orm(cls, r: Any) -> RevisionRow:
        return cls(
            r.seq,
            r.annotation_id,
            r.action,
            r.before,
            r.after,
            r.author,
            _aware(r.created_at),
            r.state,
            r.group_id,
        )


@dataclass(frozen=True)
class PipelineRunRow:
    id: int
    engine: str
    config: dict[str, Any]
    models: dict[str, Any]
    status: str
    started_at: datetime
    finished_at: datetime | None
    timings: dict[str, Any]

    @classmethod
    def from_orm(cls, p: Any) -> PipelineRunRow:
        return cls(
            p.id,
            p.engine,
            dict(p.config or {}),
            dict(p.models or {}),
            p.status,
            _aware(p.started_at),
            _aware(p.finished_at),
            dict(p.timings or {}),
        )


@dataclass(frozen=True)
class ClipResultRow:
    id: int
    run_id: int
    video_id: int
    frames: list[int]
    result: dict[str, Any]
    created_at: datetime

    @classmethod
    def from_orm(cls, c: Any) -> ClipResultRow:
        return cls(c.id, c.run_id, c.video_id, list(c.frames), dict(c.result), _aware(c.created_at))


@dataclass(frozen=True)
class TrainingRunRow:
    id: int
    name: str
    config: dict[str, Any]
    status: str
    checkpoint: str | None
    metrics: dict[str, Any]
    started_at: datetime | None
    finished_at: datetime | None
    created_at: datetime

    @classmethod
    def from_orm(cls, t: Any) -> TrainingRunRow:
        return cls(
            t.id,
            t.name,
            dict(t.config or {}),
            t.status,
            t.checkpoint,
            dict(t.metrics or {}),
            _aware(t.started_at),
            _aware(t.finished_at),
            _aware(t.created_at),
        )
