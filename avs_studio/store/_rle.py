"""Private RLE adapter: avs_studio.masks when it is there, pycocotools directly otherwise."""

from __future__ import annotations

from typing import Any

import numpy as np

try:  # the masks layer owns RLE; fall back to the same pycocotools calls until it lands
    from avs_studio.masks import decode as _decode
    from avs_studio.masks import encode as _encode
except ImportError:  # pragma: no cover - depends on the masks layer being present
    from pycocotools import mask as _coco

    def _encode(mask: np.ndarray) -> dict[str, Any]:
        rle = _coco.encode(np.asfortranarray(np.asarray(mask, dtype=np.uint8)))
        return {"size": [int(rle["size"][0]), int(rle["size"][1])], "counts": rle["counts"].decode("utf-8")}

    def _decode(rle: dict[str, Any]) -> np.ndarray:
        counts = rle["counts"]
        coco = {
            "size": list(rle["size"]),
            "counts": counts.encode("utf-8") if isinstance(counts, str) else counts,
        }
        return _coco.decode(coco).astype(bool)


def _area(rle: dict[str, Any]) -> int:
    from pycocotools import mask as coco

    counts = rle["counts"]
    return int(
        coco.area(
            {"size": list(rle["size"]), "counts": counts.encode() if isinstance(counts, str) else counts}
        )
    )


def to_rle(mask_or_rle: Any) -> tuple[dict[str, Any], int]:
    """A bool mask or an RLE dict -> (RLE with str counts, area in pixels)."""
    if isinstance(mask_or_rle, dict):
        if "size" not in mask_or_rle or "counts" not in mask_or_rle:
            raise ValueError("an RLE must be a dict with 'size' [h, w] and 'counts'")
        counts = mask_or_rle["counts"]
        if isinstance(counts, list):  # uncompressed COCO RLE -> compressed
            from pycocotools import mask as coco

            h, w = mask_or_rle["size"]
            counts = coco.frPyObjects({"size": [h, w], "counts": counts}, h, w)["counts"]
        if isinstance(counts, bytes):
            counts = counts.decode("utf-8")
        rle = {"size": [int(mask_or_rle["size"][0]), int(mask_or_rle["size"][1])], "counts": counts}
        return rle, _area(rle)
    mask = np.asarray(mask_or_rle)
    if mask.ndim != 2:
        raise ValueError(f"a mask must be a 2-D array (H, W), got shape {mask.shape}")
    mask = mask.astype(bool, copy=False)
    return _encode(mask), int(mask.sum())


def to_mask(rle: dict[str, Any]) -> np.ndarray:
    return np.asarray(_decode(rle), dtype=bool)
