from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from avs_studio.media import VideoReader
from tests.helpers.media_factory import read_counter


def test_random_seeks_give_exact_frames(gop12_video: Path) -> None:
    rng = np.random.default_rng(7)
    with VideoReader(gop12_video, cache_size=4, prefetch=0) as reader:
        assert reader.keyframes == list(range(0, 120, 12))
        for index in rng.integers(0, 120, size=200):
            frame = reader.frame(int(index))
            assert frame.shape == (120, 160, 3) and frame.dtype == np.uint8
            assert read_counter(frame) == index


def test_sequential_read_matches_and_is_cached(gop12_video: Path) -> None:
    with VideoReader(gop12_video, cache_size=8, prefetch=4) as reader:
        got = [read_counter(reader.frame(i)) for i in range(120)]
        assert got == list(range(120))
        again = reader.frame(119)
        assert again is reader.frame(119)  # served from the cache
        assert not again.flags.writeable
        # backwards after the end: needs a seek, still exact
        assert read_counter(reader.frame(3)) == 3
        assert read_counter(reader.frame(2)) == 2


def test_out_of_range_raises_index_error(gop12_video: Path) -> None:
    with VideoReader(gop12_video) as reader:
        with pytest.raises(IndexError):
            reader.frame(120)
        with pytest.raises(IndexError):
            reader.frame(-1)


def test_frame_times_frame_at_and_keyframes(gop12_video: Path) -> None:
    with VideoReader(gop12_video) as reader:
        assert len(reader) == 120
        np.testing.assert_allclose(reader.frame_times, np.arange(120) / 25.0, atol=1e-9)
        assert reader.frame_at(0.0) == 0
        assert reader.frame_at(0.039) == 0
        assert reader.frame_at(0.04) == 1
        assert reader.frame_at(1.0) == 25
        assert reader.frame_at(-3.0) == 0
        assert reader.frame_at(99.0) == 119
        assert reader.keyframe_indices(1.0) == [0, 25, 50, 75, 100]
        assert reader.keyframe_indices(2.0) == [
            0,
            13,
            25,
            38,
            50,
            63,
            75,
            88,
            100,
            113,
        ]  # first frame at or after each 0.5 s
        assert reader.keyframe_indices(25.0) == list(range(120))
        with pytest.raises(ValueError):
            reader.keyframe_indices(0)


def test_vfr_indexed_by_pts(vfr_video: Path) -> None:
    from tests.helpers.media_factory import vfr_schedule

    times = vfr_schedule(60)
    rng = np.random.default_rng(1)
    with VideoReader(vfr_video, prefetch=0) as reader:
        np.testing.assert_allclose(reader.frame_times, times, atol=1e-4)
        for index in rng.permutation(60):
            assert read_counter(reader.frame(int(index))) == index
        for i, t in enumerate(times):
            assert reader.frame_at(t + 0.001) == i
        # first frame of each second, found by time (fps * t would be wrong here)
        expect = [int(np.searchsorted(times, s - 1e-6)) for s in range(4) if s < reader.info.duration]
        assert reader.keyframe_indices(1.0) == expect


def test_two_threads_read_exact_frames(gop12_video: Path) -> None:
    errors: list[str] = []
    with VideoReader(gop12_video, cache_size=16, prefetch=8) as reader:

        def worker(seed: int) -> None:
            rng = np.random.default_rng(seed)
            for index in rng.integers(0, 120, size=60):
                got = read_counter(reader.frame(int(index)))
                if got != index:
                    errors.append(f"wanted {index}, got {got}")

        threads = [threading.Thread(target=worker, args=(s,)) for s in (1, 2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []


def test_prefetch_fills_cache_ahead(gop12_video: Path) -> None:
    with VideoReader(gop12_video, cache_size=32, prefetch=6) as reader:
        reader.frame(30)
        for _ in range(200):  # wait up to ~2 s for the background thread
            with reader._lock:
                done = all(i in reader._cache for i in range(31, 37))
            if done:
                break
            threading.Event().wait(0.01)
        assert done
        assert read_counter(reader.frame(36)) == 36


def test_closed_reader_refuses(gop12_video: Path) -> None:
    reader = VideoReader(gop12_video)
    reader.close()
    from avs_studio.media import MediaError

    with pytest.raises(MediaError, match="closed"):
        reader.frame(0)


def test_forgotten_reader_is_collected(gop12_video: Path) -> None:
    import gc
    import weakref

    reader = VideoReader(gop12_video, prefetch=4)
    reader.frame(0)
    ref = weakref.ref(reader)
    thread = reader._thread
    del reader
    for _ in range(40):
        gc.collect()
        if ref() is None and thread is not None and not thread.is_alive():
            break
        threading.Event().wait(0.05)
    assert ref() is None
    assert thread is not None and not thread.is_alive()


def test_mkv_and_small_gop_seeks(tmp_path: Path) -> None:
    from tests.helpers.media_factory import make_video

    path = make_video(tmp_path / "c.mkv", frames=40, fps=30, size=(64, 48), gop=5, audio=None)
    rng = np.random.default_rng(5)
    with VideoReader(path, cache_size=2, prefetch=2) as reader:
        assert reader.info.frame_count == 40 and reader.keyframes == list(range(0, 40, 5))
        for index in rng.integers(0, 40, size=60):
            assert read_counter(reader.frame(int(index))) == index


def test_mpeg_ts_inexact_container_seeks_still_exact(tmp_path: Path) -> None:
    """MPEG-TS seeks overshoot by a GOP; the reader backs off and still returns the exact frame."""
    from tests.helpers.media_factory import make_video

    path = make_video(tmp_path / "d.ts", frames=48, gop=12)
    rng = np.random.default_rng(9)
    with VideoReader(path, cache_size=1, prefetch=0) as reader:
        assert reader.frame_times[0] == 0.0 and reader.info.frame_count == 48
        for index in rng.integers(0, 48, size=30):
            assert read_counter(reader.frame(int(index))) == index
