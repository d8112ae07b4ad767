"""Training data from the project store: accepted keyframe masks (+ optional edited frames and pseudo
labels) with audio.

A sample is one annotated frame: the decoded frame, the log-mel of the second it starts, and the union of
its sounding objects' masks. Decoded, resized frames and their log-mels are cached per video in an npz
file (keyed by the video's content hash and the sizes), so a second run does not decode again.
"""

from __future__ import annotations

import hashlib
import math
import os
import zlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from avs_studio import masks as mask_ops
from avs_studio import media
from avs_studio.training.samples import SampleSet, save_npz

REVIEWED = ("accepted", "edited", "rejected")
PSEUDO_SOURCES = ("proposal",)  # OpenAVS (teacher) proposals; never the student's own


@dataclass(frozen=True)
class LabelItem:
    video_id: int
    frame: int
    mask: np.ndarray  # bool (H, W) at video size, union of the frame's sounding objects
    weight: float
    pseudo: bool


@dataclass(frozen=True)
class DataOptions:
    split: str = "train"
    pseudo_labels: bool = False
    include_edited: bool = False  # frames a person corrected but has not accepted yet (nothing left proposed)
    pseudo_weight: float = 0.5
    pseudo_min_score: float = 0.3
    val_fraction: float = 0.1  # of the training videos, used only when the store has no "val" videos
    image_size: int = 96
    n_mels: int = 64
    audio_frames: int = 100


def _held_out(video_id: int, fraction: float) -> bool:
    return zlib.crc32(f"video:{video_id}".encode()) % 1000 < fraction * 1000


def split_videos(videos, split: str, val_fraction: float) -> tuple[list[int], list[int]]:
    """(training video ids, validation video ids). Benchmark splits are respected: "val" videos validate,
    "test" videos are never used; videos without a split train, except a stable held-out fraction that
    validates when no video is marked "val"."""
    has_val = any(v.split == "val" for v in videos)
    train, val = [], []
    for v in videos:
        if v.split == "val":
            val.append(v.id)
        elif v.split == split or (v.split is None and split == "train"):
            if not has_val and _held_out(v.id, val_fraction):
                val.append(v.id)
            else:
                train.append(v.id)
    return train, val


def _frame_unions(rows) -> dict[tuple[int, int], tuple[np.ndarray, float | None]]:
    """(video, frame) -> (union mask, lowest score) over the given annotation rows."""
    out: dict[tuple[int, int], tuple[np.ndarray, float | None]] = {}
    for row in rows:
        key = (row.video_id, row.frame)
        m = row.mask() if row.object_id is not None else np.zeros((row.height, row.width), bool)
        if key in out:
            prev, score = out[key]
            s = row.score if score is None else (score if row.score is None else min(score, row.score))
            out[key] = (mask_ops.union(prev, m), s)
        else:
            out[key] = (m, row.score)
    return out


def _pending_frames(store, frames: set[tuple[int, int]]) -> set[tuple[int, int]]:
    """Those of ``frames`` that still hold a proposed mask: a correction in progress, not a label yet."""
    videos = {v for v, _f in frames}
    return {
        (r.video_id, r.frame)
        for r in store.iter_annotations(status="proposed")
        if r.video_id in videos and (r.video_id, r.frame) in frames
    }


def collect_labels(store, video_ids: list[int], options: DataOptions) -> list[LabelItem]:
    """Accepted frames of these videos (with include_edited, also frames corrected by a person that hold no
    proposed mask any more), plus (with pseudo labels) proposed frames of unreviewed videos."""
    wanted = set(video_ids)
    statuses = ("accepted", "edited") if options.include_edited else ("accepted",)
    rows = [r for r in store.iter_annotations(status=statuses) if r.video_id in wanted]
    if options.include_edited:
        pending = _pending_frames(store, {(r.video_id, r.frame) for r in rows if r.status == "edited"})
        rows = [r for r in rows if (r.video_id, r.frame) not in pending]
    labelled = _frame_unions(rows)
    items = [LabelItem(v, f, m, 1.0, False) for (v, f), (m, _s) in sorted(labelled.items())]
    if options.pseudo_labels:
        reviewed = {r.video_id for r in store.iter_annotations(status=REVIEWED)}
        proposed = _frame_unions(
            r
            for r in store.iter_annotations(status="proposed")
            if r.video_id in wanted and r.video_id not in reviewed and r.source in PSEUDO_SOURCES
        )
        for (v, f), (m, score) in sorted(proposed.items()):
            if score is None or score >= options.pseudo_min_score:
                items.append(LabelItem(v, f, m, options.pseudo_weight, True))
    return items


