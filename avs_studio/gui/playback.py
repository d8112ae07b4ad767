"""PlaybackController: audio + video in sync from one clock, never blocking the GUI thread.

Usage::

    pb = PlaybackController(window)
    pb.set_media(reader.frame_times, load_audio(path, rate=None, mono=False), reader.info.duration)
    pb.frameChanged.connect(window.show_frame)     # int frame index, ~60 checks a second while playing
    pb.frameChanged.connect(timeline.set_frame)
    pb.notice.connect(statusbar.showMessage)       # e.g. "No audio output device: playing silently" (once)
    pb.toggle()                                    # Space
    pb.play_span(frame, last_frame_of_second)      # "play the current second with sound", then back
    pb.set_loop(clip_first, clip_last); pb.play()  # loop the clip (or a second) until pause()

Public API
    signals  frameChanged(int), notice(str), playingChanged(bool), finished()
    set_media(frame_times, audio: AudioTrack | None, duration: float | None = None)
    play(start_frame=None), pause(), toggle(), seek(frame), stop() (pause and forget the media)
    set_speed(speed)  clamped to [0.25, 2.0]
    set_loop(start_frame, end_frame)  (inclusive frames) / clear_loop() / loop_range() -> (t0, t1) | None
    play_span(frame0, frame1, return_to_start=True)  plays [t(frame0), end of frame1) once, then pauses
    is_playing(), frame(), frame_count(), position() (s), speed(), audio_active(), close()

The clock: with an audio device, media time is read from the audio stream (the time stamp at which the
block that holds sample k reaches the speaker, plus the stream time elapsed since), so the picture follows
what is heard. Without one (sounddevice missing, PortAudioError, no default output device) the clock is
``time.perf_counter`` and the controller plays silently, emitting ``notice`` once. A 60 Hz QTimer maps the
clock to a frame with ``np.searchsorted(frame_times, t, "right") - 1`` and emits ``frameChanged`` on change.

Speed: audio is resampled by linear interpolation (pitch follows speed, like tape), so sound stays on at
every speed from 0.25x to 2x and the same clock drives the picture.

The audio callback runs on PortAudio's thread and only reads numpy arrays (no Qt, no allocation beyond
one block); the GUI thread never waits for audio.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer, Signal

from avs_studio.media import AudioTrack

MIN_SPEED, MAX_SPEED = 0.25, 2.0
TICK_MS = 16
NO_DEVICE_NOTICE = "No audio output device: playing silently"


class AudioFeed:
    """Blocks of output audio from a track: at ``speed``, wrapping inside ``loop`` or stopping at ``end``.

    Pure numpy, used from the audio thread. ``position`` is media seconds of the next sample to play.
    """

    def __init__(self, samples: np.ndarray, rate: int) -> None:
        x = np.asarray(samples, dtype=np.float32)
        self.samples = x if x.ndim == 2 else x[None, :]
        self.rate = int(rate)
        self.position = 0.0
        self.speed = 1.0
        self.loop: tuple[float, float] | None = None
        self.end: float | None = None

    @property
    def channels(self) -> int:
        return int(self.samples.shape[0])

    def wrap(self, t: float) -> float:
        if self.loop is None:
            return t
        lo, hi = self.loop
        return lo + (t - lo) % (hi - lo) if t >= hi or t < lo else t

    def read(self, n: int) -> tuple[np.ndarray, float]:
        """(block (n, channels) float32, media time of its first sample); advances ``position``."""
        t_first = self.position
        src = self.position * self.rate + np.arange(n, dtype=np.float64) * self.speed
        if self.loop is not None:
            lo, hi = self.loop[0] * self.rate, self.loop[1] * self.rate
            src = np.where(src >= hi, lo + (src - lo) % (hi - lo), src)
        total = self.samples.shape[1]
        i = np.floor(src).astype(np.int64)
        f = (src - i).astype(np.float32)
        valid = (i >= 0) & (i < total)
        if self.end is not None:
            valid &= src < self.end * self.rate
        i0 = np.clip(i, 0, max(total - 1, 0))
        i1 = np.clip(i + 1, 0, max(total - 1, 0))
        if total:
            block = self.samples[:, i0] * (1.0 - f) + self.samples[:, i1] * f
            block *= valid
        else:
            block = np.zeros((self.channels, n), np.float32)
        self.position = self.wrap(self.position + n * self.speed / self.rate)
        return np.ascontiguousarray(block.T, dtype=np.float32), t_first


def _default_stream_factory(**kwargs: Any) -> Any:
    import sounddevice as sd  # imported lazily: it raises OSError when PortAudio is missing

    return sd.OutputStream(**kwargs)


def _audio_errors() -> tuple[type[BaseException], ...]:
    errors: tuple[type[BaseException], ...] = (OSError, ValueError, RuntimeError)
    try:
        import sounddevice as sd

        errors += (sd.PortAudioError,)
    except OSError:
        pass
    return errors


class PlaybackController(QObject):
    frameChanged = Signal(int)
    notice = Signal(str)
    playingChanged = Signal(bool)
    finished = Signal()

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        stream_factory: Callable[..., Any] | None = None,
        tick_ms: int = TICK_MS,
    ) -> None:
        """``stream_factory(**kwargs)`` makes the output stream (default ``sounddevice.OutputStream``)."""
        super().__init__(parent)
        self._factory = stream_factory or _default_stream_factory
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(int(tick_ms))
        self._timer.timeout.connect(self._tick)
        self._lock = threading.Lock()
        self._times = np.zeros(0, np.float64)
        self._duration = 0.0
        self._feed: AudioFeed | None = None
        self._stream: Any = None
        self._anchor: tuple[float, float] | None = None  # (stream time the block is heard, media t)
        self._wall: tuple[float, float] = (0.0, 0.0)  # (perf_counter, media t) of the wall clock
        self._speed = 1.0
        self._loop: tuple[float, float] | None = None
        self._span: tuple[int, float, bool] | None = None  # (return frame, end t, return_to_start)
        self._frame = 0
        self._playing = False
        self._told_no_device = False

    # ------------------------------------------------------------------ media
    def set_media(
        self, frame_times: np.ndarray, audio: AudioTrack | None, duration: float | None = None
    ) -> None:
        """A video's frame pts (s) and its audio (any rate / channels; None = silent video)."""
        self.pause()
        self._times = np.asarray(frame_times, dtype=np.float64)
        if duration is None:
            step = float(np.median(np.diff(self._times))) if len(self._times) > 1 else 0.04
            duration = float(self._times[-1]) + step if len(self._times) else 0.0
            if audio is not None:
                duration = max(duration, audio.duration)
        self._duration = float(duration)
        self._feed = (
            AudioFeed(audio.samples, audio.rate) if audio is not None and audio.samples.size else None
        )
        self._loop = None
        self._span = None
        self._frame = 0

    def stop(self) -> None:
        self.pause()
        self.set_media(np.zeros(0), None, 0.0)

    # ------------------------------------------------------------------ state
    def is_playing(self) -> bool:
        return self._playing

    def frame_count(self) -> int:
        """Frames of the media set (0 before ``set_media``)."""
        return len(self._times)

    def frame(self) -> int:
        return self._frame

    def speed(self) -> float:
        return self._speed

    def loop_range(self) -> tuple[float, float] | None:
        return self._loop

    def audio_active(self) -> bool:
        """True while the audio stream drives the clock (sound is playing)."""
        return self._stream is not None

    def position(self) -> float:
        """Media time (s) of the clock now (the current frame's time when paused)."""
        if not self._playing:
            return float(self._times[self._frame]) if len(self._times) else 0.0
        return self._clock()

    def frame_at(self, t: float) -> int:
        if not len(self._times):
            return 0
        i = int(np.searchsorted(self._times, t, side="right")) - 1
        return min(max(i, 0), len(self._times) - 1)

    def frame_end(self, frame: int) -> float:
        """End time of ``frame`` (next frame's pts; the last frame lasts until the duration)."""
        f = min(max(int(frame), 0), len(self._times) - 1)
        return (
            float(self._times[f + 1])
            if f + 1 < len(self._times)
            else max(self._duration, float(self._times[f]))
        )

    # ------------------------------------------------------------------ commands
    def play(self, start_frame: int | None = None) -> None:
        """Play from ``start_frame`` (default: the current frame; inside the loop when one is set)."""
        if not len(self._times):
            return
        if self._playing:
            self.pause()
        frame = (
            self._frame
            if start_frame is None
            else self.frame_at(self._times[min(max(start_frame, 0), len(self._times) - 1)])
        )
        t = float(self._times[frame])
        if self._loop is not None and not self._loop[0] <= t < self._loop[1]:
            t = self._loop[0]
        elif self._loop is None and self._span is None and frame >= len(self._times) - 1:
            t = 0.0  # at the end: start over
        self._set_frame(self.frame_at(t))
        self._start_clock(t)
        self._playing = True
        self._timer.start()
        self.playingChanged.emit(True)

    def pause(self) -> None:
        if not self._playing:
            return
        self._timer.stop()
        self._close_stream()
        self._playing = False
        self._span = None
        self.playingChanged.emit(False)

    def toggle(self) -> None:
        if self._playing:
            self.pause()
        else:
            self.play()

    def seek(self, frame: int) -> None:
        """Jump to ``frame``; keeps playing from there when playing."""
        if not len(self._times):
            return
        frame = min(max(int(frame), 0), len(self._times) - 1)
        self._set_frame(frame)
        if self._playing:
            self._restart_clock(float(self._times[frame]))

    def set_speed(self, speed: float) -> None:
        speed = float(min(max(speed, MIN_SPEED), MAX_SPEED))
        if self._playing:
            t = self._clock()
            self._speed = speed
            self._restart_clock(t)
        else:
            self._speed = speed

    def set_loop(self, start_frame: int, end_frame: int) -> None:
        """Loop [t(start_frame), end of end_frame) while playing (frames inclusive)."""
        if not len(self._times):
            return
        a, b = sorted((int(start_frame), int(end_frame)))
        a = min(max(a, 0), len(self._times) - 1)
        t0, t1 = float(self._times[a]), self.frame_end(b)
        if t1 <= t0:
            raise ValueError(f"loop frames {start_frame}..{end_frame} span no time")
        self._loop = (t0, t1)
        self._span = None
        if self._playing:
            t = self._clock()
            self._restart_clock(t if t0 <= t < t1 else t0)

    def clear_loop(self) -> None:
        if self._loop is None:
            return
        t = self._clock() if self._playing else 0.0
        self._loop = None
        if self._playing:
            self._restart_clock(t)

    def play_span(self, frame0: int, frame1: int, return_to_start: bool = True) -> None:
        """Play [t(frame0), end of frame1) once (clears the loop), then pause; back on frame0 if asked."""
        if not len(self._times):
            return
        a, b = sorted((int(frame0), int(frame1)))
        a = min(max(a, 0), len(self._times) - 1)
        self.pause()
        self._loop = None
        self._span = (a, self.frame_end(b), return_to_start)
        self.play(a)

    def close(self) -> None:
        self.pause()

    # ------------------------------------------------------------------ clock
    def _set_frame(self, frame: int) -> None:
        if frame != self._frame:
            self._frame = frame
            self.frameChanged.emit(frame)

    def _end_time(self) -> float:
        return self._span[1] if self._span is not None else self._duration

    def _start_clock(self, t: float) -> None:
        self._wall = (time.perf_counter(), t)
        if self._feed is not None:
            self._open_stream(t)

    def _restart_clock(self, t: float) -> None:
        self._wall = (time.perf_counter(), t)
        feed = self._feed
        if self._stream is not None and feed is not None:
            with self._lock:
                feed.speed, feed.loop = self._speed, self._loop
                feed.end = self._span[1] if self._span else None
                feed.position = t
                self._anchor = (float(self._stream.time), t)

    def _open_stream(self, t: float) -> None:
        feed = self._feed
        assert feed is not None
        with self._lock:
            feed.position, feed.speed, feed.loop = t, self._speed, self._loop
            feed.end = self._span[1] if self._span else None
            self._anchor = None
        try:
            stream = self._factory(
                samplerate=feed.rate,
                channels=feed.channels,
                dtype="float32",
                callback=self._callback,
                latency="low",
            )
            stream.start()
        except _audio_errors() as exc:
            self._stream = None
            if not self._told_no_device:
                self._told_no_device = True
                reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                self.notice.emit(f"{NO_DEVICE_NOTICE} ({reason})")
            return
        self._stream = stream

    def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.abort()
                stream.close()
            except _audio_errors():
                pass
        self._anchor = None

    def _callback(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        """PortAudio thread: fill one block and remember when its first sample will be heard."""
        feed = self._feed
        if feed is None:
            outdata.fill(0)
            return
        with self._lock:
            block, t_first = feed.read(frames)
            self._anchor = (float(time_info.outputBufferDacTime), t_first)
        outdata[:] = block

    def _wrap(self, t: float) -> float:
        if self._loop is None:
            return t
        lo, hi = self._loop
        return lo + (t - lo) % (hi - lo) if t >= hi or t < lo else t

    def _clock(self) -> float:
        stream = self._stream
        if stream is not None:
            with self._lock:
                anchor = self._anchor
            if anchor is not None:
                dac, media = anchor
                t = media + max(float(stream.time) - dac, -0.5) * self._speed
                return self._wrap(max(t, 0.0))
            return self._wall[1]  # no block delivered yet: nothing heard yet
        start_wall, start_t = self._wall
        return self._wrap(start_t + (time.perf_counter() - start_wall) * self._speed)

    def _tick(self) -> None:
        if not self._playing:
            return
        t = self._clock()
        end = self._end_time()
        if self._loop is None and t >= end:
            span = self._span
            last = self.frame_at(end - 1e-6)
            self.pause()
            self._set_frame(span[0] if span is not None and span[2] else last)
            self.finished.emit()
            return
        self._set_frame(self.frame_at(t))
