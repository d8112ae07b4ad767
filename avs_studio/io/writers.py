"""Dataset writers: AVSBench layouts, COCO instance JSON (RLE), per-frame indexed PNGs; plus the atomic
output folder, the manifest and the deterministic re-split used by exports.

Writers take plain data (a clip dict, frames as arrays, masks as arrays / RLEs) and stream to disk: memory
stays at one clip whatever the size of the dataset.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import shutil
import wave
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from avs_studio.atomic import atomic_dir, atomic_open
from avs_studio.io import avsbench as layout
from avs_studio.io.errors import DatasetError, OutputExistsError
from avs_studio.io.images import write_indexed_png, write_mask_png, write_rgb
from avs_studio.masks import avss_palette, davis_palette, rle_bbox
from avs_studio.names import UnsafePathError, name_problem, safe_join

FORMATS = ("avsbench-s4", "avsbench-ms3", "avss", "coco", "png")


# ---- atomic output folder ---------------------------------------------------------------------------


LITTER = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})  # written by file browsers, not by people


@contextlib.contextmanager
def export_folder(
    out: str | os.PathLike[str],
    force: bool = False,
    *,
    projects: Sequence[str | os.PathLike[str]] = (),
    media: Sequence[str | os.PathLike[str]] = (),
    marker: str | None = None,
) -> Iterator[Path]:
    """Yield a fresh temp folder beside ``out``; on success it becomes ``out``, on any error it is removed.

    What may be replaced (OutputExistsError, naming why, otherwise; nothing is touched then):
    - an absent or empty folder, except inside ``media``;
    - with ``force``, a folder holding an earlier export of ours and nothing else: its manifest.json
      written by AVS Studio lists every file in it.
    Never (followed through symlinks): one of ``projects`` (folders; also any folder holding a
    ``marker`` file), a folder holding one, a non-empty folder inside one; one of ``media`` (the files and
    folders a project reads: media folder, videos, database) or a folder holding or inside one.
    """
    out = Path(out).expanduser().absolute()
    real = out.resolve()
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"{out} exists and is not a folder; choose another output path")
    filled = out.is_dir() and any(out.iterdir())
    _refuse_protected(
        out, real, filled, [Path(p).resolve() for p in projects], [Path(m).resolve() for m in media], marker
    )
    if filled:
        if not force:
            raise OutputExistsError(
                f"{out} is not empty; choose an empty folder or pass --force to replace it"
            )
        _refuse_unless_ours(out, real, marker)
    with atomic_dir(out, replace=True) as tmp:
        yield tmp


def _refused(out: Path, why: str) -> OutputExistsError:
    return OutputExistsError(f"refused to export to {out}: it {why}; --force only replaces an earlier export")


def _refuse_protected(
    out: Path, real: Path, filled: bool, projects: list[Path], media: list[Path], marker: str | None
) -> None:
    for p in projects:
        if real == p:
            raise _refused(out, f"is the project {p}")
        if p.is_relative_to(real):
            raise _refused(out, f"holds the project {p}")
        if filled and real.is_relative_to(p):
            raise _refused(out, f"lies inside the project {p}")
    for m in media:
        if real == m or m.is_relative_to(real):
            raise _refused(
                out, f"is or holds {m}, media (a video, the media folder or the database) of the project"
            )
        if real.is_relative_to(m):
            raise _refused(out, f"lies inside the project's media {m}")
    if marker:
        for folder in (real, *real.parents):
            if (folder / marker).is_file() and (folder == real or filled):
                where = "is" if folder == real else "lies inside"
                raise _refused(out, f"{where} the project {folder}")


def _find_marker(root: Path, marker: str, limit: int = 10000) -> Path | None:
    """The first folder under ``root`` holding ``marker`` (looks at ``limit`` entries at most)."""
    seen = 0
    for dirpath, dirnames, filenames in os.walk(root):
        if marker in filenames:
            return Path(dirpath)
        seen += len(dirnames) + len(filenames)
        if seen > limit:
            return None
    return None


def _refuse_unless_ours(out: Path, real: Path, marker: str | None) -> None:
    """``real`` must hold an export of ours and nothing else (apart from file-browser litter)."""
    try:
        manifest = json.loads((real / "manifest.json").read_text(encoding="utf-8"))
        listed = manifest["files"] if manifest.get("app") == "avs-studio" else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        listed = None
    if not isinstance(listed, dict):
        project = _find_marker(real, marker) if marker else None
        raise _refused(
            out,
            f"holds a project ({project})"
            if project
            else "is not an earlier export of AVS Studio (no manifest.json of ours)",
        )
    strangers: list[str] = []
    for dirpath, dirnames, filenames in os.walk(real):
        here = Path(dirpath)
        for name in dirnames:
            if (here / name).is_symlink():
                strangers.append((here / name).relative_to(real).as_posix())
        for name in filenames:
            rel = (here / name).relative_to(real).as_posix()
            if name == marker:
                raise _refused(out, f"holds a project ({here})")
            if rel != "manifest.json" and rel not in listed and name not in LITTER:
                strangers.append(rel)
    if strangers:
        more = f" and {len(strangers) - 3} more" if len(strangers) > 3 else ""
        raise _refused(
            out, f"holds files that are not part of the earlier export ({', '.join(strangers[:3])}{more})"
        )


def file_sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def write_manifest(root: Path, data: dict[str, Any]) -> dict[str, Any]:
    """Write ``manifest.json``: ``data`` plus {"files": {relative path: sha256}} of every other file.

    The file list is streamed (memory does not grow with the number of files); the returned dict holds
    ``data`` and "file_count", not the list.
    """
    count = 0
    with atomic_open(root / "manifest.json", "w") as out:
        head = json.dumps({**data, "files": {}}, indent=1, sort_keys=True)
        start, end = head.rsplit('"files": {}', 1)
        out.write(start + '"files": {')
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(filenames):
                path = Path(dirpath) / name
                rel = path.relative_to(root).as_posix()
                if rel == "manifest.json" or name.startswith(".manifest.json."):
                    continue
                out.write(
                    ("\n  " if count == 0 else ",\n  ")
                    + json.dumps(rel)
                    + ": "
                    + json.dumps(file_sha256(path))
                )
                count += 1
        out.write("\n }" + end)
    return {**data, "file_count": count}


def resplit(name: str, ratios: Sequence[float], seed: int, names: Sequence[str] = layout.SPLITS) -> str:
    """Deterministic split of a video by a seeded hash of its name (independent of the other videos)."""
    if len(ratios) != len(names) or any(r < 0 for r in ratios) or sum(ratios) <= 0:
        raise ValueError(f"resplit needs {len(names)} non-negative ratios, got {list(ratios)}")
    total = float(sum(ratios))
    digest = hashlib.sha256(f"{seed}:{name}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2.0**64
    acc = 0.0
    for split, r in zip(names, ratios):
        acc += r / total
        if u < acc:
            return split
    return names[-1]


def parse_ratios(text: str) -> tuple[float, float, float]:
    try:
        parts = tuple(float(x) for x in text.split(","))
    except ValueError:
        parts = ()
    if len(parts) != 3 or not all(math.isfinite(p) and p >= 0 for p in parts) or sum(parts) <= 0:
        raise ValueError(f"--resplit wants three non-negative ratios like 0.8,0.1,0.1, got {text!r}")
    return parts


def write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    """float32 (C, N) samples in [-1, 1] -> 16-bit PCM wav."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (np.clip(samples, -1, 1) * 32767).round().astype("<i2").T
    with wave.open(str(path), "wb") as wf:
        wf.setnchannels(data.shape[1])
        wf.setsampwidth(2)
        wf.setframerate(rate)
        wf.writeframes(np.ascontiguousarray(data).tobytes())


