"""Small shared data for the store tests."""

from __future__ import annotations

import numpy as np

VIDEO = {"path": "/media/dog.mp4", "fps": 25.0, "frame_count": 250, "width": 64, "height": 48,
         "duration": 10.0, "has_audio": True, "sha256": "ab" * 32}  # fmt: skip


def box_mask(y0: int, y1: int, x0: int, x1: int, shape: tuple[int, int] = (48, 64)) -> np.ndarray:
    m = np.zeros(shape, bool)
    m[y0:y1, x0:x1] = True
    return m
