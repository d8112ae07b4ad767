"""Fusing the forward and the backward guess of a frame's mask.

Averaging two masks pixel by pixel gives their intersection or union where they disagree. Here both
guesses are first moved to the weighted position of their centroids (so two guesses that do not overlap
still meet), then their signed distance fields are blended: the shape in between. Work is done in the
bounding box of both masks.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

MARGIN = 4


def _bbox(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def _centroid(mask: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    x0, y0, x1, y1 = box
    mo = cv2.moments(mask[y0:y1, x0:x1].astype(np.uint8), binaryImage=True)
    return np.array([x0 + mo["m10"] / mo["m00"], y0 + mo["m01"] / mo["m00"]])


def _shift(mask: np.ndarray, d: np.ndarray) -> np.ndarray:
    if abs(d[0]) < 0.5 and abs(d[1]) < 0.5:
        return mask
    h, w = mask.shape
    m = np.array([[1.0, 0.0, d[0]], [0.0, 1.0, d[1]]])
    return cv2.warpAffine(mask.astype(np.uint8), m, (w, h), flags=cv2.INTER_NEAREST).astype(bool)


def signed_distance(mask: np.ndarray) -> np.ndarray:
    """float32: distance to the boundary, positive inside, negative outside (pixels)."""
    m = mask.astype(np.uint8)
    inside = cv2.distanceTransform(m, cv2.DIST_L2, 3)
    outside = cv2.distanceTransform(1 - m, cv2.DIST_L2, 3)
    return inside - outside


def blend(forward: np.ndarray, backward: np.ndarray, weight_forward: float) -> np.ndarray:
    """The mask between two guesses: weight 1 gives ``forward``, 0 gives ``backward``."""
    if weight_forward >= 1.0:
        return forward.copy()
    if weight_forward <= 0.0:
        return backward.copy()
    bf, bb = _bbox(forward), _bbox(backward)
    if bf is None or bb is None:  # one guess lost the object: keep the other
        return (forward if bb is None else backward).copy()
    cf, cb = _centroid(forward, bf), _centroid(backward, bb)
    centre = weight_forward * cf + (1.0 - weight_forward) * cb
    pad = MARGIN + math.ceil(max(np.abs(centre - cf).max(), np.abs(centre - cb).max()))
    h, w = forward.shape
    x0, y0 = max(0, min(bf[0], bb[0]) - pad), max(0, min(bf[1], bb[1]) - pad)
    x1, y1 = min(w, max(bf[2], bb[2]) + pad), min(h, max(bf[3], bb[3]) + pad)
    f = _shift(forward[y0:y1, x0:x1], centre - cf)
    b = _shift(backward[y0:y1, x0:x1], centre - cb)
    out = np.zeros(forward.shape, bool)
    sdf = weight_forward * signed_distance(f) + (1.0 - weight_forward) * signed_distance(b)
    out[y0:y1, x0:x1] = sdf > 0
    return out


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.count_nonzero(a | b)
    return 1.0 if union == 0 else float(np.count_nonzero(a & b)) / union
