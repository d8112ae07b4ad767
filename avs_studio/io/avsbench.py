"""AVSBench folder layouts (S4, MS3, AVSS): paths, a streaming reader with problem reports, a CSV writer.

The paths are exactly those the official loaders open (avs_scripts/avs_s4|avs_ms3/dataloader.py,
avs_scripts/avss/color_dataloader.py); reader and writer share them, so a layout round-trips.

- S4: ``s4_meta_data.csv`` (name, start_time, category, split);
  ``visual_frames/{split}/{category}/{name}/{name}_{k}.png`` k = 1..5, ``gt_masks/`` likewise (train: k=1),
  ``audio_wav/{split}/{category}/{name}.wav``.
- MS3: ``ms3_meta_data.csv`` (name, split); ``visual_frames/{name}/{name}.mp4_{k}.png``,
  ``gt_masks/{split}/{name}/{name}_{k}.png``, ``audio_wav/{split}/{name}.wav``.
- AVSS: ``metadata.csv`` (vid, uid, s_min, s_sec, a_obj, split, label);
  ``{label}/{uid}/frames/{i}.jpg``, ``{label}/{uid}/audio.wav``, ``{label}/{uid}/labels_rgb/{i}.png``
  (i from 0; 5 frames for v1s/v1m, 10 for v2) in the 71-colour palette, plus ``label2idx.json``.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from avs_studio.io.errors import DatasetError
from avs_studio.names import UnsafePathError, name_problem, safe_join

SUBSETS = ("s4", "ms3", "avss")
CSV_NAME = {"s4": "s4_meta_data.csv", "ms3": "ms3_meta_data.csv", "avss": "metadata.csv"}
CSV_COLUMNS: dict[str, list[str]] = {
    "s4": ["name", "start_time", "category", "split"],
    "ms3": ["name", "split"],
    "avss": ["vid", "uid", "s_min", "s_sec", "a_obj", "split", "label"],
}
AVSS_LABELS = ("v1s", "v1m", "v2")
AVSS_FRAMES = {"v1s": 5, "v1m": 5, "v2": 10}
BINARY_FRAMES = 5
PATH_COLUMNS = ("name", "uid", "category", "label", "split")  # values that become folder / file names
LABEL2IDX = "label2idx.json"
SPLITS = ("train", "val", "test")
MS3_LABEL = "sounding object"


@dataclass(frozen=True)
class Problem:
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass
class ClipEntry:
    """One clip of a layout: its CSV row and the files that exist for it (frame index from 0)."""

    subset: str
    row: dict[str, str]
    frames: list[Path]
    masks: dict[int, Path] = field(default_factory=dict)
    audio: Path | None = None

    @property
    def name(self) -> str:
        return clip_name(self.subset, self.row)

    @property
    def split(self) -> str:
        return self.row["split"]

    @property
    def category(self) -> str | None:
        return self.row.get("category") if self.subset == "s4" else None


def check_subset(subset: str) -> str:
    if subset not in SUBSETS:
        raise DatasetError(f"unknown AVSBench subset {subset!r}: use one of {', '.join(SUBSETS)}")
    return subset


def clip_name(subset: str, row: dict[str, str]) -> str:
    return row["uid"] if subset == "avss" else row["name"]


def frame_count(subset: str, row: dict[str, str]) -> int:
    return AVSS_FRAMES[row["label"]] if subset == "avss" else BINARY_FRAMES


def _png_relpath(top: str, subset: str, row: dict[str, str], i: int) -> str:
    """``top/[split/][category/]name/name_{i + 1}.png``: S4 frames and masks, MS3 masks."""
    folders = [row["split"], row["category"]] if subset == "s4" else [row["split"]]
    return "/".join([top, *folders, row["name"], f"{row['name']}_{i + 1}.png"])


def frame_relpath(subset: str, row: dict[str, str], i: int) -> str:
    """Relative path of frame ``i`` (0-based) of a clip."""
    if subset == "s4":
        return _png_relpath("visual_frames", subset, row, i)
    if subset == "ms3":
        return f"visual_frames/{row['name']}/{row['name']}.mp4_{i + 1}.png"
    return f"{row['label']}/{row['uid']}/frames/{i}.jpg"


def mask_relpath(subset: str, row: dict[str, str], i: int) -> str:
    """Relative path of the ground-truth mask of frame ``i`` (0-based)."""
    if subset in ("s4", "ms3"):
        return _png_relpath("gt_masks", subset, row, i)
    return f"{row['label']}/{row['uid']}/labels_rgb/{i}.png"


def audio_relpath(subset: str, row: dict[str, str]) -> str:
    if subset == "s4":
        return f"audio_wav/{row['split']}/{row['category']}/{row['name']}.wav"
    if subset == "ms3":
        return f"audio_wav/{row['split']}/{row['name']}.wav"
    return f"{row['label']}/{row['uid']}/audio.wav"


def expected_masks(subset: str, row: dict[str, str]) -> list[int]:
    """Frame indices the official loaders expect a mask for (S4 train: the first frame only)."""
    n = frame_count(subset, row)
    if (subset == "s4" or (subset == "avss" and row.get("label") == "v1s")) and row["split"] == "train":
        return [0]
    return list(range(n))


def _row_problem(subset: str, row: dict[str, str]) -> str | None:
    for col in CSV_COLUMNS[subset]:
        if not (row.get(col) or "").strip():
            return f"missing value for column {col!r}"
    for col in PATH_COLUMNS:
        value = row.get(col)
        problem = None if value is None else name_problem(value)
        if problem:
            return f"column {col!r} has an unusable value {value!r}: it {problem}"
    if subset == "avss" and row["label"] not in AVSS_LABELS:
        return f"label {row['label']!r} is not one of {', '.join(AVSS_LABELS)}"
    return None


def inside(root: str | os.PathLike[str], rel: str) -> Path:
    """``root / rel``; DatasetError when it (or a symlink on the way) leads outside ``root``."""
    try:
        return safe_join(root, rel)
    except UnsafePathError as exc:
        raise DatasetError(str(exc)) from exc


def read_text(path: Path) -> str:
    """A text file of a layout as UTF-8 (a BOM is fine); DatasetError naming the file otherwise."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DatasetError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DatasetError(
            f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); save it as UTF-8 and retry"
        ) from exc