# ---- clips handed to writers ------------------------------------------------------------------------


@dataclass
class ExportClip:
    """One video as a writer sees it. ``masks``: frame -> list of (object index or None, label, mask)."""

    name: str
    split: str
    category: str | None
    row: dict[str, str]
    frame_indices: list[int]  # the video frames of the clip's keyframes, in order
    frame: Callable[[int], np.ndarray]  # video frame index -> RGB
    wav: Callable[[Path], None]  # writes the clip's audio to a path
    original_frame: Callable[[int, Path], bool] = lambda i, dst: False  # copies an original file if kept
    masks: Mapping[int, list[tuple[int | None, str, np.ndarray | None]]] = field(default_factory=dict)
    size: tuple[int, int] = (0, 0)
    video_id: int = 0


def checked_name(clip: ExportClip, column: str, value: str | None) -> str:
    """A name of ``clip`` that becomes part of a path, stripped; DatasetError naming the video if unsafe
    (a project written before names were checked, or edited by hand)."""
    problem = name_problem(value)
    if problem:
        raise DatasetError(
            f"video {clip.video_id} ({clip.name!r}): its {column} {value!r} {problem}, so it cannot become a "
            f"file name; rename it in the project and export again (nothing was written)"
        )
    return str(value).strip()


def out_path(root: Path, *parts: str) -> Path:
    """A path inside the export folder ``root``; DatasetError if the names would lead outside it."""
    try:
        return safe_join(root, *parts)
    except UnsafePathError as exc:
        raise DatasetError(f"refused to write outside the export folder: {exc}") from exc


