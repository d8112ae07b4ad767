"""COCO run-length encoding of binary masks, through pycocotools.

An RLE is a plain dict ``{"size": [h, w], "counts": str}``: COCO's compressed RLE (column-major runs)
with ``counts`` as an ASCII string, so it goes straight into JSON or a database text column.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pycocotools.mask as coco_mask

from avs_studio.masks.ops import as_mask

RLE = dict[str, Any]


def encode(mask: np.ndarray) -> RLE:
    """Encode a 2-D bool mask (h, w) as a COCO compressed RLE with ``counts`` as str."""
    m = as_mask(mask)
    coco = coco_mask.encode(np.asfortranarray(m, dtype=np.uint8))
    return {"size": [int(m.shape[0]), int(m.shape[1])], "counts": coco["counts"].decode("ascii")}


def decode(rle: RLE) -> np.ndarray:
    """Decode an RLE (counts as str, bytes, or COCO's uncompressed list of ints) to a bool (h, w) array."""
    coco = _to_coco(rle)
    with warnings.catch_warnings():
        # pycocotools' Cython decode trips numpy 2's __array__(copy=...) deprecation; harmless
        warnings.filterwarnings("ignore", "__array__ implementation", DeprecationWarning)
        decoded = coco_mask.decode(coco)
    return np.ascontiguousarray(decoded, dtype=bool)


def empty_rle(height: int, width: int) -> RLE:
    """The RLE of an all-false mask of this size."""
    _check_size([height, width])
    return encode(np.zeros((height, width), dtype=bool))


def rle_size(rle: RLE) -> tuple[int, int]:
    """(h, w) of an RLE, after validating it."""
    h, w = _to_coco(rle)["size"]
    return int(h), int(w)


def rle_area(rle: RLE) -> int:
    """Number of true pixels."""
    return int(coco_mask.area(_to_coco(rle)))


def rle_bbox(rle: RLE) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) with x1/y1 exclusive, or None for an empty mask (same rule as ops.bbox)."""
    coco = _to_coco(rle)
    if coco_mask.area(coco) == 0:
        return None
    x, y, w, h = (int(v) for v in coco_mask.toBbox(coco))
    return x, y, x + w, y + h


def rle_merge(rles: Sequence[RLE], *, intersect: bool = False) -> RLE:
    """Union (or intersection with ``intersect=True``) of RLEs of the same size, without decoding."""
    if len(rles) == 0:
        raise ValueError("rle_merge needs at least one RLE (the size of an empty merge is unknown)")
    cocos = [_to_coco(r) for r in rles]
    sizes = {tuple(c["size"]) for c in cocos}
    if len(sizes) != 1:
        raise ValueError(f"cannot merge RLEs of different sizes: {sorted(sizes)}")
    merged = coco_mask.merge(cocos, intersect=int(intersect))
    return {"size": [int(v) for v in merged["size"]], "counts": merged["counts"].decode("ascii")}


def rle_union(*rles: RLE) -> RLE:
    """Union of one or more RLEs of the same size."""
    return rle_merge(rles)


def rle_intersection(a: RLE, b: RLE) -> RLE:
    """Intersection of two RLEs of the same size."""
    return rle_merge([a, b], intersect=True)


def _check_size(size: Any) -> tuple[int, int]:
    ok = isinstance(size, Sequence) and len(size) == 2
    ok = ok and all(isinstance(v, int | np.integer) and not isinstance(v, bool) and v > 0 for v in size)
    if not ok:
        raise ValueError(f"RLE size must be [height, width] with two positive ints, got {size!r}")
    return int(size[0]), int(size[1])


def _to_coco(rle: RLE) -> dict[str, Any]:
    """Validate an RLE and return it in pycocotools' form (counts as bytes)."""
    if not isinstance(rle, dict) or "size" not in rle or "counts" not in rle:
        raise ValueError(f"an RLE must be a dict with 'size' and 'counts', got {type(rle).__name__}")
    h, w = _check_size(rle["size"])
    counts = rle["counts"]
    if isinstance(counts, list):
        if any(not isinstance(c, int) or c < 0 for c in counts) or sum(counts) != h * w:
            raise ValueError(f"uncompressed RLE counts must be non-negative ints summing to {h}*{w}")
        return dict(coco_mask.frPyObjects({"size": [h, w], "counts": counts}, h, w))
    if isinstance(counts, str):
        if not counts.isascii():
            raise ValueError("malformed RLE: counts string has non-ASCII characters")
        counts = counts.encode("ascii")
    if not isinstance(counts, bytes):
        raise ValueError(f"RLE counts must be str, bytes or a list of ints, got {type(counts).__name__}")
    total = _counts_total(counts)
    if total != h * w:
        raise ValueError(f"malformed RLE: counts cover {total} pixels but size {h}x{w} has {h * w}")
    return {"size": [h, w], "counts": counts}


def _counts_total(counts: bytes) -> int:
    """Sum of the runs in COCO's compressed counts string (mirrors rleFrString in maskApi.c).

    pycocotools does not check that the runs cover the whole mask and returns uninitialised pixels
    when they fall short, so every string is checked here before decoding. Vectorised: each
    character holds 5 bits of a number, 0x20 continues the number, 0x10 in its last one is the sign;
    from the fourth run on, a number is the difference to the run two places before.
    """
    chars = np.frombuffer(counts, dtype=np.uint8).astype(np.int64) - 48
    if not len(chars):
        return 0
    bad = np.flatnonzero((chars < 0) | (chars >= 64))
    if len(bad):
        raise ValueError(f"malformed RLE: invalid character {chr(counts[bad[0]])!r} in counts")
    ends = (chars & 0x20) == 0
    if not ends[-1]:
        raise ValueError("malformed RLE: counts string ends inside a number")
    starts = np.flatnonzero(np.concatenate(([True], ends[:-1])))
    group = np.cumsum(np.concatenate(([0], ends[:-1].astype(np.int64))))
    shift = 5 * (np.arange(len(chars)) - starts[group])
    values = np.zeros(len(starts), dtype=np.int64)
    np.add.at(values, group, (chars & 0x1F) << shift)
    lengths = np.diff(np.append(starts, len(chars)))
    negative = (chars[ends] & 0x10) != 0
    values[negative] |= np.left_shift(np.int64(-1), 5 * lengths[negative])
    runs = values.copy()
    for parity in (1, 2):  # run i = value i + run i-2, for i > 2: cumulative sums along each parity
        idx = np.arange(parity, len(runs), 2)
        if len(idx) > 1:
            runs[idx[1:]] = runs[idx[0]] + np.cumsum(values[idx[1:]])
    if (runs < 0).any():
        raise ValueError("malformed RLE: negative run length in counts")
    return int(runs.sum())
