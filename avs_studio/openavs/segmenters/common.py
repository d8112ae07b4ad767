"""Helpers shared by the text segmenters."""

from __future__ import annotations

import numpy as np

NMS_IOU = 0.7  # boxes overlapping more than this are one object (the best-scored one is kept)


def merge_duplicates(boxes: np.ndarray, scores: np.ndarray, iou: float = NMS_IOU) -> list[int]:
    """Indices of the boxes non-maximum suppression keeps (torchvision.ops.nms over all phrases together),
    best score first. ``iou`` >= 1 keeps every box. Boxes are (N, 4) xyxy."""
    import torch
    from torchvision.ops import nms

    n = len(boxes)
    if n == 0:
        return []
    order = [int(i) for i in np.argsort(-np.asarray(scores, np.float64), kind="stable")]
    if iou >= 1.0 or n == 1:
        return order
    keep = nms(
        torch.as_tensor(np.asarray(boxes, np.float32)),
        torch.as_tensor(np.asarray(scores, np.float32)),
        float(iou),
    )
    return [int(i) for i in keep]
