"""avs_studio.media: frame-accurate video, audio on the same timeline, waveform and spectrogram.

See docs/CONTRACTS.md. Import from here, not from the modules.
"""

from avs_studio.media.audio import AudioTrack, frame_span, load_audio, second_span
from avs_studio.media.errors import MediaError, NoAudioError
from avs_studio.media.probe import VideoInfo, file_sha256, probe
from avs_studio.media.spectrogram import (
    hz_to_mel,
    log_mel,
    mel_band_edges,
    mel_filterbank,
    mel_to_hz,
    spectrogram_columns,
)
from avs_studio.media.video import VideoReader
from avs_studio.media.waveform import EnvelopePyramid

__all__ = [
    "AudioTrack",
    "EnvelopePyramid",
    "MediaError",
    "NoAudioError",
    "VideoInfo",
    "VideoReader",
    "file_sha256",
    "frame_span",
    "hz_to_mel",
    "load_audio",
    "log_mel",
    "mel_band_edges",
    "mel_filterbank",
    "mel_to_hz",
    "probe",
    "second_span",
    "spectrogram_columns",
]
