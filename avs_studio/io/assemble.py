"""Assemble still frames + a wav file into one playable, lossless video (AVSBench clips -> media store).

Frames are encoded losslessly so the app decodes the exact original pixels: H.264 in RGB (``libx264rgb``,
qp 0) when PyAV's FFmpeg has it, else FFV1; both in Matroska (.mkv) with the wav's samples as PCM.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from fractions import Fraction
from functools import cache
from pathlib import Path

import av
import numpy as np
from av.audio.stream import AudioStream
from av.video.stream import VideoStream

from avs_studio.atomic import atomic_path
from avs_studio.io.errors import DatasetError

CONTAINER_SUFFIX = ".mkv"
_PCM = {"s16": "pcm_s16le", "s16p": "pcm_s16le", "s32": "pcm_s32le", "s32p": "pcm_s32le"}


@cache
def lossless_codec() -> tuple[str, str, dict[str, str]]:
    """(codec, pixel format, options) of the lossless video encoder available in PyAV's FFmpeg."""
    for name, pix, opts in (
        ("libx264rgb", "rgb24", {"qp": "0", "preset": "veryfast", "bf": "0"}),
        ("ffv1", "bgr0", {}),
    ):
        try:
            av.codec.Codec(name, "w")
        except Exception:  # noqa: BLE001 - not built into this FFmpeg
            continue
        return name, pix, opts
    raise DatasetError("PyAV's FFmpeg has neither libx264rgb nor ffv1: cannot store frames losslessly")


def assemble_clip(
    frames: Sequence[np.ndarray],
    wav: str | os.PathLike[str] | None,
    out: str | os.PathLike[str],
    fps: float = 1.0,
) -> Path:
    """Write ``frames`` (RGB uint8, same size) at ``fps`` plus the wav's audio to ``out`` atomically."""
    out = Path(out)
    if not frames:
        raise DatasetError(f"no frames to assemble into {out}")
    h, w = frames[0].shape[:2]
    for i, f in enumerate(frames):
        if f.shape != (h, w, 3) or f.dtype != np.uint8:
            raise DatasetError(f"frame {i} for {out} is {f.shape} {f.dtype}; expected ({h}, {w}, 3) uint8")
    codec, pix, opts = lossless_codec()
    rate = Fraction(fps).limit_denominator(1000)
    try:
        with atomic_path(out) as tmp:
            _write(tmp, frames, wav, codec, pix, opts, rate, w, h)
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise DatasetError(f"could not assemble {out} from frames and {wav}: {exc}") from exc
    return out


def _write(
    tmp: Path,
    frames: Sequence[np.ndarray],
    wav: str | os.PathLike[str] | None,
    codec: str,
    pix: str,
    opts: dict[str, str],
    rate: Fraction,
    w: int,
    h: int,
) -> None:
    with av.open(str(tmp), "w", format="matroska") as container:
        vs = container.add_stream(codec, rate=rate, options=dict(opts))
        assert isinstance(vs, VideoStream)
        vs.width, vs.height, vs.pix_fmt = w, h, pix
        audio_in = av.open(str(wav)) if wav is not None else None
        try:
            a_in = audio_in.streams.audio[0] if audio_in is not None and audio_in.streams.audio else None
            a_out: AudioStream | None = None
            if a_in is not None:
                fmt = a_in.codec_context.format.name
                added = container.add_stream(_PCM.get(fmt, "pcm_f32le"), rate=a_in.codec_context.sample_rate)
                assert isinstance(added, AudioStream)
                a_out = added
                a_out.layout = a_in.codec_context.layout
                a_out.format = fmt.rstrip("p") if fmt in _PCM else "flt"
            for i, img in enumerate(frames):
                vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
                if pix != "rgb24":
                    vf = vf.reformat(format=pix)
                vf.pts = i
                container.mux(vs.encode(vf))
            container.mux(vs.encode(None))
            if audio_in is not None and a_in is not None and a_out is not None:
                for frame in audio_in.decode(a_in):
                    frame.pts = None
                    container.mux(a_out.encode(frame))
                container.mux(a_out.encode(None))
        finally:
            if audio_in is not None:
                audio_in.close()
