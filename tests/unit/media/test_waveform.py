from __future__ import annotations

import numpy as np
import pytest

from avs_studio.media import EnvelopePyramid


def brute(x: np.ndarray, s0: int, s1: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    edges = np.linspace(s0, s1, width + 1)
    lo, hi = [], []
    for i in range(width):
        a, b = int(np.floor(edges[i])), int(np.ceil(edges[i + 1]))
        seg = x[:, max(a, 0) : min(b, x.shape[1])]
        lo.append(seg.min() if seg.size else 0.0)
        hi.append(seg.max() if seg.size else 0.0)
    return np.array(lo, np.float32), np.array(hi, np.float32)


@pytest.fixture(scope="module")
def signal() -> np.ndarray:
    rng = np.random.default_rng(3)
    n = 100_003  # not a multiple of the bucket size
    x = rng.standard_normal((2, n)).astype(np.float32) * np.linspace(0.1, 1, n, dtype=np.float32)
    return np.clip(x, -1, 1)


def test_levels_are_power_of_two_min_max(signal: np.ndarray) -> None:
    pyr = EnvelopePyramid(signal, rate=1000, base_bucket=64)
    lo0, hi0 = pyr.levels[0]
    assert len(lo0) == -(-signal.shape[1] // 64)
    assert lo0[5] == signal[:, 320:384].min() and hi0[5] == signal[:, 320:384].max()
    assert hi0[-1] == signal[:, (len(lo0) - 1) * 64 :].max()
    lo3, hi3 = pyr.levels[3]
    assert lo3[7] == signal[:, 7 * 512 : 8 * 512].min() and hi3[7] == signal[:, 7 * 512 : 8 * 512].max()
    assert len(pyr.levels[-1][0]) == 1
    assert pyr.levels[-1][0][0] == signal.min() and pyr.levels[-1][1][0] == signal.max()


@pytest.mark.parametrize("width", [37, 100, 640])
@pytest.mark.parametrize("window", [(0, 100_003), (10_000, 30_000), (50_000, 50_600), (99_000, 99_500)])
def test_aligned_windows_match_brute_force(signal: np.ndarray, width: int, window: tuple[int, int]) -> None:
    """With pixel edges on bucket boundaries the pyramid answer equals brute force exactly."""
    pyr = EnvelopePyramid(signal, rate=1000, base_bucket=64)
    s0, s1 = window
    mins, maxs = pyr.envelope(s0 / 1000, s1 / 1000, width)
    assert mins.shape == maxs.shape == (width,) and mins.dtype == np.float32
    lo, hi = brute(signal, s0, s1, width)
    spp = (s1 - s0) / width
    if spp < 128:  # raw-sample level: exact
        np.testing.assert_array_equal(mins, lo)
        np.testing.assert_array_equal(maxs, hi)
    else:  # bucket level: covers the exact answer, within one bucket of slack each side
        assert np.all(mins <= lo) and np.all(maxs >= hi)
        unit = 64 << int(np.floor(np.log2(spp / 128)))
        lo2, hi2 = brute(signal, s0 - unit, s1 + unit, width)
        edges = np.linspace(s0, s1, width + 1)
        for i in range(width):
            a = int(np.floor(edges[i] / unit) * unit)
            b = int(np.ceil(edges[i + 1] / unit) * unit)
            seg = signal[:, a : min(b, signal.shape[1])]
            assert mins[i] == seg.min() and maxs[i] == seg.max()


def test_power_of_two_zoom_is_exact() -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, 2**16).astype(np.float32)
    pyr = EnvelopePyramid(x, rate=2**16, base_bucket=256)
    for width in (16, 64, 128):
        mins, maxs = pyr.envelope(0.0, 1.0, width)
        per = 2**16 // width
        np.testing.assert_array_equal(mins, x.reshape(width, per).min(axis=1))
        np.testing.assert_array_equal(maxs, x.reshape(width, per).max(axis=1))


def test_outside_audio_is_zero_and_tiny_windows() -> None:
    x = np.full(1000, 0.5, np.float32)
    x[500] = -0.75
    pyr = EnvelopePyramid(x, rate=1000, base_bucket=16)
    mins, maxs = pyr.envelope(-1.0, 2.0, 30)
    assert np.all(mins[:10] == 0) and np.all(maxs[20:] == 0)
    assert mins[10:20].min() == -0.75 and maxs[10:20].max() == 0.5
    mins, maxs = pyr.envelope(0.4995, 0.5015, 200)  # more pixels than samples
    assert mins.min() == -0.75 and maxs.max() == 0.5
    assert pyr.envelope(0.2, 0.1, 10)[0].tolist() == [0.0] * 10
    with pytest.raises(ValueError):
        EnvelopePyramid(x, 1000, base_bucket=100)
