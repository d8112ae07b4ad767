"""AVSBench evaluation metrics (binary S4/MS3 and semantic AVSS), float32 like the official code.

Binary task (the official ``avs_scripts/avs_s4/utils/utility.py``: ``mask_iou``, ``_eval_pr``,
``Eval_Fmeasure``, averaged per test batch by ``pyutils.AverageMeter``):

- inputs are foreground probabilities ``p`` (the official code applies a sigmoid to logits first; give
  probabilities here) and ground truth ``g`` (anything non-zero is foreground);
- batch mIoU: foreground where ``p > 0.5``; IoU = inter / (union + 1e-7); a frame with empty ground truth
  scores the fraction of pixels predicted background; the batch value is the mean over its frames;
- batch F: beta^2 = 0.3 over the 255 float32 thresholds ``linspace(0, 1 - 1e-10, 255)`` (``p >= t``);
  empty-GT frames are skipped; NaN -> 0; the curves are averaged over kept frames and the maximum is
  taken; a batch with no kept frame scores 0 and still counts;
- dataset: frames in order, batches of 4 videos; the last partial batch weighs as a full one; the
  reported values are the means of the per-batch values (mIoU accumulated in float32 like the official
  tensor sum, F in Python floats like the official ``.item()`` values).

Every float32 operation is done in the official order; the one reduction whose order matters (the
batch mean of per-frame IoUs) follows PyTorch's CPU summation order (``_sum_f32``), so results equal a
PyTorch CPU run of the official functions bit for bit (tests/unit/masks/test_metrics_official.py).

Semantic task (AVSS): per frame and class, intersection, prediction and ground-truth pixel counts
(union = pred + gt - inter); class IoU = inter / (union + 2.2e-16); class F with beta^2 = 0.3 (NaN -> 0);
a class's frame count grows by one in each frame where its union is non-zero; per class the summed IoU
and F are divided by that count (0 when it never occurs); mIoU and F are the means over all classes
(71 with background). This is the rule of ``utils/compute_color_metrics.py``, NOT the published AVSS
``test.py``: that script unpacks the wrong number of return values from ``calc_color_miou_fscore`` and
pads 5-frame videos with blank frames that are then scored as background; neither accident is copied.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

F32 = np.float32
BETA2 = 0.3
NUM_THRESHOLDS = 255
IOU_EPS = F32(1e-7)
PR_EPS = F32(1e-20)
SEM_EPS = F32(2.220446049250313e-16)
AVSS_NUM_CLASSES = 71
BATCH_VIDEOS = 4
_F_NUM = F32(1 + BETA2)
_F_B2 = F32(BETA2)


def thresholds(num: int = NUM_THRESHOLDS) -> np.ndarray:
    """The float32 thresholds of ``torch.linspace(0, 1 - 1e-10, num)`` (CPU kernel, bit for bit).

    PyTorch computes ``start + step * i`` for the first half and ``end - step * (num - 1 - i)`` (a fused
    multiply-add, one rounding) for the second; the last value rounds to 1.0.
    """
    start, end = F32(0.0), F32(1 - 1e-10)
    step = F32((end - start) / F32(num - 1))
    idx = np.arange(num)
    half = num // 2
    low = (start + step * idx.astype(F32)).astype(F32)
    high = (np.float64(end) - np.float64(step) * (num - 1 - idx).astype(np.float64)).astype(F32)
    return np.where(idx < half, low, high).astype(F32)


_THRESHOLDS = thresholds()


# ---- PyTorch CPU float32 summation order (cascade sum, 4-way ILP over 8-lane vectors) ----------------


def _multi_row_sum(rows: np.ndarray) -> np.ndarray:
    """rows (size, nrows, lanes) -> (nrows, lanes): at::native multi_row_sum with 4 cascade levels."""
    size, nrows = rows.shape[0], rows.shape[1]
    num_levels = 4
    level_power = max(4, (math.ceil(math.log2(size)) if size > 1 else 0) // num_levels)
    level_step = 1 << level_power
    level_mask = level_step - 1
    acc = np.zeros((num_levels,) + rows.shape[1:], F32)
    i = 0
    while i + level_step <= size:
        for _ in range(level_step):
            acc[0] = acc[0] + rows[i]
            i += 1
        for j in range(1, num_levels):
            acc[j] = acc[j] + acc[j - 1]
            acc[j - 1] = 0
            if i & (level_mask << (j * level_power)):
                break
    while i < size:
        acc[0] = acc[0] + rows[i]
        i += 1
    for j in range(1, num_levels):
        acc[0] = acc[0] + acc[j]
    del nrows
    return np.asarray(acc[0])


def _row_sum(items: np.ndarray) -> np.ndarray:
    """items (size, lanes) -> (lanes,): at::native row_sum with ilp_factor 4."""
    ilp = 4
    size = items.shape[0]
    size_ilp = size // ilp
    if size_ilp:
        partial = _multi_row_sum(items[: size_ilp * ilp].reshape(size_ilp, ilp, -1))
    else:
        partial = np.zeros((ilp, items.shape[1]), F32)
    for i in range(size_ilp * ilp, size):
        partial[0] = partial[0] + items[i]
    for k in range(1, ilp):
        partial[0] = partial[0] + partial[k]
    return np.asarray(partial[0])


def _sum_f32(values: np.ndarray, lanes: int = 8) -> np.float32:
    """Sum a 1-D float32 array in the order PyTorch's CPU ``tensor.sum()`` uses (so results match it)."""
    x = np.ascontiguousarray(values, dtype=F32).ravel()
    n = x.shape[0]
    if n == 0:
        return F32(0)
    if n < lanes:  # scalar path
        return F32(_row_sum(x.reshape(n, 1))[0])
    nvec = n // lanes
    vec = _row_sum(x[: nvec * lanes].reshape(nvec, lanes))
    total = F32(0)
    for k in range(nvec * lanes, n):
        total = F32(total + x[k])
    for v in vec:
        total = F32(total + v)
    return total