def read_label2idx(root: str | os.PathLike[str]) -> dict[str, int] | None:
    """AVSS class name -> palette index from ``label2idx.json`` (None when the file is absent)."""
    path = inside(root, LABEL2IDX)
    if not path.is_file():
        return None
    try:
        data = json.loads(read_text(path))
        return {str(k): int(v) for k, v in data.items()}
    except (ValueError, TypeError, AttributeError) as exc:
        raise DatasetError(f"{path}: not a JSON object of class name -> index ({exc})") from exc


def scan_layout(
    root: str | os.PathLike[str],
    subset: str,
    splits: Sequence[str] | None = None,
    problems: list[Problem] | None = None,
) -> Iterator[ClipEntry]:
    """Stream the clips of a layout in CSV order; bad rows / missing files go to ``problems`` and are skipped.

    A clip is skipped when a frame or its audio is missing; a missing expected mask is reported and the
    clip is kept with the masks that exist.
    """
    check_subset(subset)
    root = Path(root)
    problems = problems if problems is not None else []
    csv_path = inside(root, CSV_NAME[subset])
    if not csv_path.is_file():
        raise DatasetError(f"{csv_path} not found: is {root} an AVSBench {subset.upper()} folder?")
    rows = _csv_rows(csv_path, subset)
    seen: dict[str, str] = {}
    for line, row in rows:
        where = f"{csv_path}:{line}"
        if row is None:
            problems.append(Problem(where, "malformed row (wrong number of fields)"))
            continue
        reason = _row_problem(subset, row)
        if reason:
            problems.append(Problem(where, f"malformed row: {reason}"))
            continue
        row = {k: v.strip() for k, v in row.items()}
        name = clip_name(subset, row)
        if name in seen:  # one clip name is one video: a second row would be merged into the first
            problems.append(
                Problem(where, f"duplicate clip name {name!r} (first on line {seen[name]}); row skipped")
            )
            continue
        seen[name] = str(line)
        if splits and row["split"] not in splits:
            continue
        entry = _entry(root, subset, row, problems)
        if entry is not None:
            yield entry


