"""Export a project's annotations as a curated dataset release (AVSBench S4/MS3/AVSS, COCO, indexed PNG).

Only annotations in the chosen status (and source / split) are exported; a frame is written when it has
one, an explicit empty annotation as an all-black mask: COCO and PNG take every such frame (dense, e.g.
propagated, videos too: masks are decoded one frame at a time), the AVSBench layouts the first frame of
each second, as many as the layout holds. Videos can be re-split deterministically
(train/val/test by a seeded hash of the video name). The output is built in ``OUT.tmp-xxxx`` and renamed
to ``OUT`` at the end, with ``manifest.json`` (counts, sources, statuses, app version, sha256 of every
file); a failure or a cancel leaves no partial ``OUT``. Annotations are streamed one video at a time.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import av
import numpy as np

import avs_studio
from avs_studio.io import avsbench as layout
from avs_studio.io.errors import DatasetError
from avs_studio.io.writers import (
    FORMATS,
    AvsbenchWriter,
    CocoWriter,
    ExportClip,
    PngWriter,
    export_folder,
    resplit,
    write_manifest,
    write_wav,
)
from avs_studio.jobs.importing import LABEL2IDX_SETTING
from avs_studio.jobs.project import MARKER, keyframes
from avs_studio.masks import decode
from avs_studio.media import NoAudioError, load_audio

STATUS_CHOICES = ("accepted", "proposed", "edited", "rejected", "any")
ANY_STATUSES = ("proposed", "accepted", "edited")  # "any" never exports rejected masks
_SUBSET = {"avsbench-s4": "s4", "avsbench-ms3": "ms3", "avss": "avss"}
LAYOUT_RATE = 1.0  # AVSBench layouts: the first frame of each second


class _FrameMasks(Mapping[int, list[tuple[int | None, str, np.ndarray | None]]]):
    """frame -> [(object order, label, mask or None)], decoded when a writer reads that frame."""

    def __init__(self, rows: dict[int, list[Any]], order: dict[int, int], labels: dict[int, str]) -> None:
        self.rows, self.order, self.labels = rows, order, labels

    def __getitem__(self, frame: int) -> list[tuple[int | None, str, np.ndarray | None]]:
        return [
            (self.order.get(a.object_id), self.labels.get(a.object_id, ""), decode(a.rle) if a.area else None)
            for a in self.rows[frame]
        ]

    def __contains__(self, frame: object) -> bool:
        return frame in self.rows

    def __iter__(self) -> Iterator[int]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


class ExportCancelled(Exception):
    """The export was cancelled; nothing was written to the output folder."""


@dataclass
class ExportReport:
    out: Path
    format: str
    videos: int = 0
    frames: int = 0
    annotations: int = 0
    skipped_frames: int = 0  # annotated frames an AVSBench layout has no place for (not one per second)
    by_split: dict[str, int] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        return (
            f"exported {self.videos} videos, {self.frames} frames, {self.annotations} annotations as "
            f"{self.format} to {self.out}"
            + (f" ({self.skipped_frames} frames not in the layout left out)" if self.skipped_frames else "")
        )


def _statuses(status: str) -> list[str]:
    if status not in STATUS_CHOICES:
        raise ValueError(f"unknown status {status!r}: use one of {', '.join(STATUS_CHOICES)}")
    return list(ANY_STATUSES) if status == "any" else [status]


_FAST_OPEN = {"analyzeduration": "0", "probesize": "32"}


class _Frames:
    """Frames of one video by index (index = position in presentation order), decoded forward in one pass.

    Exports ask for increasing indices, so each clip is opened and decoded once; asking for an earlier
    frame reopens the file. Opened on first use, closed by the caller.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._container: Any = None
        self._frames: Any = None
        self._next = 0

    def _open(self) -> None:
        self.close()
        try:
            # Little probing (half the cost of opening a 1 fps clip); fall back to a full probe when the
            # stream parameters are not known from the headers alone.
            self._container = av.open(self.path, options=_FAST_OPEN)
            stream = self._container.streams.video[0]
            if not stream.codec_context.width or stream.codec_context.format is None:
                self._container.close()
                self._container = av.open(self.path)
                stream = self._container.streams.video[0]
            stream.thread_type = "AUTO"
            self._frames = self._container.decode(stream)
        except (av.error.FFmpegError, OSError, IndexError) as exc:
            self.close()
            raise DatasetError(f"{self.path}: cannot decode the video for export ({exc})") from exc
        self._next = 0

    def __call__(self, index: int) -> np.ndarray:
        if self._frames is None or index < self._next:
            self._open()
        try:
            while True:
                frame = next(self._frames)
                self._next += 1
                if self._next - 1 == index:
                    return np.asarray(frame.to_ndarray(format="rgb24"))
        except StopIteration:
            raise DatasetError(f"{self.path}: has no frame {index}") from None
        except av.error.FFmpegError as exc:
            raise DatasetError(f"{self.path}: frame {index} cannot be decoded ({exc})") from exc

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
        self._container = self._frames = None


def _wav_writer(video: Any, seconds: float | None) -> Callable[[Path], None]:
    sidecar = Path(video.path).with_suffix(".wav")

    def write(dst: Path) -> None:
        dst.parent.mkdir(parents=True, exist_ok=True)
        if sidecar.is_file():  # the original wav kept at import: exact
            shutil.copyfile(sidecar, dst)
            return
        try:
            track = load_audio(video.path, rate=None, mono=False)
        except NoAudioError:
            track = None
        if track is None:
            write_wav(dst, np.zeros((1, int(16000 * (seconds or video.duration))), np.float32), 16000)
            return
        samples = track.samples if seconds is None else track.span(0.0, seconds)
        write_wav(dst, samples, track.rate)

    return write


