"""Training data from the project store: accepted keyframe masks (+ optional edited frames and pseudo
labels) with audio.

A sample is one annotated frame: the decoded frame, the log-mel of the second it starts, the union of
its sounding objects' masks and its sound class (the video's category, else the label of its one
sounding object; unknown for several). Decoded, resized frames and their log-mels are cached per video in
an npz file (keyed by the video's content hash and the sizes), so a second run does not decode again.
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
from avs_studio.training.selection import (  # noqa: F401 (re-exported: the dataset's public names)
    PSEUDO_SOURCES,
    REVIEWED,
    select_frames,
    split_videos,
    summarize,
    training_plan,
)
from avs_studio.training.settings import DEFAULTS


@dataclass(frozen=True)
class LabelItem:
    video_id: int
    frame: int
    mask: np.ndarray  # bool (H, W) at video size, union of the frame's sounding objects
    weight: float
    pseudo: bool
    objects: tuple[int, ...] = ()  # ids of the frame's objects with a non-empty mask
    kind: str = "accepted"  # "accepted" | "edited" | "pseudo" (avs_studio.training.selection)


@dataclass(frozen=True)
class DataOptions:
    split: str = DEFAULTS.split
    pseudo_labels: bool = DEFAULTS.pseudo_labels
    include_edited: bool = DEFAULTS.include_edited  # corrected, not accepted yet, nothing proposed
    pseudo_weight: float = DEFAULTS.pseudo_weight
    pseudo_min_score: float = DEFAULTS.pseudo_min_score
    val_fraction: float = DEFAULTS.val_fraction  # of the training videos; only when no video is "val"
    image_size: int = DEFAULTS.image_size
    n_mels: int = 64
    audio_frames: int = 100


def collect_labels(store, video_ids: list[int], options: DataOptions) -> list[LabelItem]:
    """The training frames of these videos (avs_studio.training.selection decides which) with their
    union masks decoded: accepted and edited frames first, then pseudo labels, each in (video, frame)
    order."""
    chosen = select_frames(
        store,
        video_ids,
        include_edited=options.include_edited,
        pseudo_labels=options.pseudo_labels,
        pseudo_min_score=options.pseudo_min_score,
    )
    items = []
    for (v, f), sel in sorted(chosen.items(), key=lambda kv: (kv[1].kind == "pseudo", kv[0])):
        mask = np.zeros((sel.rows[0].height, sel.rows[0].width), bool)
        ids: tuple[int, ...] = ()
        for row in sel.rows:
            if row.object_id is not None:
                mask = mask_ops.union(mask, row.mask())
                ids += (row.object_id,) if row.area > 0 else ()
        weight = options.pseudo_weight if sel.kind == "pseudo" else 1.0
        items.append(LabelItem(v, f, mask, weight, sel.kind == "pseudo", ids, sel.kind))
    return items


def sound_label(video, object_labels: dict[int, str], item: LabelItem) -> str | None:
    """What is heard in the item's frame: the video's category (AVSBench S4), else the label shared by its
    sounding objects; None when they differ or nothing sounds."""
    if video.category:
        return str(video.category)
    labels = {object_labels[i].strip().lower() for i in item.objects if i in object_labels}
    return labels.pop() if len(labels) == 1 else None


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
    class_names: list[str] | None = None,
) -> SampleSet:
    """The items' samples; sound classes index ``class_names`` (default: the sorted labels found here;
    a label not in the given list is unknown, -1)."""
    size = options.image_size
    if not items:
        return SampleSet.empty(size, options.n_mels, options.audio_frames)
    by_video: dict[int, list[LabelItem]] = defaultdict(list)
    for item in items:
        by_video[item.video_id].append(item)
    images, mels, masks, weights, keys, labels = [], [], [], [], [], []
    cache = Path(cache_dir) if cache_dir is not None else None
    for n, (video_id, group) in enumerate(sorted(by_video.items())):
        video = store.video(video_id)
        object_labels = {o.id: o.label for o in store.objects(video_id)} if not video.category else {}
        imgs, mls = load_inputs(video, [i.frame for i in group], options, cache)
        for item, img, mel in zip(group, imgs, mls):
            images.append(img)
            mels.append(mel)
            masks.append(mask_ops.resize_mask(item.mask, (size, size)))
            weights.append(item.weight)
            keys.append((item.video_id, item.frame))
            labels.append(sound_label(video, object_labels, item))
        if progress is not None:
            progress(n + 1, len(by_video), video.name)
    names = sorted({x for x in labels if x is not None}) if class_names is None else list(class_names)
    index = {name: i for i, name in enumerate(names)}
    classes = np.array([index.get(x, -1) if x is not None else -1 for x in labels], np.int64)
    return SampleSet(
        np.stack(images),
        np.stack(mels),
        np.stack(masks).astype(bool),
        np.asarray(weights, np.float32),
        keys,
        classes,
        names,
    )
