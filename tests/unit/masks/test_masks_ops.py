"""Mask ops checked pixelwise: brush/eraser against exact distances, polygons, resize, holes."""

from __future__ import annotations

from fractions import Fraction

import cv2
import numpy as np
import pytest

from avs_studio.masks import (
    area,
    bbox,
    brush_stroke,
    connected_components,
    erase_stroke,
    fill_holes,
    intersection,
    mask_to_polygons,
    polygon_fill,
    polygons_to_mask,
    resize_mask,
    stroke_mask,
    subtract,
    union,
)


def _reference_stroke(shape: tuple[int, int], points: list[tuple[float, float]], radius: float) -> np.ndarray:
    """Brute force in exact rational arithmetic: squared distance from each pixel centre to the polyline."""
    pts = [(Fraction(x), Fraction(y)) for x, y in points]
    segments = list(zip(pts[:-1], pts[1:])) if len(pts) > 1 else [(pts[0], pts[0])]
    r2 = Fraction(radius) ** 2
    out = np.zeros(shape, dtype=bool)
    for row in range(shape[0]):
        for col in range(shape[1]):
            for (ax, ay), (bx, by) in segments:
                dx, dy = bx - ax, by - ay
                length2 = dx * dx + dy * dy
                t = Fraction(0) if length2 == 0 else ((col - ax) * dx + (row - ay) * dy) / length2
                t = min(max(t, Fraction(0)), Fraction(1))
                cx, cy = ax + t * dx, ay + t * dy
                if (col - cx) ** 2 + (row - cy) ** 2 <= r2:
                    out[row, col] = True
                    break
    return out


STROKES = {
    "single point": ([(7, 6)], [0, 1, 2, 5]),
    "single fractional point": ([(7.5, 6.25)], [0, 1, 1.5, 5]),
    "horizontal": ([(3, 5), (14, 5)], [0, 1, 5]),
    "vertical": ([(9, 1), (9, 12)], [0, 1, 5]),
    "diagonal": ([(2, 2), (13, 11)], [0, 1, 2.5, 5]),
    "45 degrees": ([(1, 1), (12, 12)], [0, 1, 5]),
    "polyline with a turn": ([(2, 10), (8, 3), (15, 9)], [0, 1, 3, 5]),
    "repeated point": ([(4, 4), (4, 4), (10, 7)], [1, 5]),
    "off the left and top edge": ([(-6, -3), (5, 4)], [0, 1, 5]),
    "off the right and bottom edge": ([(12, 8), (22.5, 19)], [1, 5]),
    "entirely outside": ([(-20, -20), (-9, -30)], [5]),
}


@pytest.mark.parametrize("name", list(STROKES))
def test_brush_matches_exact_distance_rule(name: str) -> None:
    points, radii = STROKES[name]
    shape = (14, 17)
    base = np.zeros(shape, dtype=bool)
    base[0, 0] = base[13, 16] = True
    for radius in radii:
        expected = _reference_stroke(shape, points, radius)
        got = stroke_mask(shape, points, radius)
        np.testing.assert_array_equal(got, expected, err_msg=f"{name}, radius {radius}")
        painted = brush_stroke(base, points, radius)
        np.testing.assert_array_equal(painted, expected | base, err_msg=f"{name}, radius {radius}")
    assert base.sum() == 2  # the input is never changed


def test_brush_hand_checked_shapes() -> None:
    plus = np.zeros((5, 5), dtype=bool)
    plus[2, 1:4] = plus[1:4, 2] = True
    np.testing.assert_array_equal(stroke_mask((5, 5), [(2, 2)], 1), plus)
    square = np.zeros((5, 5), dtype=bool)
    square[1:4, 1:4] = True  # corners at sqrt(2) <= 1.5
    np.testing.assert_array_equal(stroke_mask((5, 5), [(2, 2)], 1.5), square)
    line = np.zeros((5, 8), dtype=bool)
    line[3, 1:7] = True
    np.testing.assert_array_equal(stroke_mask((5, 8), [(1, 3), (6, 3)], 0), line)
    assert not stroke_mask((5, 5), [(2.5, 2.5)], 0).any()  # no centre lies on the point
    assert stroke_mask((6, 6), [(0, 0), (100, 0)], 0)[0].all()
    assert stroke_mask((5, 5), [(-10, -10)], 3).sum() == 0


def test_eraser_removes_exactly_the_stroke() -> None:
    rng = np.random.default_rng(5)
    mask = rng.random((20, 24)) < 0.6
    points, radius = [(3.5, 2), (18, 9), (6, 17)], 2.5
    stroke = _reference_stroke(mask.shape, points, radius)
    erased = erase_stroke(mask, points, radius)
    np.testing.assert_array_equal(erased, mask & ~stroke)
    assert area(mask) - area(erased) == int((mask & stroke).sum()) > 0
    np.testing.assert_array_equal(brush_stroke(mask, points, radius, value=False), erased)


