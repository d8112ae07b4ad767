from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from avs_studio.media import (
    AudioTrack,
    MediaError,
    NoAudioError,
    VideoReader,
    frame_span,
    load_audio,
    probe,
    second_span,
)
from tests.helpers.media_factory import dominant_frequency, make_text_file, make_video, tone_frequency


def test_second_span_has_scheduled_tone(gop12_video: Path) -> None:
    audio = load_audio(gop12_video)
    assert audio.rate == 16000 and audio.samples.shape[0] == 1 and audio.samples.dtype == np.float32
    assert audio.duration == pytest.approx(4.8, abs=0.03)
    for s in range(4):
        t0, t1 = second_span(s)
        assert (t0, t1) == (s, s + 1)
        assert dominant_frequency(audio.span(t0, t1), audio.rate) == pytest.approx(tone_frequency(s), abs=2)


def test_frame_span_has_tone_of_its_second(gop12_video: Path) -> None:
    audio = load_audio(gop12_video)
    with VideoReader(gop12_video, prefetch=0) as reader:
        for i in (0, 10, 24, 30, 60, 99, 119):
            t0, t1 = frame_span(reader, i)
            assert t0 == pytest.approx(i / 25) and t1 == pytest.approx((i + 1) / 25)
            seg = audio.span(t0, t1)
            assert seg.shape == (1, 640)
            assert dominant_frequency(seg, audio.rate) == pytest.approx(tone_frequency(i // 25), abs=30)
        assert frame_span(reader.frame_times, 3) == frame_span(reader, 3)
        assert frame_span(reader, 119)[1] == pytest.approx(reader.info.duration)


def test_custom_schedule_native_rate_and_stereo(tmp_path: Path) -> None:
    p = make_video(
        tmp_path / "st.mp4", frames=50, tone_schedule=[1000, 3000], audio_rate=48000, audio_channels=2
    )
    native = load_audio(p, rate=None, mono=False)
    assert native.rate == 48000 and native.samples.shape == (2, 96000)
    assert dominant_frequency(native.span(1.0, 2.0), 48000) == pytest.approx(3000, abs=2)
    mono = load_audio(p, rate=8000)
    assert mono.rate == 8000 and mono.samples.shape == (1, 16000)
    assert dominant_frequency(mono.span(0.0, 1.0), 8000) == pytest.approx(1000, abs=2)


def test_no_audio(mute_video: Path) -> None:
    info = probe(mute_video)
    assert info.has_audio is False and info.audio_rate is None
    with pytest.raises(NoAudioError) as err:
        load_audio(mute_video)
    assert isinstance(err.value, MediaError)
    assert str(mute_video) in str(err.value) and "no audio" in str(err.value)


def test_audio_shorter_than_video_is_zero_padded(short_audio_video: Path) -> None:
    info = probe(short_audio_video)
    assert info.duration == pytest.approx(3.0)
    assert info.audio_duration == pytest.approx(1.0, abs=0.03)
    audio = load_audio(short_audio_video)
    assert audio.duration == pytest.approx(1.0, abs=0.03)
    span = audio.span(0.5, 2.5)
    assert span.shape == (1, 32000)
    assert np.abs(span[:, :7000]).max() > 0.3  # tone up to 1 s
    assert np.all(span[:, 9000:] == 0.0)  # silence after the audio ends
    late = audio.span(2.0, 3.0)
    assert late.shape == (1, 16000) and not late.any()


def test_span_before_zero_is_padded() -> None:
    track = AudioTrack(np.ones((2, 100), np.float32), rate=100)
    out = track.span(-0.5, 0.5)
    assert out.shape == (2, 100)
    assert not out[:, :50].any() and np.all(out[:, 50:] == 1.0)
    assert track.duration == 1.0
    assert track.span(0.3, 0.3).shape == (2, 0)


def test_load_audio_bad_files(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="junk.mp4"):
        load_audio(make_text_file(tmp_path / "junk.mp4"))
    with pytest.raises(MediaError, match="not found"):
        load_audio(tmp_path / "gone.mp4")
