"""Timeline benchmark: a 1-hour 48 kHz mono signal, its pyramid, 200 view changes of the widget offscreen.

Figures: pyramid build time, repaint time per view change (waveform, p50/p95; the mask strip shows every
frame), the same with the spectrogram on, a playhead-only repaint (cached layer), memory (RSS growth over
the view changes), setting the strip's states of every frame, and re-reading every frame's review state
from a project (``AnnotationSession.refresh_states``: after a proposal or propagation job).
Run: python -m tests.benchmarks.bench_timeline [--quick]
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

from tests.benchmarks._common import Figures


def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def synthetic(seconds: int, rate: int) -> np.ndarray:
    """float32 (1, N): a tone whose pitch and loudness wander, plus a little noise; filled in chunks."""
    n = seconds * rate
    out = np.empty((1, n), np.float32)
    rng = np.random.default_rng(0)
    chunk = rate * 60
    phase = 0.0
    for a in range(0, n, chunk):
        m = min(chunk, n - a)
        minute = a // chunk
        f = 200.0 + 150.0 * (minute % 7)
        t = np.arange(m, dtype=np.float64) / rate
        env = 0.2 + 0.6 * np.abs(np.sin(2 * np.pi * (a / rate + t) / 37.0))
        out[0, a : a + m] = (env * np.sin(phase + 2 * np.pi * f * t) + 0.02 * rng.standard_normal(m)).astype(
            np.float32
        )
        phase += 2 * np.pi * f * m / rate
    return out


def _views(duration: float, count: int) -> list[tuple[float, float]]:
    """Alternating random zooms (span log-uniform 0.02 s .. whole file) and 10 % pans."""
    rng = np.random.default_rng(1)
    views, t0, t1 = [], 0.0, duration
    for i in range(count):
        if i % 2 == 0:
            span = float(np.exp(rng.uniform(np.log(0.02), np.log(duration))))
            c = float(rng.uniform(0, duration))
            t0, t1 = c - span / 2, c + span / 2
        else:
            d = 0.1 * (t1 - t0) * (1 if rng.random() < 0.5 else -1)
            t0, t1 = t0 + d, t1 + d
        views.append((t0, t1))
    return views


def _time_repaints(widget, views) -> np.ndarray:
    out = []
    for t0, t1 in views:
        widget.set_view(t0, t1)
        start = time.perf_counter()
        widget.repaint()
        out.append(time.perf_counter() - start)
    return np.array(out) * 1000.0


def main(quick: bool = False) -> list[dict]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from avs_studio.gui.timeline import TimelineWidget
    from avs_studio.media import AudioTrack, EnvelopePyramid

    emit = Figures("timeline")

    app = QApplication.instance() or QApplication([])
    seconds, rate = (600, 48000) if quick else (3600, 48000)
    label = "10 min" if quick else "1 h"
    rss0 = _rss_mb()
    samples = synthetic(seconds, rate)
    start = time.perf_counter()
    pyramid = EnvelopePyramid(samples, rate)
    emit(f"pyramid build {label} 48k mono", time.perf_counter() - start, "s", "<= 5")
    track = AudioTrack(samples, rate)
    frame_times = np.arange(int(seconds * 25)) / 25.0
    widget = TimelineWidget()
    widget.resize(1600, 140)
    widget.set_media(float(seconds), frame_times, pyramid, track)
    widget.set_keyframe_status({f: "proposed" for f in range(0, len(frame_times), 25)})
    states = ("accepted", "proposed", "edited", "rejected")
    every = {f: "accepted" if f % 25 == 0 else states[(f // 250) % 4] for f in range(len(frame_times))}
    start = time.perf_counter()
    widget.set_frame_status(every)
    emit(f"mask strip: states of {len(every)} frames set", (time.perf_counter() - start) * 1000, "ms", "<= 100")
    widget.show()
    app.processEvents()
    widget.repaint()
    rss_before = _rss_mb()
    emit("RSS: signal + pyramid + widget", rss_before - rss0, "MiB", "-")

    views = _views(float(seconds), 200)
    wave = _time_repaints(widget, views)
    emit("repaint after view change p50 (waveform)", np.percentile(wave, 50), "ms", "<= 16")
    emit("repaint after view change p95 (waveform)", np.percentile(wave, 95), "ms", "<= 33")
    rss_after = _rss_mb()
    emit("RSS growth over 200 view changes", rss_after - rss_before, "MiB", "<= 20")

    playhead = []
    for f in range(0, 2000, 10):
        widget.set_frame(f)
        s = time.perf_counter()
        widget.repaint()
        playhead.append(time.perf_counter() - s)
    emit("playhead-only repaint p50 (cached layer)", np.percentile(playhead, 50) * 1000, "ms", "<= 4")

    from avs_studio.gui.spectrogram_worker import (
        SPEC_MAX_COLUMNS,
        inferno_lut,
        one_blas_thread,
        spectrogram_argb,
    )

    lut = inferno_lut()
    compute = []
    for t0, t1 in views[:40]:
        s = time.perf_counter()
        with one_blas_thread():  # as the widget's worker thread does
            spectrogram_argb(track, max(t0, 0.0), min(t1, float(seconds)), SPEC_MAX_COLUMNS, lut)
        compute.append(time.perf_counter() - s)
    emit("spectrogram compute p50 (worker thread)", np.percentile(compute, 50) * 1000, "ms", "<= 100")
    emit("spectrogram compute p95 (worker thread)", np.percentile(compute, 95) * 1000, "ms", "<= 200")

    widget.show_spectrogram(True)
    spec = _time_repaints(widget, views[: 50 if quick else 100])
    emit("GUI repaint after view change p50 (spectrogram)", np.percentile(spec, 50), "ms", "<= 50")
    emit("GUI repaint after view change p95 (spectrogram)", np.percentile(spec, 95), "ms", "<= 100")
    emit("RSS growth with spectrogram views", _rss_mb() - rss_after, "MiB", "<= 100")
    widget.close()
    _refresh_states(emit, 1500 if quick else 15000)
    return emit.rows


def _refresh_states(emit: Figures, frames: int) -> None:
    """Every frame's state re-read from a SQLite project: ``frames`` frames x 2 objects with masks."""
    import tempfile
    from pathlib import Path

    from avs_studio.jobs import init_project
    from avs_studio.session import AnnotationSession
    from avs_studio.store import VideoRow

    with tempfile.TemporaryDirectory() as tmp:
        project = init_project(Path(tmp) / "proj")
        info = {"path": str(Path(tmp) / "v.mp4"), "fps": 25.0, "frame_count": frames, "width": 128,
                "height": 72, "duration": frames / 25.0, "has_audio": False, "sha256": "0" * 64}  # fmt: skip
        vid = project.store.add_video(info)
        objs = [project.store.add_object(vid, f"o{k}") for k in range(2)]
        mask = np.zeros((72, 128), bool)
        mask[20:50, 30:90] = True
        items = [{"video_id": vid, "frame": f, "object_id": o, "mask": mask} for f in range(frames) for o in objs]
        project.store.add_annotations(items, source="propagation", status="proposed")
        session = AnnotationSession()
        session.set_project(project)
        video: VideoRow = project.store.video(vid)
        start = time.perf_counter()
        session.set_video(video)  # reads every frame's state once
        emit(f"refresh_states: {frames} frames x 2 masks (SQLite)", time.perf_counter() - start, "s", "<= 0.25")
        assert len(session.frame_states) == frames
        project.close()


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