@pytest.mark.parametrize(
    ("points", "radius", "message"),
    [
        ([], 2, "non-empty"),
        ([(1, float("nan"))], 2, "finite"),
        ([(1, 2)], -1, "radius"),
        ([1, 2], 1, "pairs"),
    ],
)
def test_brush_rejects_bad_input(points: list, radius: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        brush_stroke(np.zeros((4, 4), dtype=bool), points, radius)


def test_polygon_fill_rectangle() -> None:
    expected = np.zeros((6, 7), dtype=bool)
    expected[1:4, 1:5] = True  # rows 1..3, columns 1..4, boundary included
    got = polygon_fill((6, 7), [(1, 1), (4, 1), (4, 3), (1, 3)])
    np.testing.assert_array_equal(got, expected)
    # float vertices round to the nearest pixel centre
    np.testing.assert_array_equal(
        polygon_fill((6, 7), [(0.6, 1.4), (4.2, 0.5), (3.5, 3.3), (1.1, 2.9)]), expected
    )


def test_polygon_fill_triangles() -> None:
    rows, cols = np.mgrid[0:7, 0:8]
    right = polygon_fill((7, 8), [(0, 0), (4, 0), (0, 4)])
    np.testing.assert_array_equal(right, cols + rows <= 4)  # 45 degree edge through pixel centres
    # shallow edge (6,0)-(0,2): centres inside or on it, plus its 8-connected outline
    # (4,1) and (1,2), whose centres are a third of a pixel outside
    expected = np.zeros((4, 8), dtype=bool)
    expected[0, 0:7] = True
    expected[1, 0:5] = True
    expected[2, 0:2] = True
    np.testing.assert_array_equal(polygon_fill((4, 8), [(0, 0), (6, 0), (0, 2)]), expected)


def test_polygon_fill_onto_mask_and_erase() -> None:
    mask = np.ones((5, 6), dtype=bool)
    cut = polygon_fill((5, 6), [(1, 1), (3, 1), (3, 2), (1, 2)], value=False, mask=mask)
    expected = np.ones((5, 6), dtype=bool)
    expected[1:3, 1:4] = False
    np.testing.assert_array_equal(cut, expected)
    assert mask.all()
    with pytest.raises(ValueError, match="does not match"):
        polygon_fill((6, 5), [(1, 1), (3, 1), (3, 2)], mask=mask)


def _ring_with_island() -> np.ndarray:
    mask = np.zeros((16, 18), dtype=bool)
    mask[2:13, 2:15] = True
    mask[4:11, 4:12] = False  # hole
    mask[6:9, 6:9] = True  # island in the hole
    mask[13:15, 15:17] = True  # separate blob touching the ring diagonally
    return mask


def test_mask_to_polygons_keeps_holes() -> None:
    mask = np.zeros((10, 10), dtype=bool)
    mask[2:8, 2:8] = True
    mask[4:6, 4:6] = False
    regions = mask_to_polygons(mask)
    assert len(regions) == 1 and len(regions[0]) == 2
    outer, hole = regions[0]
    assert outer.dtype == np.int32 and outer.shape[1] == 2
    assert {tuple(p) for p in outer} == {(2, 2), (7, 2), (7, 7), (2, 7)}
    assert all(mask[y, x] for x, y in hole)  # hole outline runs through the ring's inner border
    assert {(int(x), int(y)) for x, y in hole} <= {(x, y) for x in range(3, 7) for y in range(3, 7)}
    np.testing.assert_array_equal(polygons_to_mask(regions, mask.shape), mask)
    assert mask_to_polygons(np.zeros((4, 4), dtype=bool)) == []


def test_polygons_round_trip_nested_and_random() -> None:
    nested = _ring_with_island()
    regions = mask_to_polygons(nested)
    assert sorted(len(r) for r in regions) == [1, 2]  # island; ring + diagonally touching blob (8-connected)
    np.testing.assert_array_equal(polygons_to_mask(regions, nested.shape), nested)
    rng = np.random.default_rng(11)
    for trial in range(200):
        shape = tuple(int(v) for v in rng.integers(1, 30, 2))
        mask = rng.random(shape) < rng.uniform(0.2, 0.8)  # noise: one-pixel-thin parts everywhere
        if trial % 2:
            mask = cv2.GaussianBlur(mask.astype(np.float32), (5, 5), 0) > 0.5
        back = polygons_to_mask(mask_to_polygons(mask), shape)
        np.testing.assert_array_equal(back, mask, err_msg=f"trial {trial}")


def test_resize_nearest() -> None:
    small = np.array([[1, 0, 1], [0, 1, 1]], dtype=bool)
    np.testing.assert_array_equal(resize_mask(small, (4, 6)), small.repeat(2, axis=0).repeat(2, axis=1))
    grid = np.arange(16).reshape(4, 4) % 3 == 0
    np.testing.assert_array_equal(resize_mask(grid, (2, 2)), grid[np.ix_([1, 3], [1, 3])])
    nine = np.arange(9).reshape(3, 3) % 2 == 0
    np.testing.assert_array_equal(resize_mask(nine, (2, 2)), nine[np.ix_([0, 2], [0, 2])])
    # 224 -> 360: output row 22 sits exactly on the border of rows 13 and 14 (22.5 * 224 / 360 = 14)
    rows = np.broadcast_to(np.arange(224)[:, None], (224, 3))
    assert _chosen_rows(rows, (360, 3))[22] == 14


def _chosen_rows(rows: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Which source row resize_mask picks for each output row, read back through its bit planes."""
    return sum(resize_mask((rows >> bit) & 1 == 1, size)[:, 0].astype(int) << bit for bit in range(11))


@pytest.mark.parametrize(("src", "dst"), [(13, 5), (7, 11), (224, 360), (360, 224), (1080, 224), (224, 720)])
def test_resize_picks_the_exact_source_rows_and_cv2_differs_only_at_near_ties(src: int, dst: int) -> None:
    rows = np.broadcast_to(np.arange(src)[:, None], (src, 3))
    ours = _chosen_rows(rows, (dst, 3))
    exact = (2 * np.arange(dst) + 1) * src / (2 * dst)  # source position of each output row centre
    np.testing.assert_array_equal(ours, np.floor(exact).astype(int))
    theirs = cv2.resize(rows.astype(np.float64), (3, dst), interpolation=cv2.INTER_NEAREST_EXACT)[:, 0]
    near_tie = np.abs(exact - np.round(exact)) < 1e-3
    np.testing.assert_array_equal(theirs[~near_tie], ours[~near_tie])
    assert (np.abs(theirs - ours) <= 1).all()
    np.testing.assert_array_equal(
        resize_mask(rows.T % 3 == 0, (3, dst)), (ours % 3 == 0)[None, :].repeat(3, 0)
    )


def test_fill_holes() -> None:
    rows, cols = np.mgrid[0:15, 0:15]
    dist2 = (rows - 7) ** 2 + (cols - 7) ** 2
    ring = (dist2 <= 36) & (dist2 > 9)
    np.testing.assert_array_equal(fill_holes(ring), dist2 <= 36)
    open_c = ring.copy()
    open_c[7, 10:] = False  # a gap to the outside: no hole any more
    np.testing.assert_array_equal(fill_holes(open_c), open_c)
    # background that reaches out only diagonally is enclosed (holes are 4-connected)
    diag = np.zeros((5, 5), dtype=bool)
    diag[1, 1:4] = diag[1:4, 1] = True
    diag[2, 3] = diag[3, 2] = True
    filled = diag.copy()
    filled[2, 2] = True
    np.testing.assert_array_equal(fill_holes(diag), filled)
    edge = np.zeros((4, 4), dtype=bool)
    edge[:, 1] = True  # background columns at the border stay background
    np.testing.assert_array_equal(fill_holes(edge), edge)


def test_set_algebra_area_bbox() -> None:
    a = np.zeros((4, 5), dtype=bool)
    b = np.zeros((4, 5), dtype=bool)
    a[0:2, 0:3] = True
    b[1:4, 2:5] = True
    np.testing.assert_array_equal(union(a, b), a | b)
    np.testing.assert_array_equal(union(a), a)
    np.testing.assert_array_equal(intersection(a, b), a & b)
    np.testing.assert_array_equal(subtract(a, b), a & ~b)
    assert area(union(a, b)) == 6 + 9 - 1
    assert bbox(a) == (0, 0, 3, 2) and bbox(b) == (2, 1, 5, 4)
    assert bbox(np.zeros((3, 3), dtype=bool)) is None
    with pytest.raises(ValueError, match="same shape"):
        union(a, np.zeros((5, 4), dtype=bool))
    with pytest.raises(ValueError, match="at least one"):
        union()


def test_connected_components() -> None:
    mask = np.zeros((6, 6), dtype=bool)
    mask[0, 0] = mask[1, 1] = True  # diagonal neighbours
    mask[4:6, 3:6] = True
    count8, labels8 = connected_components(mask)
    count4, _ = connected_components(mask, connectivity=4)
    assert (count8, count4) == (2, 3)
    assert labels8[0, 0] == labels8[1, 1] != labels8[5, 5] and labels8[5, 5] > 0 and labels8[3, 3] == 0