class AvsbenchWriter:
    """S4 / MS3 / AVSS layouts as the official loaders read them."""

    def __init__(self, root: Path, subset: str, label2idx: dict[str, int] | None = None) -> None:
        self.root, self.subset = root, layout.check_subset(subset)
        self.csv = layout.CsvWriter(root, subset)
        self.label2idx = dict(label2idx or {"background": 0})
        self.frames_written = 0

    def _class_index(self, label: str) -> int:
        if label not in self.label2idx:
            free = sorted(set(range(1, 71)) - set(self.label2idx.values()))
            if not free:
                raise DatasetError(f"more than 70 classes: no AVSS palette index left for {label!r}")
            self.label2idx[label] = free[0]
        return self.label2idx[label]

    def add(self, clip: ExportClip) -> None:
        sub = self.subset
        row = dict(clip.row)
        row["split"] = clip.split
        if sub == "s4":
            row.setdefault("name", clip.name)
            row.setdefault("start_time", "0")
            row["category"] = clip.category or row.get("category") or "unknown"
        elif sub == "ms3":
            row.setdefault("name", clip.name)
        else:
            row.setdefault("uid", clip.name)
            row.setdefault("vid", clip.name)
            row.setdefault("s_min", "0")
            row.setdefault("s_sec", "0")
            row.setdefault("a_obj", clip.category or "")
            if row.get("label") not in layout.AVSS_LABELS:
                row["label"] = "v2" if len(clip.frame_indices) >= 10 else "v1m"
        cols = {"s4": ("name", "category", "split"), "ms3": ("name", "split"), "avss": ("uid", "label")}[sub]
        for col in cols:
            row[col] = checked_name(clip, col, row.get(col))
        n = layout.frame_count(sub, row)
        # decoding stays in this thread (sequential); PNG encoding (which releases the GIL) in two workers
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="avs-export") as pool:
            jobs = []
            for k, fi in enumerate(clip.frame_indices[:n]):
                dst = out_path(self.root, layout.frame_relpath(sub, row, k))
                if not clip.original_frame(k, dst):
                    jobs.append(pool.submit(write_rgb, dst, clip.frame(fi)))
            clip.wav(out_path(self.root, layout.audio_relpath(sub, row)))
            for k, fi in enumerate(clip.frame_indices[:n]):
                if fi not in clip.masks:
                    continue
                dst = out_path(self.root, layout.mask_relpath(sub, row, k))
                objs = clip.masks[fi]
                if sub == "avss":
                    labels = np.zeros(clip.size, np.uint8)
                    for _, label, m in objs:
                        if m is not None and label:
                            labels[m] = self._class_index(label)
                    jobs.append(pool.submit(write_rgb, dst, avss_palette()[labels]))
                else:
                    fg = np.zeros(clip.size, bool)
                    for _, _, m in objs:
                        if m is not None:
                            fg |= m
                    jobs.append(pool.submit(write_mask_png, dst, fg))
                self.frames_written += 1
        for job in jobs:  # all finished (the pool waited): re-raise the first failure
            job.result()
        self.csv.write(row)

    def close(self) -> None:
        self.csv.close()
        if self.subset == "avss":
            (self.root / layout.LABEL2IDX).write_text(json.dumps(self.label2idx, indent=1))


