"""Synthetic AVSBench-S4 demo data in which only the audio says which shape is the target.

Every frame shows several shapes of different classes in random colours, positions and sizes; each clip
plays the class-specific sound of one shape class (its category), and the ground-truth mask covers only
the shapes of that class. A model that ignores the audio can do no better than guess among the shapes.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from avs_studio.atomic import atomic_dir
from avs_studio.io.writers import write_wav

SHAPES = ("circle", "square", "triangle", "cross")
# Class-specific sound: (fundamental Hz, amplitude-modulation rate Hz); distinct in pitch and rhythm.
SOUNDS = {"circle": (300.0, 0.0), "square": (650.0, 3.0), "triangle": (1400.0, 7.0), "cross": (2900.0, 12.0)}
HUES = {"circle": 0, "square": 45, "triangle": 90, "cross": 135}  # OpenCV hue (0-180) band centres
SPLITS = ("train", "val", "test")
FRAMES_PER_CLIP = 5
META_FILE = "s4_meta_data.csv"


class DemoDataError(Exception):
    """The output folder cannot be written (message names it)."""


@dataclass(frozen=True)
class DemoReport:
    root: Path
    clips: dict[str, int]  # split -> number of clips
    categories: list[str] = field(default_factory=lambda: list(SHAPES))


def _shape_mask(kind: str, size: int, cx: float, cy: float, r: float, angle: float) -> np.ndarray:
    mask = np.zeros((size, size), np.uint8)
    if kind == "circle":
        cv2.circle(mask, (round(cx), round(cy)), round(r), 1, -1, cv2.LINE_8)
        return mask.astype(bool)
    if kind == "square":
        pts = [(-r, -r), (r, -r), (r, r), (-r, r)]
    elif kind == "triangle":
        pts = [(r * np.cos(a), r * np.sin(a)) for a in (-np.pi / 2, np.pi / 6, 5 * np.pi / 6)]
        pts = [(x * 1.15, y * 1.15 + r * 0.15) for x, y in pts]
    else:  # cross: two bars of width r/1.6
        w = r / 1.6 / 2
        pts = [
            (-w, -r),
            (w, -r),
            (w, -w),
            (r, -w),
            (r, w),
            (w, w),
            (w, r),
            (-w, r),
            (-w, w),
            (-r, w),
            (-r, -w),
            (-w, -w),
        ]
    c, s = np.cos(angle), np.sin(angle)
    poly = np.array([(cx + x * c - y * s, cy + x * s + y * c) for x, y in pts], np.float64)
    cv2.fillPoly(mask, [np.round(poly).astype(np.int32)], 1, cv2.LINE_8)
    return mask.astype(bool)


def _colour(rng: np.random.Generator, kind: str | None = None) -> np.ndarray:
    """A random colour; a shape's hue stays within its class's band (random saturation and brightness),
    so vision can tell the classes apart quickly, and only the audio says which class is the target."""
    if kind is None:
        hue = rng.integers(0, 180)
    else:
        hue = (HUES[kind] + rng.integers(-12, 13)) % 180
    hsv = np.array([[[hue, rng.integers(150, 256), rng.integers(160, 256)]]], np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0]


def _layout(rng: np.random.Generator, target: str, size: int, n_shapes: int) -> list[dict]:
    """Shapes of the clip: one of the target class and distractors of other classes, not overlapping."""
    others = [s for s in SHAPES if s != target]
    kinds = [target] + list(rng.choice(others, size=n_shapes - 1, replace=False))
    placed: list[dict] = []
    for kind in kinds:
        for _ in range(200):
            r = float(rng.uniform(0.09, 0.15) * size)
            cx, cy = rng.uniform(r + 2, size - r - 2, size=2)
            if all(np.hypot(cx - p["cx"], cy - p["cy"]) > r + p["r"] + 0.12 * size for p in placed):
                break
        vx, vy = rng.uniform(-0.02, 0.02, size=2) * size
        placed.append(
            {
                "kind": kind,
                "cx": cx,
                "cy": cy,
                "r": r,
                "vx": vx,
                "vy": vy,
                "angle": float(rng.uniform(0, np.pi)),
                "colour": _colour(rng, kind),
            }
        )
    return placed


def _render(
    shapes: list[dict], k: int, size: int, rng: np.random.Generator, target: str, background: np.ndarray
):
    """Frame k (0-based) of a clip and its target mask; shapes drift a little from frame to frame."""
    image = background.copy()
    target_mask = np.zeros((size, size), bool)
    for s in shapes:
        cx = float(np.clip(s["cx"] + s["vx"] * k, s["r"], size - s["r"]))
        cy = float(np.clip(s["cy"] + s["vy"] * k, s["r"], size - s["r"]))
        m = _shape_mask(s["kind"], size, cx, cy, s["r"], s["angle"] + 0.1 * k)
        image[m] = s["colour"]
        if s["kind"] == target:
            target_mask |= m
    image += rng.normal(0, 3, image.shape).astype(np.float32)
    return np.clip(image, 0, 255).astype(np.uint8), target_mask


def class_sound(kind: str, seconds: float, rate: int, rng: np.random.Generator) -> np.ndarray:
    """The class's tone (harmonics, amplitude modulation, slight random pitch) plus noise, float32 mono."""
    f0, am = SOUNDS[kind]
    f0 *= rng.uniform(0.95, 1.05)
    t = np.arange(int(seconds * rate), dtype=np.float64) / rate
    tone = sum(
        a * np.sin(2 * np.pi * f0 * h * t + rng.uniform(0, 2 * np.pi))
        for h, a in ((1, 1.0), (2, 0.4), (3, 0.2))
    )
    if am > 0:
        tone *= 0.55 + 0.45 * np.sin(2 * np.pi * am * t)
    tone /= np.max(np.abs(tone)) + 1e-9
    noise = rng.normal(0, 1, t.shape)
    signal = 0.5 * tone + 0.08 * noise
    return (signal / max(1.0, float(np.max(np.abs(signal))))).astype(np.float32)