# ---- binary task ------------------------------------------------------------------------------------


def as_probability(pred: np.ndarray) -> np.ndarray:
    """Foreground probability as float32: bool -> 0/1, uint8 -> value/255, floats as given."""
    pred = np.asarray(pred)
    if pred.dtype == bool:
        return pred.astype(F32)
    if pred.dtype == np.uint8:
        return pred.astype(F32) / F32(255)
    return pred.astype(F32, copy=False)


def as_binary_gt(gt: np.ndarray) -> np.ndarray:
    """Ground truth as a bool mask (anything non-zero is foreground)."""
    return np.asarray(np.not_equal(gt, 0), bool)


def _check_pair(prob: np.ndarray, gt: np.ndarray) -> None:
    if prob.ndim != 2 or prob.shape != gt.shape:
        raise ValueError(f"prediction {prob.shape} and ground truth {gt.shape} must be 2-D of the same size")


def frame_iou(pred: np.ndarray, gt: np.ndarray) -> np.float32:
    """One frame's score in the official ``mask_iou`` (p > 0.5; empty GT: fraction predicted background)."""
    prob, g = as_probability(pred), as_binary_gt(gt)
    _check_pair(prob, g)
    p = prob > 0.5
    if not g.any():
        inter, union = int((~p).sum()), p.size
    else:
        inter, union = int((p & g).sum()), int((p | g).sum())
    return F32(F32(inter) / F32(F32(union) + IOU_EPS))


def frame_f_curve(pred: np.ndarray, gt: np.ndarray, thr: np.ndarray = _THRESHOLDS) -> np.ndarray | None:
    """The F curve (float32, one value per threshold) of one frame; None when its ground truth is empty."""
    prob, g = as_probability(pred), as_binary_gt(gt)
    _check_pair(prob, g)
    n_gt = int(g.sum())
    if n_gt == 0:
        return None
    all_sorted = np.sort(prob, axis=None)
    fg_sorted = np.sort(prob[g], axis=None)
    npos = all_sorted.size - np.searchsorted(all_sorted, thr, side="left")  # count of p >= t
    tp = fg_sorted.size - np.searchsorted(fg_sorted, thr, side="left")
    tp32 = tp.astype(F32)
    prec = tp32 / (npos.astype(F32) + PR_EPS)
    recall = tp32 / (F32(n_gt) + PR_EPS)
    with np.errstate(invalid="ignore", divide="ignore"):
        f = (_F_NUM * prec) * recall / (_F_B2 * prec + recall)
    f[np.isnan(f)] = 0
    return f.astype(F32)


@dataclass
class _Batch:
    ious: list[np.float32] = field(default_factory=list)
    f_sum: np.ndarray | None = None
    kept: int = 0

    def add(self, pred: np.ndarray, gt: np.ndarray) -> None:
        self.ious.append(frame_iou(pred, gt))
        curve = frame_f_curve(pred, gt)
        if curve is not None:
            self.f_sum = curve.copy() if self.f_sum is None else (self.f_sum + curve).astype(F32)
            self.kept += 1

    def miou(self) -> np.float32:
        return F32(_sum_f32(np.asarray(self.ious, F32)) / F32(len(self.ious)))

    def fscore(self) -> float:
        if self.f_sum is None:
            return 0.0
        return float((self.f_sum / F32(self.kept)).astype(F32).max())


