"""Waveform envelope pyramid: min/max per bucket at power-of-two zoom levels (vectorised numpy)."""

from __future__ import annotations

import numpy as np


def _reduce_pairs(mins: np.ndarray, maxs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    m = len(mins) // 2 * 2
    lo = mins[:m].reshape(-1, 2).min(axis=1)
    hi = maxs[:m].reshape(-1, 2).max(axis=1)
    if len(mins) > m:  # odd tail bucket stays on its own
        lo = np.append(lo, mins[m:])
        hi = np.append(hi, maxs[m:])
    return lo, hi


class EnvelopePyramid:
    """Min/max envelope of audio (C, N) or (N,), all channels together.

    Level 0 has one bucket per ``base_bucket`` samples, level k one per ``base_bucket * 2**k``.
    """

    def __init__(self, samples: np.ndarray, rate: int, base_bucket: int = 256) -> None:
        x = np.asarray(samples)
        if x.ndim == 1:
            x = x[None, :]
        if x.ndim != 2:
            raise ValueError(f"samples must be (C, N) or (N,), got shape {x.shape}")
        if base_bucket < 1 or base_bucket & (base_bucket - 1):
            raise ValueError(f"base_bucket must be a power of two, got {base_bucket}")
        self.samples = x
        self.rate = int(rate)
        self.base_bucket = int(base_bucket)
        self.n = x.shape[1]
        c, n, b = x.shape[0], self.n, self.base_bucket
        full = n // b * b
        body = x[:, :full].reshape(c, -1, b)
        lo = body.min(axis=2).min(axis=0)
        hi = body.max(axis=2).max(axis=0)
        if full < n:
            lo = np.append(lo, x[:, full:].min())
            hi = np.append(hi, x[:, full:].max())
        self.levels: list[tuple[np.ndarray, np.ndarray]] = [(lo, hi)]
        while len(self.levels[-1][0]) > 1:
            self.levels.append(_reduce_pairs(*self.levels[-1]))

    @property
    def duration(self) -> float:
        return float(self.n / self.rate)

    def _level_for(self, samples_per_pixel: float) -> int:
        """Coarsest level with >= 2 buckets per pixel; -1 means raw samples."""
        ratio = samples_per_pixel / (2.0 * self.base_bucket)
        if ratio < 1.0:
            return -1
        return min(int(np.floor(np.log2(ratio))), len(self.levels) - 1)

    def envelope(self, t0: float, t1: float, width: int) -> tuple[np.ndarray, np.ndarray]:
        """(mins, maxs), each float32 of length ``width``, for [t0, t1); zeros outside the audio."""
        width = int(width)
        mins = np.zeros(width, np.float32)
        maxs = np.zeros(width, np.float32)
        if width <= 0 or t1 <= t0 or self.n == 0:
            return mins, maxs
        s_edges = np.linspace(t0 * self.rate, t1 * self.rate, width + 1)
        level = self._level_for((s_edges[-1] - s_edges[0]) / width)
        if level < 0:
            unit = 1
            first = max(0, int(np.floor(s_edges[0])))
            last = min(self.n, int(np.ceil(s_edges[-1])) + 1)
            win = self.samples[:, first:last]
            lo_src, hi_src = win.min(axis=0), win.max(axis=0)
            count = last - first
        else:
            unit = self.base_bucket << level
            lo_src, hi_src = self.levels[level]
            first, count = 0, len(lo_src)
        # Buckets [floor(a), ceil(b)) cover each pixel's samples; at least one bucket per pixel.
        a = np.floor(s_edges[:-1] / unit).astype(np.int64) - first // unit
        b = np.ceil(s_edges[1:] / unit).astype(np.int64) - first // unit
        b = np.maximum(b, a + 1)
        inside = (s_edges[1:] > 0) & (s_edges[:-1] < self.n) & (b > 0) & (a < count)
        if count <= 0 or not inside.any():
            return mins, maxs
        a = np.clip(a[inside], 0, count - 1)
        b = np.clip(b[inside], 1, count)
        lo = _range_reduce(np.minimum, lo_src, a, b)
        hi = _range_reduce(np.maximum, hi_src, a, b)
        mins[inside] = lo
        maxs[inside] = hi
        return mins, maxs


def _range_reduce(op: np.ufunc, src: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """op over src[a_i:b_i] for each i (all ranges non-empty, inside src), vectorised with reduceat."""
    lo, hi = int(a[0]), int(b[-1])  # a and b are non-decreasing
    sub = src[lo : hi + 1]
    if hi >= len(src):  # one spare element so every end index is valid for reduceat
        sub = np.append(sub, sub[-1:])
    idx = np.empty(2 * len(a), np.int64)
    idx[0::2] = a - lo
    idx[1::2] = b - lo
    return op.reduceat(sub, idx)[0::2]