def _write_png(path: Path, image: np.ndarray) -> None:
    data = cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if image.ndim == 3 else image
    if not cv2.imwrite(str(path), data):
        raise DemoDataError(f"could not write {path}")


def _write_clip(
    root: Path,
    split: str,
    name: str,
    kind: str,
    rng: np.random.Generator,
    size: int,
    rate: int,
    n_shapes: int,
) -> None:
    frames_dir = root / "visual_frames" / split / kind / name
    masks_dir = root / "gt_masks" / split / kind / name
    audio_dir = root / "audio_wav" / split / kind
    for d in (frames_dir, masks_dir, audio_dir):
        d.mkdir(parents=True, exist_ok=True)
    shapes = _layout(rng, kind, size, n_shapes)
    background = np.empty((size, size, 3), np.float32)
    background[:] = _colour(rng).astype(np.float32) * 0.25
    background += np.linspace(-20, 20, size, dtype=np.float32)[None, :, None] * rng.uniform(-1, 1)
    for k in range(FRAMES_PER_CLIP):
        image, mask = _render(shapes, k, size, rng, kind, background)
        _write_png(frames_dir / f"{name}_{k + 1}.png", image)
        if split != "train" or k == 0:  # AVSBench S4: train clips have a mask for the first frame only
            _write_png(masks_dir / f"{name}_{k + 1}.png", mask.astype(np.uint8) * 255)
    write_wav(audio_dir / f"{name}.wav", class_sound(kind, FRAMES_PER_CLIP, rate, rng)[None, :], rate)


def make_demo_s4(
    out_dir: str | os.PathLike,
    *,
    train: int = 120,
    val: int = 12,
    test: int = 24,
    seed: int = 0,
    size: int = 224,
    rate: int = 16000,
    shapes_per_frame: int = 3,
    progress=None,
) -> DemoReport:
    """Write an AVSBench-S4-layout demo dataset to ``out_dir`` (must be missing or empty).

    Categories cycle through SHAPES so every split is balanced; everything is a function of ``seed``.
    The folder appears complete or not at all (built in a temporary sibling, then renamed).
    """
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise DemoDataError(f"{out} exists and is not an empty folder; choose a new output folder")
    if not 2 <= shapes_per_frame <= len(SHAPES):
        raise DemoDataError(f"shapes_per_frame must be 2..{len(SHAPES)}, got {shapes_per_frame}")
    counts = {"train": train, "val": val, "test": test}
    total, done = sum(counts.values()), 0
    with atomic_dir(out, replace=True) as tmp:
        rows = []
        for split_index, split in enumerate(SPLITS):
            for i in range(counts[split]):
                kind = SHAPES[i % len(SHAPES)]
                name = f"demo{seed}_{split}_{i:04d}"
                rng = np.random.default_rng([seed, split_index, i])
                _write_clip(tmp, split, name, kind, rng, size, rate, shapes_per_frame)
                rows.append((name, 0, kind, split))
                done += 1
                if progress is not None:
                    progress(done, total, name)
        with open(tmp / META_FILE, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["name", "start_time", "category", "split"])
            writer.writerows(rows)
    return DemoReport(out, counts)