def _csv_rows(csv_path: Path, subset: str) -> list[tuple[int, dict[str, str] | None]]:
    """(line number, row) of every data row; None for a row with the wrong number of fields."""
    text = read_text(csv_path)
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        header = reader.fieldnames or []
        missing = [c for c in CSV_COLUMNS[subset] if c not in header]
        if missing:
            raise DatasetError(f"{csv_path}: the header lacks column(s) {', '.join(missing)}")
        out: list[tuple[int, dict[str, str] | None]] = []
        for row in reader:
            bad = None in row or any(v is None for v in row.values())
            out.append((reader.line_num, None if bad else row))
        return out
    except csv.Error as exc:
        raise DatasetError(f"{csv_path}: not a readable CSV file ({exc})") from exc


def _file(root: Path, rel: str) -> tuple[Path, str | None]:
    """``root / rel`` and why it cannot be read (None: it is a file inside ``root``)."""
    path = root / rel
    try:
        safe_join(root, rel)
    except UnsafePathError:
        return path, f"leads outside {root} (a symlink or a name with '..')"
    return path, None if path.is_file() else "missing"


def _entry(root: Path, subset: str, row: dict[str, str], problems: list[Problem]) -> ClipEntry | None:
    frames = []
    n = frame_count(subset, row)
    for i in range(n):
        p, why = _file(root, frame_relpath(subset, row, i))
        if why:
            problems.append(Problem(str(p), f"frame file {why}; clip skipped"))
            return None
        frames.append(p)
    audio, why = _file(root, audio_relpath(subset, row))
    if why:
        problems.append(Problem(str(audio), f"audio file {why}; clip skipped"))
        return None
    masks: dict[int, Path] = {}
    for i in range(n):
        p, why = _file(root, mask_relpath(subset, row, i))
        if why is None:
            masks[i] = p
        elif why != "missing":
            problems.append(Problem(str(p), f"ground-truth mask {why}; skipped"))
        elif i in expected_masks(subset, row):
            problems.append(Problem(str(p), "ground-truth mask missing"))
    return ClipEntry(subset, row, frames, masks, audio)


class CsvWriter:
    """Streams the metadata CSV of a layout (header first, one row per clip)."""

    def __init__(self, root: str | os.PathLike[str], subset: str, columns: Sequence[str] | None = None) -> None:
        check_subset(subset)
        self.path = Path(root) / CSV_NAME[subset]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.columns = list(columns or CSV_COLUMNS[subset])
        self._fh: IO[str] = open(self.path, "w", newline="", encoding="utf-8")  # noqa: SIM115
        self._w = csv.DictWriter(self._fh, fieldnames=self.columns, extrasaction="ignore")
        self._w.writeheader()
        self.rows = 0

    def write(self, row: dict[str, str]) -> None:
        self._w.writerow({c: row.get(c, "") for c in self.columns})
        self.rows += 1

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> CsvWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_csv_rows(root: str | os.PathLike[str], subset: str) -> list[dict[str, str]]:
    """All rows of a layout's CSV as dicts (for tests and tools); DatasetError if it is not UTF-8."""
    text = read_text(inside(root, CSV_NAME[check_subset(subset)]))
    return list(csv.DictReader(io.StringIO(text, newline="")))
