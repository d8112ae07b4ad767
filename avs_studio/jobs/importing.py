"""Import an AVSBench folder (S4, MS3 or AVSS) into a project: clips become videos, GT masks annotations.

Each clip's frames and wav are assembled into one lossless video in the project's media store
(``media/avsbench/{subset}/{name}.mkv``) with a copy of the original wav beside it (and, for AVSS, of the
original JPEG frames) so an export gives back the exact files. Ground-truth masks become annotations with
source "imported" and status "accepted": binary layouts one object per video (S4: the category,
MS3: "sounding object"), AVSS one object per class present; an all-black mask is an explicit empty
annotation (object None). Bad rows and files are reported with their paths and skipped; running the
import again adds only what is missing.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from avs_studio.atomic import atomic_path
from avs_studio.io import avsbench as layout
from avs_studio.io.assemble import CONTAINER_SUFFIX, assemble_clip
from avs_studio.io.avsbench import Problem
from avs_studio.io.errors import DatasetError
from avs_studio.io.images import read_binary_mask, read_labels, read_rgb
from avs_studio.masks import avss_palette
from avs_studio.media import MediaError, probe
from avs_studio.names import UnsafeNameError, UnsafePathError, safe_join

LABEL2IDX_SETTING = "avss.label2idx"
SOURCE, STATUS = "imported", "accepted"


@dataclass
class ImportReport:
    subset: str
    videos_added: list[str] = field(default_factory=list)
    videos_existing: list[str] = field(default_factory=list)
    annotations_added: int = 0
    annotations_existing: int = 0
    problems: list[Problem] = field(default_factory=list)
    cancelled: bool = False

    def summary(self) -> str:
        text = (
            f"{self.subset}: {len(self.videos_added)} videos added, {len(self.videos_existing)} already there; "
            f"{self.annotations_added} annotations added, {self.annotations_existing} already there; "
            f"{len(self.problems)} problem(s)"
        )
        return text + (" (cancelled)" if self.cancelled else "")


def media_path(project: Any, subset: str, name: str) -> Path:
    """Where a clip's assembled video lives; UnsafePathError if ``name`` would lead out of media/."""
    return safe_join(project.media_dir, "avsbench", subset, f"{name}{CONTAINER_SUFFIX}")


def _copy_atomic(src: Path, dst: Path) -> None:
    with atomic_path(dst) as tmp:
        shutil.copyfile(src, tmp)


def _reason(exc: Exception, path: Path) -> str:
    return str(exc).removeprefix(f"{path}: ")


def _count_rows(root: Path, subset: str, splits: Sequence[str] | None) -> int:
    try:
        rows = layout.read_csv_rows(root, subset)
    except DatasetError:  # scan_layout says what is wrong
        return 0
    return sum(1 for r in rows if not splits or (r.get("split") or "").strip() in splits)


def import_avsbench(
    project: Any,
    root: str | os.PathLike[str],
    subset: str,
    splits: Sequence[str] | None = None,
    *,
    progress: Callable[[int, int, str], None] | None = None,
    cancel: Any = None,
) -> ImportReport:
    """Import ``root`` (an AVSBench ``subset`` folder) into ``project``; see the module docstring."""
    layout.check_subset(subset)
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DatasetError(f"{root} is not a folder: give the AVSBench {subset.upper()} root")
    store = project.store
    report = ImportReport(subset)
    total = _count_rows(root, subset, splits)
    by_path = {v.path: v for v in store.videos()}
    label2idx = None
    if subset == "avss":
        label2idx = layout.read_label2idx(root) or store.get_setting(LABEL2IDX_SETTING) or {}
        if label2idx:
            merged = {**(store.get_setting(LABEL2IDX_SETTING) or {}), **label2idx}
            store.set_setting(LABEL2IDX_SETTING, merged)
    idx2label = {int(i): name for name, i in (label2idx or {}).items()}
    done = 0
    for clip in layout.scan_layout(root, subset, splits, report.problems):
        if cancel is not None and cancel.is_set():
            report.cancelled = True
            break
        try:
            _import_clip(project, clip, by_path, idx2label, report)
        except (DatasetError, UnsafeNameError, UnsafePathError) as exc:
            report.problems.append(Problem(str(clip.frames[0].parent), f"{exc}; clip skipped"))
        done += 1
        if progress:
            progress(done, max(total, done), clip.name)
    return report


