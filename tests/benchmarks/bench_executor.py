"""Executors: clips per second of local vs Ray (1 and 2 workers) on an I/O-bound fake pipeline (each
clip sleeps, then answers a small mask per keyframe), with every clip written into a real SQLite
project by the driver; propagation (flow, CPU-bound) segments per second, local vs 2 Ray workers, on
synthetic scenes; and the driver's write ceiling (clips/s with no work at all) on SQLite and, when
AVS_TEST_DATABASE_URL is set, PostgreSQL: the figure that says how many GPUs one driver can serve.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from avs_studio.jobs.executor import ClipTask, ExecutorOptions, run_clips
from avs_studio.jobs.project import init_project
from avs_studio.jobs.propose import ProposeReport, plan_clips
from avs_studio.jobs.propose_batch import ProposalWriter
from tests.benchmarks._common import Figures

ROOT = Path(__file__).resolve().parents[2]
SLEEP = 0.25  # seconds of "I/O" per clip (a remote model server, a network drive)


def _project(folder: Path, videos: int, seconds: int, url: str | None = None):
    p = init_project(folder, database_url=url)
    for i in range(videos):
        p.store.add_video(
            {"path": str(folder / f"v{i}.mp4"), "fps": 10.0, "frame_count": seconds * 10, "width": 160,
             "height": 120, "duration": float(seconds), "has_audio": True, "sha256": f"{i:064x}"},
            name=f"v{i}",
        )  # fmt: skip
    tasks = [ClipTask(v, tuple(c)) for v, clips in plan_clips(p.store.videos(), 5) for c in clips]
    return p, tasks


def _run(folder: Path, work, options: ExecutorOptions, videos: int, url: str | None = None):
    from avs_studio.jobs.executor import RunStats

    project, tasks = _project(folder, videos, 20, url)
    with project:
        report = ProposeReport(engine="bench")
        writer = ProposalWriter(project, report, {"fingerprint": "bench"}, "bench", "proposal")
        stats: RunStats = run_clips(tasks, work, writer, options)
        assert stats.stored == len(tasks) and len(project.store.annotations()) == 5 * len(tasks)
    return stats


def _propagation(folder: Path, scenes: list, executor: ExecutorOptions) -> dict:
    from avs_studio.jobs import open_project
    from avs_studio.jobs.propagate import propagate
    from tests.helpers.scene_project import reviewed_project

    with open_project(reviewed_project(folder, scenes)) as project:
        report = propagate(project, executor=executor)
    assert not report.errors and report.segments == 3 * len(scenes), report.errors
    return report.execution


def _scenes(folder: Path, n: int) -> list:
    from tests.helpers.moving_objects import make_scene, write_scene_video

    out = []
    for seed in range(n):
        scene = make_scene(seed=seed, size=(320, 240), frames=75, fps=25)  # keyframes 0, 25, 50
        out.append((scene, write_scene_video(scene, folder / f"scene{seed}.mp4")))
    return out


def main(quick: bool = False) -> list[dict]:
    from tests.helpers.clip_work import SleepWork

    fig = Figures("executor")
    videos = 6 if quick else 30  # 4 clips of 5 keyframes each
    work = SleepWork(SLEEP)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        local = _run(base / "local", work, ExecutorOptions(), videos)
        fig("local: clips/s (sleep 0.25 s per clip)", local.clips_per_s, "clips/s", f"<= {1 / SLEEP:.1f}")
        scenes = _scenes(base, 4 if quick else 12)
        flow_local = _propagation(base / "prop-local", scenes, ExecutorOptions())
        fig("propagate flow 320x240, local: segments/s", flow_local["clips_per_s"], "segments/s")
        try:
            import ray
        except ModuleNotFoundError:
            print("ray is not installed ([cluster] extra): Ray figures skipped")
            ray = None
        if ray is not None:
            t = time.perf_counter()
            path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
            ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING",
                     runtime_env={"env_vars": {"PYTHONPATH": path}})  # fmt: skip
            fig("ray: start a local cluster", time.perf_counter() - t, "s")
            try:
                for n in (1, 2):
                    s = _run(base / f"ray{n}", work, ExecutorOptions(kind="ray", workers=n), videos)
                    fig(f"ray, {n} worker(s): clips/s", s.clips_per_s, "clips/s")
                    fig(f"ray, {n} worker(s): clips/s after start-up", s.steady_clips_per_s, "clips/s",
                        f"~{n / SLEEP:.1f}")  # fmt: skip
                    fig(f"ray, {n} worker(s): start-up (first worker ready)", s.startup or 0.0, "s")
                    fig(
                        f"ray, {n} worker(s): speed-up over local",
                        s.steady_clips_per_s / local.steady_clips_per_s,
                        "x",
                    )
                flow = _propagation(base / "prop-ray", scenes, ExecutorOptions(kind="ray", workers=2))
                fig("propagate flow, ray 2 workers: segments/s after start-up", flow["steady_clips_per_s"],
                    "segments/s")  # fmt: skip
                fig("propagate flow, ray 2 workers: speed-up over local",
                    flow["steady_clips_per_s"] / flow_local["steady_clips_per_s"], "x")  # fmt: skip
            finally:
                ray.shutdown()
        ceiling = _run(base / "writes", SleepWork(0.0), ExecutorOptions(), videos * 5)
        fig("driver writes, SQLite (no work): clips/s", ceiling.clips_per_s, "clips/s", ">= 50")
        url = os.environ.get("AVS_TEST_DATABASE_URL")
        if url:
            _reset(url)
            pg = _run(base / "pg", SleepWork(0.0), ExecutorOptions(), videos * 5, url)
            fig("driver writes, PostgreSQL (no work): clips/s", pg.clips_per_s, "clips/s", ">= 50")
            _reset(url)
    return fig.rows


def _reset(url: str) -> None:
    """An empty PostgreSQL database (every table dropped)."""
    from sqlalchemy import MetaData, create_engine

    engine = create_engine(url)
    md = MetaData()
    md.reflect(engine)
    md.drop_all(engine)
    engine.dispose()


if __name__ == "__main__":
    main()
