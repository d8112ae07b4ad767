"""What the timeline marks on its bands, by review status: keyframe ticks, the mask strip (every frame
with masks) and the legend (avs_studio.gui.timeline draws them into its cached image)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QPainter

from avs_studio.session.display import STATUS_COLOURS as STATE_COLOURS

# Review status -> tick colour (session.display's, plus "none" = "unprocessed")
STATUS_COLOURS: dict[str, str] = {"none": STATE_COLOURS["unprocessed"], **STATE_COLOURS}
# which status shows when ticks share a pixel column (zoomed out): the one that most needs a look
STATUS_PRIORITY = {"accepted": 0, "none": 1, "unprocessed": 1, "edited": 2, "proposed": 3, "rejected": 4}

RULER_H = 16  # time labels at the top
STRIP_H = 6  # frames with masks, above the ticks
TICK_H = 12  # keyframe ticks at the bottom
STRIP_BACKGROUND = "#101113"
LEGEND = (("none", "not processed"), ("proposed", "proposed"), ("accepted", "accepted"),
          ("rejected", "rejected"), ("edited", "edited"))  # fmt: skip
TICK_W = 3
TEXT_COLOUR = "#a8adb5"
RULER_BACKGROUND = "#191a1d"


def draw_ticks(
    img: np.ndarray, status: dict[int, str], times: np.ndarray, t0: float, t1: float, top: int, bottom: int
) -> None:
    """Keyframe ticks into the (h, w) ARGB array: a TICK_W bar in the tick band and a faint line across
    the band. Where ticks share a column (zoomed out) the status most in need of review wins."""
    if not status or not len(times):
        return
    w = img.shape[1]
    frames = np.fromiter(status, dtype=np.int64, count=len(status))
    frames = frames[(frames >= 0) & (frames < len(times))]
    times = times[frames]
    visible = (times >= t0) & (times <= t1)
    frames, times = frames[visible], times[visible]
    xs = np.round((times - t0) / (t1 - t0) * w).astype(np.int64)
    rank = np.array([STATUS_PRIORITY[status[int(f)]] for f in frames], np.int64)
    order = np.argsort(rank, kind="stable")  # low priority first, overwritten by higher
    xs, frames = xs[order], frames[order]
    band = img[top:bottom]
    for f_status in dict.fromkeys(status[int(f)] for f in frames):
        sel = np.array([status[int(f)] == f_status for f in frames])
        cols = xs[sel]
        colour = QColor(STATUS_COLOURS[f_status])
        faint = _blend(band[:, np.clip(cols, 0, w - 1)], colour, 90)
        band[:, np.clip(cols, 0, w - 1)] = faint
        for d in range(-(TICK_W // 2), TICK_W - TICK_W // 2):
            c = cols + d
            c = c[(c >= 0) & (c < w)]
            img[bottom + STRIP_H + 1 :, c] = argb(colour.name())


def draw_strip(img: np.ndarray, rank: np.ndarray, times: np.ndarray, t0: float, t1: float, row: int) -> None:
    """The mask strip: each pixel column takes the state of the frames it shows (zoomed in: the frame
    under it; zoomed out: of the frames sharing it, the one most in need of review)."""
    w = img.shape[1]
    if not len(rank) or not (rank >= 0).any() or w <= 0:
        return
    span = t1 - t0
    centres = t0 + (np.arange(w) + 0.5) / w * span
    under = np.clip(np.searchsorted(times, centres, side="right") - 1, 0, len(rank) - 1)
    cols = rank[under].astype(np.int16)
    frames = np.flatnonzero(rank >= 0)
    times = times[frames]
    inside = (times >= t0) & (times < t1)
    xs = np.floor((times[inside] - t0) / span * w).astype(np.int64)
    np.maximum.at(cols, np.clip(xs, 0, w - 1), rank[frames[inside]].astype(np.int16))
    by_rank = {STATUS_PRIORITY[st]: argb(STATUS_COLOURS[st]) for st in STATUS_COLOURS}
    strip = img[row + 1 : row + STRIP_H]
    for r, colour in by_rank.items():
        strip[:, cols == r] = colour


def paint_legend(p: QPainter, w: int) -> int:
    """Colour swatches with their meaning at the right of the ruler (masks and ticks share them);
    returns where the legend starts (``w`` when the timeline is too narrow to show it)."""
    font = p.font()
    font.setPixelSize(10)
    p.setFont(font)
    metrics = p.fontMetrics()
    items = [(STATUS_COLOURS[key], text) for key, text in LEGEND]
    width = sum(8 + 3 + metrics.horizontalAdvance(text) + 8 for _, text in items) + 4
    if width > w // 2:  # a narrow timeline keeps its time labels
        return w
    x = w - width
    left = x - 4
    p.fillRect(QRectF(x - 4, 0, width + 4, RULER_H - 1), QColor(RULER_BACKGROUND))
    for colour, text in items:
        p.fillRect(QRectF(x, 4, 8, 8), QColor(colour))
        x += 11
        p.setPen(QColor(TEXT_COLOUR))
        p.drawText(x, RULER_H - 4, text)
        x += metrics.horizontalAdvance(text) + 8
    return left


def check_status(status: dict[int, str]) -> None:
    unknown = {s for s in status.values() if s not in STATUS_COLOURS}
    if unknown:
        raise ValueError(f"unknown review status {sorted(unknown)}; valid: {', '.join(STATUS_COLOURS)}")


def argb(colour: str) -> int:
    """A colour name as one ARGB32 pixel value."""
    return int(QColor(colour).rgba())


def _blend(argb: np.ndarray, colour: QColor, alpha: int) -> np.ndarray:
    """``colour`` at ``alpha``/255 over opaque ARGB pixels."""
    out = np.empty_like(argb)
    a = alpha / 255.0
    result = np.full(argb.shape, 0xFF000000, np.uint32)
    for shift, value in ((16, colour.red()), (8, colour.green()), (0, colour.blue())):
        ch = (argb >> np.uint32(shift)) & np.uint32(0xFF)
        mixed = np.round(ch * (1 - a) + value * a).astype(np.uint32)
        result = result | (mixed << np.uint32(shift))
    out[...] = result
    return out
