"""Masks in and out of the database, through avs_studio.masks (COCO RLE via pycocotools)."""

from __future__ import annotations

from typing import Any

import numpy as np

from avs_studio.masks import decode, encode, rle_area


def to_rle(mask_or_rle: Any) -> tuple[dict[str, Any], int]:
    """A bool mask (H, W) or an RLE dict -> (compressed RLE with str counts, area in pixels).

    Malformed RLEs raise ValueError (checked by avs_studio.masks before anything is stored).
    """
    if isinstance(mask_or_rle, dict):
        area = rle_area(mask_or_rle)  # validates size and counts (the costly part: done once)
        counts = mask_or_rle["counts"]
        if isinstance(counts, list):  # COCO's uncompressed form -> compressed
            return encode(decode(mask_or_rle)), area
        h, w = (int(v) for v in mask_or_rle["size"])
        return {
            "size": [h, w],
            "counts": counts.decode("ascii") if isinstance(counts, bytes) else counts,
        }, area
    mask = np.asarray(mask_or_rle)
    if mask.ndim != 2:
        raise ValueError(f"a mask must be a 2-D array (H, W), got shape {mask.shape}")
    mask = mask.astype(bool, copy=False)
    return encode(mask), int(np.count_nonzero(mask))


def to_mask(rle: dict[str, Any]) -> np.ndarray:
    return decode(rle)
