"""A video's frame times, audio and waveform pyramid, loaded off the GUI thread when it opens."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from avs_studio.media import AudioTrack, EnvelopePyramid, MediaError, VideoReader, load_audio

# Longer videos get 16 kHz mono audio for playback and the waveform, so memory stays bounded
# (1 h = 230 MB); shorter ones keep their own rate and channels.
LONG_AUDIO_S = 15 * 60
LONG_AUDIO_RATE = 16000


@dataclass
class MediaData:
    path: str
    times: np.ndarray  # pts (s) of every frame
    audio: AudioTrack | None = None
    pyramid: EnvelopePyramid | None = None
    error: str = ""  # why there is no sound ("" = none expected or loaded)


def load_media(
    reader_of: Callable[[str], VideoReader], path: str, duration: float, has_audio: bool
) -> MediaData:
    """Frame times, audio and waveform pyramid of one video (runs on the media thread)."""
    out = MediaData(path, reader_of(path).frame_times)
    if has_audio:
        long = duration > LONG_AUDIO_S
        try:
            audio = load_audio(path, rate=LONG_AUDIO_RATE if long else None, mono=long)
        except MediaError as exc:
            out.error = str(exc)
        else:
            out.audio = audio
            out.pyramid = EnvelopePyramid(audio.samples, audio.rate)
    return out
