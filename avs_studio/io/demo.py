"""Synthetic AVSBench-S4 demo data in which only the audio says which shape is the target.

Every frame shows several shapes of different classes at random positions and sizes; each clip plays
the class-specific sound of one shape class (its category), and the ground-truth mask covers only the
shape of that class. A model that ignores the audio can do no better than guess among the shapes.

Two tasks (``hard=False`` / ``True``):
- easy: 4 classes, 3 shapes per frame, each class's colour within its own hue band, one tone per class;
- hard: 6 classes, 2-3 shapes per frame, colours random per object (colour says nothing), class sounds
  with per-clip pitch, timbre, rhythm and noise (avs_studio.io.demo_sounds); 200/40/60 clips by default.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from avs_studio.atomic import atomic_dir
from avs_studio.io.demo_sounds import EASY_SOUNDS, easy_sound, hard_sound
from avs_studio.io.writers import write_wav
from avs_studio.progress import Progress

SHAPES = ("circle", "square", "triangle", "cross")
HARD_SHAPES = ("circle", "square", "triangle", "cross", "star", "ring")
SOUNDS = EASY_SOUNDS
HUES = {"circle": 0, "square": 45, "triangle": 90, "cross": 135}  # OpenCV hue (0-180) band centres
SPLITS = ("train", "val", "test")
FRAMES_PER_CLIP = 5
META_FILE = "s4_meta_data.csv"
EASY_CLIPS = {"train": 120, "val": 12, "test": 24}
HARD_CLIPS = {"train": 200, "val": 40, "test": 60}  # S4 train: one annotated frame per clip


@dataclass(frozen=True)
class Task:
    shapes: tuple[str, ...]
    shapes_per_frame: tuple[int, int]  # inclusive range, drawn per clip
    class_colours: bool  # True: each class keeps its hue band; False: any colour
    sound: Callable[[str, float, int, np.random.Generator], np.ndarray]


EASY = Task(SHAPES, (3, 3), True, easy_sound)
HARD = Task(HARD_SHAPES, (2, 3), False, hard_sound)


class DemoDataError(Exception):
    """The output folder cannot be written (message names it)."""


@dataclass(frozen=True)
class DemoReport:
    root: Path
    clips: dict[str, int]  # split -> number of clips
    categories: list[str] = field(default_factory=lambda: list(SHAPES))


def _shape_mask(kind: str, size: int, cx: float, cy: float, r: float, angle: float) -> np.ndarray:
    mask = np.zeros((size, size), np.uint8)
    if kind in ("circle", "ring"):
        cv2.circle(mask, (round(cx), round(cy)), round(r), 1, -1, cv2.LINE_8)
        if kind == "ring":  # an annulus: the hole shows the background
            cv2.circle(mask, (round(cx), round(cy)), round(r * 0.55), 0, -1, cv2.LINE_8)
        return mask.astype(bool)
    if kind == "star":  # five points
        angles = -np.pi / 2 + np.arange(10) * np.pi / 5
        radii = np.where(np.arange(10) % 2 == 0, r * 1.1, r * 0.45)
        pts = [(q * np.cos(a), q * np.sin(a)) for q, a in zip(radii, angles)]
    elif kind == "square":
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
    return np.asarray(cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0])


def _layout(rng: np.random.Generator, target: str, size: int, n_shapes: int, task: Task = EASY) -> list[dict[str, Any]]:
    """Shapes of the clip: one of the target class and distractors of other classes, not overlapping."""
    others = [s for s in task.shapes if s != target]
    kinds = [target] + list(rng.choice(others, size=n_shapes - 1, replace=False))
    placed: list[dict[str, Any]] = []
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
                "colour": _colour(rng, kind if task.class_colours else None),
            }
        )
    return placed


def _render(
    shapes: list[dict[str, Any]], k: int, size: int, rng: np.random.Generator, target: str, background: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
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


class_sound = easy_sound  # the easy task's sound (kept for callers of the first version)


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
    task: Task,
) -> None:
    frames_dir = root / "visual_frames" / split / kind / name
    masks_dir = root / "gt_masks" / split / kind / name
    audio_dir = root / "audio_wav" / split / kind
    for d in (frames_dir, masks_dir, audio_dir):
        d.mkdir(parents=True, exist_ok=True)
    lo, hi = task.shapes_per_frame
    n_shapes = lo if lo == hi else int(rng.integers(lo, hi + 1))
    shapes = _layout(rng, kind, size, n_shapes, task)
    background = np.empty((size, size, 3), np.float32)
    background[:] = _colour(rng).astype(np.float32) * 0.25
    background += np.linspace(-20, 20, size, dtype=np.float32)[None, :, None] * rng.uniform(-1, 1)
    for k in range(FRAMES_PER_CLIP):
        image, mask = _render(shapes, k, size, rng, kind, background)
        _write_png(frames_dir / f"{name}_{k + 1}.png", image)
        if split != "train" or k == 0:  # AVSBench S4: train clips have a mask for the first frame only
            _write_png(masks_dir / f"{name}_{k + 1}.png", mask.astype(np.uint8) * 255)
    write_wav(audio_dir / f"{name}.wav", task.sound(kind, FRAMES_PER_CLIP, rate, rng)[None, :], rate)


def make_demo_s4(
    out_dir: str | os.PathLike[str],
    *,
    hard: bool = False,
    train: int | None = None,
    val: int | None = None,
    test: int | None = None,
    seed: int = 0,
    size: int = 224,
    rate: int = 16000,
    shapes_per_frame: int | None = None,
    progress: Progress | None = None,
) -> DemoReport:
    """Write an AVSBench-S4-layout demo dataset to ``out_dir`` (must be missing or empty).

    ``hard``: the harder task (see the module doc). Clip counts default to EASY_CLIPS / HARD_CLIPS;
    ``shapes_per_frame`` fixes the number of shapes per frame (default: the task's).
    Categories cycle through the task's shapes so every split is balanced; everything is a function of
    ``seed``. The folder appears complete or not at all (built in a temporary sibling, then renamed).
    """
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise DemoDataError(f"{out} exists and is not an empty folder; choose a new output folder")
    task = HARD if hard else EASY
    if shapes_per_frame is not None:
        if not 2 <= shapes_per_frame <= len(task.shapes):
            raise DemoDataError(f"shapes_per_frame must be 2..{len(task.shapes)}, got {shapes_per_frame}")
        task = Task(task.shapes, (shapes_per_frame, shapes_per_frame), task.class_colours, task.sound)
    given = {"train": train, "val": val, "test": test}
    defaults = HARD_CLIPS if hard else EASY_CLIPS
    counts = {k: defaults[k] if v is None else int(v) for k, v in given.items()}
    if any(n < 0 for n in counts.values()) or not counts["train"]:
        raise DemoDataError(f"clip counts must be >= 0 with at least one training clip, got {counts}")
    total, done = sum(counts.values()), 0
    with atomic_dir(out, replace=True) as tmp:
        rows = []
        for split_index, split in enumerate(SPLITS):
            for i in range(counts[split]):
                kind = task.shapes[i % len(task.shapes)]
                name = f"{'hard' if hard else 'demo'}{seed}_{split}_{i:04d}"
                rng = np.random.default_rng([seed, split_index, i] + ([1] if hard else []))
                _write_clip(tmp, split, name, kind, rng, size, rate, task)
                rows.append((name, 0, kind, split))
                done += 1
                if progress is not None:
                    progress(done, total, name)
        with open(tmp / META_FILE, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["name", "start_time", "category", "split"])
            writer.writerows(rows)
    return DemoReport(out, counts, list(task.shapes))
