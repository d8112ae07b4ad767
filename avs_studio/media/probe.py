"""Probe a video: stream facts, exact frame timestamps (by demuxing, no decoding) and sha256."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from avs_studio.media.errors import MediaError

# What PyAV raises for files it cannot read, besides its own FFmpegError family.
AV_ERRORS: tuple[type[BaseException], ...] = (av.error.FFmpegError, OSError, ValueError, EOFError)


@dataclass(frozen=True)
class VideoInfo:
    path: str
    fps: float
    frame_count: int
    width: int
    height: int
    duration: float
    has_audio: bool
    audio_rate: int | None
    audio_channels: int | None
    audio_duration: float | None
    sha256: str
    variable_frame_rate: bool


@dataclass(frozen=True)
class VideoIndex:
    """Presentation timestamps of every frame (sorted), in stream ticks, and which are keyframes."""

    pts: np.ndarray  # int64 (N,), sorted; index = frame number
    keyframe: np.ndarray  # bool (N,)
    time_base: Fraction
    origin: float  # seconds of the first frame's pts; frame_times = pts * time_base - origin
    last_duration: float  # seconds the last frame is shown

    @property
    def times(self) -> np.ndarray:
        return self.pts.astype(np.float64) * float(self.time_base) - self.origin


def av_reason(exc: BaseException) -> str:
    """FFmpeg's reason without the repeated file name."""
    return str(getattr(exc, "strerror", None) or exc)


def file_sha256(path: str | Path) -> str:
    try:
        with open(path, "rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()
    except OSError as exc:
        raise MediaError(path, f"cannot be read: {exc.strerror or exc}") from exc


def open_container(path: str | Path) -> av.container.InputContainer:
    """Open a media file for reading; MediaError (naming it) when missing or not media."""
    p = Path(path)
    if not p.exists():
        raise MediaError(p, "file not found", "check the path")
    if not p.is_file():
        raise MediaError(p, "is not a file")
    try:
        return av.open(str(p), mode="r")
    except AV_ERRORS as exc:
        raise MediaError(p, f"is not a readable media file ({av_reason(exc)})", "is it a video?") from exc


def video_origin(container: av.container.InputContainer) -> float:
    """Seconds of the video stream's first presentation timestamp: time 0 of our timeline."""
    if not container.streams.video:
        return 0.0
    vs = container.streams.video[0]
    if vs.start_time is None or vs.time_base is None:
        return 0.0
    return float(vs.start_time * vs.time_base)


def _is_vfr(pts: np.ndarray) -> bool:
    if len(pts) < 3:
        return False
    d = np.diff(pts)
    med = float(np.median(d))
    return float(d.max() - d.min()) > max(2.0, 0.01 * med)


def scan(path: str | Path, *, decode_check: bool = True) -> tuple[VideoInfo, VideoIndex]:
    """Demux every packet once (no decoding) to build the frame index; check the first frame decodes."""
    p = Path(path)
    container = open_container(p)  # reports missing files and non-media first
    try:
        sha = file_sha256(p)
        if not container.streams.video:
            raise MediaError(p, "has no video stream", "AVS Studio needs a video file (mp4, mkv, ...)")
        vs = container.streams.video[0]
        streams: list[av.stream.Stream] = [vs]
        aud = container.streams.audio[0] if container.streams.audio else None
        if aud is not None:
            streams.append(aud)
        pts_list: list[int] = []
        key_list: list[bool] = []
        dur_list: list[int] = []
        audio_end: float | None = None
        demuxed = 0  # video packets present, discarded ones (edit lists) included
        try:
            for pkt in container.demux(*streams):
                if pkt.size == 0 or pkt.pts is None:
                    continue
                if pkt.stream.type == "video":
                    demuxed += 1
                    if pkt.is_discard or pkt.is_corrupt:
                        continue
                    pts_list.append(int(pkt.pts))
                    key_list.append(bool(pkt.is_keyframe))
                    dur_list.append(int(pkt.duration or 0))
                else:
                    end = float((pkt.pts + (pkt.duration or 0)) * pkt.time_base)
                    audio_end = end if audio_end is None else max(audio_end, end)
        except AV_ERRORS as exc:
            raise MediaError(p, f"is corrupt (demuxing failed: {av_reason(exc)})") from exc
        if not pts_list:
            raise MediaError(p, "has a video stream with no frames", "the file may be truncated")
        listed = int(vs.frames or 0)  # frame count from the container's index (0 when unknown)
        if listed and demuxed < listed:
            raise MediaError(
                p,
                f"is truncated: its index lists {listed} frames but only {demuxed} are in the file",
                "copy or download it again",
            )
        order = np.argsort(np.asarray(pts_list, dtype=np.int64), kind="stable")
        pts = np.asarray(pts_list, dtype=np.int64)[order]
        keys = np.asarray(key_list, dtype=bool)[order]
        durs = np.asarray(dur_list, dtype=np.int64)[order]
        if len(np.unique(pts)) != len(pts):
            raise MediaError(
                p, "has duplicate frame timestamps", "remux it, e.g. ffmpeg -i in -c copy out.mp4"
            )
        tb = vs.time_base
        if tb is None:
            raise MediaError(p, "video stream has no time base")
        origin_pts = int(pts[0])
        origin = float(origin_pts * tb)
        vfr = _is_vfr(pts)
        if durs[-1] > 0:
            last = float(durs[-1] * tb)
        elif len(pts) > 1:
            last = float(np.median(np.diff(pts)) * tb)
        else:
            rate = vs.average_rate or vs.guessed_rate or 25
            last = 1.0 / float(rate)
        index = VideoIndex(pts=pts, keyframe=keys, time_base=Fraction(tb), origin=origin, last_duration=last)
        duration = float((pts[-1] - origin_pts) * tb) + last
        nominal = vs.average_rate or vs.guessed_rate
        fps = float(nominal) if (nominal and not vfr) else len(pts) / duration
        if decode_check:
            _check_decodes(container, vs, p)
        audio_duration = None
        if aud is not None:
            begin, base = aud.start_time, aud.time_base
            start = float(begin * base) if begin is not None and base is not None else 0.0
            audio_duration = max(0.0, (audio_end if audio_end is not None else start) - origin)
        width = vs.codec_context.width
        height = vs.codec_context.height
        info = VideoInfo(
            path=str(p),
            fps=fps,
            frame_count=len(pts),
            width=int(width),
            height=int(height),
            duration=duration,
            has_audio=aud is not None,
            audio_rate=int(aud.codec_context.sample_rate) if aud is not None else None,
            audio_channels=int(aud.codec_context.channels) if aud is not None else None,
            audio_duration=audio_duration,
            sha256=sha,
            variable_frame_rate=vfr,
        )
        return info, index
    finally:
        container.close()


def _check_decodes(container: av.container.InputContainer, vs: av.video.stream.VideoStream, p: Path) -> None:
    try:
        container.seek(0, stream=vs, backward=True, any_frame=False)
        for _frame in container.decode(vs):
            return
    except AV_ERRORS as exc:
        raise MediaError(p, f"is corrupt (cannot decode a frame: {av_reason(exc)})") from exc
    raise MediaError(p, "has no decodable video frame", "the file may be truncated or corrupt")


def probe(path: str | Path) -> VideoInfo:
    """Facts about a video; MediaError for anything that is not a decodable video."""
    return scan(path)[0]
