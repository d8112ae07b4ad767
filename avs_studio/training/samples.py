"""Training samples as plain arrays, aligned augmentation, and the batch order (same for any world size).

All randomness is a function of (seed, epoch, sample index), so a run is reproducible, resumes exactly
mid-epoch, and N processes of a DDP run see exactly the global batches that one process would.
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

    def __post_init__(self) -> None:
        n = len(self.images)
        if not (len(self.mels) == len(self.masks) == len(self.weights) == n):
            raise ValueError("images, mels, masks and weights must have the same length")
        if not self.keys:
            self.keys = [(-1, i) for i in range(n)]

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


def make_batch(
    samples: SampleSet,
    index: np.ndarray,
    *,
    seed: int,
    epoch: int,
    train: bool,
    device: torch.device | str = "cpu",
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(images (B,3,S,S) float [0,1], mels (B,M,T), masks (B,1,S,S) float, weights (B,)) on ``device``."""
    images, masks = [], []
    for i in index:
        image, mask = samples.images[i], samples.masks[i]
        if train:
            image, mask = augment(image, mask, np.random.default_rng([seed, epoch, int(i), 1]))
        images.append(image)
        masks.append(mask)
    import torch

    x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float().div_(255)
    y = torch.from_numpy(np.stack(masks).astype(np.float32)).unsqueeze(1)
    a = torch.from_numpy(samples.mels[index])
    w = torch.from_numpy(samples.weights[index])
    return x.to(device), a.to(device), y.to(device), w.to(device)