def summarize(store, pseudo_min_score: float = 0.3) -> dict[str, dict[str, int]]:
    """Per split ("train", "val", "test", "unassigned", ...): videos, frames with accepted labels, frames
    only edited (corrected, not accepted, nothing left proposed) and pseudo-label candidate frames
    (proposed by OpenAVS in unreviewed videos, score >= the threshold).
    Counts only: no mask is decoded, so it is quick enough for a dialog."""
    videos = store.videos()
    split_of = {v.id: v.split or "unassigned" for v in videos}
    out: dict[str, dict[str, int]] = {}
    for v in videos:
        counts = {"videos": 0, "accepted_frames": 0, "edited_frames": 0, "pseudo_frames": 0}
        out.setdefault(split_of[v.id], counts)["videos"] += 1
    accepted: set[tuple[int, int]] = set()
    edited: set[tuple[int, int]] = set()
    proposed: set[tuple[int, int]] = set()
    reviewed: set[int] = set()
    scores: dict[tuple[int, int], float | None] = {}  # lowest OpenAVS proposal score per frame
    for r in store.iter_annotations():  # one pass over the annotations, masks left encoded
        key = (r.video_id, r.frame)
        if r.status in REVIEWED:
            reviewed.add(r.video_id)
        if r.status == "accepted":
            accepted.add(key)
        elif r.status == "edited":
            edited.add(key)
        elif r.status == "proposed":
            proposed.add(key)
            if r.source in PSEUDO_SOURCES:
                old = scores.get(key, r.score)
                scores[key] = r.score if old is None else (old if r.score is None else min(old, r.score))
    edited -= accepted | proposed
    scores = {k: sc for k, sc in scores.items() if k[0] not in reviewed}
    pseudo = {k for k, sc in scores.items() if sc is None or sc >= pseudo_min_score}
    for kind, keys in (("accepted_frames", accepted), ("edited_frames", edited), ("pseudo_frames", pseudo)):
        for video_id, _frame in keys:
            if video_id in split_of:
                out[split_of[video_id]][kind] += 1
    return out


def audio_span(frame_time: float, rate: float) -> tuple[float, float]:
    """The audio of a keyframe: its whole keyframe period (AVSBench: the second it starts), as proposals use."""
    period = 1.0 / rate
    start = math.floor(frame_time * rate + 1e-6) * period
    return start, start + period


def _cache_path(cache_dir: Path, video, options: DataOptions) -> Path:
    ident = video.sha256 or hashlib.sha256(video.path.encode()).hexdigest()
    rate = video.keyframe_rate or 1.0
    return (
        cache_dir / f"{ident[:32]}_{options.image_size}_{options.n_mels}_{options.audio_frames}_{rate:g}.npz"
    )


def _decode(video, frames: list[int], options: DataOptions) -> tuple[np.ndarray, np.ndarray]:
    size, n = options.image_size, options.audio_frames
    images, mels = [], []
    try:
        audio = media.load_audio(video.path, rate=16000, mono=True)
    except media.NoAudioError:
        audio = None
    with media.VideoReader(video.path) as reader:
        for f in frames:
            images.append(cv2.resize(reader.frame(f), (size, size), interpolation=cv2.INTER_AREA))
            t0, t1 = audio_span(float(reader.frame_times[f]), video.keyframe_rate or 1.0)
            if audio is None:
                samples, rate = np.zeros(int(16000 * (t1 - t0)), np.float32), 16000
                mel = media.log_mel(samples, rate, 0.0, t1 - t0, n_mels=options.n_mels)
            else:
                mel = media.log_mel(audio.samples[0], audio.rate, t0, t1, n_mels=options.n_mels)
            mel = (
                mel[:, :n] if mel.shape[1] >= n else np.pad(mel, ((0, 0), (0, n - mel.shape[1])), mode="edge")
            )
            mels.append(mel.astype(np.float32))
    return np.stack(images), np.stack(mels)


def load_inputs(
    video, frames: list[int], options: DataOptions, cache_dir: Path | None
) -> tuple[np.ndarray, np.ndarray]:
    """Resized frames (K, S, S, 3) and log-mels (K, M, T) of these frame indices, through the npz cache."""
    cached: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    path = _cache_path(cache_dir, video, options) if cache_dir is not None else None
    if path is not None and path.is_file():
        try:
            with np.load(path) as z:
                cached = {int(f): (z["images"][i], z["mels"][i]) for i, f in enumerate(z["frames"])}
        except (OSError, ValueError, KeyError, zlib.error):
            cached = {}  # a damaged cache is rebuilt
    missing = sorted(set(frames) - set(cached))
    if missing:
        images, mels = _decode(video, missing, options)
        cached.update({f: (images[i], mels[i]) for i, f in enumerate(missing)})
        if path is not None:
            keys = sorted(cached)
            save_npz(
                path,
                frames=np.array(keys),
                images=np.stack([cached[k][0] for k in keys]),
                mels=np.stack([cached[k][1] for k in keys]),
            )
    return np.stack([cached[f][0] for f in frames]), np.stack([cached[f][1] for f in frames])


def build_samples(
    store,
    items: list[LabelItem],
    options: DataOptions,
    cache_dir: str | os.PathLike | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> SampleSet:
    size = options.image_size
    if not items:
        return SampleSet.empty(size, options.n_mels, options.audio_frames)
    by_video: dict[int, list[LabelItem]] = defaultdict(list)
    for item in items:
        by_video[item.video_id].append(item)
    images, mels, masks, weights, keys = [], [], [], [], []
    cache = Path(cache_dir) if cache_dir is not None else None
    for n, (video_id, group) in enumerate(sorted(by_video.items())):
        video = store.video(video_id)
        imgs, mls = load_inputs(video, [i.frame for i in group], options, cache)
        for item, img, mel in zip(group, imgs, mls):
            images.append(img)
            mels.append(mel)
            masks.append(mask_ops.resize_mask(item.mask, (size, size)))
            weights.append(item.weight)
            keys.append((item.video_id, item.frame))
        if progress is not None:
            progress(n + 1, len(by_video), video.name)
    return SampleSet(
        np.stack(images), np.stack(mels), np.stack(masks).astype(bool), np.asarray(weights, np.float32), keys
    )
