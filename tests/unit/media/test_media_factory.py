"""The shared test-media helpers must themselves be right: other areas rely on them."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from tests.helpers.media_factory import (
    counter_height,
    dominant_frequency,
    draw_frame,
    make_video,
    read_counter,
    tone_frequency,
    tone_samples,
    vfr_schedule,
)


@pytest.mark.parametrize("size", [(160, 120), (64, 48), (1920, 1080)])
def test_counter_round_trip_without_encoding(size: tuple[int, int]) -> None:
    for index in (0, 1, 2, 255, 256, 1234, 65535):
        assert read_counter(draw_frame(index, size)) == index


def test_counter_rejects_unreadable_frames() -> None:
    with pytest.raises(ValueError, match="unreadable"):
        read_counter(np.full((120, 160, 3), 128, np.uint8))
    with pytest.raises(ValueError):
        draw_frame(1 << 16, (160, 120))
    assert counter_height(120) == 30


def test_painter_draws_below_counter(tmp_path: Path) -> None:
    def paint(index: int, img: np.ndarray) -> None:
        img[60:100, 20:60] = (0, 255, 0)

    path = make_video(tmp_path / "p.mp4", frames=5, audio=None, painter=paint)
    with av.open(str(path)) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    assert [read_counter(f) for f in frames] == list(range(5))
    assert frames[2][80, 40, 1] > 200 and frames[2][80, 40, 0] < 60


def test_tone_schedule() -> None:
    x = tone_samples(3.0, 16000)
    assert x.shape == (48000,) and x.dtype == np.float32
    for s in range(3):
        assert dominant_frequency(x[s * 16000 : (s + 1) * 16000], 16000) == pytest.approx(
            tone_frequency(s), abs=1
        )
    y = tone_samples(2.0, 8000, [440, 880])
    assert dominant_frequency(y[8000:], 8000) == pytest.approx(880, abs=1)
    with pytest.raises(ValueError, match="tone_schedule"):
        tone_samples(3.0, 8000, [440])
    assert (
        len({tone_frequency(s) for s in range(20)}) == 20 and max(tone_frequency(s) for s in range(20)) < 8000
    )


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="even"):
        make_video(tmp_path / "odd.mp4", size=(161, 120))
    with pytest.raises(ValueError, match="vfr_times"):
        make_video(tmp_path / "v.mp4", frames=10, vfr_times=vfr_schedule(5))
    assert not list(tmp_path.glob("*.part*"))
