"""Audio decoding/resampling (PyAV) on the same timeline as the video frames."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import av
import numpy as np

from avs_studio.media.errors import MediaError, NoAudioError
from avs_studio.media.probe import AV_ERRORS, av_reason, open_container, video_origin


@dataclass
class AudioTrack:
    """float32 samples (C, N) in [-1, 1]; sample 0 sits at time 0 of the video timeline."""

    samples: np.ndarray
    rate: int

    @property
    def duration(self) -> float:
        return float(self.samples.shape[-1] / self.rate)

    @property
    def channels(self) -> int:
        return int(self.samples.shape[0])

    def span(self, t0: float, t1: float) -> np.ndarray:
        """Samples of [t0, t1) as (C, round((t1-t0)*rate)); zeros where the audio does not reach."""
        a = int(round(t0 * self.rate))
        n = max(0, int(round(t1 * self.rate)) - a)
        out = np.zeros((self.samples.shape[0], n), dtype=np.float32)
        lo, hi = max(a, 0), min(a + n, self.samples.shape[1])
        if hi > lo:
            out[:, lo - a : hi - a] = self.samples[:, lo:hi]
        return out


def load_audio(path: str | Path, rate: int | None = 16000, mono: bool = True) -> AudioTrack:
    """Decode the first audio stream, resampled to ``rate`` (None: native rate), mono or native channels.

    Samples are placed on the video's timeline (time 0 = first video frame): a late audio start is
    zero-padded, audio before the first frame is dropped. NoAudioError when the file has no audio.
    """
    p = Path(path)
    container = open_container(p)
    try:
        if not container.streams.audio:
            raise NoAudioError(p)
        stream = container.streams.audio[0]
        stream.codec_context.thread_type = "AUTO"
        origin = video_origin(container)
        native_rate = stream.codec_context.sample_rate
        out_rate = int(rate) if rate else int(native_rate)
        layout = "mono" if mono else stream.codec_context.layout.name
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=out_rate)
        chunks: list[np.ndarray] = []
        start: float | None = None
        try:
            for frame in container.decode(stream):
                if start is None and frame.pts is not None and frame.time_base is not None:
                    start = float(frame.pts * frame.time_base)
                for rf in resampler.resample(frame):
                    chunks.append(rf.to_ndarray())
            for rf in resampler.resample(None):
                chunks.append(rf.to_ndarray())
        except AV_ERRORS as exc:
            raise MediaError(p, f"audio cannot be decoded: {av_reason(exc)}") from exc
        channels = 1 if mono else stream.codec_context.channels
        samples = (
            np.concatenate(chunks, axis=1).astype(np.float32, copy=False)
            if chunks
            else np.zeros((channels, 0), np.float32)
        )
        shift = int(round(((start or 0.0) - origin) * out_rate))
        if shift > 0:
            samples = np.concatenate([np.zeros((samples.shape[0], shift), np.float32), samples], axis=1)
        elif shift < 0:
            samples = samples[:, -shift:]
        if stream.duration is not None and stream.time_base is not None:
            # Decoders emit whole codec frames; the container knows where the audio really ends.
            first = stream.start_time or 0
            end = float((first + stream.duration) * stream.time_base) - origin
            samples = samples[:, : max(0, int(round(end * out_rate)))]
        samples = np.clip(samples, -1.0, 1.0)
        return AudioTrack(np.ascontiguousarray(samples), out_rate)
    finally:
        container.close()


class _HasTimes(Protocol):
    frame_times: np.ndarray

    @property
    def info(self) -> None: ...


def frame_span(reader_or_times: _HasTimes | np.ndarray, index: int) -> tuple[float, float]:
    """[t0, t1) of frame ``index`` on the video timeline (the last frame lasts until the video ends)."""
    times = getattr(reader_or_times, "frame_times", None)
    info = getattr(reader_or_times, "info", None)
    times = np.asarray(reader_or_times if times is None else times, dtype=np.float64)
    n = len(times)
    if not 0 <= index < n:
        raise IndexError(f"frame {index} outside [0, {n})")
    t0 = float(times[index])
    if index + 1 < n:
        return t0, float(times[index + 1])
    if info is not None:
        return t0, float(info.duration)
    step = float(np.median(np.diff(times))) if n > 1 else 0.04
    return t0, t0 + step


def second_span(second: int) -> tuple[float, float]:
    """[s, s+1) seconds: the audio segment of second ``second`` (AVSBench one-second segments)."""
    return float(second), float(second) + 1.0
