"""Small but valid AVSBench folders (S4, MS3, AVSS) for tests, with deliberate defects on request.

    from tests.helpers.avsbench_factory import make_s4, make_ms3, make_avss
    lay = make_s4(tmp_path / "s4")                       # 2 train + 1 val + 1 test clips, 48x64 frames
    lay = make_s4(tmp_path / "s4", defects=("malformed_row", "missing_frame", "unreadable_png"))
    lay.rows        # CSV rows written (dicts, CSV order; defect rows excluded)
    lay.frames[(name, i)], lay.masks[(name, i)]   # what was drawn (RGB uint8; bool or class indices)
    lay.defects     # defect name -> the path that carries it

Frames show a coloured disc and square on a shaded background (different per clip and frame); masks cover
the disc (binary) or disc + square with their classes (AVSS); the wav is a tone per clip (8 kHz mono).
Clip 1 of each layout has one all-black mask (frame 2, or 1 for S4 train) (an explicit "nothing sounds here").
Defects: "malformed_row" (a CSV row with a missing value), "missing_frame" (frame 3 of a clip deleted),
"unreadable_png" (a ground-truth PNG of a valid clip overwritten with junk), "missing_audio".
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from avs_studio.io import avsbench as layout
from avs_studio.io.writers import write_wav
from avs_studio.masks import avss_palette

RATE = 8000
S4_CATEGORIES = ("dog", "guitar", "male_speech")
AVSS_CLASS_NAMES = ["background", "dog", "guitar", "piano", "man", "car"] + [
    f"class_{i}" for i in range(6, 71)
]


@dataclass
class Layout:
    root: Path
    subset: str
    rows: list[dict[str, str]] = field(default_factory=list)
    frames: dict[tuple[str, int], np.ndarray] = field(default_factory=dict)
    masks: dict[tuple[str, int], np.ndarray] = field(default_factory=dict)
    defects: dict[str, Path] = field(default_factory=dict)

    def names(self, split: str | None = None) -> list[str]:
        return [layout.clip_name(self.subset, r) for r in self.rows if split is None or r["split"] == split]


def _draw(seed: int, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(RGB frame, disc mask, square mask) for a seed."""
    h, w = size
    rng = np.random.default_rng(seed)
    img = np.empty((h, w, 3), np.uint8)
    img[:] = rng.integers(30, 200, 3)
    img[:, :, 0] = (img[:, :, 0].astype(int) + np.arange(w)[None, :] % 16).clip(0, 255)
    yy, xx = np.mgrid[:h, :w]
    r = max(3, min(h, w) // 5)
    cy, cx = rng.integers(r, h - r), rng.integers(r, w - r)
    disc = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    s = max(3, min(h, w) // 6)
    y0, x0 = rng.integers(0, h - s), rng.integers(0, w - s)
    square = np.zeros((h, w), bool)
    square[y0 : y0 + s, x0 : x0 + s] = True
    square &= ~disc
    img[square] = (40, 200, 60)
    img[disc] = rng.integers(150, 256, 3)
    return img, disc, square


def _wav(path: Path, seconds: int, freq: float) -> None:
    t = np.arange(RATE * seconds) / RATE
    write_wav(path, (np.sin(2 * np.pi * freq * t) * (9000 / 32767))[None, :], RATE)


def _png(path: Path, arr: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path, format="PNG")


def _write_csv(root: Path, subset: str, rows: list[dict[str, str]], extra_lines: Sequence[str] = ()) -> None:
    path = root / layout.CSV_NAME[subset]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=layout.CSV_COLUMNS[subset])
        w.writeheader()
        for row in rows:
            w.writerow(row)
        for line in extra_lines:
            fh.write(line + "\r\n")


def _splits(per_split: dict[str, int]) -> list[str]:
    return [s for s, n in per_split.items() for _ in range(n)]


def _apply_defects(
    lay: Layout, defects: Sequence[str], victim: dict[str, str], mask_victim: dict[str, str]
) -> None:
    sub = lay.subset
    if "missing_frame" in defects:
        p = lay.root / layout.frame_relpath(sub, victim, 2)
        p.unlink()
        lay.defects["missing_frame"] = p
    if "unreadable_png" in defects:
        i = layout.expected_masks(sub, mask_victim)[-1]
        p = lay.root / layout.mask_relpath(sub, mask_victim, i)
        p.write_bytes(b"\x89PNG\r\n\x1a\nthis is not a png")
        lay.defects["unreadable_png"] = p
    if "missing_audio" in defects:
        p = lay.root / layout.audio_relpath(sub, victim)
        p.unlink()
        lay.defects["missing_audio"] = p


def _binary(root: Path, subset: str, per_split: dict[str, int], size, defects: Sequence[str]) -> Layout:
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    lay = Layout(root, subset)
    for n, split in enumerate(_splits(per_split)):
        name = f"{subset}clip{n:02d}_{split}"
        row = {"name": name, "split": split}
        if subset == "s4":
            row = {"name": name, "start_time": str(n * 10), "category": S4_CATEGORIES[n % 3], "split": split}
        lay.rows.append(row)
        for i in range(layout.BINARY_FRAMES):
            img, disc, _ = _draw(1000 * n + i, size)
            _png(root / layout.frame_relpath(subset, row, i), img)
            lay.frames[(name, i)] = img
        expected = layout.expected_masks(subset, row)
        for i in expected:
            _, disc, _ = _draw(1000 * n + i, size)
            if n == 1 and i == expected[min(1, len(expected) - 1)]:
                disc = np.zeros_like(disc)  # explicit empty ground truth
            _png(root / layout.mask_relpath(subset, row, i), np.where(disc, 255, 0).astype(np.uint8))
            lay.masks[(name, i)] = disc
        _wav(root / layout.audio_relpath(subset, row), 5, 300 + 100 * n)
    extra = []
    if "malformed_row" in defects:
        extra.append("brokenclip,,dog" if subset == "s4" else "brokenclip")
        lay.defects["malformed_row"] = root / layout.CSV_NAME[subset]
    _write_csv(root, subset, lay.rows, extra)
    _apply_defects(
        lay, defects, victim=lay.rows[-1], mask_victim=lay.rows[-2] if len(lay.rows) > 1 else lay.rows[0]
    )
    return lay


def make_s4(
    root: str | Path,
    per_split: dict[str, int] | None = None,
    size: tuple[int, int] = (48, 64),
    defects: Sequence[str] = (),
) -> Layout:
    """An S4 folder (train clips have a mask for frame 1 only)."""
    return _binary(Path(root), "s4", per_split or {"train": 2, "val": 1, "test": 1}, size, defects)


def make_ms3(
    root: str | Path,
    per_split: dict[str, int] | None = None,
    size: tuple[int, int] = (48, 64),
    defects: Sequence[str] = (),
) -> Layout:
    """An MS3 folder (all five frames annotated)."""
    return _binary(Path(root), "ms3", per_split or {"train": 2, "val": 1, "test": 1}, size, defects)


def make_avss(
    root: str | Path,
    clips: Sequence[tuple[str, str]] = (("v1s", "train"), ("v1m", "train"), ("v2", "val"), ("v1m", "test")),
    size: tuple[int, int] = (36, 44),
    defects: Sequence[str] = (),
) -> Layout:
    """An AVSS folder: (label, split) per clip; JPEG frames, colour masks in the 71-colour palette."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    lay = Layout(root, "avss")
    pal = avss_palette()
    (root / layout.LABEL2IDX).write_text(json.dumps({n: i for i, n in enumerate(AVSS_CLASS_NAMES)}))
    for n, (label, split) in enumerate(clips):
        uid = f"vid{n:03d}_{label}"
        row = {"vid": f"yt{n:04d}", "uid": uid, "s_min": "0", "s_sec": str(n), "a_obj": "dog_guitar",
               "split": split, "label": label}  # fmt: skip
        lay.rows.append(row)
        frames = layout.AVSS_FRAMES[label]
        for i in range(frames):
            img, disc, square = _draw(5000 + 100 * n + i, size)
            p = root / layout.frame_relpath("avss", row, i)
            p.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(img).save(p, format="JPEG", quality=92)
            lay.frames[(uid, i)] = np.asarray(Image.open(p).convert("RGB"))
        for i in layout.expected_masks("avss", row):
            _, disc, square = _draw(5000 + 100 * n + i, size)
            labels = np.zeros(size, np.int32)
            if not (n == 1 and i == 1):  # that frame: explicit empty
                labels[disc] = 1 + n % 2  # dog or guitar
                if i % 2 == 0:
                    labels[square] = 3 + (n % 3)  # piano / man / car on even frames only
            _png(root / layout.mask_relpath("avss", row, i), pal[labels])
            lay.masks[(uid, i)] = labels
        _wav(root / layout.audio_relpath("avss", row), frames, 250 + 90 * n)
    extra = []
    if "malformed_row" in defects:
        extra.append("ytbad,badclip,0,1,dog,train,v9")
        lay.defects["malformed_row"] = root / layout.CSV_NAME["avss"]
    _write_csv(root, "avss", lay.rows, extra)
    _apply_defects(
        lay, defects, victim=lay.rows[-1], mask_victim=lay.rows[-2] if len(lay.rows) > 1 else lay.rows[0]
    )
    return lay
