"""Videos, their categories and their sounding objects.

Functions take the open session of the Store's transaction; ``store.Store`` is the facade over them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from avs_studio import names
from avs_studio.masks import colour_for_index
from avs_studio.store import _rle, history
from avs_studio.store.annotations import rle_of
from avs_studio.store.db import get
from avs_studio.store.errors import StoreError
from avs_studio.store.models import Annotation, Category, SoundObject, Video, utcnow
from avs_studio.store.rows import ObjectRow, VideoRow

VIDEO_FIELDS = ("path", "fps", "frame_count", "width", "height", "duration", "has_audio", "sha256")
VIDEO_UPDATABLE = set(VIDEO_FIELDS) | {"name", "split", "category", "keyframe_rate", "meta"}
REQUIRED = ("path", "fps", "frame_count", "width", "height", "duration")


def stored_path(path: str | os.PathLike[str], base: str | None) -> str:
    """How a video path is kept: relative ('/'-separated) to the project folder ``base`` when the file
    is inside it (so the project can move), else absolute; one spelling per file ('a/../b', '~')."""
    p = Path(os.path.abspath(os.path.expanduser(os.fspath(path))))
    if base is not None:
        b = Path(os.path.abspath(base))
        for inner, outer in ((p, b), (p.resolve(), b.resolve())):
            if inner.is_relative_to(outer):
                return inner.relative_to(outer).as_posix()
    return str(p)


def relativise(s: Session, base: str) -> int:
    """Store paths of videos inside ``base`` relative to it (projects made before paths moved along);
    returns how many changed. A path whose relative form another row already has is left as it is."""
    changed = 0
    taken = set(s.scalars(select(Video.path)))
    for v in s.scalars(select(Video)).all():
        new = stored_path(v.path, base) if os.path.isabs(v.path) else v.path
        if new != v.path and new not in taken:
            v.path = new
            taken.add(new)
            changed += 1
    return changed


def ensure_category(s: Session, category: str | None) -> None:
    if category and s.scalar(select(Category.id).where(Category.name == category)) is None:
        s.add(Category(name=category))


def add_video(
    s: Session,
    data: dict[str, Any],
    *,
    name: str | None,
    split: str | None,
    category: str | None,
    keyframe_rate: float,
    meta: dict[str, Any] | None,
    base: str | None = None,
) -> int:
    missing = [k for k in REQUIRED if k not in data]
    if missing:
        raise ValueError(f"video info lacks {', '.join(missing)}")
    path = stored_path(data["path"], base)
    name = names.check_name(name, "video name") if name is not None else names.clean_name(Path(path).stem)
    split = names.check_optional(split, "split")
    category = names.check_optional(category, "category")
    extra = {k: v for k, v in data.items() if k not in VIDEO_FIELDS}
    existing = s.scalar(select(Video.id).where(Video.path == path))
    if existing is not None:
        return existing
    video = Video(
        path=path,
        name=name,
        fps=float(data["fps"]),
        frame_count=int(data["frame_count"]),
        width=int(data["width"]),
        height=int(data["height"]),
        duration=float(data["duration"]),
        has_audio=bool(data.get("has_audio", False)),
        sha256=data.get("sha256"),
        split=split,
        category=category,
        keyframe_rate=float(keyframe_rate),
        meta={**extra, **(meta or {})},
    )
    s.add(video)
    ensure_category(s, category)
    s.flush()
    return video.id


def update_video(
    s: Session, video_id: int, fields: dict[str, Any], where: str, base: str | None = None
) -> VideoRow:
    unknown = set(fields) - VIDEO_UPDATABLE
    if unknown:
        raise TypeError(
            f"update_video got unknown fields {sorted(unknown)}; allowed: {sorted(VIDEO_UPDATABLE)}"
        )
    for key, what in (("name", "video name"), ("split", "split"), ("category", "category")):
        if key in fields:
            fields[key] = (names.check_name if key == "name" else names.check_optional)(fields[key], what)
    if "path" in fields:
        fields["path"] = stored_path(fields["path"], base)
        other = s.scalar(select(Video.id).where(Video.path == fields["path"], Video.id != video_id))
        if other is not None:
            raise StoreError(f"{fields['path']} is already video {other} of this project")
    v = get(s, Video, video_id, "video", where)
    for k, val in fields.items():
        setattr(v, k, val)
    ensure_category(s, fields.get("category"))
    s.flush()
    return VideoRow.from_orm(v, base)


def add_object(s: Session, video_id: int, label: str, colour: str | None, where: str) -> int:
    """A new object; StoreError if the video has one with that label already."""
    label = names.check_label(label)
    get(s, Video, video_id, "video", where)
    same = find_object(s, video_id, label)
    if same is not None:
        raise StoreError(
            f"video {video_id} already has an object labelled {label!r} (object {same}); choose another label"
        )
    return new_object(s, video_id, label, colour)


def new_object(s: Session, video_id: int, label: str, colour: str | None = None) -> int:
    """Insert an object (IntegrityError when a concurrent writer took its label or index first)."""
    last = s.scalar(select(func.max(SoundObject.index)).where(SoundObject.video_id == video_id))
    index = 0 if last is None else last + 1
    obj = SoundObject(video_id=video_id, label=label, colour=colour or colour_for_index(index), index=index)
    s.add(obj)
    s.flush()
    return obj.id


def find_object(s: Session, video_id: int, label: str) -> int | None:
    q = select(SoundObject.id).where(
        SoundObject.video_id == video_id, SoundObject.label == names.check_label(label)
    )
    return s.scalar(q)


def update_object(s: Session, object_id: int, fields: dict[str, Any], where: str) -> ObjectRow:
    obj = get(s, SoundObject, object_id, "object", where)
    if fields.get("label") is not None:
        fields["label"] = label = names.check_label(fields["label"])
        other = find_object(s, obj.video_id, label)
        if other not in (None, object_id):
            raise StoreError(
                f"video {obj.video_id} already has an object labelled {label!r} (object {other}); "
                f"merge the two objects instead of renaming"
            )
    for k, val in fields.items():
        if val is not None:
            setattr(obj, k, val)
    s.flush()
    return ObjectRow.from_orm(obj)


def merge_objects(s: Session, keep_id: int, drop_id: int, where: str) -> None:
    if keep_id == drop_id:
        raise ValueError("cannot merge an object with itself")
    keep = get(s, SoundObject, keep_id, "object", where)
    drop = get(s, SoundObject, drop_id, "object", where)
    if keep.video_id != drop.video_id:
        raise StoreError(f"objects {keep_id} and {drop_id} belong to different videos; cannot merge")
    kept = {a.frame: a for a in s.scalars(select(Annotation).where(Annotation.object_id == keep_id))}
    touched: list[int] = []
    for a in s.scalars(select(Annotation).where(Annotation.object_id == drop_id)).all():
        touched.append(a.id)
        k = kept.get(a.frame)
        if k is None:
            a.object_id = keep_id
            a.version += 1
            a.updated_at = utcnow()
            continue
        rle, area = _rle.to_rle(_rle.to_mask(rle_of(k)) | _rle.to_mask(rle_of(a)))
        k.counts, k.area, k.version, k.updated_at = rle["counts"], area, k.version + 1, utcnow()
        touched.append(k.id)
        s.delete(a)
    s.flush()
    history.discard(s, touched)
    s.delete(drop)


def delete_object(s: Session, object_id: int, where: str) -> None:
    obj = get(s, SoundObject, object_id, "object", where)
    ids = list(s.scalars(select(Annotation.id).where(Annotation.object_id == object_id)))
    s.execute(delete(Annotation).where(Annotation.object_id == object_id))
    history.discard(s, ids)
    s.delete(obj)