class _VideoBatches(ABC):
    """Videos added in order, ``batch_videos`` of them per batch (the official data loader's batches)."""

    batch_videos: int
    _videos_in_batch: int

    @abstractmethod
    def add_frame(self, pred: np.ndarray, gt: np.ndarray) -> None: ...

    @abstractmethod
    def _close_batch(self) -> None: ...

    def _by_video(self) -> bool:
        return True

    def end_video(self) -> None:
        """Close the current video (a batch closes after ``batch_videos`` videos)."""
        if not self._by_video():
            return
        self._videos_in_batch += 1
        if self._videos_in_batch >= self.batch_videos:
            self._close_batch()

    def add_video(self, preds: Iterable[np.ndarray], gts: Iterable[np.ndarray]) -> None:
        preds, gts = list(preds), list(gts)
        if len(preds) != len(gts):
            raise ValueError(f"{len(preds)} predictions for {len(gts)} ground-truth frames")
        for p, g in zip(preds, gts):
            self.add_frame(p, g)
        self.end_video()

    @abstractmethod
    def result(self) -> dict[str, Any]: ...

    def evaluate(self, videos: Iterable[tuple[Sequence[np.ndarray], Sequence[np.ndarray]]]) -> dict[str, Any]:
        """Add every (predictions, ground truths) video in order and return ``result()``."""
        for preds, gts in videos:
            self.add_video(preds, gts)
        return self.result()


class BinaryEvaluator(_VideoBatches):
    """Streaming AVSBench binary evaluation: add videos in order, read ``result()``.

    ``protocol="avsbench"`` groups ``batch_videos`` videos per batch (official: 4);
    ``protocol="per-frame"`` makes every frame its own batch (mIoU = mean frame IoU; F = mean of per-frame
    max-F over frames with foreground ground truth, empty-GT frames skipped, 0 when none).
    """

    def __init__(self, protocol: str = "avsbench", batch_videos: int = BATCH_VIDEOS) -> None:
        if protocol not in ("avsbench", "per-frame"):
            raise ValueError(f"unknown protocol {protocol!r}: use 'avsbench' or 'per-frame'")
        if batch_videos < 1:
            raise ValueError("batch_videos must be at least 1")
        self.protocol = protocol
        self.batch_videos = batch_videos
        self._batch = _Batch()
        self._videos_in_batch = 0
        self._miou_sum = F32(0)
        self._f_sum = 0.0
        self._batches = 0
        self._frames = 0
        self._f_frames = 0
        self._f_frame_sum = 0.0

    def add_frame(self, pred: np.ndarray, gt: np.ndarray) -> None:
        """Add one frame of the current video."""
        self._frames += 1
        if self.protocol == "per-frame":
            iou = frame_iou(pred, gt)
            self._miou_sum = F32(self._miou_sum + iou)
            self._batches += 1
            curve = frame_f_curve(pred, gt)
            if curve is not None:
                self._f_frame_sum += float(curve.max())
                self._f_frames += 1
            return
        self._batch.add(pred, gt)

    def _by_video(self) -> bool:
        return self.protocol == "avsbench"

    def _close_batch(self) -> None:
        if self._batch.ious:
            self._miou_sum = F32(self._miou_sum + self._batch.miou())
            self._f_sum += self._batch.fscore()
            self._batches += 1
        self._batch = _Batch()
        self._videos_in_batch = 0

    def result(self) -> dict[str, Any]:
        """{"miou", "fscore", "frames", "batches"}; closes a last partial batch (it weighs as a full one)."""
        if self.protocol == "avsbench":
            self._close_batch()
            if self._batches == 0:
                return {"miou": 0.0, "fscore": 0.0, "frames": 0, "batches": 0}
            miou = float(F32(self._miou_sum / F32(self._batches)))
            fscore = self._f_sum / self._batches
        else:
            if self._frames == 0:
                return {"miou": 0.0, "fscore": 0.0, "frames": 0, "batches": 0}
            miou = float(F32(self._miou_sum / F32(self._frames)))
            fscore = self._f_frame_sum / self._f_frames if self._f_frames else 0.0
        return {"miou": miou, "fscore": fscore, "frames": self._frames, "batches": self._batches}


def batch_miou(preds: Sequence[np.ndarray], gts: Sequence[np.ndarray]) -> float:
    """The official ``mask_iou`` of one batch of frames (given probabilities, not logits)."""
    b = _Batch(ious=[frame_iou(p, g) for p, g in zip(preds, gts)])
    if not b.ious:
        raise ValueError("a batch needs at least one frame")
    return float(b.miou())


def batch_fscore(preds: Sequence[np.ndarray], gts: Sequence[np.ndarray]) -> float:
    """The official ``Eval_Fmeasure`` of one batch (given probabilities): 0 when no frame has foreground."""
    b = _Batch()
    for p, g in zip(preds, gts):
        curve = frame_f_curve(p, g)
        if curve is not None:
            b.f_sum = curve.copy() if b.f_sum is None else (b.f_sum + curve).astype(F32)
            b.kept += 1
    return b.fscore()


