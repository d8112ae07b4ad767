"""Pair prediction and ground-truth PNG folders for evaluation (same relative paths).

Videos are the folders holding ground-truth PNGs, in natural-sorted order of their relative path; frames
are natural-sorted by file name. A ground-truth frame without a prediction is an error naming the frame.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from natsort import natsorted

from avs_studio.io.errors import DatasetError
from avs_studio.io.images import read_binary_mask, read_gray, read_labels
from avs_studio.masks import avss_palette


class MissingPredictionError(DatasetError):
    """A ground-truth frame has no prediction at the same relative path."""


def video_folders(gt_root: str | os.PathLike[str]) -> list[tuple[str, list[str]]]:
    """[(relative folder, [frame file names])] of every folder with PNGs under ``gt_root``, natural order."""
    root = Path(gt_root)
    if not root.is_dir():
        raise DatasetError(f"{root} is not a folder of ground-truth PNGs")
    groups: dict[str, list[str]] = defaultdict(list)
    for p in root.rglob("*"):
        if p.suffix.lower() == ".png" and p.is_file():
            groups[p.parent.relative_to(root).as_posix()].append(p.name)
    if not groups:
        raise DatasetError(f"{root} holds no PNG files")
    return [(folder, natsorted(groups[folder])) for folder in natsorted(groups)]


def iter_video_pairs(
    pred_root: str | os.PathLike[str], gt_root: str | os.PathLike[str], task: str = "binary"
) -> Iterator[tuple[str, list[np.ndarray], list[np.ndarray]]]:
    """Yield (folder, predictions, ground truths) per video; binary: uint8 probabilities and bool masks,
    semantic: class indices (index PNGs as they are, colour PNGs through the AVSS palette)."""
    if task not in ("binary", "semantic"):
        raise ValueError(f"unknown task {task!r}: use 'binary' or 'semantic'")
    pred_root, gt_root = Path(pred_root), Path(gt_root)
    if not pred_root.is_dir():
        raise DatasetError(f"{pred_root} is not a folder of prediction PNGs")
    palette = avss_palette()
    for folder, names in video_folders(gt_root):
        preds, gts = [], []
        for name in names:
            rel = f"{folder}/{name}" if folder != "." else name
            gt_path, pred_path = gt_root / rel, pred_root / rel
            if not pred_path.is_file():
                raise MissingPredictionError(
                    f"no prediction for ground-truth frame {rel}: expected {pred_path}"
                )
            if task == "binary":
                p, g = read_gray(pred_path), read_binary_mask(gt_path)
            else:
                p, g = read_labels(pred_path, palette), read_labels(gt_path, palette)
            if p.shape != g.shape:
                raise DatasetError(
                    f"{pred_path} is {p.shape[1]}x{p.shape[0]} but {gt_path} is {g.shape[1]}x{g.shape[0]}"
                )
            preds.append(p)
            gts.append(g)
        yield folder, preds, gts
