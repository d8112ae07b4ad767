"""Binary mask operations: set algebra, brush and eraser strokes, polygons, resizing, hole filling.

Masks are 2-D bool arrays indexed ``mask[row, col]``. Points and polygons are (x, y) = (col, row) in
pixel units with pixel centres at integer coordinates: pixel ``mask[r, c]`` is centred on (c, r) and
covers [c - 0.5, c + 0.5) x [r - 0.5, r + 0.5). (A Qt scene where pixel c covers [c, c + 1) subtracts
0.5 before calling.) Every function returns a new array and never changes its input.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Points = Sequence[Sequence[float]] | np.ndarray


def as_mask(mask: np.ndarray, name: str = "mask") -> np.ndarray:
    """Check that ``mask`` is a non-empty 2-D bool array (0/1 integers are converted) and return it."""
    m = np.asarray(mask)
    if m.ndim != 2 or m.shape[0] == 0 or m.shape[1] == 0:
        raise ValueError(f"{name} must be a non-empty 2-D (height, width) array, got shape {m.shape}")
    if m.dtype == bool:
        return m
    if np.issubdtype(m.dtype, np.integer) and ((m == 0) | (m == 1)).all():
        return m.astype(bool)
    raise ValueError(
        f"{name} must be a bool array (or integers 0/1), got dtype {m.dtype} with other values; "
        "threshold it first, e.g. mask > 0 or prob > 0.5"
    )


def _as_shape(shape: Sequence[int], name: str = "shape") -> tuple[int, int]:
    ok = len(shape) == 2 and all(isinstance(v, int | np.integer) and v > 0 for v in shape)
    if not ok:
        raise ValueError(f"{name} must be (height, width) with two positive ints, got {tuple(shape)!r}")
    return int(shape[0]), int(shape[1])


def _same_shape(masks: Sequence[np.ndarray]) -> list[np.ndarray]:
    checked = [as_mask(m, f"mask {i}") for i, m in enumerate(masks)]
    shapes = {m.shape for m in checked}
    if len(shapes) != 1:
        raise ValueError(f"masks must all have the same shape, got {sorted(shapes)}")
    return checked


def union(*masks: np.ndarray) -> np.ndarray:
    """Pixelwise OR of one or more masks of the same shape."""
    if not masks:
        raise ValueError("union needs at least one mask")
    return np.asarray(np.logical_or.reduce(_same_shape(masks)))


def intersection(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pixelwise AND of two masks of the same shape."""
    ma, mb = _same_shape([a, b])
    return np.asarray(ma & mb, bool)


