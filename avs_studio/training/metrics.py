"""Validation scores during training, with the AVSBench binary formulas (docs: OPENAVS.md).

These monitor training: mIoU is the mean per-frame IoU and F the F-score of the whole validation set
taken as one batch. The reported benchmark figures come from ``avs-studio eval`` (avs_studio.masks.metrics).
"""

from __future__ import annotations

import torch

_THRESHOLDS = torch.linspace(0, 1 - 1e-10, 255, dtype=torch.float32)


def frame_iou(probs: torch.Tensor, gts: torch.Tensor) -> torch.Tensor:
    """probs (N, H, W) foreground probabilities, gts (N, H, W) {0, 1} -> (N,) IoU per frame.
    A frame with empty ground truth scores the fraction of pixels predicted background."""
    pred = (probs > 0.5).float().flatten(1)
    g = gts.float().flatten(1)
    inter = (pred * g).sum(1)
    union = ((pred + g) > 0).float().sum(1)
    iou = inter / (union + 1e-7)
    empty = g.sum(1) == 0
    return torch.where(empty, 1 - pred.mean(1), iou)


def f_score(probs: torch.Tensor, gts: torch.Tensor, beta2: float = 0.3) -> float:
    """Max over 255 thresholds of the mean F curve of the frames with foreground (0 if there are none)."""
    p = probs.float().flatten(1)
    g = gts.float().flatten(1)
    keep = g.sum(1) > 0
    if not bool(keep.any()):
        return 0.0
    p, g = p[keep], g[keep]
    curves = []
    for t in _THRESHOLDS:
        pos = (p >= t).float()
        tp = (pos * g).sum(1)
        prec = tp / (pos.sum(1) + 1e-20)
        rec = tp / (g.sum(1) + 1e-20)
        f = (1 + beta2) * prec * rec / (beta2 * prec + rec)
        curves.append(torch.nan_to_num(f, nan=0.0))
    return float(torch.stack(curves, 1).mean(0).max())


def scores(probs: torch.Tensor, gts: torch.Tensor) -> dict[str, float]:
    if len(probs) == 0:
        return {"miou": 0.0, "f": 0.0}
    return {"miou": float(frame_iou(probs, gts).mean()), "f": f_score(probs, gts)}