def _original_frames(video: Any) -> Callable[[int, Path], bool]:
    folder = Path(video.path).with_suffix(".frames")

    def copy(k: int, dst: Path) -> bool:
        src = folder / f"{k}{dst.suffix}"
        if not src.is_file():
            return False
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
        return True

    return copy


def _media(project: Any) -> list[Path]:
    """What the project reads besides its folder: media folder, database file, videos and their sidecars."""
    paths = [Path(project.media_dir)]
    url = project.store.url
    if url.startswith("sqlite:///"):
        paths.append(Path(url.removeprefix("sqlite:///")))
    for v in project.store.videos():
        p = Path(v.path)
        paths += [p, p.with_suffix(".wav"), p.with_suffix(".frames")]
    return paths


def export_dataset(
    project: Any,
    out: str | os.PathLike[str],
    fmt: str,
    *,
    status: str = "accepted",
    split: str | None = None,
    source: str | Sequence[str] | None = None,
    resplit_ratios: Sequence[float] | None = None,
    seed: int = 0,
    force: bool = False,
    write_frames: bool = False,
    progress: Callable[[int, int, str], None] | None = None,
    cancel: Any = None,
) -> ExportReport:
    """Export annotations of ``project`` to ``out`` in ``fmt`` (one of FORMATS); see the module docstring.

    ``write_frames``: also write the frame images for the coco / png formats (AVSBench layouts always do).
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}: use one of {', '.join(FORMATS)}")
    statuses = _statuses(status)
    store = project.store
    videos = store.videos(split=split)
    report = ExportReport(Path(out).expanduser().absolute(), fmt)
    sources: Counter[str] = Counter()
    status_counts: Counter[str] = Counter()
    by_split: Counter[str] = Counter()
    subset = _SUBSET.get(fmt)
    with export_folder(out, force=force, projects=[project.dir], media=_media(project), marker=MARKER) as tmp:
        if subset:
            writer: Any = AvsbenchWriter(
                tmp, subset, store.get_setting(LABEL2IDX_SETTING) if subset == "avss" else None
            )
        elif fmt == "coco":
            writer = CocoWriter(tmp, write_frames)
        else:
            writer = PngWriter(tmp, write_frames)
        for n, video in enumerate(videos):
            if cancel is not None and cancel.is_set():
                raise ExportCancelled(f"export to {report.out} cancelled; nothing was written")
            rows = list(store.iter_annotations(video_id=video.id, status=statuses, source=source))
            if progress:
                progress(n + 1, len(videos), video.name)
            if not rows:
                continue
            objects = store.objects(video.id)
            order = {o.id: i for i, o in enumerate(sorted(objects, key=lambda o: o.index))}
            labels = {o.id: o.label for o in objects}
            meta_row = (video.meta or {}).get("avsbench") or {}
            row = dict(meta_row.get("row") or {}) if meta_row.get("subset") == subset else {}
            new_split = (
                resplit(video.name, resplit_ratios, seed) if resplit_ratios else (video.split or "train")
            )
            by_frame: dict[int, list[Any]] = defaultdict(list)
            for a in rows:
                by_frame[a.frame].append(a)
            frames = _Frames(video.path)
            try:
                if subset:  # AVSBench layouts hold one frame per second, whatever else is annotated
                    count = layout.frame_count(subset, row) if row else (10 if subset == "avss" else 5)
                    kf = keyframes(video, LAYOUT_RATE)[:count]
                    kept = {fi: by_frame[fi] for fi in kf if fi in by_frame}
                    report.skipped_frames += len(set(by_frame) - set(kept))
                else:
                    kf = sorted(by_frame)
                    kept = dict(by_frame)
                if not kept:
                    continue
                clip = ExportClip(
                    name=video.name, split=new_split, category=video.category, row=row, frame_indices=kf,
                    frame=frames, wav=_wav_writer(video, len(kf) / LAYOUT_RATE if subset else None),
                    original_frame=_original_frames(video), size=(video.height, video.width), video_id=video.id,
                )  # fmt: skip
                if fmt == "coco":
                    rles = {
                        fi: [
                            (order.get(a.object_id), labels.get(a.object_id, ""), a.rle, a.area) for a in anns
                        ]
                        for fi, anns in kept.items()
                    }
                    writer.add(clip, rles)
                else:  # decoded one frame at a time as the writer asks: dense videos fit in memory
                    clip.masks = _FrameMasks(kept, order, labels)
                    writer.add(clip)
            finally:
                frames.close()
            report.videos += 1
            report.frames += len(kept)
            for anns in kept.values():
                for a in anns:
                    report.annotations += 1
                    sources[a.source] += 1
                    status_counts[a.status] += 1
            by_split[new_split] += len(kept)
        if fmt == "coco":
            writer.close({"description": "AVS Studio export", "version": avs_studio.__version__})
        else:
            writer.close()
        if report.videos == 0:
            raise DatasetError(
                f"nothing to export: no annotation with status {status!r}"
                + (f", source {source!r}" if source else "")
                + (f" in split {split!r}" if split else "")
                + "; nothing was written"
            )
        report.by_split = dict(by_split)
        report.manifest = write_manifest(
            tmp,
            {
                "format": fmt,
                "app": "avs-studio",
                "app_version": avs_studio.__version__,
                "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "filters": {"status": status, "split": split, "source": source},
                "resplit": {"ratios": list(resplit_ratios), "seed": seed} if resplit_ratios else None,
                "counts": {
                    "videos": report.videos,
                    "frames": report.frames,
                    "annotations": report.annotations,
                    "frames_by_split": dict(by_split),
                    "skipped_frames": report.skipped_frames,
                },
                "sources": dict(sources),
                "statuses": dict(status_counts),
            },
        )
    return report
