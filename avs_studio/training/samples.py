"""Training samples as plain arrays, aligned augmentation, and the batch order (same for any world size).

All randomness is a function of (seed, epoch, sample index), so a run is reproducible, resumes exactly
mid-epoch, and N processes of a DDP run see exactly the global batches that one process would.

Mixing (what teaches the student to listen): another clip's sounding object is pasted into the frame,
and the sample takes either its own audio (target: its own object, minus what the paste covers) or the
other clip's audio (target: the pasted object). Only the audio tells which object is the target.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import cv2
import numpy as np

from avs_studio.atomic import atomic_open

if TYPE_CHECKING:  # torch loads only where tensors are made (the GUI counts samples without it)
    import torch


@dataclass
class SampleSet:
    images: np.ndarray  # (N, S, S, 3) uint8 RGB
    mels: np.ndarray  # (N, n_mels, T) float32 dB
    masks: np.ndarray  # (N, S, S) bool; the union of the frame's sounding objects
    weights: np.ndarray  # (N,) float32 loss weight (1 for accepted labels, lower for pseudo labels)
    keys: list[tuple[int, int]] = field(default_factory=list)  # (video_id, frame) per sample
    classes: np.ndarray | None = None  # (N,) int64 sound class index into class_names, -1 unknown
    class_names: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        n = len(self.images)
        if not (len(self.mels) == len(self.masks) == len(self.weights) == n):
            raise ValueError("images, mels, masks and weights must have the same length")
        if not self.keys:
            self.keys = [(-1, i) for i in range(n)]
        if self.classes is None:
            self.classes = np.full(n, -1, np.int64)
        if len(self.classes) != n:
            raise ValueError("classes must have one entry per sample")

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, index) -> SampleSet:
        index = np.asarray(index, dtype=np.int64)
        return SampleSet(
            self.images[index],
            self.mels[index],
            self.masks[index],
            self.weights[index],
            [self.keys[i] for i in index],
            self.classes[index],
            list(self.class_names),
        )

    @classmethod
    def empty(cls, size: int, n_mels: int, frames: int) -> SampleSet:
        return cls(
            np.zeros((0, size, size, 3), np.uint8),
            np.zeros((0, n_mels, frames), np.float32),
            np.zeros((0, size, size), bool),
            np.zeros((0,), np.float32),
            [],
        )


def save_npz(path: str | os.PathLike, **arrays: np.ndarray) -> None:
    """np.savez to a temporary file next to ``path``, then rename (never a half-written cache)."""
    with atomic_open(path, "wb") as f:
        np.savez(f, **arrays)


def augment(image: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Horizontal flip and scale-crop on image and mask together; colour jitter on the image only."""
    size = image.shape[0]
    if rng.random() < 0.5:
        image, mask = image[:, ::-1], mask[:, ::-1]
    scale = rng.uniform(1.0, 1.3)
    if scale > 1.02:
        big = round(size * scale)
        image = cv2.resize(np.ascontiguousarray(image), (big, big), interpolation=cv2.INTER_LINEAR)
        mask = cv2.resize(
            np.ascontiguousarray(mask).astype(np.uint8), (big, big), interpolation=cv2.INTER_NEAREST
        )
        y, x = rng.integers(0, big - size + 1, size=2)
        image, mask = image[y : y + size, x : x + size], mask[y : y + size, x : x + size].astype(bool)
    img = image.astype(np.float32)
    gain = rng.uniform(0.8, 1.2, size=3).astype(np.float32)  # per-channel colour gain
    contrast = np.float32(rng.uniform(0.8, 1.2))
    mean = img.mean()
    img = (img - mean) * contrast + mean + np.float32(rng.uniform(-20, 20))
    img = np.clip(img * gain, 0, 255).astype(np.uint8)
    return img, np.ascontiguousarray(mask)


def paste_object(
    image: np.ndarray, mask: np.ndarray, donor: np.ndarray, donor_mask: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray] | None:
    """``image`` with the donor's object (its masked pixels) pasted at a random place that covers at most a
    fifth of ``mask`` when it can; returns (new image, the pasted object's mask), None for an empty donor."""
    ys, xs = np.nonzero(donor_mask)
    if len(ys) == 0:
        return None
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    crop = donor_mask[y0:y1, x0:x1]
    size = image.shape[0]
    area = max(1, int(mask.sum()))
    for _ in range(10):
        ty, tx = (int(v) for v in rng.integers(0, size - np.array(crop.shape) + 1))
        if int(mask[ty : ty + crop.shape[0], tx : tx + crop.shape[1]][crop].sum()) <= area // 5:
            break
    pasted = np.zeros_like(mask)
    pasted[ty : ty + crop.shape[0], tx : tx + crop.shape[1]] = crop
    out = image.copy()
    out[pasted] = donor[y0:y1, x0:x1][crop]
    return out, pasted


