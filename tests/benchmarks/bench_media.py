"""Media benchmarks: random seek latency, sequential decode, waveform pyramid build and query.

Each case runs in its own (spawned) process so its peak RSS is its own. Run:
    python -m tests.benchmarks.bench_media [--quick]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from tests.benchmarks._common import Figures, peak_rss_mb, run_in_subprocess


def _texture(h: int, w: int) -> np.ndarray:
    """Camera-like content: smooth blobs plus fine grain, so decoding costs what real footage costs."""
    import cv2

    rng = np.random.default_rng(1)
    coarse = rng.uniform(0, 255, (h // 40, w // 40, 3)).astype(np.float32)
    smooth = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
    grain = rng.normal(0, 12, (h, w, 3)).astype(np.float32)
    return np.clip(smooth + grain, 0, 255).astype(np.uint8)


def _make_clip(path: str, seconds: int, fps: int) -> float:
    from tests.helpers.media_factory import counter_height, make_video

    w, h = 1920, 1080
    top = counter_height(h)
    tex = _texture(h + 400, w + 800)

    def pan(index: int, img: np.ndarray) -> None:  # the whole picture pans a few pixels a frame
        dx, dy = (index * 5) % 800, (index * 2) % 400
        img[top:] = tex[dy + top : dy + h, dx : dx + w]

    t = time.perf_counter()
    make_video(
        path, frames=seconds * fps, fps=fps, size=(w, h), gop=2 * fps, audio="tones", crf=23, painter=pan
    )
    return time.perf_counter() - t


def _case_seek(path: str, n: int) -> dict:
    from avs_studio.media import VideoReader
    from tests.helpers.media_factory import read_counter

    rng = np.random.default_rng(0)
    with VideoReader(path, cache_size=1, prefetch=0) as reader:
        count = reader.info.frame_count
        reader.frame(0)
        lat, cpu = [], []
        for index in rng.integers(0, count, size=n):
            t, c = time.perf_counter(), time.process_time()
            img = reader.frame(int(index))
            lat.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)  # all threads of the process: robust to a busy machine
            assert read_counter(img) == index
    ms, cms = np.array(lat) * 1000, np.array(cpu) * 1000
    return {
        "p50": float(np.percentile(ms, 50)),
        "p95": float(np.percentile(ms, 95)),
        "cpu50": float(np.percentile(cms, 50)),
        "rss": peak_rss_mb(),
    }


def _case_sequential(path: str) -> dict:
    from avs_studio.media import VideoReader

    with VideoReader(path, cache_size=8, prefetch=0) as reader:
        count = reader.info.frame_count
        t, c = time.perf_counter(), time.process_time()
        for i in range(count):
            reader.frame(i)
        dt, dc = time.perf_counter() - t, time.process_time() - c
    return {"fps": count / dt, "cpu_ms": dc / count * 1000, "rss": peak_rss_mb()}


def _case_pyramid(seconds: int) -> dict:
    from avs_studio.media import EnvelopePyramid

    rate = 48000
    rng = np.random.default_rng(0)
    block = rng.uniform(-1, 1, (2, rate * 10)).astype(np.float32)
    samples = np.tile(block, (1, seconds // 10))  # (2, seconds * 48000) float32
    t = time.perf_counter()
    pyr = EnvelopePyramid(samples, rate)
    build = time.perf_counter() - t
    queries, cpu = [], []
    for k in range(200):
        t0 = rng.uniform(0, seconds - 1)
        span = [1.0, 10.0, 60.0, 600.0, float(seconds)][k % 5]
        t, c = time.perf_counter(), time.thread_time()
        pyr.envelope(t0, t0 + span, 1920)
        queries.append(time.perf_counter() - t)
        cpu.append(time.thread_time() - c)
    q = np.array(queries) * 1000
    qc = np.array(cpu) * 1000
    return {
        "build": build,
        "q50": float(np.percentile(q, 50)),
        "q95": float(np.percentile(q, 95)),
        "qc95": float(np.percentile(qc, 95)),
        "rss": peak_rss_mb(),
    }


def main(quick: bool = False) -> list[dict]:
    emit = Figures("media")

    seconds, fps = (6, 25) if quick else (12, 25)
    with tempfile.TemporaryDirectory(prefix="bench_media_") as tmp:
        clip = str(Path(tmp) / "clip1080.mp4")
        emit("generate 1080p clip (s)", run_in_subprocess(_make_clip, clip, seconds, fps), "s", "-")
        seek = run_in_subprocess(_case_seek, clip, 30 if quick else 60)
        emit("random seek p50", seek["p50"], "ms", "<= 80")
        emit("random seek p95", seek["p95"], "ms", "-")
        emit("random seek p50 CPU time", seek["cpu50"], "ms", "-")
        emit("random seek peak RSS", seek["rss"], "MiB", "-")
        seq = run_in_subprocess(_case_sequential, clip)
        emit("sequential decode 1080p", seq["fps"], "fps", ">= 60")
        emit("sequential decode CPU per frame", seq["cpu_ms"], "ms", "-")
        emit("sequential decode peak RSS", seq["rss"], "MiB", "-")
    pyr = run_in_subprocess(_case_pyramid, 600 if quick else 3600)
    label = "10 min" if quick else "1 h"
    emit(f"pyramid build {label} 48k stereo", pyr["build"], "s", "<= 5" if not quick else "-")
    emit("pyramid window query p50", pyr["q50"], "ms", "<= 5")
    emit("pyramid window query p95", pyr["q95"], "ms", "<= 5")
    emit("pyramid window query p95 CPU time", pyr["qc95"], "ms", "<= 5")
    emit("pyramid peak RSS", pyr["rss"], "MiB", "-")
    return emit.rows


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
