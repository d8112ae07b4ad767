"""Frames + wav -> one lossless video that the app's VideoReader decodes to the exact pixels."""

from __future__ import annotations

import numpy as np
import pytest

from avs_studio.io.assemble import assemble_clip, lossless_codec
from avs_studio.io.errors import DatasetError
from avs_studio.io.writers import write_wav
from avs_studio.media import NoAudioError, VideoReader, load_audio, probe


def test_odd_sized_frames_and_audio_are_exact(tmp_path):
    rng = np.random.default_rng(1)
    frames = [rng.integers(0, 256, (37, 51, 3), dtype=np.uint8) for _ in range(3)]
    samples = (np.sin(np.arange(3 * 8000) / 5.0) * 0.5).astype(np.float32)[None]
    write_wav(tmp_path / "a.wav", samples, 8000)
    out = assemble_clip(frames, tmp_path / "a.wav", tmp_path / "clip.mkv")
    info = probe(out)
    assert (info.width, info.height, info.frame_count, info.fps) == (51, 37, 3, 1.0)
    assert lossless_codec()[0] in ("libx264rgb", "ffv1")
    with VideoReader(out) as reader:
        for i, f in enumerate(frames):
            assert np.array_equal(reader.frame(i), f)
    track = load_audio(out, rate=None)
    expected = np.round(np.clip(samples, -1, 1) * 32767) / 32768
    assert track.rate == 8000 and np.abs(track.samples[:, : samples.shape[1]] - expected).max() < 1e-6
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp file left


def test_without_audio_and_bad_input(tmp_path):
    frames = [np.full((8, 8, 3), i * 40, np.uint8) for i in range(2)]
    out = assemble_clip(frames, None, tmp_path / "mute.mkv", fps=2.0)
    assert probe(out).frame_count == 2 and probe(out).fps == 2.0
    with pytest.raises(NoAudioError):
        load_audio(out)
    with pytest.raises(DatasetError, match="frame 1"):
        assemble_clip([frames[0], np.zeros((9, 8, 3), np.uint8)], None, tmp_path / "bad.mkv")
    with pytest.raises(DatasetError, match="no frames"):
        assemble_clip([], None, tmp_path / "none.mkv")
    assert not (tmp_path / "bad.mkv").exists()