def evaluate_binary(
    videos: Iterable[tuple[Sequence[np.ndarray], Sequence[np.ndarray]]],
    protocol: str = "avsbench",
    batch_videos: int = BATCH_VIDEOS,
) -> dict[str, Any]:
    """Evaluate (predictions, ground truths) per video, videos in order. Returns the ``result()`` dict."""
    return BinaryEvaluator(protocol, batch_videos).evaluate(videos)


# ---- semantic task ----------------------------------------------------------------------------------


def frame_class_scores(
    pred: np.ndarray, gt: np.ndarray, num_classes: int = AVSS_NUM_CLASSES
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-class (IoU, F, occurs) of one frame of class indices; occurs = union non-zero."""
    pred, gt = np.asarray(pred), np.asarray(gt)
    if pred.ndim != 2 or pred.shape != gt.shape:
        raise ValueError(f"prediction {pred.shape} and ground truth {gt.shape} must be 2-D of the same size")
    for name, arr in (("prediction", pred), ("ground truth", gt)):
        if arr.size and (int(arr.min()) < 0 or int(arr.max()) >= num_classes):
            raise ValueError(f"{name} has class indices outside [0, {num_classes})")
    p, g = pred.ravel().astype(np.int64), gt.ravel().astype(np.int64)
    area_pred = np.bincount(p, minlength=num_classes).astype(F32)
    area_lab = np.bincount(g, minlength=num_classes).astype(F32)
    area_inter = np.bincount(g[p == g], minlength=num_classes).astype(F32)
    area_union = area_pred + area_lab - area_inter
    iou = (F32(1.0) * area_inter) / (SEM_EPS + area_union)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = area_inter / area_pred
        recall = area_inter / area_lab
        f = (_F_NUM * precision) * recall / (_F_B2 * precision + recall)
    f[np.isnan(f)] = 0
    return iou.astype(F32), f.astype(F32), area_union != 0


class SemanticEvaluator(_VideoBatches):
    """Streaming AVSS evaluation over class-index frames (see the module docstring for the rule)."""

    def __init__(self, num_classes: int = AVSS_NUM_CLASSES, batch_videos: int = BATCH_VIDEOS) -> None:
        self.num_classes = num_classes
        self.batch_videos = batch_videos
        self._iou = np.zeros(num_classes, F32)
        self._f = np.zeros(num_classes, F32)
        self._count = np.zeros(num_classes, F32)
        self._b_iou = np.zeros(num_classes, F32)
        self._b_f = np.zeros(num_classes, F32)
        self._b_count = np.zeros(num_classes, F32)
        self._videos_in_batch = 0
        self._frames = 0

    def add_frame(self, pred: np.ndarray, gt: np.ndarray) -> None:
        iou, f, occurs = frame_class_scores(pred, gt, self.num_classes)
        self._b_iou = (self._b_iou + iou).astype(F32)
        self._b_f = (self._b_f + f).astype(F32)
        self._b_count[occurs] += 1
        self._frames += 1

    def _close_batch(self) -> None:
        self._iou = (self._iou + self._b_iou).astype(F32)
        self._f = (self._f + self._b_f).astype(F32)
        self._count = (self._count + self._b_count).astype(F32)
        self._b_iou[:] = 0
        self._b_f[:] = 0
        self._b_count[:] = 0
        self._videos_in_batch = 0

    def per_class(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(IoU per class, F per class, frame count per class) after closing the open batch."""
        self._close_batch()
        with np.errstate(invalid="ignore", divide="ignore"):
            iou = self._iou / self._count
            f = self._f / self._count
        iou[np.isnan(iou)] = 0
        f[np.isnan(f)] = 0
        return iou.astype(F32), f.astype(F32), self._count.copy()

    def result(self) -> dict[str, Any]:
        """{"miou", "fscore", "frames", "classes"}: means over all classes (background included)."""
        iou, f, count = self.per_class()
        n = F32(self.num_classes)
        return {
            "miou": float(F32(_sum_f32(iou) / n)),
            "fscore": float(F32(_sum_f32(f) / n)),
            "frames": self._frames,
            "classes": int((count != 0).sum()),
        }


def evaluate_semantic(
    videos: Iterable[tuple[Sequence[np.ndarray], Sequence[np.ndarray]]],
    num_classes: int = AVSS_NUM_CLASSES,
    batch_videos: int = BATCH_VIDEOS,
) -> dict[str, Any]:
    """Evaluate class-index (prediction, ground truth) frames per video, videos in order."""
    return SemanticEvaluator(num_classes, batch_videos).evaluate(videos)