class CocoWriter:
    """COCO instance JSON with compressed RLE segmentations, streamed through two spool files."""

    def __init__(self, root: Path, write_frames: bool = False) -> None:
        self.root = root
        self.write_frames = write_frames
        self.categories: dict[str, int] = {}
        self.videos: list[dict[str, Any]] = []
        self._img: IO[str] = open(root / ".images.part", "w")  # noqa: SIM115
        self._ann: IO[str] = open(root / ".annotations.part", "w")  # noqa: SIM115
        self.images = 0
        self.annotations = 0
        self.frames_written = 0

    def _spool(self, fh: IO[str], item: dict[str, Any], first: bool) -> None:
        fh.write(("" if first else ",\n") + json.dumps(item, separators=(",", ":")))

    def add(
        self, clip: ExportClip, rles: dict[int, list[tuple[int | None, str, dict[str, Any], int]]]
    ) -> None:
        """``rles``: frame -> list of (object index, label, RLE, area); object index None = empty frame."""
        name = checked_name(clip, "name", clip.name)
        self.videos.append({"id": clip.video_id, "name": name, "split": clip.split})
        h, w = clip.size
        for fi in sorted(rles):
            self.images += 1
            image_id = self.images
            file_name = f"{name}/{fi:05d}.png"
            self._spool(self._img, {
                "id": image_id, "file_name": file_name, "width": w, "height": h,
                "video_id": clip.video_id, "video_name": clip.name, "frame_index": fi, "split": clip.split,
            }, image_id == 1)  # fmt: skip
            if self.write_frames:
                write_rgb(out_path(self.root, "images", file_name), clip.frame(fi))
            for obj_index, label, rle, area in rles[fi]:
                if obj_index is None:
                    continue
                cat = self.categories.setdefault(label, len(self.categories) + 1)
                box = rle_bbox(rle)
                x0, y0, x1, y1 = box if box else (0, 0, 0, 0)
                self.annotations += 1
                self._spool(self._ann, {
                    "id": self.annotations, "image_id": image_id, "category_id": cat,
                    "segmentation": {"size": list(rle["size"]), "counts": rle["counts"]},
                    "area": int(area), "bbox": [x0, y0, x1 - x0, y1 - y0], "iscrowd": 0,
                    "object_index": obj_index,
                }, self.annotations == 1)  # fmt: skip
            self.frames_written += 1

    def close(self, info: dict[str, Any]) -> None:
        self._img.close()
        self._ann.close()
        cats = [{"id": i, "name": n, "supercategory": "sounding object"} for n, i in self.categories.items()]
        with open(self.root / "annotations.json", "w") as out:
            out.write('{"info":' + json.dumps(info) + ',"licenses":[],"categories":' + json.dumps(cats))
            out.write(',"videos":' + json.dumps(self.videos) + ',"images":[\n')
            for part in (".images.part", ".annotations.part"):
                with open(self.root / part) as fh:
                    shutil.copyfileobj(fh, out)
                if part == ".images.part":
                    out.write('\n],"annotations":[\n')
            out.write("\n]}\n")
        (self.root / ".images.part").unlink()
        (self.root / ".annotations.part").unlink()


class PngWriter:
    """Per-frame indexed PNGs with the DAVIS palette: pixel value = 1 + the object's order in its video."""

    def __init__(self, root: Path, write_frames: bool = False) -> None:
        self.root = root
        self.write_frames = write_frames
        self.palette = davis_palette()
        self.objects: dict[str, dict[str, str]] = {}
        self.frames_written = 0

    def add(self, clip: ExportClip) -> None:
        name = checked_name(clip, "name", clip.name)
        names: dict[str, str] = {}
        for fi in sorted(clip.masks):
            idx = np.zeros(clip.size, np.uint8)
            for obj_index, label, m in clip.masks[fi]:
                if obj_index is None or m is None:
                    continue
                if obj_index + 1 > 255:
                    raise DatasetError(
                        f"video {clip.name} has more than 255 objects: too many for an indexed PNG"
                    )
                idx[m] = obj_index + 1
                names[str(obj_index + 1)] = label
            write_indexed_png(out_path(self.root, "Annotations", name, f"{fi:05d}.png"), idx, self.palette)
            if self.write_frames:
                write_rgb(out_path(self.root, "Frames", name, f"{fi:05d}.png"), clip.frame(fi))
            self.frames_written += 1
        self.objects[name] = names

    def close(self) -> None:
        (self.root / "objects.json").write_text(json.dumps(self.objects, indent=1, sort_keys=True))
