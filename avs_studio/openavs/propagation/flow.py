"""The `flow` engine: dense optical flow (OpenCV DIS) on a reduced copy of each frame, no weights, CPU.

Two ways to move a mask with the flow:
- ``motion="similarity"`` / ``"affine"`` (robust, the default): per object, the flow vectors inside its
  current mask are fitted by a RANSAC similarity (or affine) transform, refined on the inliers; the
  transforms are chained from the anchor and the ANCHOR mask is warped once per frame, so the shape does
  not erode step after step and flow that leaks onto the background or a look-alike is voted out.
  With ``refine`` (default) each frame's transform is then aligned to the anchor's appearance (ECC on the
  anchor's object pixels), which removes the drift of the chain; the correction may move the object's
  box by a few pixels only, so a look-alike nearby cannot capture the mask.
- ``motion="pixel"``: each mask pixel follows its own flow vector (backward warp of the previous mask).
  Kept as the baseline the benchmark compares against.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from avs_studio.openavs.propagation.base import register_propagator

MOTIONS = ("similarity", "affine", "pixel")
PRESETS = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}
MAX_POINTS = 3000  # flow vectors sampled per object for the fit
MIN_POINTS = 12
MIN_CORRELATION = 0.5  # ECC refinement kept only above this correlation with the anchor's appearance
MAX_CORRECTION_PX, MAX_CORRECTION = 2.0, 0.05  # and only when it moves the object's box this little
MARGIN_PX, MARGIN = 24, 0.25  # flow is computed around the objects' boxes grown by this much
ECC_WITH_MASK = hasattr(cv2, "findTransformECCWithMask")


def _gray(frame: np.ndarray, scale: float) -> np.ndarray:
    g = cv2.cvtColor(np.asarray(frame), cv2.COLOR_RGB2GRAY)
    if scale < 1.0:
        h, w = g.shape
        g = cv2.resize(g, (max(8, round(w * scale)), max(8, round(h * scale))), interpolation=cv2.INTER_AREA)
    return g


def _h(m: np.ndarray) -> np.ndarray:
    """2x3 -> 3x3."""
    return np.vstack([m, [0.0, 0.0, 1.0]])


class FlowPropagator:
    name = "flow"

    def __init__(self, motion: str = "similarity", size: int = 480, preset: str = "medium", seed: int = 0,
                 refine: bool = True):  # fmt: skip
        if motion not in MOTIONS:
            raise ValueError(f"flow engine: motion {motion!r} unknown; use one of {', '.join(MOTIONS)}")
        if preset not in PRESETS:
            raise ValueError(f"flow engine: preset {preset!r} unknown; use one of {', '.join(PRESETS)}")
        if int(size) < 32:
            raise ValueError(f"flow engine: size must be at least 32 pixels, got {size}")
        self.motion, self.size, self.preset, self.seed = motion, int(size), preset, int(seed)
        self.refine = bool(refine) and ECC_WITH_MASK  # OpenCV >= 4.12 has the masked ECC

    def describe(self) -> dict[str, Any]:
        return {"engine": self.name, "motion": self.motion, "size": self.size, "preset": self.preset,
                "refine": self.refine, "opencv": cv2.__version__}  # fmt: skip

    def start(self, frame: np.ndarray, masks: dict[int, np.ndarray]) -> FlowTrack:
        return FlowTrack(self, frame, masks)


Box = tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive)


def _bbox(mask: np.ndarray) -> Box | None:
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def _clip(box: Box, w: int, h: int) -> Box | None:
    x0, y0, x1, y1 = max(0, box[0]), max(0, box[1]), min(w, box[2]), min(h, box[3])
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def _moved(box: Box, m: np.ndarray, margin: float = 1.0) -> Box:
    """Bounding box of ``box`` under the 3x3 transform ``m``, grown by ``margin``."""
    x0, y0, x1, y1 = box
    pts = np.array([[x0, y0, 1], [x1, y0, 1], [x0, y1, 1], [x1, y1, 1]], float) @ m.T
    lo, hi = pts[:, :2].min(axis=0) - margin, pts[:, :2].max(axis=0) + margin
    return int(np.floor(lo[0])), int(np.floor(lo[1])), int(np.ceil(hi[0])), int(np.ceil(hi[1]))


def _shift(x: float, y: float) -> np.ndarray:
    return np.array([[1.0, 0.0, x], [0.0, 1.0, y], [0.0, 0.0, 1.0]])


class FlowTrack:
    """Flow is computed only around the objects (their predicted boxes, grown by a margin) and masks are
    warped only inside their boxes: the cost follows the objects' size, not the frame's."""

    def __init__(self, engine: FlowPropagator, frame: np.ndarray, masks: dict[int, np.ndarray]):
        self.engine = engine
        h, w = frame.shape[:2]
        self.shape = (h, w)
        self.scale = min(1.0, engine.size / max(h, w))
        self.prev = _gray(frame, self.scale)
        self.anchor_gray = self.prev
        self.ones = np.full(self.prev.shape, 255, np.uint8)
        sh, sw = self.prev.shape
        # full-resolution coordinates -> working coordinates (and back)
        self.down = np.diag([sw / w, sh / h, 1.0])
        self.up = np.linalg.inv(self.down)
        self.flow = cv2.DISOpticalFlow_create(PRESETS[engine.preset])
        self.rng = np.random.default_rng(engine.seed)
        self.full: dict[int, tuple[Box, np.ndarray]] = {}  # anchor box and crop (uint8 0/255), full size
        self.small: dict[int, tuple[Box, np.ndarray]] = {}  # the same at working size
        for k, m in masks.items():
            box = _bbox(np.asarray(m, bool))
            if box is None:
                continue
            x0, y0, x1, y1 = box
            self.full[k] = (box, np.asarray(m[y0:y1, x0:x1], np.uint8) * 255)
            small = cv2.resize(np.asarray(m, np.uint8), (sw, sh), interpolation=cv2.INTER_NEAREST)
            sbox = _bbox(small.astype(bool)) or (0, 0, 1, 1)
            sbox = _clip((sbox[0] - 4, sbox[1] - 4, sbox[2] + 4, sbox[3] + 4), sw, sh) or (0, 0, sw, sh)
            self.small[k] = (sbox, small[sbox[1] : sbox[3], sbox[0] : sbox[2]])
        self.total = {k: np.eye(3) for k in self.full}  # anchor -> current frame, working coordinates
        self.current = {k: np.asarray(m, bool) for k, m in masks.items() if k in self.full}  # pixel mode

    def _region(self, boxes: list[Box], shape: tuple[int, int]) -> Box | None:
        """The union of boxes grown by a margin the motion of one frame fits in, clipped."""
        if not boxes:
            return None
        x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
        x1, y1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
        pad = int(max(MARGIN_PX, MARGIN * max(x1 - x0, y1 - y0)))
        return _clip((x0 - pad, y0 - pad, x1 + pad, y1 + pad), shape[1], shape[0])

    def _calc(self, a: np.ndarray, b: np.ndarray, region: Box) -> np.ndarray:
        x0, y0, x1, y1 = region
        crop = lambda img: np.ascontiguousarray(img[y0:y1, x0:x1])  # noqa: E731  (DIS wants whole rows)
        return self.flow.calc(crop(a), crop(b), None)

    def _empty(self) -> np.ndarray:
        return np.zeros(self.shape, bool)

    # -- robust: one transform per object ----------------------------------------------------------
    def _fit(self, k: int, flow: np.ndarray, region: Box) -> np.ndarray | None:
        """The step transform (working coordinates) fitted to the flow inside the object's mask."""
        (bx0, by0, bx1, by1), crop = self.small[k]
        rx0, ry0, rx1, ry1 = region
        m = _shift(-rx0, -ry0) @ self.total[k] @ _shift(bx0, by0)
        mask = cv2.warpAffine(crop, m[:2], (rx1 - rx0, ry1 - ry0), flags=cv2.INTER_NEAREST)
        inner = cv2.erode(mask, np.ones((3, 3), np.uint8))
        ys, xs = np.nonzero(inner if np.count_nonzero(inner) >= MIN_POINTS else mask)
        if len(xs) < MIN_POINTS:
            return None
        if len(xs) > MAX_POINTS:
            pick = self.rng.choice(len(xs), MAX_POINTS, replace=False)
            xs, ys = xs[pick], ys[pick]
        src = np.stack([xs + rx0, ys + ry0], axis=1).astype(np.float32)
        dst = src + flow[ys, xs]
        fit = cv2.estimateAffinePartial2D if self.engine.motion == "similarity" else cv2.estimateAffine2D
        t, inliers = fit(src, dst, method=cv2.RANSAC, ransacReprojThreshold=1.0, maxIters=500,
                         confidence=0.99, refineIters=10)  # fmt: skip
        if t is None or inliers is None or int(inliers.sum()) < MIN_POINTS // 2:
            d = np.median(dst - src, axis=0)  # too few agreeing vectors: move by the median flow
            return _shift(float(d[0]), float(d[1]))
        return _h(t)

    def _refine(self, k: int, gray: np.ndarray) -> np.ndarray:
        """Align the anchor's object pixels directly to this frame (ECC, started from the chained
        transform): removes the drift that chaining frame-to-frame fits accumulates."""
        (x0, y0, x1, y1), crop = self.small[k]
        if np.count_nonzero(crop) < MIN_POINTS:
            return self.total[k]
        shift = _shift(x0, y0)
        warp = (self.total[k] @ shift)[:2].astype(np.float32)
        criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 1e-4)
        try:
            cc, warp = cv2.findTransformECCWithMask(
                self.anchor_gray[y0:y1, x0:x1],
                gray,
                crop * 255,
                self.ones,
                warp,
                cv2.MOTION_AFFINE,
                criteria,
                3,
            )
        except cv2.error:
            return self.total[k]
        if cc < MIN_CORRELATION:
            return self.total[k]
        new = _h(warp.astype(np.float64)) @ np.linalg.inv(shift)
        # a correction, not a jump: the object's box corners may move a few pixels only (a look-alike
        # nearby must not pull the mask over)
        box = np.array([[x0, y0, 1], [x1, y0, 1], [x0, y1, 1], [x1, y1, 1]], float)
        moved = np.abs((box @ new.T)[:, :2] - (box @ self.total[k].T)[:, :2]).max()
        if moved > max(MAX_CORRECTION_PX, MAX_CORRECTION * max(x1 - x0, y1 - y0)):
            return self.total[k]
        return new

    def _warp_anchor(self, k: int) -> np.ndarray:
        """The anchor mask moved by the object's transform, warped inside its new box only."""
        h, w = self.shape
        box, crop = self.full[k]
        full = self.up @ self.total[k] @ self.down
        target = _clip(_moved(box, full, 2.0), w, h)
        out = self._empty()
        if target is None:
            return out
        tx0, ty0, tx1, ty1 = target
        m = _shift(-tx0, -ty0) @ full @ _shift(box[0], box[1])
        out[ty0:ty1, tx0:tx1] = (
            cv2.warpAffine(crop, m[:2], (tx1 - tx0, ty1 - ty0), flags=cv2.INTER_LINEAR) >= 128
        )
        return out

    def _step_robust(self, gray: np.ndarray) -> dict[int, np.ndarray]:
        boxes = [_moved(self.small[k][0], self.total[k]) for k in self.full]
        region = self._region(boxes, gray.shape)
        out = {}
        if region is not None:
            rx0, ry0, rx1, ry1 = region
            flow = self._calc(self.prev, gray, region)
            for k in self.full:
                step = self._fit(k, flow, region)
                if step is not None:
                    self.total[k] = step @ self.total[k]
        for k in self.full:
            if self.engine.refine:
                self.total[k] = self._refine(k, gray)
            out[k] = self._warp_anchor(k)
        return out

    # -- baseline: every pixel on its own ----------------------------------------------------------
    def _step_pixel(self, gray: np.ndarray) -> dict[int, np.ndarray]:
        h, w = self.shape
        sh, sw = gray.shape
        boxes = [b for b in (_bbox(m) for m in self.current.values()) if b is not None]
        small = [_moved(b, self.down) for b in boxes]
        region = self._region(small, gray.shape)
        out = {k: self._empty() for k in self.current}
        if region is None:
            return out
        rx0, ry0, rx1, ry1 = region
        # current -> previous flow: a backward warp has no holes
        back = self._calc(gray, self.prev, region)
        fx0, fy0, fx1, fy1 = _clip(_moved(region, self.up, 0.0), w, h) or (0, 0, w, h)
        big = cv2.resize(back, (fx1 - fx0, fy1 - fy0), interpolation=cv2.INTER_LINEAR)
        gx, gy = np.meshgrid(np.arange(fx0, fx1, dtype=np.float32), np.arange(fy0, fy1, dtype=np.float32))
        map_x, map_y = gx + big[..., 0] * (w / sw), gy + big[..., 1] * (h / sh)
        for k, m in self.current.items():
            warped = cv2.remap(m.astype(np.float32), map_x, map_y, cv2.INTER_LINEAR, borderValue=0.0)
            out[k][fy0:fy1, fx0:fx1] = warped >= 0.5
            self.current[k] = out[k]
        return out

    def step(self, frame: np.ndarray) -> dict[int, np.ndarray]:
        gray = _gray(frame, self.scale)
        out = self._step_pixel(gray) if self.engine.motion == "pixel" else self._step_robust(gray)
        self.prev = gray
        return out

    def close(self) -> None:
        self.full.clear()
        self.small.clear()
        self.current.clear()


@register_propagator("flow")
def make_flow(motion: str = "similarity", size: int = 480, preset: str = "medium", seed: int = 0,
              refine: bool = True, device: str = "auto") -> FlowPropagator:  # fmt: skip
    """``device`` is accepted for a uniform factory signature; flow always runs on the CPU."""
    return FlowPropagator(motion, size, preset, seed, refine)