def subtract(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pixels of ``a`` that are not in ``b``."""
    ma, mb = _same_shape([a, b])
    return np.asarray(ma & ~mb, bool)


def area(mask: np.ndarray) -> int:
    """Number of true pixels."""
    return int(np.count_nonzero(as_mask(mask)))


def bbox(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) of the true pixels with x1/y1 exclusive, or None for an empty mask."""
    m = as_mask(mask)
    rows = np.flatnonzero(m.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(m.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def _as_points(points: Points, name: str = "points") -> np.ndarray:
    p = np.asarray(points, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 2 or p.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty sequence of (x, y) pairs, got shape {p.shape}")
    if not np.isfinite(p).all():
        raise ValueError(f"{name} must be finite numbers (got NaN or inf)")
    return p


def _segment_hits(
    shape: tuple[int, int], a: np.ndarray, b: np.ndarray, radius: float
) -> tuple[slice, slice, np.ndarray] | None:
    """Pixels of the segment's bounding box whose centre is within ``radius`` of segment a-b."""
    h, w = shape
    x0 = max(int(np.floor(min(a[0], b[0]) - radius)), 0)
    x1 = min(int(np.ceil(max(a[0], b[0]) + radius)) + 1, w)
    y0 = max(int(np.floor(min(a[1], b[1]) - radius)), 0)
    y1 = min(int(np.ceil(max(a[1], b[1]) + radius)) + 1, h)
    if x0 >= x1 or y0 >= y1:
        return None
    px = np.arange(x0, x1, dtype=np.float64)[None, :] - a[0]
    py = np.arange(y0, y1, dtype=np.float64)[:, None] - a[1]
    r2 = radius * radius
    hit = px * px + py * py <= r2  # near a
    dx, dy = b[0] - a[0], b[1] - a[1]
    length2 = dx * dx + dy * dy
    if length2 > 0:
        qx, qy = px - dx, py - dy
        hit |= qx * qx + qy * qy <= r2  # near b
        dot = px * dx + py * dy
        cross = px * dy - py * dx
        hit |= (dot > 0) & (dot < length2) & (cross * cross <= r2 * length2)  # near the inside
    return slice(y0, y1), slice(x0, x1), hit


def stroke_mask(shape: Sequence[int], points: Points, radius: float) -> np.ndarray:
    """The pixels a round brush of ``radius`` covers along the polyline ``points`` [(x, y), ...].

    Rule: a pixel is covered when the Euclidean distance from its centre to the polyline (the single
    point, or the union of the closed segments between consecutive points) is <= radius. Radius 0
    covers only pixels whose centre lies exactly on the polyline. Points may lie off the image.
    """
    size = _as_shape(shape)
    p = _as_points(points)
    if not np.isfinite(radius) or radius < 0:
        raise ValueError(f"brush radius must be a finite number >= 0, got {radius!r}")
    out = np.zeros(size, dtype=bool)
    pairs = zip(p[:-1], p[1:]) if len(p) > 1 else [(p[0], p[0])]
    for a, b in pairs:
        hits = _segment_hits(size, a, b, float(radius))
        if hits is not None:
            rows, cols, hit = hits
            out[rows, cols] |= hit
    return out


def brush_stroke(mask: np.ndarray, points: Points, radius: float, value: bool = True) -> np.ndarray:
    """A copy of ``mask`` with the pixels of ``stroke_mask(mask.shape, points, radius)`` set to ``value``."""
    out = as_mask(mask).copy()
    out[stroke_mask(out.shape, points, radius)] = bool(value)
    return out


def erase_stroke(mask: np.ndarray, points: Points, radius: float) -> np.ndarray:
    """A copy of ``mask`` with exactly the pixels of the same round stroke cleared."""
    return brush_stroke(mask, points, radius, value=False)


def _cv_polygon(polygon: Points, name: str = "polygon") -> np.ndarray:
    p = _as_points(polygon, name)
    if np.abs(p).max() > 2**20:
        raise ValueError(f"{name} coordinates must be within +-{2**20} pixels")
    return np.floor(p + 0.5).astype(np.int32).reshape(-1, 1, 2)


def polygon_fill(
    shape: Sequence[int], polygon: Points, value: bool = True, mask: np.ndarray | None = None
) -> np.ndarray:
    """Fill ``polygon`` [(x, y), ...] (closed; the last vertex joins the first) with ``value``.

    Rule (cv2.fillPoly): vertices are rounded to the nearest pixel centre (halves up); the filled pixels
    are those whose centre is inside the polygon (even-odd rule) or on its boundary, plus the pixels
    of its outline drawn as 8-connected lines (cv2.line, LINE_8) between consecutive vertices, so a
    slanted edge may take pixels whose centre is up to half a pixel outside. Starts from ``mask`` (a
    copy) when given, otherwise from an empty mask of ``shape``.
    """
    import cv2  # imported when used: the CLI's --help and the store stay light

    size = _as_shape(shape)
    if mask is None:
        out = np.zeros(size, dtype=np.uint8)
    else:
        m = as_mask(mask)
        if m.shape != size:
            raise ValueError(f"mask shape {m.shape} does not match shape {size}")
        out = m.astype(np.uint8)
    cv2.fillPoly(out, [_cv_polygon(polygon)], int(bool(value)), lineType=cv2.LINE_8)
    return out.astype(bool)


def mask_to_polygons(mask: np.ndarray) -> list[list[np.ndarray]]:
    """Outlines of each 8-connected region: ``[outer, hole, hole, ...]``, each an (N, 2) int32 xy array.

    Vertices are the centres of the region's border pixels (cv2.findContours, RETR_CCOMP,
    CHAIN_APPROX_SIMPLE); holes are 4-connected background areas enclosed by the region. A region
    inside a hole is its own entry. polygons_to_mask() inverts this exactly.
    """
    import cv2  # imported when used: the CLI's --help and the store stay light

    m = as_mask(mask).astype(np.uint8)
    contours, hierarchy = cv2.findContours(m, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return []
    links = hierarchy[0]  # per contour: next, previous, first child, parent
    regions: list[list[np.ndarray]] = []
    for i, contour in enumerate(contours):
        if links[i][3] != -1:
            continue
        region = [contour.reshape(-1, 2).astype(np.int32)]
        child = links[i][2]
        while child != -1:
            region.append(contours[child].reshape(-1, 2).astype(np.int32))
            child = links[child][0]
        regions.append(region)
    return regions


def polygons_to_mask(polygons: Sequence[Sequence[Points]], shape: Sequence[int]) -> np.ndarray:
    """Rasterise ``[[outer, hole, ...], ...]`` as made by mask_to_polygons() into a bool mask.

    Each outer polygon is filled with its outline (polygon_fill's rule); inside it, each hole's
    interior is cleared while the hole's own outline (border pixels of the region) stays set.
    Regions are drawn separately and combined by union.
    """
    import cv2  # imported when used: the CLI's --help and the store stay light

    size = _as_shape(shape)
    out = np.zeros(size, dtype=bool)
    for region in polygons:
        if len(region) == 0:
            raise ValueError("each region needs at least its outer polygon")
        canvas = np.zeros(size, dtype=np.uint8)
        cv2.fillPoly(canvas, [_cv_polygon(region[0], "outer polygon")], 1, lineType=cv2.LINE_8)
        holes = [_cv_polygon(hole, "hole polygon") for hole in region[1:]]
        if holes:
            cv2.fillPoly(canvas, holes, 0, lineType=cv2.LINE_8)
            cv2.polylines(canvas, holes, True, 1, lineType=cv2.LINE_8)
        out |= canvas.astype(bool)
    return out


def resize_mask(mask: np.ndarray, size: Sequence[int]) -> np.ndarray:
    """Nearest-neighbour resize to ``size`` = (height, width), pixel-centre aligned.

    Output pixel (i, j) takes input pixel (floor((i + 0.5) * H / h), floor((j + 0.5) * W / w)), computed
    in exact integer arithmetic. PIL's NEAREST and cv2.INTER_NEAREST_EXACT follow the same rule in fixed
    point, so they can pick the neighbouring pixel where (i + 0.5) * H / h is on or very near a whole number.
    """
    m = as_mask(mask)
    h, w = _as_shape(size, "size")
    rows = ((2 * np.arange(h) + 1) * m.shape[0]) // (2 * h)
    cols = ((2 * np.arange(w) + 1) * m.shape[1]) // (2 * w)
    return np.asarray(m[rows[:, None], cols[None, :]])


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """Set every false pixel that is not 4-connected to the image border (flood fill from outside)."""
    import cv2  # imported when used: the CLI's --help and the store stay light

    m = as_mask(mask)
    background = np.pad(~m, 1, constant_values=True).astype(np.uint8)
    cv2.floodFill(background, None, (0, 0), 2, flags=4)
    return np.asarray(m | (background[1:-1, 1:-1] == 1), bool)


def connected_components(mask: np.ndarray, connectivity: int = 8) -> tuple[int, np.ndarray]:
    """(number of regions, int32 labels with 0 = background and 1..n = regions)."""
    import cv2  # imported when used: the CLI's --help and the store stay light

    if connectivity not in (4, 8):
        raise ValueError(f"connectivity must be 4 or 8, got {connectivity!r}")
    m = as_mask(mask).astype(np.uint8)
    count, labels = cv2.connectedComponents(m, connectivity=connectivity, ltype=cv2.CV_32S)
    return int(count) - 1, labels
