"""AVSBench evaluation: of prediction PNG folders against ground-truth folders, or between two sets of
annotations inside a project (e.g. OpenAVS proposals vs the annotators' accepted masks).

Both return {"miou", "fscore", "frames", "batches"} (semantic: "classes" instead of "batches"); the
metrics are avs_studio.masks.metrics (the official AVSBench rule, see docs/evaluation.md).
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np

from avs_studio.io.evalfolders import iter_video_pairs
from avs_studio.jobs.importing import LABEL2IDX_SETTING
from avs_studio.masks import decode
from avs_studio.masks.metrics import BATCH_VIDEOS, BinaryEvaluator, SemanticEvaluator
from avs_studio.progress import Progress
from avs_studio.store import AnnotationRow

TASKS = ("binary", "semantic")
PROTOCOLS = ("avsbench", "per-frame")


def _evaluator(task: str, protocol: str, batch_videos: int) -> Any:
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}: use one of {', '.join(TASKS)}")
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}: use one of {', '.join(PROTOCOLS)}")
    if task == "binary":
        return BinaryEvaluator(protocol, batch_videos)
    return SemanticEvaluator(batch_videos=batch_videos if protocol == "avsbench" else 1)


def evaluate_folders(
    pred: str | os.PathLike[str],
    gt: str | os.PathLike[str],
    *,
    task: str = "binary",
    protocol: str = "avsbench",
    batch_videos: int = BATCH_VIDEOS,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Evaluate PNG folders (see avs_studio.io.evalfolders for how frames are paired and ordered)."""
    ev = _evaluator(task, protocol, batch_videos)
    for n, (folder, preds, gts) in enumerate(iter_video_pairs(pred, gt, task)):
        ev.add_video(preds, gts)
        if progress:
            progress(n + 1, 0, folder)
    result: dict[str, Any] = ev.result()
    return result


def _masks_by_frame(store: Any, video_id: int, spec: dict[str, Any]) -> dict[int, list[AnnotationRow]]:
    out: dict[int, list[AnnotationRow]] = defaultdict(list)
    for a in store.iter_annotations(video_id=video_id, status=spec.get("status"), source=spec.get("source")):
        out[a.frame].append(a)
    return out


def evaluate(
    project: Any,
    pred: dict[str, Any] | None = None,
    gt: dict[str, Any] | None = None,
    *,
    task: str = "binary",
    protocol: str = "avsbench",
    split: str | None = None,
    batch_videos: int = BATCH_VIDEOS,
) -> dict[str, Any]:
    """Score annotations matching ``pred`` ({"status": .., "source": ..}) against those matching ``gt``.

    Frames are the ground truth's annotated frames, per video in id order; a frame with no prediction
    counts as an empty prediction (reported as "missing_pred"). Binary: the union of a frame's objects;
    semantic: object labels become class indices (the imported AVSS mapping, then new indices in order).
    """
    pred = pred or {"source": "proposal"}
    gt = gt or {"status": "accepted"}
    store = project.store
    ev = _evaluator(task, protocol, batch_videos)
    class_of: dict[str, int] = dict(store.get_setting(LABEL2IDX_SETTING) or {})
    missing = 0

    def class_index(label: str) -> int:
        if label not in class_of:
            num_classes = int(ev.num_classes)
            free = sorted(set(range(1, num_classes)) - set(class_of.values()))
            if not free:
                raise ValueError(f"more than {num_classes - 1} classes: no index left for {label!r}")
            class_of[label] = free[0]
        return class_of[label]

    for video in store.videos(split=split):
        gt_frames = _masks_by_frame(store, video.id, gt)
        if not gt_frames:
            continue
        pred_frames = _masks_by_frame(store, video.id, pred)
        labels = {o.id: o.label for o in store.objects(video.id)}
        size = (video.height, video.width)
        preds: list[np.ndarray] = []
        gts: list[np.ndarray] = []
        for fi in sorted(gt_frames):
            if fi not in pred_frames:
                missing += 1
            if task == "binary":
                gts.append(_union(gt_frames[fi], size))
                preds.append(_union(pred_frames.get(fi, []), size))
            else:
                gts.append(_labels(gt_frames[fi], size, labels, class_index))
                preds.append(_labels(pred_frames.get(fi, []), size, labels, class_index))
        ev.add_video(preds, gts)
    return {**ev.result(), "missing_pred": missing}


def _union(anns: list[AnnotationRow], size: tuple[int, int]) -> np.ndarray:
    m = np.zeros(size, bool)
    for a in anns:
        if a.area:
            m |= decode(a.rle)
    return m


def _labels(
    anns: list[AnnotationRow], size: tuple[int, int], labels: dict[int, str], class_index: Callable[[str], int]
) -> np.ndarray:
    out = np.zeros(size, np.int32)
    for a in anns:
        if a.area and a.object_id is not None:
            out[decode(a.rle)] = class_index(labels.get(a.object_id, ""))
    return out
