"""Synthetic videos with known per-frame masks, for mask propagation tests and benchmarks.

Textured blobs move, scale and turn over a textured background; a static distractor with the same
texture as object 0 sits still (a mask that sticks to look-alike pixels shows up as an IoU loss).
Later objects are drawn over earlier ones and a mask is what is visible of its object.

    from tests.helpers.moving_objects import make_scene, write_scene_video
    scene = make_scene(seed=0, size=(320, 240), frames=75, fps=25)
    path = write_scene_video(scene, tmp_path / "scene.mp4")
    scene.masks(10)          # {"object 0": bool (H, W), "object 1": ...}: ground truth of frame 10
    scene.render(10)         # the RGB picture of frame 10 (before compression)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

NOISE_FIELDS = 8


def texture(rng: np.random.Generator, h: int, w: int, tint: tuple[float, float, float]) -> np.ndarray:
    """Multi-scale noise (blotches of 4..48 px) in a colour tint: uint8 RGB (h, w, 3)."""
    acc = np.zeros((h, w), np.float32)
    for cell, weight in ((48, 0.45), (16, 0.35), (4, 0.2)):
        small = rng.random((h // cell + 2, w // cell + 2), dtype=np.float32)
        acc += (
            weight
            * cv2.resize(small, (w + 2 * cell, h + 2 * cell), interpolation=cv2.INTER_CUBIC)[
                cell : cell + h, cell : cell + w
            ]
        )
    acc = (acc - acc.min()) / max(float(acc.max() - acc.min()), 1e-6)
    rgb = np.stack([acc * t for t in tint], axis=-1) * 255.0
    return np.clip(rgb, 0, 255).astype(np.uint8)


def blob(rng: np.random.Generator, side: int) -> np.ndarray:
    """An irregular filled shape (union of 3 ellipses) in a side x side float32 alpha canvas."""
    canvas = np.zeros((side, side), np.uint8)
    c = side / 2
    for _ in range(3):
        centre = (int(c + rng.uniform(-0.15, 0.15) * side), int(c + rng.uniform(-0.15, 0.15) * side))
        axes = (int(rng.uniform(0.18, 0.3) * side), int(rng.uniform(0.12, 0.22) * side))
        cv2.ellipse(canvas, centre, axes, float(rng.uniform(0, 180)), 0, 360, 255, -1, cv2.LINE_AA)
    return canvas.astype(np.float32) / 255.0


@dataclass
class SceneObject:
    label: str
    tex: np.ndarray  # (side, side, 3) uint8
    alpha: np.ndarray  # (side, side) float32 in [0, 1]
    centre0: tuple[float, float]  # fraction of (w, h)
    amp: tuple[float, float]  # path amplitude, fraction of (w, h)
    period: tuple[float, float]  # seconds of the x / y oscillations
    phase: float
    scale: tuple[float, float, float]  # base, amplitude, period (s): size = side * (base + amp sin)
    turn: float  # max rotation, degrees

    def matrix(self, t: float, size: tuple[int, int]) -> np.ndarray:
        """2x3 similarity from the object canvas to the frame at time t."""
        w, h = size
        side = self.alpha.shape[0]
        cx = (self.centre0[0] + self.amp[0] * math.sin(2 * math.pi * t / self.period[0] + self.phase)) * w
        cy = (self.centre0[1] + self.amp[1] * math.sin(2 * math.pi * t / self.period[1] + 2 * self.phase)) * h
        base, amp, per = self.scale
        s = base + amp * math.sin(2 * math.pi * t / per + self.phase)
        a = self.turn * math.sin(2 * math.pi * t / 3.7 + self.phase)
        m = cv2.getRotationMatrix2D((side / 2, side / 2), a, s)
        m[:, 2] += (cx - side / 2, cy - side / 2)
        return m


@dataclass
class MovingScene:
    size: tuple[int, int]  # (width, height)
    fps: float
    frames: int
    background: np.ndarray
    objects: list[SceneObject]
    distractor: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # (tex, alpha, matrix)
    noise: float = 2.0
    seed: int = 0
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def labels(self) -> list[str]:
        return [o.label for o in self.objects]

    def _patches(self, i: int) -> list[tuple[int, int, np.ndarray, np.ndarray]]:
        """(x0, y0, texture, alpha) of each object at frame i, bottom first, cut to its box in the frame."""
        w, h = self.size
        out = []
        for o in self.objects:
            m = o.matrix(i / self.fps, self.size)
            side = o.alpha.shape[0]
            corners = np.array([[0, 0, 1], [side, 0, 1], [0, side, 1], [side, side, 1]], float) @ m.T
            x0, y0 = np.floor(corners.min(axis=0)).astype(int) - 1
            x1, y1 = np.ceil(corners.max(axis=0)).astype(int) + 1
            x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
            if x1 <= x0 or y1 <= y0:
                out.append((0, 0, np.zeros((0, 0, 3), np.uint8), np.zeros((0, 0), np.float32)))
                continue
            local = m.copy()
            local[:, 2] -= (x0, y0)
            size = (x1 - x0, y1 - y0)
            tex = cv2.warpAffine(o.tex, local, size, flags=cv2.INTER_LINEAR)
            alpha = cv2.warpAffine(o.alpha, local, size, flags=cv2.INTER_LINEAR)
            out.append((int(x0), int(y0), tex, alpha))
        return out

    def _static(self, k: int) -> np.ndarray:
        """Background, distractor and sensor noise field k (one of NOISE_FIELDS, drawn once): uint8."""
        if k not in self._cache:
            w, h = self.size
            img = self.background.astype(np.float32)
            if self.distractor is not None:
                tex, alpha, m = self.distractor
                a = cv2.warpAffine(alpha, m, (w, h), flags=cv2.INTER_LINEAR)[..., None]
                img = img * (1 - a) + cv2.warpAffine(tex, m, (w, h)).astype(np.float32) * a
            noise = np.random.default_rng((self.seed, k)).normal(0, self.noise, img.shape)
            self._cache[k] = np.clip(img + noise, 0, 255).astype(np.uint8)
        return self._cache[k]

    def render(self, i: int) -> np.ndarray:
        base, other = self._static(i % NOISE_FIELDS), self._static((i + 3) % NOISE_FIELDS)
        img = base.copy()
        for x0, y0, tex, alpha in self._patches(i):
            h, w = alpha.shape
            box = (slice(y0, y0 + h), slice(x0, x0 + w))
            region = img[box].astype(np.float32)
            noise = 0.5 * (other[box].astype(np.float32) - base[box])  # differs frame to frame, cheap
            a = alpha[..., None]
            blended = region * (1 - a) + (tex.astype(np.float32) + noise) * a
            img[box] = np.clip(blended, 0, 255).astype(np.uint8)
        return img

    def masks(self, i: int) -> dict[str, np.ndarray]:
        """Visible part of each object at frame i (alpha > 0.5, minus what objects above cover)."""
        w, h = self.size
        layers = []
        for x0, y0, _, alpha in self._patches(i):
            m = np.zeros((h, w), bool)
            m[y0 : y0 + alpha.shape[0], x0 : x0 + alpha.shape[1]] = alpha > 0.5
            layers.append(m)
        out = {}
        for k, o in enumerate(self.objects):
            m = layers[k].copy()
            for above in layers[k + 1 :]:
                m &= ~above
            out[o.label] = m
        return out

    def keyframes(self, rate: float = 1.0) -> list[int]:
        step = self.fps / rate
        return [int(math.ceil(k * step - 1e-6)) for k in range(int(self.frames / step + 1e-9) + 1)
                if math.ceil(k * step - 1e-6) < self.frames]  # fmt: skip


def make_scene(
    seed: int = 0,
    size: tuple[int, int] = (320, 240),
    frames: int = 75,
    fps: float = 25.0,
    n_objects: int = 2,
    distractor: bool = True,
    speed: float = 1.0,
) -> MovingScene:
    """A scene of ``n_objects`` textured blobs (labels "object 0", "object 1", ...) moving over a textured
    background, with a static look-alike distractor. ``speed`` scales how fast they move."""
    rng = np.random.default_rng(seed)
    w, h = size
    bg = texture(rng, h, w, (0.55, 0.7, 0.5))
    side = int(min(w, h) * 0.45) // 2 * 2
    tints = [(1.0, 0.45, 0.35), (0.35, 0.55, 1.0), (0.9, 0.85, 0.3), (0.6, 0.3, 0.9)]
    objects = []
    for k in range(n_objects):
        objects.append(
            SceneObject(
                label=f"object {k}",
                tex=texture(rng, side, side, tints[k % len(tints)]),
                alpha=blob(rng, side),
                centre0=(0.3 + 0.4 * k / max(1, n_objects - 1), 0.5),
                amp=(float(rng.uniform(0.12, 0.2)), float(rng.uniform(0.1, 0.18))),
                period=(float(rng.uniform(3.0, 5.0)) / speed, float(rng.uniform(2.5, 4.5)) / speed),
                phase=float(rng.uniform(0, 2 * math.pi)),
                scale=(1.0, 0.3, float(rng.uniform(2.5, 4.0)) / speed),
                turn=10.0,
            )
        )
    dis = None
    if distractor and objects:
        m = cv2.getRotationMatrix2D((side / 2, side / 2), 30.0, 0.8)
        m[:, 2] += (0.5 * w - side / 2, 0.35 * h - side / 2)
        dis = (objects[0].tex, blob(rng, side), m)
    return MovingScene(size, fps, frames, bg, objects, dis, seed=seed)


def write_scene_video(scene: MovingScene, path: str | Path, *, crf: int = 20, gop: int | None = None) -> Path:
    """Encode the scene as H.264 (tone audio, see media_factory.make_video)."""
    from tests.helpers.media_factory import make_video

    def paint(i: int, img: np.ndarray) -> None:
        img[:] = scene.render(i)

    return make_video(
        path,
        frames=scene.frames,
        fps=scene.fps,
        size=scene.size,
        counter=False,
        painter=paint,
        crf=crf,
        gop=gop,
    )


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two masks; 1.0 when both are empty."""
    union = np.count_nonzero(a | b)
    return 1.0 if union == 0 else np.count_nonzero(a & b) / union
