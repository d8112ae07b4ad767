"""Palettes: fixed object colours, and the PASCAL VOC colormap used by DAVIS and AVSBench files."""

from __future__ import annotations

import re

import numpy as np
import pytest

from avs_studio.masks import (
    OBJECT_PALETTE,
    avss_palette,
    colour_for_index,
    davis_palette,
    hex_to_rgb,
    labels_from_rgb,
    rgb_from_labels,
    voc_colormap,
)


def _avsbench_get_pallete(num_cls: int) -> np.ndarray:
    """AVSBench's own loop (get_v2_pallete's inner function), as the reference."""
    pallete = [0] * (num_cls * 3)
    for j in range(num_cls):
        lab, i = j, 0
        while lab > 0:
            pallete[j * 3 + 0] |= ((lab >> 0) & 1) << (7 - i)
            pallete[j * 3 + 1] |= ((lab >> 1) & 1) << (7 - i)
            pallete[j * 3 + 2] |= ((lab >> 2) & 1) << (7 - i)
            i += 1
            lab >>= 3
    return np.array(pallete, dtype=np.uint8).reshape(-1, 3)


def test_object_palette_is_fixed() -> None:
    # pinned: objects keep their colour across restarts, so this list must never change
    assert OBJECT_PALETTE[:5] == ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd")
    assert len(OBJECT_PALETTE) == 18 and len(set(OBJECT_PALETTE)) == 18
    assert all(re.fullmatch(r"#[0-9a-f]{6}", c) for c in OBJECT_PALETTE)
    assert all(len(set(hex_to_rgb(c))) > 1 for c in OBJECT_PALETTE)  # no greys (grey = not processed)
    assert [colour_for_index(i) for i in range(18)] == list(OBJECT_PALETTE)
    assert colour_for_index(18) == colour_for_index(0) == "#1f77b4"
    assert colour_for_index(3) == colour_for_index(3 + 18 * 7) == "#d62728"
    with pytest.raises(ValueError):
        colour_for_index(-1)


def test_hex_to_rgb() -> None:
    assert hex_to_rgb("#1f77b4") == (31, 119, 180)
    assert hex_to_rgb("#FFFFFF") == (255, 255, 255)
    for bad in ("1f77b4", "#1f77b", "#gg0000"):
        with pytest.raises(ValueError, match="#rrggbb"):
            hex_to_rgb(bad)


def test_davis_palette_is_the_voc_colormap() -> None:
    pal = davis_palette()
    assert pal.shape == (256, 3) and pal.dtype == np.uint8
    np.testing.assert_array_equal(pal, _avsbench_get_pallete(256))
    expected = {0: (0, 0, 0), 1: (128, 0, 0), 2: (0, 128, 0), 3: (128, 128, 0), 4: (0, 0, 128),
                5: (128, 0, 128), 7: (128, 128, 128), 8: (64, 0, 0), 15: (192, 128, 128), 255: (224, 224, 192)}  # fmt: skip
    for index, rgb in expected.items():
        assert tuple(int(v) for v in pal[index]) == rgb, index
    assert len({tuple(row) for row in pal}) == 256


def test_avss_palette() -> None:
    pal = avss_palette()
    assert pal.shape == (71, 3) and pal.dtype == np.uint8
    np.testing.assert_array_equal(pal, _avsbench_get_pallete(71))
    np.testing.assert_array_equal(pal, voc_colormap(256)[:71])
    assert tuple(pal[0]) == (0, 0, 0)
    assert tuple(int(v) for v in pal[70]) == (32, 128, 128)  # 70 = 0b1000110


def test_labels_rgb_round_trip() -> None:
    pal = avss_palette()
    labels = np.array([[0, 1, 70], [15, 15, 2]], dtype=np.int64)
    rgb = rgb_from_labels(labels, pal)
    assert rgb.shape == (2, 3, 3) and rgb.dtype == np.uint8
    assert tuple(rgb[0, 1]) == (128, 0, 0)
    np.testing.assert_array_equal(labels_from_rgb(rgb, pal), labels)
    rgb[1, 2] = (1, 2, 3)
    with pytest.raises(ValueError, match=r"\(1, 2, 3\) at \(x=2, y=1\)"):
        labels_from_rgb(rgb, pal)
    with pytest.raises(ValueError, match="0..70"):
        rgb_from_labels(np.array([[71]]), pal)