def augment_mel(mel: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random circular time shift, one time mask (set to the minimum) and a pitch shift of at most one
    mel band: the sound stays recognisable, its exact spectrogram does not repeat."""
    frames = mel.shape[1]
    out = np.roll(mel, int(rng.integers(0, frames)), axis=1)
    if rng.random() < 0.5 and frames > 8:
        width = int(rng.integers(1, max(2, frames // 5)))
        t0 = int(rng.integers(0, frames - width))
        out[:, t0 : t0 + width] = out.min()
    shift = int(rng.integers(-1, 2))
    if shift > 0:
        out = np.concatenate([np.repeat(out[:1], shift, 0), out[:-shift]])
    elif shift < 0:
        out = np.concatenate([out[-shift:], np.repeat(out[-1:], -shift, 0)])
    return np.ascontiguousarray(out)


def _donor(samples: SampleSet, i: int, rng: np.random.Generator) -> int | None:
    """Another sample to mix with: of another sound class when classes are known, else of another video."""
    classes = samples.classes
    if classes[i] >= 0:
        pool = np.flatnonzero((classes != classes[i]) & (classes >= 0))
    else:
        pool = np.flatnonzero([k[0] != samples.keys[i][0] for k in samples.keys])
    return int(rng.choice(pool)) if len(pool) else None


def global_batches(n: int, batch_size: int, seed: int, epoch: int, shuffle: bool = True) -> list[np.ndarray]:
    """The epoch's global batches, identical for any number of processes. A trailing partial batch is
    dropped when shorter than half a batch (unless it is the only one)."""
    order = np.random.default_rng([seed, epoch]).permutation(n) if shuffle else np.arange(n)
    batches = [order[i : i + batch_size] for i in range(0, n, batch_size)]
    if len(batches) > 1 and len(batches[-1]) < batch_size // 2:
        batches.pop()
    return batches


def shard(batch: np.ndarray, rank: int, world: int) -> np.ndarray:
    return batch[rank::world]


@dataclass
class Batch:
    images: torch.Tensor  # (B, 3, S, S) float in [0, 1]
    mels: torch.Tensor  # (B, M, T)
    masks: torch.Tensor  # (B, 1, S, S) float {0, 1}
    weights: torch.Tensor  # (B,)
    classes: torch.Tensor  # (B,) int64 sound class of the audio given, -1 unknown


def _sample(
    samples: SampleSet, i: int, rng: np.random.Generator, mix: float, audio_augment: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, int]:
    image, mask, mel = samples.images[i], samples.masks[i], samples.mels[i]
    weight, cls = float(samples.weights[i]), int(samples.classes[i])
    if mix > 0 and rng.random() < mix:
        j = _donor(samples, i, rng)
        pasted = None if j is None else paste_object(image, mask, samples.images[j], samples.masks[j], rng)
        if pasted is not None:
            image, other = pasted
            weight = min(weight, float(samples.weights[j]))
            if rng.random() < 0.5:  # the other clip's audio: its object is the target
                mask, mel, cls = other, samples.mels[j], int(samples.classes[j])
            else:  # our own audio: our object, less what the paste covers
                mask = mask & ~other
    image, mask = augment(image, mask, rng)
    if audio_augment:
        mel = augment_mel(mel, rng)
    return image, mask, mel, weight, cls


def make_batch(
    samples: SampleSet,
    index: np.ndarray,
    *,
    seed: int,
    epoch: int,
    train: bool,
    device: torch.device | str = "cpu",
    mix: float = 0.0,
    audio_augment: bool = False,
) -> Batch:
    """The samples ``index`` as tensors on ``device``; with ``train``, augmented (and mixed with
    probability ``mix``) by a generator seeded with (seed, epoch, sample index)."""
    images, mels, masks, weights, classes = [], [], [], [], []
    for i in index:
        i = int(i)
        if train:
            rng = np.random.default_rng([seed, epoch, i, 1])
            image, mask, mel, weight, cls = _sample(samples, i, rng, mix, audio_augment)
        else:
            image, mask, mel = samples.images[i], samples.masks[i], samples.mels[i]
            weight, cls = float(samples.weights[i]), int(samples.classes[i])
        images.append(image)
        masks.append(mask)
        mels.append(mel)
        weights.append(weight)
        classes.append(cls)
    import torch

    return Batch(
        torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float().div_(255).to(device),
        torch.from_numpy(np.stack(mels)).to(device),
        torch.from_numpy(np.stack(masks).astype(np.float32)).unsqueeze(1).to(device),
        torch.tensor(weights, dtype=torch.float32, device=device),
        torch.tensor(classes, dtype=torch.int64, device=device),
    )
