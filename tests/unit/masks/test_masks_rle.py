"""COCO RLE: same bytes as pycocotools, exact round trips, clear errors on malformed input."""

from __future__ import annotations

import json

import numpy as np
import pycocotools.mask as coco_mask
import pytest

from avs_studio.masks import (
    bbox,
    decode,
    empty_rle,
    encode,
    rle_area,
    rle_bbox,
    rle_intersection,
    rle_merge,
    rle_size,
    rle_union,
)

SHAPES = [(1, 1), (1, 9), (5, 1), (7, 13), (13, 7), (31, 17), (48, 64)]


def _masks(shape: tuple[int, int], seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    blob = np.zeros(shape, dtype=bool)
    blob[shape[0] // 4 : shape[0] // 4 * 3 + 1, shape[1] // 3 :] = True
    return {
        "empty": np.zeros(shape, dtype=bool),
        "full": np.ones(shape, dtype=bool),
        "noise": rng.random(shape) < 0.5,
        "sparse": rng.random(shape) < 0.05,
        "blob": blob,
    }


@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")  # pycocotools + numpy 2
@pytest.mark.parametrize("shape", SHAPES)
def test_encode_decode_match_pycocotools(shape: tuple[int, int]) -> None:
    for kind, mask in _masks(shape, seed=shape[0] * 100 + shape[1]).items():
        theirs = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
        rle = encode(mask)
        assert rle == {"size": list(shape), "counts": theirs["counts"].decode("ascii")}, kind
        assert json.loads(json.dumps(rle)) == rle
        back = decode(rle)
        assert back.dtype == bool and back.flags.c_contiguous and back.shape == shape
        np.testing.assert_array_equal(back, mask, err_msg=kind)
        np.testing.assert_array_equal(back, coco_mask.decode(theirs).astype(bool))
        np.testing.assert_array_equal(decode({"size": list(shape), "counts": theirs["counts"]}), mask)
        assert rle_area(rle) == int(mask.sum())
        assert rle_bbox(rle) == bbox(mask)
        assert rle_size(rle) == shape


def test_decode_accepts_uncompressed_coco_counts() -> None:
    # column-major runs: 1 false, 2 true, 3 false
    mask = decode({"size": [2, 3], "counts": [1, 2, 3]})
    np.testing.assert_array_equal(mask, [[False, True, False], [True, False, False]])


def test_bbox_and_empty() -> None:
    mask = np.zeros((6, 9), dtype=bool)
    mask[2, 3] = mask[4, 7] = True
    assert rle_bbox(encode(mask)) == (3, 2, 8, 5)
    empty = empty_rle(4, 5)
    assert empty["size"] == [4, 5] and rle_area(empty) == 0 and rle_bbox(empty) is None
    np.testing.assert_array_equal(decode(empty), np.zeros((4, 5), dtype=bool))


def test_merge_union_intersection() -> None:
    rng = np.random.default_rng(3)
    a, b, c = (rng.random((11, 14)) < 0.3 for _ in range(3))
    np.testing.assert_array_equal(decode(rle_union(encode(a), encode(b), encode(c))), a | b | c)
    np.testing.assert_array_equal(decode(rle_merge([encode(a)])), a)
    np.testing.assert_array_equal(decode(rle_intersection(encode(a), encode(b))), a & b)
    np.testing.assert_array_equal(decode(rle_merge([encode(a), encode(c)], intersect=True)), a & c)
    assert isinstance(rle_union(encode(a), encode(b))["counts"], str)
    with pytest.raises(ValueError, match="different sizes"):
        rle_union(encode(a), empty_rle(14, 11))
    with pytest.raises(ValueError, match="at least one"):
        rle_merge([])


def test_integer_zero_one_masks_are_accepted() -> None:
    mask = np.array([[0, 1, 1], [1, 0, 0]], dtype=np.uint8)
    np.testing.assert_array_equal(decode(encode(mask)), mask.astype(bool))


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((3, 4), dtype=np.float32),
        np.full((3, 4), 255, dtype=np.uint8),
        np.zeros((3, 4, 1), dtype=bool),
        np.zeros((0, 4), dtype=bool),
    ],
)
def test_encode_rejects_bad_masks(bad: np.ndarray) -> None:
    with pytest.raises(ValueError, match="mask"):
        encode(bad)


def test_malformed_rles_raise_instead_of_returning_garbage() -> None:
    good = encode(np.eye(4, dtype=bool)[:3])  # 3x4
    with pytest.raises(ValueError, match="counts cover 12 pixels"):
        decode({"size": [4, 4], "counts": good["counts"]})  # runs fall short
    with pytest.raises(ValueError, match="counts cover 12 pixels"):
        decode({"size": [2, 4], "counts": good["counts"]})  # runs overflow
    with pytest.raises(ValueError, match="invalid character"):
        decode({"size": [3, 4], "counts": "1 2"})
    with pytest.raises(ValueError, match="ends inside a number"):
        decode({"size": [3, 4], "counts": "P"})  # continuation bit set on the last char
    with pytest.raises(ValueError, match="size"):
        decode({"size": [3], "counts": good["counts"]})
    with pytest.raises(ValueError, match="size"):
        decode({"size": [0, 4], "counts": "0"})
    with pytest.raises(ValueError, match="dict"):
        decode([3, 4])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="counts must be"):
        decode({"size": [3, 4], "counts": 12})
    with pytest.raises(ValueError, match="uncompressed"):
        decode({"size": [3, 4], "counts": [1, 2]})
