"""Propagation between two reviewed frames (anchors): plan, run both directions, fuse.

A video's anchors cut it into segments: before the first anchor (backward only), between two anchors
(forward from the left one, backward from the right one, fused where both reach) and after the last
anchor (forward only); no direction goes more than ``reach`` frames from its anchor. Per object, an
anchor gives a mask, says the object is absent (empty mask: it is then carried only up to the middle of
the segment, the nearest-anchor rule), or knows nothing (object missing from the anchor's dict).

Memory does not grow with the segment's length: frames are decoded as they are needed (kept only within
a byte budget, else read again backwards in chunks, and dropped when their segment is done) and the
forward guesses are kept as RLE.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from avs_studio.masks import decode, encode
from avs_studio.openavs.propagation.base import Propagator
from avs_studio.openavs.propagation.fuse import blend, iou


class Cancelled(Exception):
    """Propagation was cancelled between two frames; nothing of the segment was returned."""


@dataclass(frozen=True)
class Segment:
    left: int | None  # anchor before (None: none, backward propagation only)
    right: int | None  # anchor after (None: none, forward propagation only)
    first: int  # first frame that may receive a mask
    last: int  # last frame that may receive a mask (inclusive)

    @property
    def key(self) -> str:
        return f"{self.left}-{self.right}"


def plan_segments(anchors: Sequence[int], frame_count: int, reach: int) -> list[Segment]:
    """Segments of a video with these anchor frames (any order, duplicates ignored)."""
    marks = sorted(set(int(a) for a in anchors if 0 <= a < frame_count))
    if not marks or reach < 1:
        return []
    out = []
    if marks[0] > 0:
        out.append(Segment(None, marks[0], max(0, marks[0] - reach), marks[0] - 1))
    for a, b in zip(marks, marks[1:]):
        if b - a > 1:
            out.append(Segment(a, b, a + 1, b - 1))
    if marks[-1] < frame_count - 1:
        out.append(Segment(marks[-1], None, marks[-1] + 1, min(frame_count - 1, marks[-1] + reach)))
    return out


@dataclass
class FrameResult:
    frame: int
    rles: dict[int, dict[str, Any]] = field(default_factory=dict)  # object -> RLE of a non-empty mask
    agreement: dict[int, float] = field(default_factory=dict)  # IoU of the two directions' guesses

    def masks(self) -> dict[int, np.ndarray]:
        return {k: decode(r) for k, r in self.rles.items()}


class VideoFrames:
    """Frames of one video for propagation: forward reads decode sequentially; frames are kept (newest
    first out) within ``budget_mb`` so the backward pass of a short segment decodes nothing again;
    a longer backward read decodes chunks forward and hands them out in reverse."""

    def __init__(self, reader: Any, budget_mb: float = 256.0):
        self.reader = reader
        self.budget = int(budget_mb * 2**20)
        self._kept: OrderedDict[int, np.ndarray] = OrderedDict()
        self._bytes = 0
        self.decoded = 0

    def __len__(self) -> int:
        return len(self.reader)

    def _decode(self, i: int) -> np.ndarray:
        self.decoded += 1
        return self.reader.frame(i)

    def _keep(self, i: int, img: np.ndarray) -> None:
        if i in self._kept:
            self._kept.move_to_end(i)
            return
        self._kept[i] = img
        self._bytes += img.nbytes
        while self._bytes > self.budget and self._kept:
            _, old = self._kept.popitem(last=False)
            self._bytes -= old.nbytes

    def forget_before(self, index: int) -> None:
        """Drop the kept frames before ``index`` (a finished segment's): they are not read again."""
        for i in [i for i in self._kept if i < index]:
            self._bytes -= self._kept.pop(i).nbytes

    def read(self, start: int, stop: int) -> Iterator[tuple[int, np.ndarray]]:
        """(index, RGB frame) from ``start`` to ``stop`` inclusive, backwards when stop < start."""
        if start <= stop:
            for i in range(start, stop + 1):
                img = self._kept.get(i)
                if img is None:
                    img = self._decode(i)
                self._keep(i, img)
                yield i, img
            return
        i = start
        chunk = max(1, self.budget // max(1, self._frame_bytes()) // 2)
        while i >= stop:
            if i in self._kept:
                yield i, self._kept[i]
                i -= 1
                continue
            lo = max(stop, i - chunk + 1)
            while lo < i and (lo in self._kept):
                lo += 1
            block = [self._decode(j) for j in range(lo, i + 1)]
            for j in range(i, lo - 1, -1):
                yield j, block[j - lo]
            i = lo - 1

    def _frame_bytes(self) -> int:
        info = getattr(self.reader, "info", None)
        if info is not None:
            return int(info.width) * int(info.height) * 3
        return next(iter(self._kept.values())).nbytes if self._kept else 1


def _stopped(cancel: Any) -> bool:
    return cancel is not None and cancel.is_set()


def _ranges(seg: Segment, left: dict[int, np.ndarray], right: dict[int, np.ndarray], reach: int
            ) -> tuple[dict[int, int], dict[int, int]]:  # fmt: skip
    """Per object: last frame of the forward pass, first frame of the backward pass."""
    fwd, bwd = {}, {}
    mid = (seg.left + seg.right) // 2 if seg.left is not None and seg.right is not None else None
    for k in set(left) | set(right):
        lm, rm = left.get(k), right.get(k)
        if lm is not None and lm.any():
            end = min(seg.last, seg.left + reach)
            if rm is not None and not rm.any():
                end = min(end, mid)
            if end >= seg.first:
                fwd[k] = end
        if rm is not None and rm.any():
            begin = max(seg.first, seg.right - reach)
            if lm is not None and not lm.any():
                begin = max(begin, mid + 1)
            if begin <= seg.last:
                bwd[k] = begin
    return fwd, bwd


def run_segment(
    engine: Propagator,
    frames: VideoFrames,
    seg: Segment,
    left: dict[int, np.ndarray],
    right: dict[int, np.ndarray],
    reach: int,
    cancel: Any = None,
) -> list[FrameResult]:
    """Masks of the segment's frames within ``reach`` of an anchor (ascending; no object = empty result).

    ``left`` / ``right``: the anchors' masks per object (empty = absent, missing = unknown). Raises
    Cancelled when ``cancel.is_set()`` between frames.
    """
    fwd_end, bwd_begin = _ranges(seg, left, right, reach)
    forward: dict[int, dict[int, dict[str, Any]]] = {}
    if fwd_end:
        assert seg.left is not None
        stream = frames.read(seg.left, max(fwd_end.values()))
        _, first = next(stream)
        track = engine.start(first, {k: left[k] for k in fwd_end})
        try:
            for i, img in stream:
                if _stopped(cancel):
                    raise Cancelled
                masks = track.step(img)
                forward[i] = {k: encode(m) for k, m in masks.items() if fwd_end[k] >= i and m.any()}
        finally:
            track.close()
    results: dict[int, FrameResult] = {i: FrameResult(i, dict(r)) for i, r in forward.items() if r}
    if bwd_begin:
        assert seg.right is not None
        stream = frames.read(seg.right, min(bwd_begin.values()))
        _, first = next(stream)
        track = engine.start(first, {k: right[k] for k in bwd_begin})
        span = (seg.right - seg.left) if seg.left is not None else None
        try:
            for i, img in stream:
                if _stopped(cancel):
                    raise Cancelled
                masks = track.step(img)
                res = results.setdefault(i, FrameResult(i))
                for k, m in masks.items():
                    if bwd_begin[k] > i or not m.any():
                        continue
                    f_rle = forward.get(i, {}).get(k)
                    if f_rle is None or span is None:
                        res.rles[k] = encode(m)
                        continue
                    f = decode(f_rle)
                    res.rles[k] = encode(blend(f, m, (seg.right - i) / span))
                    res.agreement[k] = iou(f, m)
        finally:
            track.close()
    for i in reached(seg, reach):
        results.setdefault(i, FrameResult(i))
    frames.forget_before(seg.right if seg.right is not None else seg.last)
    return [results[i] for i in sorted(results) if seg.first <= i <= seg.last]


def reached(seg: Segment, reach: int) -> list[int]:
    """The segment's frames within ``reach`` of one of its anchors: each gets a result, empty when no
    object was carried there (the anchors say nothing sounds)."""
    frames: set[int] = set()
    if seg.left is not None:
        frames.update(range(seg.first, min(seg.last, seg.left + reach) + 1))
    if seg.right is not None:
        frames.update(range(max(seg.first, seg.right - reach), seg.last + 1))
    return sorted(frames)
