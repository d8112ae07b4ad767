"""TimelineWidget: waveform (or spectrogram), frames with masks and keyframe ticks by review status with a
legend, playhead, seek and zoom.

Usage (part A plugs it under the canvas)::

    tl = TimelineWidget()
    tl.set_media(duration, reader.frame_times, EnvelopePyramid(track.samples, track.rate), track)
    tl.set_keyframe_status({0: "accepted", 10: "proposed", 20: "none"})
    tl.set_frame_status({0: "accepted", 1: "proposed", 2: "proposed"})   # every frame that has masks
    tl.seekRequested.connect(window.seek)          # int frame: click / drag on the timeline
    playback.frameChanged.connect(tl.set_frame)    # the playhead follows playback
    tl.show_spectrogram(True)                      # log-mel of the visible window instead of the waveform

Public API
    signals  seekRequested(int frame), viewChanged(float t0, float t1), spectrogramReady()
    set_media(duration, frame_times, pyramid=None, audio_for_spectrogram=None)    references, no copies
    clear()
    set_keyframe_status(dict[int, str])   status in STATUS_COLOURS: "none" (= "unprocessed") grey,
                                          "proposed" amber, "accepted" green, "rejected" red, "edited" blue;
                                          ValueError for anything else.  keyframe_status() -> dict
    set_frame_status(dict[int, str])      the mask strip: frame -> state of its annotations (frames without
                                          any are left dark); same colours.  frame_status() -> dict
    set_frame(int) / frame()    the playhead; when following, pages the view to keep it visible
    set_follow(bool)            follow the playhead (default True)
    set_view(t0, t1) / view_range() -> (t0, t1)   visible window in seconds (clamped to [0, duration],
                                                  at least MIN_SPAN_S = 0.02 s)
    zoom(factor, about_t=None)  factor < 1 zooms in;  pan(dt) in seconds
    show_spectrogram(bool) / spectrogram_shown() / spectrogram_pending()
    set_highlight(t0, t1) / clear_highlight()    a translucent band, e.g. the span being looped
    x_for_time(t) / time_at_x(x) / frame_at_time(t)    geometry helpers (widget pixels)
    STATUS_COLOURS, STATUS_PRIORITY (which status shows when ticks share a pixel column)

Mouse: left click / drag seeks; wheel zooms around the cursor; Shift+wheel, horizontal wheel, Shift+drag
or middle drag pans.

Layout, top to bottom: ruler (time labels, legend at the right), waveform / spectrogram, the mask strip
(STRIP_H rows, one colour per frame with masks), keyframe ticks (TICK_H rows).

Drawing: the waveform comes from ``EnvelopePyramid.envelope(t0, t1, width)`` (exactly one min/max per
pixel column of the visible window), so cost and memory depend on the widget width, not the file length.
Everything but the playhead is cached as one image per (view, size, mode, statuses): moving the playhead
repaints in ~0.1 ms. The spectrogram (``log_mel``, at most SPEC_MAX_COLUMNS time columns, one 25 ms window
per column when the view is long) is computed by ``gui.spectrogram_worker`` off the GUI thread; until it
arrives the previous one is shown moved/stretched into the new view, then ``spectrogramReady`` is emitted.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen, QResizeEvent, QWheelEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from avs_studio.gui.render import argb_qimage
from avs_studio.gui.spectrogram_worker import SPEC_MAX_COLUMNS, SpectrogramWorker
from avs_studio.gui.timeline_marks import (
    RULER_BACKGROUND,
    RULER_H,
    STATUS_COLOURS,
    STATUS_PRIORITY,
    STRIP_BACKGROUND,
    STRIP_H,
    TEXT_COLOUR,
    TICK_H,
    argb,
    check_status,
    draw_strip,
    draw_ticks,
    paint_legend,
)
from avs_studio.media import AudioTrack, EnvelopePyramid, spectrogram_columns

__all__ = [
    "SPEC_MAX_COLUMNS",
    "STATUS_COLOURS",
    "STATUS_PRIORITY",
    "STRIP_BACKGROUND",
    "STRIP_H",
    "TimelineWidget",
    "spectrogram_columns",
]
BACKGROUND = "#1e1f22"
WAVE_COLOUR = "#7fb2e5"
AXIS_COLOUR = "#3a3d42"
PLAYHEAD_COLOUR = "#ffffff"
HIGHLIGHT_COLOUR = QColor(255, 255, 255, 36)
TICK_BACKGROUND = "#17181a"
MIN_SPAN_S = 0.02
ZOOM_STEP = 0.8  # view span factor per wheel notch
PAN_STEP = 0.1  # fraction of the span per Shift+wheel notch
FOLLOW_MARGIN = 0.1  # when following, page so the playhead sits this far into the view


def _nice_step(span: float, pixels: int, min_px: int = 80) -> float:
    """A 1-2-5 step in seconds so labels are at least ``min_px`` apart."""
    raw = span * min_px / max(pixels, 1)
    base = 10 ** math.floor(math.log10(max(raw, 1e-6)))
    for m in (1, 2, 5, 10):
        if base * m >= raw:
            return base * m
    return base * 10


def _time_label(t: float, step: float) -> str:
    m, s = divmod(t, 60.0)
    if step >= 1:
        return f"{int(m):d}:{int(round(s)) % 60:02d}" if m else f"{int(round(s))}s"
    decimals = min(3, max(1, -math.floor(math.log10(step))))
    return f"{int(m):d}:{s:0{3 + decimals}.{decimals}f}" if m else f"{s:.{decimals}f}s"


class TimelineWidget(QWidget):
    seekRequested = Signal(int)
    viewChanged = Signal(float, float)
    spectrogramReady = Signal()  # the spectrogram of the current view has been drawn

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumHeight(72)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setMouseTracking(False)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._duration = 0.0
        self._times = np.zeros(0, np.float64)
        self._pyramid: EnvelopePyramid | None = None
        self._audio: AudioTrack | None = None
        self._status: dict[int, str] = {}
        self._frame_status: dict[int, str] = {}
        self._frame_rank = np.zeros(0, np.int8)  # per frame: STATUS_PRIORITY of its state, -1 = no masks
        self._status_version = 0
        self._frame = 0
        self._t0, self._t1 = 0.0, 1.0
        self._follow = True
        self._spectrogram = False
        self._highlight: tuple[float, float] | None = None
        self._layer: QImage | None = None
        self._layer_key: tuple | None = None
        self._drag: str | None = None  # "seek" | "pan"
        self._drag_x = 0.0
        self._drag_view = (0.0, 1.0)
        self._spec_worker = SpectrogramWorker(self)
        self._spec_worker.ready.connect(self._spectrogram_ready)
        self._spec_done: tuple[tuple, QImage] | None = None
        self._spec_requested: tuple | None = None
        self._spec_pending = False

    def sizeHint(self) -> QSize:
        return QSize(800, 120)

    # ------------------------------------------------------------------ data
    def set_media(
        self,
        duration: float,
        frame_times: np.ndarray,
        pyramid: EnvelopePyramid | None = None,
        audio_for_spectrogram: AudioTrack | None = None,
    ) -> None:
        """Show a video: its duration (s), frame pts (s, index = frame), waveform pyramid, audio track.

        The widget keeps references only (no copies). The whole media becomes visible.
        """
        self._duration = max(float(duration), 0.0)
        self._times = np.asarray(frame_times, dtype=np.float64)
        if self._times.size and self._duration <= 0:
            self._duration = float(self._times[-1]) + 1.0 / 25.0
        self._pyramid = pyramid
        self._audio = audio_for_spectrogram
        self._status = {}
        self._frame_status = {}
        self._frame_rank = np.full(len(self._times), -1, np.int8)
        self._status_version += 1
        self._frame = 0
        self._t0, self._t1 = 0.0, max(self._duration, MIN_SPAN_S)
        self._layer_key = None
        self.viewChanged.emit(self._t0, self._t1)
        self.update()

    def clear(self) -> None:
        self.set_media(0.0, np.zeros(0), None, None)

    def set_keyframe_status(self, status: dict[int, str]) -> None:
        """Frame index -> review status ("none", "proposed", "accepted", "rejected", "edited")."""
        check_status(status)
        self._status = {int(k): v for k, v in status.items()}
        self._status_version += 1
        self.update()

    def keyframe_status(self) -> dict[int, str]:
        return dict(self._status)

    def set_frame_status(self, status: dict[int, str]) -> None:
        """Frame index -> review state of the frame's annotations, for every frame that has any."""
        check_status(status)
        n = len(self._times)
        rank = np.full(n, -1, np.int8)
        for f, st in status.items():
            if 0 <= f < n:
                rank[f] = STATUS_PRIORITY[st]
        self._frame_status = {int(k): v for k, v in status.items()}
        self._frame_rank = rank
        self._status_version += 1
        self.update()

    def frame_status(self) -> dict[int, str]:
        return dict(self._frame_status)

    def set_frame(self, frame: int) -> None:
        """Move the playhead to ``frame``; when following, page the view to keep it visible."""
        n = len(self._times)
        self._frame = int(min(max(frame, 0), max(n - 1, 0)))
        if self._follow and n:
            t = self._times[self._frame]
            span = self._t1 - self._t0
            if not self._t0 <= t <= self._t1 - 0.02 * span:
                start = t - FOLLOW_MARGIN * span
                self.set_view(start, start + span)
        self.update()

    def frame(self) -> int:
        return self._frame

    def set_follow(self, follow: bool) -> None:
        self._follow = bool(follow)

    def show_spectrogram(self, on: bool) -> None:
        self._spectrogram = bool(on) and self._audio is not None
        self._layer_key = None
        self.update()

    def spectrogram_shown(self) -> bool:
        return self._spectrogram

    def set_highlight(self, t0: float, t1: float) -> None:
        self._highlight = (float(t0), float(t1))
        self.update()

    def clear_highlight(self) -> None:
        self._highlight = None
        self.update()

    # ------------------------------------------------------------------ view
    def view_range(self) -> tuple[float, float]:
        return self._t0, self._t1

    def set_view(self, t0: float, t1: float) -> None:
        """Show [t0, t1) seconds, clamped to [0, duration] and at least MIN_SPAN_S wide."""
        full = max(self._duration, MIN_SPAN_S)
        span = min(max(float(t1) - float(t0), MIN_SPAN_S), full)
        start = min(max(float(t0), 0.0), full - span)
        if (start, start + span) != (self._t0, self._t1):
            self._t0, self._t1 = start, start + span
            self.viewChanged.emit(self._t0, self._t1)
            self.update()

    def zoom(self, factor: float, about_t: float | None = None) -> None:
        """Scale the visible span by ``factor`` (< 1 zooms in) keeping ``about_t`` at the same x."""
        t0, t1 = self._t0, self._t1
        c = (t0 + t1) / 2 if about_t is None else float(about_t)
        self.set_view(c - (c - t0) * factor, c + (t1 - c) * factor)

    def pan(self, dt: float) -> None:
        self.set_view(self._t0 + dt, self._t1 + dt)

    # ------------------------------------------------------------------ geometry
    def x_for_time(self, t: float) -> float:
        return (t - self._t0) / (self._t1 - self._t0) * self.width()

    def time_at_x(self, x: float) -> float:
        return self._t0 + x / max(self.width(), 1) * (self._t1 - self._t0)

    def frame_at_time(self, t: float) -> int:
        """The frame shown at time t (last frame whose pts <= t)."""
        if not len(self._times):
            return 0
        i = int(np.searchsorted(self._times, t, side="right")) - 1
        return min(max(i, 0), len(self._times) - 1)

    def _bands(self) -> tuple[int, int]:
        """(top, bottom) rows of the waveform / spectrogram band."""
        return RULER_H, max(RULER_H + 1, self.height() - TICK_H - STRIP_H)

    # ------------------------------------------------------------------ layers
    def _wave_array(self, w: int, h: int) -> np.ndarray:
        """(h, w) uint32 ARGB: one min/max bar per pixel column of the visible window."""
        img = np.full((h, w), argb(BACKGROUND), np.uint32)
        if self._pyramid is not None and w > 0 and h > 1:
            mins, maxs = self._pyramid.envelope(self._t0, self._t1, w)
            if w > 1:  # zoomed in past one sample per column: join neighbours into a continuous line
                lo, hi = mins.copy(), maxs.copy()
                mins[1:] = np.minimum(lo[1:], hi[:-1])
                maxs[1:] = np.maximum(hi[1:], lo[:-1])
            mid = (h - 1) / 2.0
            top = np.floor(mid - np.clip(maxs, -1, 1) * mid).astype(np.int32)
            bot = np.ceil(mid - np.clip(mins, -1, 1) * mid).astype(np.int32)
            rows = np.arange(h, dtype=np.int32)[:, None]
            inside = (rows >= top[None, :]) & (rows <= bot[None, :])
            img[int(round(mid))] = argb(AXIS_COLOUR)
            np.copyto(img, np.uint32(argb(WAVE_COLOUR)), where=inside)
        return img

    def _static_layer(self) -> QImage:
        """Everything but the playhead and highlight, cached per (view, size, mode, statuses)."""
        w, h = self.width(), self.height()
        key = (
            self._t0,
            self._t1,
            w,
            h,
            self._spectrogram,
            id(self._pyramid),
            id(self._audio),
            self._status_version,
        )
        if self._layer is not None and key == self._layer_key:
            return self._layer
        top, bottom = self._bands()
        img = np.empty((h, w), np.uint32)
        img[:top] = argb(RULER_BACKGROUND)
        img[bottom:] = argb(TICK_BACKGROUND)
        img[bottom : bottom + STRIP_H] = argb(STRIP_BACKGROUND)
        if self._spectrogram:
            img[top:bottom] = _array(self._spec_layer(w, bottom - top))
        else:
            img[top:bottom] = self._wave_array(w, bottom - top)
        draw_strip(img, self._frame_rank, self._times, self._t0, self._t1, bottom)
        draw_ticks(img, self._status, self._times, self._t0, self._t1, top, bottom)
        layer = argb_qimage(img)
        p = QPainter(layer)
        self._paint_ruler(p, paint_legend(p, w))
        p.end()
        self._layer = layer
        self._layer_key = key if not (self._spectrogram and self._spec_pending) else None
        return layer

    # ------------------------------------------------------------------ spectrogram (worker thread)
    def spectrogram_pending(self) -> bool:
        """True while the spectrogram of the current view is being computed (the old one is shown)."""
        return self._spectrogram and self._spec_pending

    def _spec_layer(self, w: int, h: int) -> QImage:
        """The spectrogram of the view if computed, else the last one moved/stretched into place meanwhile."""
        cols = min(w, SPEC_MAX_COLUMNS)
        want = (self._t0, self._t1, cols, id(self._audio))
        done = self._spec_done
        if done is not None and done[0] == want:
            self._spec_pending = False
            return done[1].scaled(w, h, Qt.AspectRatioMode.IgnoreAspectRatio)
        if self._spec_requested != want and self._audio is not None:
            self._spec_requested = want
            self._spec_pending = True
            self._spec_worker.request(want, self._audio, lambda: self._spec_requested)
        img = QImage(w, h, QImage.Format.Format_RGB32)
        img.fill(QColor(BACKGROUND))
        if done is not None and done[0][3] == id(self._audio):  # stale image, mapped onto the new view
            (t0, t1, _, _), old = done[0], done[1]
            p = QPainter(img)
            p.drawImage(QRectF(self.x_for_time(t0), 0, self.x_for_time(t1) - self.x_for_time(t0), h), old)
            p.end()
        return img

    def _spectrogram_ready(self, key: tuple, argb: np.ndarray) -> None:
        self._spec_done = (key, argb_qimage(argb))
        if key == self._spec_requested:
            self._spec_pending = False
            self._layer_key = None
            self.update()
            self.spectrogramReady.emit()

    # ------------------------------------------------------------------ painting
    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        h = self.height()
        if self._duration <= 0:
            p.fillRect(self.rect(), QColor(BACKGROUND))
            p.setPen(QColor(TEXT_COLOUR))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "no video")
            p.end()
            return
        p.drawImage(QPointF(0, 0), self._static_layer())
        if self._highlight is not None:
            top, bottom = self._bands()
            x0, x1 = self.x_for_time(self._highlight[0]), self.x_for_time(self._highlight[1])
            p.fillRect(QRectF(x0, top, max(x1 - x0, 1.0), bottom - top), HIGHLIGHT_COLOUR)
        if len(self._times):
            x = round(self.x_for_time(self._times[self._frame]))
            p.setPen(QPen(QColor(PLAYHEAD_COLOUR), 1))
            p.drawLine(x, 0, x, h)
            p.fillRect(QRectF(x - 3, 0, 7, 4), QColor(PLAYHEAD_COLOUR))
        p.end()

    def _paint_ruler(self, p: QPainter, right: int) -> None:
        """Ticks and time labels; a label that would run under the legend (from x = ``right``) is left out."""
        w = self.width()
        step = _nice_step(self._t1 - self._t0, w)
        p.setPen(QColor(TEXT_COLOUR))
        font = p.font()
        font.setPixelSize(10)
        p.setFont(font)
        k = math.ceil(self._t0 / step - 1e-9)
        while k * step <= self._t1:
            t = k * step
            x = round(self.x_for_time(t))
            label = _time_label(t, step)
            if x < right:
                p.drawLine(x, RULER_H - 4, x, RULER_H - 1)
            if x + 3 + p.fontMetrics().horizontalAdvance(label) < right:
                p.drawText(x + 3, RULER_H - 4, label)
            k += 1

    # ------------------------------------------------------------------ mouse
    def mousePressEvent(self, event: QMouseEvent) -> None:
        x = event.position().x()
        shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if event.button() == Qt.MouseButton.MiddleButton or (
            event.button() == Qt.MouseButton.LeftButton and shift
        ):
            self._drag, self._drag_x, self._drag_view = "pan", x, (self._t0, self._t1)
        elif event.button() == Qt.MouseButton.LeftButton and len(self._times):
            self._drag = "seek"
            self._seek_to_x(x, always=True)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        x = event.position().x()
        if self._drag == "seek":
            self._seek_to_x(x)
        elif self._drag == "pan":
            t0, t1 = self._drag_view
            dt = (self._drag_x - x) / max(self.width(), 1) * (t1 - t0)
            self.set_view(t0 + dt, t1 + dt)
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._drag = None
        event.accept()

    def _seek_to_x(self, x: float, always: bool = False) -> None:
        """Move the playhead to the frame under x and ask for it (on press always, on drag when it changes)."""
        frame = self.frame_at_time(self.time_at_x(min(max(x, 0.0), self.width() - 1.0)))
        if frame != self._frame or always:
            follow, self._follow = self._follow, False  # the view must not jump under the mouse
            self.set_frame(frame)
            self._follow = follow
            self.seekRequested.emit(frame)

    def wheelEvent(self, event: QWheelEvent) -> None:
        d = event.angleDelta()
        shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if d.x() and not d.y():  # horizontal wheel / touchpad swipe pans
            self.pan(-d.x() / 120.0 * PAN_STEP * (self._t1 - self._t0))
        elif shift:
            self.pan(-d.y() / 120.0 * PAN_STEP * (self._t1 - self._t0))
        elif d.y():
            self.zoom(ZOOM_STEP ** (d.y() / 120.0), self.time_at_x(event.position().x()))
        event.accept()

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._layer_key = None
        super().resizeEvent(event)


def _array(img: QImage) -> np.ndarray:
    """(h, w) uint32 copy of an RGB32 / ARGB32 QImage."""
    img = img.convertToFormat(QImage.Format.Format_RGB32)
    a = np.frombuffer(img.constBits(), np.uint32).reshape(img.height(), img.bytesPerLine() // 4)
    return a[:, : img.width()].copy()
