"""Import a folder of per-frame mask PNGs (DAVIS style, see ``io.mask_files``) into one video.

A binary PNG gives one object named ``label``; an indexed PNG one object per palette index, named
``"{label} {index}"`` (label default "object"). Objects are reused by name (case-insensitive) or created.
Annotations get source "imported" and the chosen status; an all-background PNG is an explicit "nothing
sounds here" for a frame that has no annotation yet. Nothing already in the project is overwritten: a
(frame, object) that has a mask, or a frame marked "nothing sounds here", is left as it is and counted.
Bad files are reported by name and skipped; the rest is imported.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from avs_studio import names
from avs_studio.io.avsbench import Problem
from avs_studio.io.mask_files import BINARY, scan_mask_dir
from avs_studio.jobs.project import Project
from avs_studio.masks import encode

SOURCE = "imported"
STATUSES = ("accepted", "proposed")
DEFAULT_LABEL = "object"
BATCH = 200  # annotations per transaction


@dataclass
class MaskImportReport:
    video_id: int
    files: int = 0  # mask files read
    annotations_added: int = 0
    empty_frames: int = 0  # explicit "nothing sounds here" annotations added
    existing: int = 0  # masks (or empty frames) left alone: the project already had them
    objects_created: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    cancelled: bool = False

    def summary(self) -> str:
        text = (
            f"video {self.video_id}: {self.files} mask files read, {self.annotations_added} masks and "
            f"{self.empty_frames} empty frames added, {self.existing} already there"
        )
        if self.objects_created:
            text += f"; new objects: {', '.join(self.objects_created)}"
        text += f"; {len(self.problems)} file(s) skipped"
        return text + (" (cancelled)" if self.cancelled else "")


def object_name(kind: str, index: int, label: str | None) -> str:
    base = (label or DEFAULT_LABEL).strip() or DEFAULT_LABEL
    return base if kind == BINARY else f"{base} {index}"


def import_masks(
    project: Project,
    video_id: int,
    folder: str | os.PathLike[str],
    *,
    status: str = "accepted",
    label: str | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    cancel: Any = None,
) -> MaskImportReport:
    """Import ``folder``'s mask PNGs into video ``video_id``; see the module docstring."""
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
    store = project.store
    if label is not None:
        label = names.check_label(label, "--label")  # a named error before any file is read
    video = store.video(video_id)
    report = MaskImportReport(video_id)
    objects = {o.label.strip().lower(): o.id for o in reversed(store.objects(video_id))}  # first wins
    have: dict[int, set[int | None]] = {}
    for a in store.iter_annotations(video_id=video_id):
        have.setdefault(a.frame, set()).add(a.object_id)
    pending: list[dict[str, Any]] = []

    def flush() -> None:
        if pending:
            store.add_annotations(pending, source=SOURCE, status=status, skip_existing=True)
            pending.clear()

    def object_id(name: str) -> int:
        key = name.lower()
        if key not in objects:  # race-safe: another import creating it at the same time gets the same one
            objects[key] = store.ensure_object(video_id, name)
            report.objects_created.append(name)
        return objects[key]

    size = (video.height, video.width)
    for mf in scan_mask_dir(folder, size, video.frame_count, report.problems):
        if cancel is not None and cancel.is_set():
            report.cancelled = True
            break
        report.files += 1
        frame_has = have.setdefault(mf.frame, set())
        if None in frame_has:  # the frame says nothing sounds here: a mask would contradict it
            report.existing += 1
            continue
        if not mf.objects:
            if frame_has:
                report.existing += 1
            else:
                pending.append(_item(video_id, mf.frame, None, np.zeros(size, bool)))
                frame_has.add(None)
                report.empty_frames += 1
        for index, mask in sorted(mf.objects.items()):
            oid = object_id(object_name(mf.kind, index, label))
            if oid in frame_has:
                report.existing += 1
                continue
            pending.append(_item(video_id, mf.frame, oid, mask))
            frame_has.add(oid)
            report.annotations_added += 1
        if len(pending) >= BATCH:  # (skip_existing: what another writer added since is left as it is)
            flush()
        if progress:
            progress(report.files, video.frame_count, f"frame {mf.frame}")
    flush()
    return report


def _item(video_id: int, frame: int, object_id: int | None, mask: np.ndarray) -> dict[str, Any]:
    return {"video_id": video_id, "frame": frame, "object_id": object_id, "rle": encode(mask)}
