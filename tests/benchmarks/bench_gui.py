"""GUI benchmarks: a 1-hour low-resolution video opens in the main window fast, scrolling stays small.

A 1 h, 160x90, 5 fps video with audio (18 000 frames) is generated with PyAV (x264 ultrafast, 16 kHz
PCM audio in Matroska: FFmpeg's AAC encoder alone would take ~4 minutes for an hour), added
to a fresh project, then opened in a real MainWindow (offscreen). Figures: time from opening to the
first frame shown (target < 3 s), seek latency while scrolling the timeline through the whole hour,
and peak RSS of the process while doing so (target < 1.5 GB). Runs in a spawned process so the RSS
is its own. Run:  python -m tests.benchmarks.bench_gui [--quick]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

from tests.benchmarks._common import Figures, run_in_subprocess


def make_long_video(path: str, seconds: int, fps: int = 5, size: tuple[int, int] = (160, 90)) -> float:
    """Write ``seconds`` of counter frames + a 440 Hz tone as fast as x264 allows; returns seconds taken."""
    import av

    from tests.helpers.media_factory import draw_frame

    start = time.perf_counter()
    w, h = size
    rate = 16000
    with av.open(path, "w") as out:
        v = out.add_stream("libx264", rate=Fraction(fps))
        v.width, v.height, v.pix_fmt = w, h, "yuv420p"
        v.options = {"preset": "ultrafast", "g": str(fps * 10), "crf": "28"}
        a = out.add_stream("pcm_s16le", rate=rate)
        a.layout = "mono"
        samples_per_frame = rate // fps
        t = np.arange(samples_per_frame, dtype=np.float32) / rate
        tone = (0.2 * 32767 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)[None, :]
        for i in range(seconds * fps):
            frame = av.VideoFrame.from_ndarray(draw_frame(i, size), format="rgb24")
            frame.pts = i
            for packet in v.encode(frame):
                out.mux(packet)
            af = av.AudioFrame.from_ndarray(tone, format="s16", layout="mono")
            af.sample_rate = rate
            af.pts = i * samples_per_frame
            for packet in a.encode(af):
                out.mux(packet)
        for stream in (v, a):
            for packet in stream.encode(None):
                out.mux(packet)
    return time.perf_counter() - start


def wait_for(app, cond, timeout: float, failure: str) -> None:
    """Process Qt events until ``cond()`` (TimeoutError ``failure`` after ``timeout`` seconds)."""
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise TimeoutError(failure)
        app.processEvents()
        time.sleep(0.0005)


def _case_open_and_scroll(video: str, project_dir: str, seeks: int) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import psutil
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from avs_studio.gui.main_window import MainWindow
    from avs_studio.jobs import add_videos, init_project, open_project
    from tests.helpers.media_factory import read_counter

    app = QApplication.instance() or QApplication([])
    proc = psutil.Process()
    t = time.perf_counter()
    with init_project(project_dir) as project:
        add_videos(project, [video])
    add_s = time.perf_counter() - t

    def wait(cond, timeout: float = 30.0) -> None:
        wait_for(app, cond, timeout, "the window did not show the frame in time")

    settings = QSettings(str(Path(project_dir) / "gui.ini"), QSettings.Format.IniFormat)
    t = time.perf_counter()
    project = open_project(project_dir)
    window = MainWindow(project, settings=settings, ask=False)
    loaded: list[float] = []
    window.media_loaded.connect(lambda _vid: loaded.append(time.perf_counter() - t))
    window.show()
    wait(lambda: window.canvas.frame_index == 0 and window.canvas.image is not None)
    open_s = time.perf_counter() - t
    assert read_counter(window.canvas.displayed_image()) == 0
    wait(lambda: bool(loaded), timeout=120.0)
    wave_s = loaded[0]

    # pan the timeline through the hour, one minute visible at a time (waveform repainted each time)
    duration = window.video.duration
    paint = []
    for t0 in np.linspace(0, duration - 60, 120):
        s = time.perf_counter()
        window.timeline.set_view(float(t0), float(t0) + 60.0)
        window.timeline.repaint()
        paint.append(time.perf_counter() - s)

    n = window.video.frame_count
    rss_peak = proc.memory_info().rss
    latencies: list[float] = []
    wrong = 0  # frames whose drawn counter is not the frame asked for
    rng = np.random.default_rng(0)
    # scroll: sweep the timeline from start to end in even steps, then jump at random
    targets = list(np.linspace(0, n - 1, seeks // 2).astype(int)) + list(rng.integers(0, n, seeks // 2))
    for target in targets:
        s = time.perf_counter()
        window.timeline.seekRequested.emit(int(target))
        wait(lambda target=target: window.canvas.frame_index == int(target))
        latencies.append(time.perf_counter() - s)
        wrong += read_counter(window.canvas.displayed_image()) != int(target)
        rss_peak = max(rss_peak, proc.memory_info().rss)
    # play-like stepping: 100 frames in a row
    s = time.perf_counter()
    for _ in range(100):
        f = window.frame + 1
        window.nav.step(1)
        wait(lambda f=f: window.canvas.frame_index == f)
    step_fps = 100 / (time.perf_counter() - s)
    rss_peak = max(rss_peak, proc.memory_info().rss)
    window.close()
    lat = np.array(latencies) * 1000
    return {
        "add": add_s,
        "open": open_s,
        "wave": wave_s,
        "paint": float(np.percentile(np.array(paint) * 1000, 95)),
        "p50": float(np.percentile(lat, 50)),
        "p95": float(np.percentile(lat, 95)),
        "rss": rss_peak / 2**20,
        "step_fps": step_fps,
        "wrong": wrong,
        "frames": n,
    }


def _case_many_videos(project_dir: str, videos: int) -> dict:
    """A project the size of AVSBench S4 (5 keyframes a video, each proposed): panel refresh cost."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from avs_studio.gui.panels import ProjectPanel
    from avs_studio.gui.worker import TaskRunner
    from avs_studio.jobs import init_project

    app = QApplication.instance() or QApplication([])
    project = init_project(project_dir)
    store = project.store
    mask = np.zeros((224, 224), bool)
    mask[50:150, 60:160] = True
    items = []
    for i in range(videos):
        info = {"path": f"/data/s4/clip{i:05d}.mp4", "fps": 1.0, "frame_count": 5, "width": 224, "height": 224,
                "duration": 5.0, "has_audio": True}  # fmt: skip
        vid = store.add_video(info, split=("train", "val", "test")[i % 3])
        oid = store.add_object(vid, "guitar")
        items += [{"video_id": vid, "frame": k, "object_id": oid, "mask": mask} for k in range(5)]
    store.add_annotations(items, source="proposal", status="proposed")
    runner = TaskRunner("bench")
    panel = ProjectPanel(runner=runner)
    done: list[float] = []
    panel.refreshed.connect(lambda: done.append(time.perf_counter()))
    gui_busy = 0.0
    t = time.perf_counter()
    panel.set_project(project)
    while not done:
        s = time.perf_counter()
        app.processEvents()
        gui_busy = max(gui_busy, time.perf_counter() - s)
        time.sleep(0.001)
    total = done[0] - t
    shown = panel.row_count()
    runner.stop()
    project.close()
    return {"total": total, "gui": gui_busy, "shown": shown}


