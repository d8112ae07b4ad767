"""Generate real media files for tests (PyAV), with ground truth you can decode back.

Every frame carries its frame number as a 16-bit binary counter: two rows of 16 big blocks at the top
of the picture, the second row the inverse of the first (white = 1). ``read_counter(frame)`` decodes it
and raises ValueError when the rows disagree, so a wrong or damaged frame never passes silently.
Below the counter: a grey background whose shade follows the frame number, and a moving coloured square.

Audio is a tone schedule: second s plays a sine at ``tone_schedule[s]`` Hz (default ``tone_frequency(s)``,
a different frequency each second), so a test can cut the span of a frame or a second and check
``dominant_frequency(span, rate)``.

    from tests.helpers.media_factory import make_video, read_counter, tone_frequency, dominant_frequency
    path = make_video(tmp_path / "a.mp4", frames=50, fps=25, gop=12)      # 2 s, tones 400 / 700 Hz
    path = make_video(tmp_path / "mute.mp4", audio=None)                  # no audio stream
    path = make_short_audio_video(tmp_path / "s.mp4", frames=75, audio_seconds=1.0)
    path = make_vfr_video(tmp_path / "v.mp4")                             # irregular frame times
    path = make_corrupt_file(tmp_path / "bad.mp4")                        # truncated mp4 (no moov)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

COUNTER_BITS = 16
COUNTER_ROWS = 2  # bits, then inverted bits

Painter = Callable[[int, np.ndarray], None]


def tone_frequency(second: int) -> float:
    """Default tone of second ``second``: 400, 700, ... 6100 Hz, repeating every 20 s (< 8 kHz Nyquist)."""
    return 400.0 + 300.0 * (int(second) % 20)


def counter_height(height: int) -> int:
    """Pixel rows the counter band takes at the top of a frame of this height."""
    return COUNTER_ROWS * _block_h(height)


def _block_h(height: int) -> int:
    return max(4, height // 8)


def draw_frame(index: int, size: tuple[int, int], counter: bool = True) -> np.ndarray:
    """The RGB picture of frame ``index`` (size = (width, height)), counter band included."""
    w, h = size
    img = np.empty((h, w, 3), np.uint8)
    img[:] = (60 + (index * 7) % 120, 90, 120)
    sq = max(4, min(w, h) // 5)
    top = counter_height(h) if counter else 0
    span_x, span_y = max(1, w - sq), max(1, h - top - sq)
    x0 = (index * 3) % span_x
    y0 = top + (index * 2) % span_y
    img[y0 : y0 + sq, x0 : x0 + sq] = (220, 40, 40)
    if counter:
        if index >= 1 << COUNTER_BITS:
            raise ValueError(f"frame {index} does not fit the {COUNTER_BITS}-bit counter")
        bh = _block_h(h)
        edges = np.linspace(0, w, COUNTER_BITS + 1).astype(int)
        for bit in range(COUNTER_BITS):
            on = (index >> (COUNTER_BITS - 1 - bit)) & 1
            x_a, x_b = edges[bit], edges[bit + 1]
            img[0:bh, x_a:x_b] = 255 if on else 0
            img[bh : 2 * bh, x_a:x_b] = 0 if on else 255
    return img


def red(frame: np.ndarray) -> np.ndarray:
    """Pixels of the red square a painter draws at (220, 40, 40) (the proposal tests' "sound source")."""
    r, g, b = (frame[..., i].astype(int) for i in range(3))
    return (abs(r - 220) <= 40) & (abs(g - 40) <= 40) & (abs(b - 40) <= 40)


def read_counter(frame: np.ndarray) -> int:
    """Frame number drawn by ``draw_frame``; ValueError if the pattern is not readable."""
    img = np.asarray(frame)
    h, w = img.shape[:2]
    luma = img.astype(np.float32).mean(axis=2) if img.ndim == 3 else img.astype(np.float32)
    bh = _block_h(h)
    edges = np.linspace(0, w, COUNTER_BITS + 1).astype(int)
    value = 0
    for bit in range(COUNTER_BITS):
        x_a, x_b = edges[bit], edges[bit + 1]
        mx = max(1, (x_b - x_a) // 4)
        my = max(1, bh // 4)
        top = luma[my : bh - my, x_a + mx : x_b - mx].mean()
        bottom = luma[bh + my : 2 * bh - my, x_a + mx : x_b - mx].mean()
        on, off = top > 127.5, bottom > 127.5
        if on == off or abs(top - bottom) < 64:
            raise ValueError(f"counter bit {bit} unreadable (top {top:.0f}, bottom {bottom:.0f})")
        value = (value << 1) | int(on)
    return value


def tone_samples(
    seconds: float,
    rate: int,
    schedule: Sequence[float] | Callable[[int], float] | None = None,
    amp: float = 0.5,
) -> np.ndarray:
    """float32 (N,) sine whose frequency changes every second by ``schedule`` (continuous phase)."""
    n = int(round(seconds * rate))
    t = np.arange(n) / rate
    sec = np.floor(t).astype(int)
    if schedule is None:
        freqs = np.array([tone_frequency(s) for s in range(sec.max() + 1 if n else 0)])
    elif callable(schedule):
        freqs = np.array([schedule(s) for s in range(sec.max() + 1 if n else 0)], dtype=np.float64)
    else:
        freqs = np.asarray(schedule, dtype=np.float64)
        if n and len(freqs) <= sec.max():
            raise ValueError(f"tone_schedule has {len(freqs)} entries, audio lasts {seconds} s")
    if n == 0:
        return np.zeros(0, np.float32)
    phase = 2 * np.pi * np.cumsum(freqs[sec]) / rate
    return (amp * np.sin(phase)).astype(np.float32)


def make_video(
    path: str | Path,
    *,
    frames: int = 50,
    fps: float = 25,
    size: tuple[int, int] = (160, 120),
    gop: int | None = None,
    codec: str = "libx264",
    audio: str | None = "tones",
    audio_seconds: float | None = None,
    tone_schedule: Sequence[float] | Callable[[int], float] | None = None,
    audio_rate: int = 16000,
    audio_channels: int = 1,
    vfr_times: Sequence[float] | None = None,
    counter: bool = True,
    painter: Painter | None = None,
    crf: int = 18,
) -> Path:
    """Write a video (mp4 by default; the container follows the suffix) and return its path.

    frames/fps/size(width, height): the picture stream; every frame has its number as a counter (see
    ``read_counter``) unless ``counter`` is False. ``gop``: keyframe every ``gop`` frames exactly (None:
    encoder default). ``audio="tones"``: AAC audio of the tone schedule (None: no audio stream);
    ``audio_seconds`` defaults to the video duration (shorter gives audio shorter than the video).
    ``vfr_times``: presentation time in seconds of each frame (variable frame rate; overrides fps
    spacing, len must equal ``frames``). ``painter(index, rgb)`` may draw more on each frame in place.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    w, h = size
    if codec in ("libx264", "h264") and (w % 2 or h % 2):
        raise ValueError(f"H.264 needs even width and height, got {size}")
    rate = Fraction(fps).limit_denominator(1001)
    if vfr_times is not None:
        if len(vfr_times) != frames:
            raise ValueError(f"vfr_times has {len(vfr_times)} entries for {frames} frames")
        time_base = Fraction(1, 90000)
        pts_list = [int(round(t * 90000)) for t in vfr_times]
        duration = float(vfr_times[-1]) + (float(vfr_times[-1] - vfr_times[-2]) if frames > 1 else 1 / fps)
    else:
        time_base = 1 / rate
        pts_list = list(range(frames))
        duration = frames / float(rate)
    tmp = path.with_name(path.name + ".part" + path.suffix)
    with av.open(str(tmp), mode="w") as out:
        vs = out.add_stream(codec, rate=rate)
        vs.width, vs.height = w, h
        vs.pix_fmt = "yuv420p"
        vs.time_base = time_base
        vs.codec_context.time_base = time_base
        opts = {}
        if codec == "libx264":
            opts = {"preset": "veryfast", "crf": str(crf)}
            if gop:
                opts["x264-params"] = f"keyint={gop}:min-keyint={gop}:scenecut=0"
        if gop:
            vs.codec_context.gop_size = gop
        vs.options = opts
        aus = None
        if audio is not None:
            if audio != "tones":
                raise ValueError(f"audio must be 'tones' or None, got {audio!r}")
            aus = out.add_stream("aac", rate=audio_rate, layout="mono" if audio_channels == 1 else "stereo")
        for i in range(frames):
            img = draw_frame(i, size, counter)
            if painter is not None:
                painter(i, img)
            vf = av.VideoFrame.from_ndarray(img, format="rgb24")
            vf.pts = pts_list[i]
            vf.time_base = time_base
            for pkt in vs.encode(vf):
                out.mux(pkt)
        for pkt in vs.encode(None):
            out.mux(pkt)
        if aus is not None:
            secs = duration if audio_seconds is None else float(audio_seconds)
            mono = tone_samples(secs, audio_rate, tone_schedule)
            data = np.repeat(mono[None, :], audio_channels, axis=0)
            step = 1024
            for k in range(0, data.shape[1], step):
                chunk = np.ascontiguousarray(data[:, k : k + step])
                af = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=aus.layout.name)
                af.sample_rate = audio_rate
                af.pts = k
                af.time_base = Fraction(1, audio_rate)
                for pkt in aus.encode(af):
                    out.mux(pkt)
            for pkt in aus.encode(None):
                out.mux(pkt)
    tmp.replace(path)
    return path


def make_no_audio_video(path: str | Path, **kw) -> Path:
    """A video with no audio stream at all."""
    return make_video(path, audio=None, **kw)


def make_short_audio_video(
    path: str | Path, *, frames: int = 75, fps: float = 25, audio_seconds: float = 1.0, **kw
) -> Path:
    """A video whose audio stops after ``audio_seconds`` (default 1 s of a 3 s video)."""
    return make_video(path, frames=frames, fps=fps, audio_seconds=audio_seconds, **kw)


def vfr_schedule(frames: int = 60) -> list[float]:
    """Irregular frame times: alternating 1/50, 1/25 and 1/10 s gaps."""
    gaps = [0.02, 0.04, 0.1]
    t, out = 0.0, []
    for i in range(frames):
        out.append(round(t, 6))
        t += gaps[i % 3]
    return out


def make_vfr_video(path: str | Path, *, frames: int = 60, times: Sequence[float] | None = None, **kw) -> Path:
    """A variable frame rate video; frame i is shown from ``times[i]`` (default ``vfr_schedule``)."""
    times = list(times) if times is not None else vfr_schedule(frames)
    return make_video(path, frames=len(times), vfr_times=times, **kw)


def make_corrupt_file(path: str | Path, kind: str = "truncated") -> Path:
    """A file named like a video that is not decodable.

    kind "truncated": the first third of a real mp4 (no moov atom); "truncated_tail": the first half of a
    "faststart" mp4 (index up front, frames missing); "garbage": random bytes behind an mp4-looking
    header; "empty": zero bytes.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "truncated":
        good = make_video(path.with_name(path.stem + ".full.mp4"), frames=25)
        data = good.read_bytes()
        good.unlink()
        path.write_bytes(data[: len(data) // 3])
    elif kind == "truncated_tail":
        good = make_video(path.with_name(path.stem + ".full.mp4"), frames=50)
        fast = path.with_name(path.stem + ".fast.mp4")
        with av.open(str(good)) as src, av.open(str(fast), "w", options={"movflags": "faststart"}) as dst:
            streams = {s.index: dst.add_stream_from_template(s) for s in src.streams}
            for pkt in src.demux():
                if pkt.dts is None:
                    continue
                pkt.stream = streams[pkt.stream.index]
                dst.mux(pkt)
        data = fast.read_bytes()
        good.unlink()
        fast.unlink()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "garbage":
        rng = np.random.default_rng(0)
        path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    elif kind == "empty":
        path.write_bytes(b"")
    else:
        raise ValueError(f"unknown corrupt kind {kind!r}")
    return path


def make_text_file(path: str | Path) -> Path:
    """A plain text file with a video suffix."""
    path = Path(path)
    path.write_text("this is not a video\n")
    return path


def dominant_frequency(samples: np.ndarray, rate: int) -> float:
    """Frequency (Hz) of the strongest FFT bin of (N,) or (C, N) samples (channels averaged)."""
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim == 2:
        x = x.mean(axis=0)
    if len(x) == 0:
        raise ValueError("no samples")
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    spec[0] = 0.0
    return float(np.fft.rfftfreq(len(x), 1.0 / rate)[int(np.argmax(spec))])