def _import_clip(
    project: Any, clip: layout.ClipEntry, by_path: dict[str, Any], idx2label: dict[int, str], report: ImportReport
) -> None:
    store = project.store
    subset, name = clip.subset, clip.name
    target = media_path(project, subset, name)
    frames: list[np.ndarray] = []
    for p in clip.frames:
        try:
            frames.append(read_rgb(p))
        except DatasetError as exc:
            report.problems.append(Problem(str(p), f"unreadable frame; clip skipped ({_reason(exc, p)})"))
            return
    h, w = frames[0].shape[:2]
    for p, f in zip(clip.frames, frames):
        if f.shape[:2] != (h, w):
            report.problems.append(
                Problem(str(p), f"frame is {f.shape[1]}x{f.shape[0]}, not {w}x{h}; clip skipped")
            )
            return

    video = by_path.get(str(target))
    if video is None:
        if not target.is_file():
            assemble_clip(frames, clip.audio, target, fps=1.0)
        if clip.audio is not None:
            _copy_atomic(clip.audio, target.with_suffix(".wav"))
        if subset == "avss":  # JPEG frames cannot be re-encoded exactly: keep the originals
            for i, p in enumerate(clip.frames):
                _copy_atomic(p, target.with_suffix(".frames") / f"{i}{p.suffix.lower()}")
        try:
            info = probe(target)
        except MediaError as exc:
            report.problems.append(Problem(str(target), f"assembled video unreadable; clip skipped ({exc})"))
            return
        meta = {
            "avsbench": {"subset": subset, "row": dict(clip.row), "name": name},
            "original_name": name,
        }
        for key in ("uid", "vid", "start_time", "label", "a_obj", "s_min", "s_sec"):
            if key in clip.row:
                meta[key] = clip.row[key]
        video_id = store.add_video(info, name=name, split=clip.split, category=clip.category, meta=meta)
        video = store.video(video_id)
        by_path[video.path] = video
        report.videos_added.append(name)
    elif subset == "s4" and video.category != clip.category:  # another clip of the same name
        report.problems.append(
            Problem(
                str(clip.frames[0].parent),
                f"clip {name!r} is already in the project with category {video.category!r} (video {video.id}); "
                f"this one (category {clip.category!r}) was skipped, not merged into it",
            )
        )
        return
    else:
        report.videos_existing.append(name)
    _import_masks(store, video, clip, (h, w), idx2label, report)


def _object_id(store: Any, video_id: int, label: str, objects: dict[str, int]) -> int:
    if label not in objects:
        objects[label] = store.ensure_object(video_id, label)
    return objects[label]


def _import_masks(store: Any, video: Any, clip: layout.ClipEntry, size: tuple[int, int], idx2label: dict[int, str], report: ImportReport) -> None:
    existing = {(a.frame, a.object_id) for a in store.annotations(video_id=video.id)}
    objects = {o.label: o.id for o in store.objects(video.id)}
    items: list[dict[str, Any]] = []
    palette = avss_palette()

    def add(frame: int, object_id: int | None, mask: np.ndarray) -> None:
        if (frame, object_id) in existing:
            report.annotations_existing += 1
            return
        items.append({"video_id": video.id, "frame": frame, "object_id": object_id, "mask": mask})

    for i, path in sorted(clip.masks.items()):
        try:
            if clip.subset == "avss":
                labels = read_labels(path, palette)
            else:
                labels = read_binary_mask(path).astype(np.int32)
        except DatasetError as exc:
            report.problems.append(Problem(str(path), f"unreadable mask; skipped ({_reason(exc, path)})"))
            continue
        if labels.shape != tuple(size):
            report.problems.append(
                Problem(
                    str(path),
                    f"mask is {labels.shape[1]}x{labels.shape[0]}, frame {size[1]}x{size[0]}; skipped",
                )
            )
            continue
        present = [int(c) for c in np.unique(labels) if c != 0]
        if not present:
            add(i, None, np.zeros(size, bool))
            continue
        for c in present:
            if clip.subset == "avss":
                label = idx2label.get(c, f"class_{c}")
            else:
                label = (clip.category if clip.subset == "s4" else layout.MS3_LABEL) or layout.MS3_LABEL
            add(i, _object_id(store, video.id, label, objects), labels == c)
    if items:  # another import running at once may have stored some of them since: left as they are
        added = store.add_annotations(items, source=SOURCE, status=STATUS, skip_existing=True)
        report.annotations_added += added
        report.annotations_existing += len(items) - added