def _case_sam_click(project_dir: str, clicks: int) -> dict:
    """SAM clicks on a tiny random SAM (CPU): the longest GUI-thread gap and click-to-stored latency."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QElapsedTimer, QSettings, Qt, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from avs_studio.gui.main_window import MainWindow
    from avs_studio.jobs import add_videos, init_project
    from avs_studio.openavs import POINT_SEGMENTERS, tiny
    from tests.helpers.media_factory import make_video

    app = QApplication.instance() or QApplication([])
    root = Path(project_dir)
    video = make_video(root / "media" / "counter.mp4", frames=60, fps=10, size=(160, 120), gop=10)
    project = init_project(root / "project")
    add_videos(project, [video])
    store = project.store
    vid = store.videos()[0].id
    store.add_object(vid, "square")
    settings = QSettings(str(root / "gui.ini"), QSettings.Format.IniFormat)
    window = MainWindow(project, settings=settings, ask=False)
    window.show()
    window.worker.set_point_segmenter(
        POINT_SEGMENTERS.create("sam", path=str(tiny.build("sam", root)), device="cpu")
    )
    window.session.reload()

    def wait(cond, timeout: float = 60.0) -> None:
        wait_for(app, cond, timeout, "the worker did not answer in time")

    wait(lambda: window.canvas.image is not None)
    QTest.keyClick(window.canvas, Qt.Key.Key_S)
    wait(window.worker.idle)
    clock, gaps, last = QElapsedTimer(), [], [0]
    clock.start()

    def tick() -> None:
        gaps.append(clock.elapsed() - last[0])
        last[0] = clock.elapsed()

    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(tick)

    def stored_version() -> int:
        rows = store.annotations(video_id=vid, frame=0)
        return rows[0].version if rows else 0

    latencies = []
    for i in range(clicks):
        before = stored_version()
        pos = window.canvas.view_point(40 + (i * 7) % 80, 30 + (i * 11) % 60)
        timer.start()
        last[0] = clock.elapsed()
        s = time.perf_counter()
        QTest.mouseClick(
            window.canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos
        )
        wait(lambda b=before: window.worker.idle() and window.writer.idle() and stored_version() > b)
        latencies.append(time.perf_counter() - s)
        timer.stop()
    window.close()
    project.close()
    lat = np.array(latencies) * 1000
    return {
        "gap": float(max(gaps)),
        "p50": float(np.percentile(lat, 50)),
        "p95": float(np.percentile(lat, 95)),
    }


def main(quick: bool = False) -> list[dict]:
    emit = Figures("gui")

    seconds = 600 if quick else 3600
    label = "10 min" if quick else "1 h"
    with tempfile.TemporaryDirectory(prefix="bench_gui_") as tmp:
        video = str(Path(tmp) / "long.mkv")
        emit(
            f"generate {label} 160x90 5 fps video",
            run_in_subprocess(make_long_video, video, seconds),
            "s",
            "-",
        )
        r = run_in_subprocess(_case_open_and_scroll, video, str(Path(tmp) / "project"), 40 if quick else 200)
        emit(f"add {label} video (probe + hash)", r["add"], "s", "-")
        emit(f"open {label} video to first frame", r["open"], "s", "< 3")
        emit(f"open {label} video to waveform shown", r["wave"], "s", "-")
        emit("timeline pan, repaint 1-min window p95", r["paint"], "ms", "-")
        emit("timeline seek to frame shown p50", r["p50"], "ms", "-")
        emit("timeline seek to frame shown p95", r["p95"], "ms", "-")
        emit("frame stepping", r["step_fps"], "fps", "-")
        emit("frames shown that were not asked for", r["wrong"], "frames", "0")
        emit("peak RSS while scrolling", r["rss"], "MiB", "< 1536")
        n = 1000 if quick else 5000
        m = run_in_subprocess(_case_many_videos, str(Path(tmp) / "many"), n)
        assert m["shown"] == n
        emit(f"project panel, {n} videos: counts shown", m["total"], "s", "-")
        emit(f"project panel, {n} videos: longest GUI block", m["gui"] * 1000, "ms", "-")
        c = run_in_subprocess(_case_sam_click, str(Path(tmp) / "sam"), 5 if quick else 30)
        emit("SAM click (tiny random SAM, CPU) to mask stored p50", c["p50"], "ms", "-")
        emit("SAM click (tiny random SAM, CPU) to mask stored p95", c["p95"], "ms", "-")
        emit("SAM click: longest GUI-thread gap", c["gap"], "ms", "< 50")
    return emit.rows


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
