from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from avs_studio.media import MediaError, VideoInfo, file_sha256, probe
from tests.helpers.media_factory import make_corrupt_file, make_text_file, make_video


def test_probe_reports_stream_facts(gop12_video: Path) -> None:
    info = probe(gop12_video)
    assert isinstance(info, VideoInfo)
    assert info.path == str(gop12_video)
    assert info.fps == pytest.approx(25.0)
    assert info.frame_count == 120
    assert (info.width, info.height) == (160, 120)
    assert info.duration == pytest.approx(4.8, abs=1e-6)
    assert info.has_audio and info.audio_rate == 16000 and info.audio_channels == 1
    assert info.audio_duration == pytest.approx(4.8, abs=0.03)
    assert not info.variable_frame_rate
    assert info.sha256 == hashlib.sha256(gop12_video.read_bytes()).hexdigest() == file_sha256(gop12_video)


def test_probe_other_size_and_rate(tmp_path: Path) -> None:
    p = make_video(tmp_path / "b.mkv", frames=30, fps=30, size=(96, 64), audio=None)
    info = probe(p)
    assert (info.frame_count, info.width, info.height) == (30, 96, 64)
    assert info.fps == pytest.approx(30.0)
    assert info.duration == pytest.approx(1.0, abs=1e-3)
    assert not info.has_audio and info.audio_rate is None and info.audio_duration is None


def test_probe_vfr(vfr_video: Path) -> None:
    info = probe(vfr_video)
    assert info.variable_frame_rate
    assert info.frame_count == 60


@pytest.mark.parametrize("kind", ["truncated", "truncated_tail", "garbage", "empty"])
def test_corrupt_file_raises_media_error_naming_file(tmp_path: Path, kind: str) -> None:
    p = make_corrupt_file(tmp_path / f"broken_{kind}.mp4", kind)
    with pytest.raises(MediaError) as err:
        probe(p)
    assert str(p) in str(err.value)
    assert err.value.path == str(p)
    assert err.value.reason
    if kind == "truncated_tail":
        assert "truncated" in err.value.reason


def test_text_file_raises_media_error(tmp_path: Path) -> None:
    p = make_text_file(tmp_path / "notes.mp4")
    with pytest.raises(MediaError, match="notes.mp4"):
        probe(p)


def test_missing_file_raises_media_error(tmp_path: Path) -> None:
    p = tmp_path / "nowhere.mp4"
    with pytest.raises(MediaError, match="not found") as err:
        probe(p)
    assert str(p) in str(err.value)


def test_directory_and_audio_only_are_not_videos(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="not a file"):
        probe(tmp_path)
    import av
    import numpy as np

    wav = tmp_path / "sound.wav"
    with av.open(str(wav), "w") as out:
        s = out.add_stream("pcm_s16le", rate=8000, layout="mono")
        f = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono")
        f.sample_rate = 8000
        for pkt in s.encode(f):
            out.mux(pkt)
        for pkt in s.encode(None):
            out.mux(pkt)
    with pytest.raises(MediaError, match="no video stream") as err:
        probe(wav)
    assert "sound.wav" in str(err.value)
